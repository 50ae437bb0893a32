package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

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
		return outcome509(resp, err)
	case payment.KindVoid:
		resp, err := g.c.Void(ctx, VoidRequest{ConversationID: op.ConversationID, PaymentID: op.PaymentID,
			PaymentDate: op.PaymentDate, DeviceUniqueID: op.DeviceUniqueID, TransactionReferenceID: op.TransactionReferenceID})
		return outcome509(resp, err)
	case payment.KindRefund:
		resp, err := g.c.Refund(ctx, RefundRequest{ConversationID: op.ConversationID, PaymentID: op.PaymentID,
			DeviceUniqueID: op.DeviceUniqueID, TransactionReferenceID: op.TransactionReferenceID,
			PaymentDate: op.PaymentDate, Amount: op.Amount})
		return outcome509(resp, err)
	}
	return notSent(fmt.Errorf("%s is not a vuk509 operation", op.Kind))
}

func (g *Gateway) execute507(ctx context.Context, op *payment.Operation) payment.Outcome {
	switch op.Kind {
	case payment.KindSale:
		resp, err := g.c.GmuPayment(ctx, g.gmuSale(op))
		return outcome507(resp, err)
	case payment.KindSplitStart:
		resp, err := g.c.GmuPartialStart(ctx, g.gmuSale(op))
		if err != nil {
			return fromError(err)
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
		return outcome507(resp, err)
	case payment.KindSplitComplete:
		resp, err := g.c.GmuPartialComplete(ctx, GmuPartialCompleteRequest{ConversationID: op.ConversationID,
			DeviceUniqueID: op.DeviceUniqueID, TransactionReferenceID: op.TransactionReferenceID, SaleNumber: op.SaleNumber})
		if err != nil {
			return fromError(err)
		}
		return outcome507(&resp.GmuPaymentResponse, nil)
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
		return payment.Outcome{Class: payment.Approved, PaymentID: resp.PaymentID, AuthCode: resp.AuthCode,
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

// refund507 refunds by line. bridged numbers a sale's lines by position;
// iyzico's own line ids come from refundable-sale-info, asked first. If that
// question fails, the refund itself was never sent.
func (g *Gateway) refund507(ctx context.Context, op *payment.Operation) payment.Outcome {
	info, err := g.c.GmuRefundableSaleInfo(ctx, GmuRefundableSaleInfoRequest{ConversationID: op.ConversationID,
		DeviceUniqueID: op.DeviceUniqueID, TransactionReferenceID: op.ParentTransactionReferenceID})
	if err != nil {
		out := fromError(err)
		out.Class = payment.NotSent
		return out
	}
	date, err := strconv.Atoi(op.PaymentDate)
	if err != nil {
		return notSent(fmt.Errorf("payment date %q is not YYYYMMDD", op.PaymentDate))
	}
	items := make([]SaleItem, 0, len(op.Lines))
	for _, l := range op.Lines {
		pos, err := strconv.Atoi(l.RelatedLineID)
		if err != nil || pos < 1 || pos > len(info.SaleItems) {
			return notSent(fmt.Errorf("line %q is not among the sale's %d refundable lines", l.RelatedLineID, len(info.SaleItems)))
		}
		items = append(items, SaleItem{RelatedSaleItemID: strconv.FormatInt(int64(info.SaleItems[pos-1].ID), 10),
			Name: l.Name, UnitCode: l.UnitCode, TaxGroupCode: l.TaxGroupCode, ItemQuantity: l.Quantity,
			UnitPriceAmount: l.UnitPrice, GrossPriceAmount: l.Total, TotalPriceAmount: l.Total, ReturnAmount: l.Total})
	}
	resp, err := g.c.GmuRefund(ctx, GmuRefundRequest{ConversationID: op.ConversationID, DeviceUniqueID: op.DeviceUniqueID,
		PaymentID: op.PaymentID, PaymentDate: date, TransactionReferenceID: op.TransactionReferenceID,
		SaleAppName: g.app.Name, SaleAppVersion: g.app.Version, SaleItems: items})
	if err != nil {
		return fromError(err)
	}
	return payment.Outcome{Class: payment.Approved, AuthCode: resp.AuthCode, HostRef: resp.HostReference, BatchNo: resp.BatchNo,
		Card: card(resp.BinNumber, resp.LastFourDigits, "")}
}

// Query asks for an operation by device and its own transactionReferenceId.
func (g *Gateway) Query(ctx context.Context, op *payment.Operation) payment.Outcome {
	if g.mode == payment.VUK507 {
		resp, err := g.c.GmuQueryTransactionStatus(ctx, GmuQueryRequest{ConversationID: op.ConversationID,
			DeviceUniqueID: op.DeviceUniqueID, TransactionReferenceID: op.TransactionReferenceID})
		if err != nil {
			return fromError(err)
		}
		out := outcome507(&resp.GmuPaymentResponse, nil)
		out.Voided = resp.CancelHostReference != ""
		return out
	}
	resp, err := g.c.QueryTransactionStatus(ctx, QueryRequest{ConversationID: op.ConversationID,
		DeviceUniqueID: op.DeviceUniqueID, TransactionReferenceID: op.TransactionReferenceID})
	out := outcome509(resp, err)
	if resp != nil {
		out.Voided = resp.CancelHostReference != ""
	}
	return out
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

func outcome509(resp *PaymentResponse, err error) payment.Outcome {
	if err != nil {
		return fromError(err)
	}
	return payment.Outcome{Class: payment.Approved, PaymentID: resp.PaymentID, PaymentDate: string(resp.PaymentDate),
		AuthCode: resp.AuthCode, HostRef: resp.HostReference, BatchNo: resp.BatchNo,
		Card: card(resp.BinNumber, resp.LastFourDigits, resp.CardType)}
}

func outcome507(resp *GmuPaymentResponse, err error) payment.Outcome {
	if err != nil {
		return fromError(err)
	}
	return payment.Outcome{Class: payment.Approved, PaymentID: resp.PaymentID, PaymentDate: dateText(int64(resp.PaymentDate)),
		AuthCode: resp.AuthCode, HostRef: resp.HostReference, BatchNo: resp.BatchNo, SaleNumber: resp.SaleNumber,
		Card: card(resp.BinNumber, resp.LastFourDigits, resp.CardType)}
}

// card keeps what bridged may keep: BIN (six digits at most) and last four.
func card(bin, last4, typ string) *payment.Card {
	if bin == "" && last4 == "" {
		return nil
	}
	if len(bin) > 6 {
		bin = bin[:6]
	}
	if len(last4) > 4 {
		last4 = last4[len(last4)-4:]
	}
	return &payment.Card{BIN: bin, Last4: last4, Type: typ}
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
	out := payment.Outcome{Cause: err}
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
