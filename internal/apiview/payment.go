package apiview

import (
	"strings"
	"time"

	"github.com/bridgedpos/bridged/internal/apitype"
	"github.com/bridgedpos/bridged/internal/payment"
)

// Payment is op as the ECR sees it.
func Payment(op *payment.Operation) apitype.Payment {
	v := apitype.Payment{
		ID: op.ID, Reference: op.Reference, Terminal: op.Terminal, Type: string(op.Kind),
		Amount: op.Amount.Decimal(), Currency: string(op.Amount.Currency()), Installment: op.Installment,
		Status: string(op.State.Status()), SafeToRetry: op.SafeToRetry, PaymentID: op.PaymentID,
		PaymentDate: op.PaymentDate, AuthCode: op.AuthCode, Voided: op.Voided,
		Refunded: op.RefundedAmount().Decimal(), CreatedAt: op.CreatedAt.UTC(), UpdatedAt: op.UpdatedAt.UTC(),
		ParentID: op.ParentID, TxRef: op.TransactionReferenceID, Resolution: string(op.Resolution),
		PaymentType: op.PaymentType, DocumentType: op.DocumentType, SaleNumber: op.SaleNumber, Buyer: buyer(op.Buyer),
		Reason: op.Reason, CapturedBy: op.CapturedBy, Closed: op.Closed, BatchMaybeClosed: op.BatchMaybeClosed,
		Links: map[string]string{"self": "/v1/payments/" + op.ID},
	}
	if c := op.Card; c != nil {
		v.Card = &apitype.Card{BIN: c.BIN, Last4: c.Last4, Type: CardType(c.Type)}
	}
	v.Error = Error(op.Error)
	v.Items = items(op.Lines)
	if st := op.Settlement; st != nil {
		v.Settlement = &apitype.Settlement{By: st.By, At: st.At.UTC(), Evidence: st.Evidence, PaymentID: st.PaymentID,
			WatchUntil: UTCOrNil(st.WatchUntil), Confirmed: st.Confirmed}
	}
	if c := op.Conflict; c != nil {
		v.Conflict = &apitype.Conflict{At: c.At.UTC(), Settled: string(c.Settled.Status()), Upstream: string(c.Upstream.Status()),
			UpstreamPaymentID: c.UpstreamPaymentID, AcknowledgedBy: c.AcknowledgedBy, AcknowledgedAt: UTCOrNil(c.AcknowledgedAt),
			AcknowledgedNote: c.AcknowledgedNote}
		if c.Open() {
			v.Links["acknowledge_conflict"] = "/v1/payments/" + op.ID + "/acknowledge-conflict"
		}
	}
	if op.State == payment.StateUnknown {
		v.Links["resolve"] = "/v1/payments/" + op.ID + "/resolve"
		v.Links["settle"] = "/v1/payments/" + op.ID + "/settle"
	}
	if op.Kind == payment.KindSplitStart {
		v.Links["payments"] = "/v1/split-sales/" + op.ID + "/payments"
		v.Links["complete"] = "/v1/split-sales/" + op.ID + "/complete"
		v.Links["cancel"] = "/v1/split-sales/" + op.ID + "/cancel"
	}
	return v
}

// Error is iyzico's error on an operation (nil: none).
func Error(e *payment.UpstreamError) *apitype.Error {
	if e == nil {
		return nil
	}
	return &apitype.Error{Code: e.Code, Group: e.Group, Message: e.Message}
}

// items are a VUK 507 operation's lines. A refund's line is the sale's line
// it returns: the line_id the refund named, also given as related_line_id.
func items(lines []payment.SaleLine) []apitype.Item {
	var out []apitype.Item
	for _, l := range lines {
		id := l.ID
		if id == "" {
			id = l.RelatedLineID
		}
		it := apitype.Item{LineID: id, Name: l.Name, Quantity: l.Quantity,
			UnitPrice: l.UnitPrice.Decimal(), Total: l.Total.Decimal(), UnitCode: l.UnitCode,
			TaxGroupCode: l.TaxGroupCode, RelatedLine: l.RelatedLineID, RefundedQuantity: l.RefundedQuantity}
		if l.RefundedMinor != 0 {
			it.RefundedAmount = payment.NewMoney(l.RefundedMinor, l.Total.Currency()).Decimal()
		}
		out = append(out, it)
	}
	return out
}

func buyer(b *payment.Buyer) *apitype.Buyer {
	if b == nil {
		return nil
	}
	return &apitype.Buyer{CustomerType: b.CustomerType, FirstName: b.FirstName, MiddleName: b.MiddleName,
		FamilyName: b.FamilyName, CompanyName: b.CompanyName, TaxOfficeCode: b.TaxOfficeCode, TaxNumber: b.TaxNumber,
		Country: b.Country, City: b.City, District: b.District}
}

// CardType is a card's type in one vocabulary in both modes: VUK 509 says
// CREDIT_CARD, VUK 507 CREDIT; the API says CREDIT_CARD, DEBIT_CARD,
// PREPAID_CARD, or iyzico's own word for any other.
func CardType(t string) string {
	switch u := strings.ToUpper(strings.TrimSpace(t)); u {
	case "CREDIT", "DEBIT", "PREPAID":
		return u + "_CARD"
	case "":
		return ""
	default:
		return u
	}
}

// UTCOrNil is t in UTC, or nil for the zero time: how every time the API
// may leave out is shown.
func UTCOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
