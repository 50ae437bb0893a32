package upstream

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/bridgedpos/bridged/internal/payment"
)

// SaleApp is the sales application identity VUK 507 sends with sales and refunds.
type SaleApp struct {
	Name, Version string
}

// NewGateway returns the payment.Gateway for one installation's mode, chosen
// here once: a VUK 507 gateway (fiscal sale lines, split sales) or a VUK 509
// one. Either maps a journaled operation to its iyzico request and the answer
// to a payment.Outcome. It adds no retry of its own; the client's single auth
// retry is the only one.
func NewGateway(c *Client, mode payment.Mode, app SaleApp) payment.Gateway {
	if mode == payment.VUK507 {
		return &gateway507{gatewayBase: gatewayBase{c: c}, app: app}
	}
	return &gateway509{gatewayBase: gatewayBase{c: c}}
}

// gatewayBase is what the two modes' gateways share.
type gatewayBase struct {
	c *Client
}

// headOf is the request head of op: its conversation id, device and own
// reference (the locale is the client's).
func headOf(op *payment.Operation) Head {
	return Head{ConversationID: op.ConversationID, DeviceUniqueID: op.DeviceUniqueID, TransactionReferenceID: op.TransactionReferenceID}
}

// eodHead is the head of an end of day, which has no reference.
func eodHead(op *payment.Operation) Head {
	return Head{ConversationID: op.ConversationID, DeviceUniqueID: op.DeviceUniqueID}
}

// describe notes what a query's answer says of the transaction it is about:
// whether it repeats op's reference (the client already refused one that
// names another), and its amount and device, which must match op when it
// names none (payment.Service.answerIsAbout).
func describe(out *payment.Outcome, op *payment.Operation, ref, device string, price json.Number, currency string) {
	out.Named = strings.TrimSpace(ref) == op.TransactionReferenceID
	out.Device = strings.TrimSpace(device)
	if strings.TrimSpace(string(price)) != "" {
		if m, err := moneyOf(price, currency, op.Amount.Currency()); err == nil {
			out.Amount = &m
		}
	}
}

// endOfDayReport reads the totals of an end of day's answer, either mode's.
func endOfDayReport(op *payment.Operation, batch, msg string, lines []EODTotal) (*payment.EndOfDayReport, payment.Outcome) {
	rep := &payment.EndOfDayReport{BatchNo: batch, ResultMessage: msg}
	cur := op.Amount.Currency()
	for _, t := range lines {
		amount, err := parseSignedAmount(string(t.TotalTransactionAmount), cur)
		if err != nil {
			return nil, payment.Outcome{Class: payment.Unknown, Cause: fmt.Errorf("end of day total %q: %w", t.TotalTransactionAmount, err)}
		}
		count, err := strconv.Atoi(string(t.TotalTransactionCount))
		if err != nil && t.TotalTransactionCount != "" {
			return nil, payment.Outcome{Class: payment.Unknown, Cause: fmt.Errorf("end of day count %q is not a number", t.TotalTransactionCount)}
		}
		rep.Totals = append(rep.Totals, payment.AcquirerTotal{AcquirerID: t.AcquirerID, AcquirerName: t.AcquirerName,
			TerminalID: t.TerminalID, BatchNo: t.BatchNo, Amount: amount, Count: count, ResponseCode: t.ResponseCode})
	}
	return rep, payment.Outcome{Class: payment.Approved, BatchNo: batch}
}

// parseSignedAmount reads an end-of-day total, which is negative when refunds
// outweigh sales.
func parseSignedAmount(s string, cur payment.Currency) (payment.Money, error) {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	m, err := ParseAmount(json.Number(s), cur)
	if err != nil {
		return payment.Money{}, err
	}
	if neg {
		return payment.NewMoney(-m.Minor(), cur), nil
	}
	return m, nil
}

// hostRef picks an operation's own host reference: a void's is
// cancelHostReference and a refund's refundHostReference (hostReference
// names the sale they act on); everything else has its own in hostReference.
// A void or refund answered without its own is recorded without one rather
// than with the sale's.
func hostRef(k payment.Kind, host, cancelRef, refundRef string) string {
	switch k {
	case payment.KindVoid:
		return cancelRef
	case payment.KindRefund:
		return refundRef
	}
	return host
}

// checkPaymentID logs an approved sale answered without a paymentId: the
// approval stands (the money moved), but a void or refund of it will need an
// operator.
func (g *gatewayBase) checkPaymentID(k payment.Kind, id string) {
	if id == "" && k.OwnsPaymentID() {
		g.c.log.Warn().Str("kind", string(k)).Msg("iyzico approved without a paymentId; a later void or refund needs an operator")
	}
}

// unusable is the outcome of an approval that lacks what makes it usable:
// unknown, for the reconciler to settle.
func unusable(op *payment.Operation, why string) payment.Outcome {
	return payment.Outcome{Class: payment.Unknown, Cause: fmt.Errorf("%s %s: %s", op.Kind, op.TransactionReferenceID, why)}
}

func dateText(d int64) string {
	if d == 0 {
		return ""
	}
	return fmt.Sprintf("%08d", d)
}

// fromError maps the client's classified error to a payment outcome.
func fromError(err error) payment.Outcome {
	var e *Error
	if !errors.As(err, &e) {
		return payment.Outcome{Class: payment.Unknown, Cause: err}
	}
	out := payment.Outcome{Cause: err, Reason: string(e.Reason)}
	if e.Code != "" || e.Group != "" || e.Message != "" {
		msg := e.Message
		if e.ConsumerMessage != "" {
			msg = e.ConsumerMessage
		}
		out.Error = &payment.UpstreamError{Code: e.Code, Group: e.Group, Message: msg}
	}
	switch e.Class {
	case Approved:
		out.Class = payment.Approved
	case Declined:
		out.Class = payment.Declined
	case NotSent, AuthFailed:
		// AuthFailed never reached a device: nothing moved.
		out.Class = payment.NotSent
		out.Busy = e.Reason == ReasonTerminalBusy
	case NotFound:
		out.Class = payment.NotFound
	default:
		out.Class = payment.Unknown
	}
	return out
}

func notSent(err error) payment.Outcome {
	return payment.Outcome{Class: payment.NotSent, Cause: err,
		Error: &payment.UpstreamError{Code: "not_sent", Message: "bridged could not build the request: " + err.Error()}}
}
