package server

import (
	"strings"
	"time"

	"github.com/bridgedpos/bridged/internal/payment"
)

// paymentView is an operation as the ECR sees it. DESIGN.md §5 names the
// fields; the ones after it are additions.
type paymentView struct {
	ID           string         `json:"id"`
	Reference    string         `json:"reference"`
	Terminal     string         `json:"terminal"`
	Type         string         `json:"type"`
	Amount       string         `json:"amount"`
	Currency     string         `json:"currency"`
	Installment  int            `json:"installment"`
	Status       payment.Status `json:"status"`
	SafeToRetry  bool           `json:"safe_to_retry"`
	PaymentID    string         `json:"payment_id"`
	PaymentDate  string         `json:"payment_date"`
	AuthCode     string         `json:"auth_code"`
	Card         *payment.Card  `json:"card"`
	Error        *errorView     `json:"error"`
	Voided       bool           `json:"voided"`
	Refunded     string         `json:"refunded_amount"`
	CreatedAt    time.Time      `json:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at"`
	ParentID     string         `json:"parent_id,omitempty"`
	TxRef        string         `json:"transaction_reference_id"`
	Resolution   string         `json:"resolution,omitempty"`
	PaymentType  string         `json:"payment_type,omitempty"`
	DocumentType string         `json:"document_type,omitempty"`
	Items        []itemView     `json:"items,omitempty"`
	SaleNumber   string         `json:"sale_number,omitempty"`
	Buyer        *payment.Buyer `json:"buyer,omitempty"`
	// Reason says why an operation is unknown (e.g. queried_timeout: iyzico's
	// own record of it is a device timeout).
	Reason string `json:"reason,omitempty"`
	// CapturedBy is the post-auth that captured a pre-auth.
	CapturedBy string `json:"captured_by,omitempty"`
	// Closed: a split sale cancelled; it takes no more payments.
	Closed bool `json:"closed,omitempty"`
	// BatchMaybeClosed: an end of day whose answer was lost; iyzico may
	// have closed the batch.
	BatchMaybeClosed bool `json:"batch_maybe_closed,omitempty"`
	// Settlement: settled by an operator (resolution operator); Conflict: a
	// later answer of iyzico's contradicts it.
	Settlement *settlementView   `json:"settlement,omitempty"`
	Conflict   *conflictView     `json:"conflict,omitempty"`
	Links      map[string]string `json:"links"`
}

type settlementView struct {
	By         string     `json:"by"`
	At         time.Time  `json:"at"`
	Evidence   string     `json:"evidence"`
	PaymentID  string     `json:"payment_id,omitempty"`
	WatchUntil *time.Time `json:"watched_until,omitempty"`
	Confirmed  bool       `json:"confirmed_by_iyzico"`
}

