package upstream

import (
	"context"
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

// Gateway implements payment.Gateway on the typed client: it maps a journaled
// operation to its iyzico request and the answer to a payment.Outcome. It adds
// no retry of its own; the client's single auth retry is the only one.
type Gateway struct {
	c    *Client
	mode payment.Mode
	app  SaleApp
}

var _ payment.Gateway = (*Gateway)(nil)

// NewGateway returns the gateway for one installation's mode.
func NewGateway(c *Client, mode payment.Mode, app SaleApp) *Gateway {
	return &Gateway{c: c, mode: mode, app: app}
}

// Execute sends a money operation or a split step.
func (g *Gateway) Execute(ctx context.Context, op *payment.Operation) payment.Outcome {
	if g.mode == payment.VUK507 {
		return g.execute507(ctx, op)
	}
	return g.execute509(ctx, op)
}

func (g *Gateway) execute509(ctx context.Context, op *payment.Operation) payment.Outcome {
	switch op.Kind {
	case payment.KindSale, payment.KindPreAuth, payment.KindPostAuth:
		st := map[payment.Kind]SalesType{payment.KindSale: SalesTypeSale, payment.KindPreAuth: SalesTypePreAuth, payment.KindPostAuth: SalesTypePostAuth}[op.Kind]
		r := PaymentRequest{ConversationID: op.ConversationID, DeviceUniqueID: op.DeviceUniqueID,
			TransactionReferenceID: op.TransactionReferenceID, Installment: op.Installment, SalesType: st, Amount: op.Amount}
		if op.Kind == payment.KindPostAuth {
			r.PaymentID = op.PaymentID
		}
		resp, err := g.c.Payment(ctx, r)
		return g.outcome509(op.Kind, resp, err)
	case payment.KindVoid:
		resp, err := g.c.Void(ctx, VoidRequest{ConversationID: op.ConversationID, PaymentID: op.PaymentID,
			PaymentDate: op.PaymentDate, DeviceUniqueID: op.DeviceUniqueID, TransactionReferenceID: op.TransactionReferenceID})
		return g.outcome509(op.Kind, resp, err)
	case payment.KindRefund:
		resp, err := g.c.Refund(ctx, RefundRequest{ConversationID: op.ConversationID, PaymentID: op.PaymentID,
			DeviceUniqueID: op.DeviceUniqueID, TransactionReferenceID: op.TransactionReferenceID,
			PaymentDate: op.PaymentDate, Amount: op.Amount})
		return g.outcome509(op.Kind, resp, err)
	}
	return notSent(fmt.Errorf("%s is not a vuk509 operation", op.Kind))
}

func (g *Gateway) execute507(ctx context.Context, op *payment.Operation) payment.Outcome {
	switch op.Kind {
	case payment.KindSale:
		resp, err := g.c.GmuPayment(ctx, g.gmuSale(op))
		if err != nil {
			return fromError(err)
		}
		return g.outcome507(op.Kind, resp, "", "")
	case payment.KindSplitStart:
		resp, err := g.c.GmuPartialStart(ctx, g.gmuSale(op))
		if err != nil {
			return fromError(err)
		}
		if strings.TrimSpace(resp.SaleNumber) == "" {
			// Without it the split sale cannot go on, and nobody could tell
			// which sale iyzico opened: not usable evidence.
			return unusable(op, "the partial-payment start was answered success without a saleNumber")
		}
		out := payment.Outcome{Class: payment.Approved, SaleNumber: resp.SaleNumber}
		if m, err := ParseAmount(resp.RemainingPaymentAmount, op.Amount.Currency()); err == nil {
			out.Remaining = &m
		}
		return out
	case payment.KindSplitPayment:
		resp, err := g.c.GmuPartialAdd(ctx, GmuPartialAddRequest{ConversationID: op.ConversationID,
			DeviceUniqueID: op.DeviceUniqueID, TransactionReferenceID: op.TransactionReferenceID,
			SaleNumber: op.SaleNumber, Installment: op.Installment, Price: op.Amount})
		if err != nil {
			return fromError(err)
		}
		return g.outcome507(op.Kind, resp, "", "")
	case payment.KindSplitComplete:
		resp, err := g.c.GmuPartialComplete(ctx, GmuPartialCompleteRequest{ConversationID: op.ConversationID,
			DeviceUniqueID: op.DeviceUniqueID, TransactionReferenceID: op.TransactionReferenceID, SaleNumber: op.SaleNumber})
		if err != nil {
			return fromError(err)
		}
		return g.outcome507(op.Kind, &resp.GmuPaymentResponse, "", "")
	case payment.KindVoid:
		date, err := strconv.Atoi(op.PaymentDate)
		if err != nil {
			return notSent(fmt.Errorf("payment date %q is not YYYYMMDD", op.PaymentDate))
		}
		resp, err := g.c.GmuVoid(ctx, GmuVoidRequest{ConversationID: op.ConversationID, DeviceUniqueID: op.DeviceUniqueID,
			PaymentID: op.PaymentID, PaymentDate: date, TransactionReferenceID: op.TransactionReferenceID})
		if err != nil {
			return fromError(err)
		}
		// GmuVoidResponse: hostReference is the sale's, cancelHostReference the void's own.
		return payment.Outcome{Class: payment.Approved, PaymentID: strings.TrimSpace(string(resp.PaymentID)), AuthCode: resp.AuthCode,
			HostRef: resp.CancelHostReference, PaymentDate: dateText(int64(resp.PaymentDate))}
	case payment.KindRefund:
		return g.refund507(ctx, op)
	}
	return notSent(fmt.Errorf("%s is not a vuk507 operation", op.Kind))
}

// gmuSale builds the VUK 507 sale (and split start) request.
func (g *Gateway) gmuSale(op *payment.Operation) GmuPaymentRequest {
	items := make([]SaleItem, len(op.Lines))
	for i, l := range op.Lines {
		items[i] = SaleItem{Name: l.Name, Generic: l.Generic, UnitCode: l.UnitCode, TaxGroupCode: l.TaxGroupCode,
			ItemQuantity: l.Quantity, UnitPriceAmount: l.UnitPrice, GrossPriceAmount: l.Total, TotalPriceAmount: l.Total}
	}
	r := GmuPaymentRequest{ConversationID: op.ConversationID, DeviceUniqueID: op.DeviceUniqueID,
		TransactionReferenceID: op.TransactionReferenceID, PaymentType: PaymentType(op.PaymentType),
		Installment: op.Installment, SaleAppName: g.app.Name, SaleAppVersion: g.app.Version,
		SaleDocumentType: DocumentType(op.DocumentType), SaleItems: items, Price: op.Amount, PaidPrice: op.Amount}
	if b := op.Buyer; b != nil {
		r.BuyerInfo = &BuyerInfo{CustomerType: CustomerType(b.CustomerType), FirstName: b.FirstName, MiddleName: b.MiddleName,
			FamilyName: b.FamilyName, CompanyName: b.CompanyName, TaxOfficeCode: b.TaxOfficeCode, TaxNumber: b.TaxNumber,
			Country: b.Country, City: b.City, District: b.District}
	}
	return r
}

// refund507 refunds by line. iyzico's own line ids come from
// refundable-sale-info, asked first; each refund line is matched to the one
// refundable line with its content (matchRefundLines), never by position. If
// that question fails, or no single line matches, the refund itself is never
// sent.
func (g *Gateway) refund507(ctx context.Context, op *payment.Operation) payment.Outcome {
	date, err := strconv.Atoi(op.PaymentDate)
	if err != nil {
		return notSent(fmt.Errorf("payment date %q is not YYYYMMDD", op.PaymentDate))
	}
	info, err := g.c.GmuRefundableSaleInfo(ctx, GmuRefundableSaleInfoRequest{ConversationID: op.ConversationID,
		DeviceUniqueID: op.DeviceUniqueID, TransactionReferenceID: op.ParentTransactionReferenceID})
	if err != nil {
		out := fromError(err)
		out.Class, out.Busy = payment.NotSent, false
		return out
	}
	cur, err := currencyOr(info.Currency, op.Amount.Currency())
	if err != nil {
		return notSent(fmt.Errorf("refundable-sale-info: %w", err))
	}
	ids, err := matchRefundLines(op.Lines, info.SaleItems, cur)
	if err != nil {
		return notSent(err)
	}
	items := make([]SaleItem, 0, len(op.Lines))
	for i, l := range op.Lines {
		items = append(items, SaleItem{RelatedSaleItemID: ids[i],
			Name: l.Name, UnitCode: l.UnitCode, TaxGroupCode: l.TaxGroupCode, ItemQuantity: l.Quantity,
			UnitPriceAmount: l.UnitPrice, GrossPriceAmount: l.Total, TotalPriceAmount: l.Total, ReturnAmount: l.Total})
	}
	resp, err := g.c.GmuRefund(ctx, GmuRefundRequest{ConversationID: op.ConversationID, DeviceUniqueID: op.DeviceUniqueID,
		PaymentID: op.PaymentID, PaymentDate: date, TransactionReferenceID: op.TransactionReferenceID,
		SaleAppName: g.app.Name, SaleAppVersion: g.app.Version, SaleItems: items})
	if err != nil {
		return fromError(err)
	}
	// GmuRefundResponse: hostReference is the refund's own.
	return payment.Outcome{Class: payment.Approved, AuthCode: resp.AuthCode, HostRef: resp.HostReference, BatchNo: resp.BatchNo,
		Card: payment.NewCard(resp.BinNumber, resp.LastFourDigits, "")}
}

// matchRefundLines finds, for each refund line, the refundable line of the
// sale it refunds, by content: the same name, the same unit price
// (totalPriceAmount = unit price × itemQuantity), at least as many items as
// are returned, and (when iyzico says what is left) enough left to return.
// A refund line carries the sale line's name, the number of items returned,
// the sale line's unit price and the amount returned (payment's refundLines).
//
// Exactly one line must match. Lines that are identical in everything iyzico
// reports of them (name, quantity, total, VAT, what is left) are
// interchangeable — refunding one or the other is the same fiscal act — and
// count as one match; each is used once. Anything else is an error: the
// refund is not sent rather than sent for a line chosen by guesswork.
func matchRefundLines(lines []payment.SaleLine, items []RefundableSaleItem, cur payment.Currency) ([]string, error) {
	used := make([]bool, len(items))
	ids := make([]string, len(lines))
	for i, l := range lines {
		var matches []int
		for j, it := range items {
			if !used[j] && lineMatches(l, it, cur) {
				matches = append(matches, j)
			}
		}
		what := fmt.Sprintf("refund line %d (%q, %d × %s)", i+1, l.Name, l.Quantity, l.UnitPrice.Decimal())
		if len(matches) == 0 {
			return nil, fmt.Errorf("%s matches none of the sale's %d refundable lines (name, unit price, quantity and what is left to return)", what, len(items))
		}
		key := itemKey(items[matches[0]], cur)
		for _, j := range matches[1:] {
			if itemKey(items[j], cur) != key {
				return nil, fmt.Errorf("%s matches %d different refundable lines of the sale; refusing to guess which", what, len(matches))
			}
		}
		j := matches[0]
		if items[j].ID <= 0 {
			return nil, fmt.Errorf("%s: the matching refundable line has no id", what)
		}
		used[j] = true
		ids[i] = strconv.FormatInt(int64(items[j].ID), 10)
	}
	return ids, nil
}

// lineMatches reports whether the refundable line it can be the sale line the
// refund line l refunds.
func lineMatches(l payment.SaleLine, it RefundableSaleItem, cur payment.Currency) bool {
	qty := int64(it.ItemQuantity)
	if strings.TrimSpace(it.Name) != strings.TrimSpace(l.Name) || qty <= 0 || int64(l.Quantity) > qty {
		return false
	}
	total, err := ParseAmount(it.TotalPriceAmount, cur)
	if err != nil || l.UnitPrice.Minor()*qty != total.Minor() {
		return false
	}
	if strings.TrimSpace(string(it.ReturnableAmount)) != "" {
		left, err := ParseAmount(it.ReturnableAmount, cur)
		if err != nil || left.Minor() < l.Total.Minor() || int64(it.ReturnableQuantity) < int64(l.Quantity) {
			return false
		}
	}
	return true
}

// itemKey is everything iyzico says of a refundable line except its id.
func itemKey(it RefundableSaleItem, cur payment.Currency) string {
	amt := func(n json.Number) string {
		if m, err := ParseAmount(n, cur); err == nil {
			return strconv.FormatInt(m.Minor(), 10)
		}
		return "?" + string(n)
	}
	return fmt.Sprintf("%s|%d|%s|%s|%d|%s", strings.TrimSpace(it.Name), it.ItemQuantity, amt(it.TotalPriceAmount),
		amt(it.VatAmount), it.ReturnableQuantity, amt(it.ReturnableAmount))
}

// Query asks for an operation by device and its own transactionReferenceId.
// Its classes are about the queried operation: Approved and Declined settle
// it (a recorded 380201/380202 is Declined: nothing happened on the device),
// NotFound starts the grace period, anything else leaves it unknown.
func (g *Gateway) Query(ctx context.Context, op *payment.Operation) payment.Outcome {
	if g.mode == payment.VUK507 {
		resp, err := g.c.GmuQueryTransactionStatus(ctx, GmuQueryRequest{ConversationID: op.ConversationID,
			DeviceUniqueID: op.DeviceUniqueID, TransactionReferenceID: op.TransactionReferenceID})
		if err != nil {
			out := fromError(err)
			// The client classifies a failed query as a record of the
			// queried transaction only when it repeats its reference.
			out.Named = out.Class == payment.Declined
			return out
		}
		if op.Kind == payment.KindSplitStart && strings.TrimSpace(resp.SaleNumber) == "" {
			return unusable(op, "the partial-payment start was queried success without a saleNumber")
		}
		out := g.outcome507(op.Kind, &resp.GmuPaymentResponse, resp.CancelHostReference, resp.RefundHostReference)
		out.Voided = op.Kind.IsPayment() && resp.CancelHostReference != ""
		describe(&out, op, resp.TransactionReferenceID, resp.DeviceUniqueID, resp.Price, resp.Currency)
		return out
	}
	resp, err := g.c.QueryTransactionStatus(ctx, QueryRequest{ConversationID: op.ConversationID,
		DeviceUniqueID: op.DeviceUniqueID, TransactionReferenceID: op.TransactionReferenceID})
	out := g.outcome509(op.Kind, resp, err)
	if out.Class == payment.Approved && resp != nil {
		out.Voided = op.Kind.IsPayment() && resp.CancelHostReference != ""
		describe(&out, op, resp.TransactionReferenceID, resp.DeviceUniqueID, resp.Price, resp.Currency)
	}
	if out.Class == payment.Declined {
		out.Named = true // a record of the queried transaction, as above
	}
	return out
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

// EndOfDay runs iyzico's end of day on the operation's device.
func (g *Gateway) EndOfDay(ctx context.Context, op *payment.Operation) (*payment.EndOfDayReport, payment.Outcome) {
	var (
		batch, msg string
		lines      []EODTotal
	)
	if g.mode == payment.VUK507 {
		resp, err := g.c.GmuEndOfDay(ctx, GmuEODRequest{ConversationID: op.ConversationID, DeviceUniqueID: op.DeviceUniqueID})
		if err != nil {
			return nil, fromError(err)
		}
		batch, msg, lines = resp.BatchNo, resp.ResultMessage, resp.Tails
	} else {
		resp, err := g.c.EndOfDay(ctx, EODRequest{ConversationID: op.ConversationID, DeviceUniqueID: op.DeviceUniqueID})
		if err != nil {
			return nil, fromError(err)
		}
		batch, msg, lines = resp.BatchNo, resp.ResultMessage, resp.Totals
	}
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

// outcome509 maps a VUK 509 answer (payment, void, refund, or a query of one)
// for an operation of kind k.
func (g *Gateway) outcome509(k payment.Kind, resp *PaymentResponse, err error) payment.Outcome {
	if err != nil {
		return fromError(err)
	}
	out := payment.Outcome{Class: payment.Approved, PaymentID: strings.TrimSpace(string(resp.PaymentID)),
		PaymentDate: string(resp.PaymentDate), AuthCode: resp.AuthCode,
		HostRef: hostRef(k, resp.HostReference, resp.CancelHostReference, resp.RefundHostReference),
		BatchNo: resp.BatchNo, Card: payment.NewCard(resp.BinNumber, resp.LastFourDigits, resp.CardType)}
	g.checkPaymentID(k, out.PaymentID)
	return out
}

// outcome507 maps an approved VUK 507 GmuPaymentResponse (sale, partial
// add-payment or complete, or a query of any operation, whose void and
// refund host references are passed apart) for an operation of kind k.
func (g *Gateway) outcome507(k payment.Kind, resp *GmuPaymentResponse, cancelRef, refundRef string) payment.Outcome {
	out := payment.Outcome{Class: payment.Approved, PaymentID: strings.TrimSpace(string(resp.PaymentID)),
		PaymentDate: dateText(int64(resp.PaymentDate)), AuthCode: resp.AuthCode,
		HostRef: hostRef(k, resp.HostReference, cancelRef, refundRef), BatchNo: resp.BatchNo, SaleNumber: resp.SaleNumber,
		Card: payment.NewCard(resp.BinNumber, resp.LastFourDigits, resp.CardType)}
	g.checkPaymentID(k, out.PaymentID)
	return out
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
func (g *Gateway) checkPaymentID(k payment.Kind, id string) {
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