type conflictView struct {
	At                time.Time      `json:"at"`
	Settled           payment.Status `json:"settled"`
	Upstream          payment.Status `json:"iyzico"`
	UpstreamPaymentID string         `json:"iyzico_payment_id,omitempty"`
	AcknowledgedBy    string         `json:"acknowledged_by,omitempty"`
	AcknowledgedAt    *time.Time     `json:"acknowledged_at,omitempty"`
	AcknowledgedNote  string         `json:"acknowledged_note,omitempty"`
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

type errorView struct {
	Code    string `json:"code"`
	Group   string `json:"group,omitempty"`
	Message string `json:"message,omitempty"`
}

type itemView struct {
	LineID       string `json:"line_id"`
	Name         string `json:"name"`
	Quantity     int    `json:"quantity"`
	UnitPrice    string `json:"unit_price"`
	Total        string `json:"total"`
	UnitCode     string `json:"unit_code"`
	TaxGroupCode string `json:"tax_group_code"`
	RelatedLine  string `json:"related_line_id,omitempty"`
	// What approved refunds returned of a sale line so far.
	RefundedQuantity int    `json:"refunded_quantity,omitempty"`
	RefundedAmount   string `json:"refunded_amount,omitempty"`
}

func viewOf(op *payment.Operation) paymentView {
	v := paymentView{
		ID: op.ID, Reference: op.Reference, Terminal: op.Terminal, Type: string(op.Kind),
		Amount: op.Amount.Decimal(), Currency: string(op.Amount.Currency()), Installment: op.Installment,
		Status: op.State.Status(), SafeToRetry: op.SafeToRetry, PaymentID: op.PaymentID,
		PaymentDate: op.PaymentDate, AuthCode: op.AuthCode, Card: op.Card, Voided: op.Voided,
		Refunded: op.RefundedAmount().Decimal(), CreatedAt: op.CreatedAt.UTC(), UpdatedAt: op.UpdatedAt.UTC(),
		ParentID: op.ParentID, TxRef: op.TransactionReferenceID, Resolution: string(op.Resolution),
		PaymentType: op.PaymentType, DocumentType: op.DocumentType, SaleNumber: op.SaleNumber, Buyer: op.Buyer,
		Reason: op.Reason, CapturedBy: op.CapturedBy, Closed: op.Closed, BatchMaybeClosed: op.BatchMaybeClosed,
		Links: map[string]string{"self": "/v1/payments/" + op.ID},
	}
	if op.Card != nil {
		c := *op.Card
		c.Type = CardType(c.Type)
		v.Card = &c
	}
	if op.Error != nil {
		v.Error = &errorView{Code: op.Error.Code, Group: op.Error.Group, Message: op.Error.Message}
	}
	for _, l := range op.Lines {
		// A refund's line is the sale's line it returns: the line_id the
		// refund named, also given as related_line_id.
		id := l.ID
		if id == "" {
			id = l.RelatedLineID
		}
		it := itemView{LineID: id, Name: l.Name, Quantity: l.Quantity,
			UnitPrice: l.UnitPrice.Decimal(), Total: l.Total.Decimal(), UnitCode: l.UnitCode,
			TaxGroupCode: l.TaxGroupCode, RelatedLine: l.RelatedLineID, RefundedQuantity: l.RefundedQuantity}
		if l.RefundedMinor != 0 {
			it.RefundedAmount = payment.NewMoney(l.RefundedMinor, l.Total.Currency()).Decimal()
		}
		v.Items = append(v.Items, it)
	}
	if st := op.Settlement; st != nil {
		v.Settlement = &settlementView{By: st.By, At: st.At.UTC(), Evidence: st.Evidence, PaymentID: st.PaymentID,
			WatchUntil: timePtr(st.WatchUntil), Confirmed: st.Confirmed}
	}
	if c := op.Conflict; c != nil {
		v.Conflict = &conflictView{At: c.At.UTC(), Settled: c.Settled.Status(), Upstream: c.Upstream.Status(),
			UpstreamPaymentID: c.UpstreamPaymentID, AcknowledgedBy: c.AcknowledgedBy, AcknowledgedAt: timePtr(c.AcknowledgedAt),
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

type terminalView struct {
	ID             string            `json:"id"`
	DeviceUniqueID string            `json:"device_unique_id"`
	State          string            `json:"state"`
	BusyWith       string            `json:"busy_with,omitempty"`
	Unknown        []string          `json:"unknown"`
	LastAnswer     *time.Time        `json:"last_answer"`
	LastEndOfDay   *time.Time        `json:"last_end_of_day"`
	Links          map[string]string `json:"links"`
}

func terminalViewOf(t payment.TerminalState) terminalView {
	v := terminalView{ID: t.ID, DeviceUniqueID: t.DeviceUniqueID, State: t.State, BusyWith: t.BusyWith,
		Unknown: t.Unknown, Links: map[string]string{"end_of_day": "/v1/terminals/" + t.ID + "/end-of-day"}}
	if v.Unknown == nil {
		v.Unknown = []string{}
	}
	if !t.LastAnswer.IsZero() {
		at := t.LastAnswer.UTC()
		v.LastAnswer = &at
	}
	if !t.LastEndOfDay.IsZero() {
		at := t.LastEndOfDay.UTC()
		v.LastEndOfDay = &at
	}
	return v
}

type totalsView struct {
	Amount string `json:"amount"`
	Count  int    `json:"count"`
}

type acquirerView struct {
	AcquirerID   string `json:"acquirer_id"`
	AcquirerName string `json:"acquirer_name,omitempty"`
	TerminalID   string `json:"terminal_id,omitempty"`
	BatchNo      string `json:"batch_no,omitempty"`
	Amount       string `json:"amount"`
	Count        int    `json:"count"`
	ResponseCode string `json:"response_code,omitempty"`
}

type batchLineView struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Status    payment.Status `json:"status"`
	Amount    string         `json:"amount"`
	Counted   bool           `json:"counted"`
	Signed    string         `json:"signed_amount"`
	Note      string         `json:"note,omitempty"`
	PaymentID string         `json:"payment_id,omitempty"`
}

type endOfDayView struct {
	ID            string          `json:"id"`
	Terminal      string          `json:"terminal"`
	Status        payment.Status  `json:"status"`
	Error         *errorView      `json:"error"`
	BatchNo       string          `json:"batch_no,omitempty"`
	ResultMessage string          `json:"result_message,omitempty"`
	Since         *time.Time      `json:"since"`
	CreatedAt     time.Time       `json:"created_at"`
	Match         bool            `json:"match"`
	Journal       totalsView      `json:"journal"`
	Upstream      totalsView      `json:"upstream"`
	Acquirers     []acquirerView  `json:"acquirers"`
	Lines         []batchLineView `json:"lines"`
	// Unconfirmed lists earlier ends of day inside this batch whose answers
	// were lost; Boundary says what this report makes of them.
	Unconfirmed []string `json:"unconfirmed_ends_of_day,omitempty"`
	Boundary    string   `json:"boundary,omitempty"`
	// Unknown lists the batch's operations whose outcome is not settled (an
	// end of day with allow_unknown); UnknownCould is what they would add
	// were they approved, and Explained whether that would close the gap.
	Unknown      []batchLineView `json:"unknown,omitempty"`
	UnknownCould *totalsView     `json:"unknown_could_add,omitempty"`
	Explained    bool            `json:"difference_within_unknown,omitempty"`
}

func endOfDayViewOf(r *payment.EndOfDayResult) endOfDayView {
	op := r.Op
	v := endOfDayView{ID: op.ID, Terminal: op.Terminal, Status: op.State.Status(), CreatedAt: op.CreatedAt.UTC(),
		Match: r.Match, Journal: totalsView{Amount: r.Journal.Amount.Decimal(), Count: r.Journal.Count},
		Upstream:  totalsView{Amount: r.Upstream.Amount.Decimal(), Count: r.Upstream.Count},
		Acquirers: []acquirerView{}, Lines: []batchLineView{}, Unconfirmed: r.Unconfirmed, Boundary: r.Boundary}
	if op.Error != nil {
		v.Error = &errorView{Code: op.Error.Code, Group: op.Error.Group, Message: op.Error.Message}
	}
	if !r.Since.IsZero() {
		s := r.Since.UTC()
		v.Since = &s
	}
	if rep := r.Report; rep != nil {
		v.BatchNo, v.ResultMessage = rep.BatchNo, rep.ResultMessage
		for _, t := range rep.Totals {
			v.Acquirers = append(v.Acquirers, acquirerView{AcquirerID: t.AcquirerID, AcquirerName: t.AcquirerName,
				TerminalID: t.TerminalID, BatchNo: t.BatchNo, Amount: t.Amount.Decimal(), Count: t.Count, ResponseCode: t.ResponseCode})
		}
	}
	for _, l := range r.Lines {
		v.Lines = append(v.Lines, batchLineViewOf(l))
	}
	for _, l := range r.Unknown {
		v.Unknown = append(v.Unknown, batchLineViewOf(l))
	}
	if len(r.Unknown) > 0 {
		v.UnknownCould = &totalsView{Amount: r.UnknownCould.Amount.Decimal(), Count: r.UnknownCould.Count}
		v.Explained = r.Explained
	}
	return v
}

func batchLineViewOf(l payment.BatchLine) batchLineView {
	return batchLineView{ID: l.OpID, Type: string(l.Kind), Status: l.State.Status(),
		Amount: l.Amount.Decimal(), Counted: l.Counted, Signed: payment.NewMoney(l.Signed, l.Amount.Currency()).Decimal(),
		Note: l.Note, PaymentID: l.PaymentID}
}

// splitCancelView is a cancelled split sale: each part and its void.
type splitCancelView struct {
	Split  paymentView     `json:"split"`
	Status string          `json:"status"` // cancelled, pending, incomplete
	Parts  []splitPartView `json:"parts"`
}

type splitPartView struct {
	Payment paymentView  `json:"payment"`
	Void    *paymentView `json:"void"`
	Note    string       `json:"note,omitempty"`
}

func splitCancelViewOf(r *payment.SplitCancelResult) splitCancelView {
	v := splitCancelView{Split: viewOf(r.Start), Parts: []splitPartView{}}
	switch {
	case !r.Final:
		v.Status = "pending"
	case r.Settled():
		v.Status = "cancelled"
	default:
		v.Status = "incomplete"
	}
	for _, p := range r.Parts {
		pv := splitPartView{Payment: viewOf(p.Part), Note: p.Note}
		if p.Void != nil {
			vv := viewOf(p.Void)
			pv.Void = &vv
		}
		v.Parts = append(v.Parts, pv)
	}
	return v
}

// PaymentView is an operation exactly as the API shows it, for the operator
// verbs that read the journal while the daemon is stopped.
func PaymentView(op *payment.Operation) any { return viewOf(op) }
