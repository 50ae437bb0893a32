package payment

import "time"

// Kind is what an operation does.
type Kind string

// The operations bridged journals. Each gets its own transactionReferenceId.
const (
	KindSale          Kind = "sale"
	KindPreAuth       Kind = "pre_auth"
	KindPostAuth      Kind = "post_auth"
	KindVoid          Kind = "void"
	KindRefund        Kind = "refund"
	KindSplitStart    Kind = "split_start"
	KindSplitPayment  Kind = "split_payment"
	KindSplitComplete Kind = "split_complete"
	KindEndOfDay      Kind = "end_of_day"
)

// MovesMoney reports whether the kind charges or returns money on a card or in cash.
func (k Kind) MovesMoney() bool {
	switch k {
	case KindSale, KindPreAuth, KindPostAuth, KindVoid, KindRefund, KindSplitPayment, KindSplitComplete:
		return true
	}
	return false
}

// OwnsPaymentID reports whether an approved operation of the kind gets its
// own iyzico paymentId (a payment); voids and refunds name their payment's.
// A post-auth shares its pre-auth's.
func (k Kind) OwnsPaymentID() bool {
	switch k {
	case KindSale, KindPreAuth, KindPostAuth, KindSplitPayment, KindSplitComplete:
		return true
	}
	return false
}

// IsPayment reports whether the kind is a payment that can be voided or
// refunded: a sale, a pre-auth (voided only), a post-auth, a completed split sale.
func (k Kind) IsPayment() bool {
	return k.IsSale() || k == KindSplitComplete
}

// IsSale reports whether the kind is a one-step card payment: a sale, a
// pre-auth or a post-auth. A split sale's steps are not.
func (k Kind) IsSale() bool {
	return k == KindSale || k == KindPreAuth || k == KindPostAuth
}

// Charges reports whether an approved operation of the kind adds its amount
// to the terminal's batch: a sale, a post-auth (the capture), a split sale's
// payment. A pre-auth only holds money; a refund takes it back.
func (k Kind) Charges() bool {
	return k == KindSale || k == KindPostAuth || k == KindSplitPayment
}

// TransactionKinds returns the kinds that are transactions on a terminal's
// batch: every kind but end of day.
func TransactionKinds() []Kind {
	return []Kind{KindSale, KindPreAuth, KindPostAuth, KindVoid, KindRefund,
		KindSplitStart, KindSplitPayment, KindSplitComplete}
}

// State is a journal recovery point. The order is the state machine:
// accepted -> sending -> approved | declined | unknown; unknown -> approved | declined.
type State string

// The journal states.
const (
	StateAccepted State = "accepted" // validated and journaled; nothing sent
	StateSending  State = "sending"  // fsynced before the first byte goes upstream
	StateApproved State = "approved" // positive evidence from iyzico
	StateDeclined State = "declined" // positive evidence from iyzico, or certainly never processed
	StateUnknown  State = "unknown"  // sent, outcome not known: only a status query settles it
)

// Final reports whether no further transition can happen.
func (s State) Final() bool { return s == StateApproved || s == StateDeclined }

// Status is what the ECR sees of an operation's state.
type Status string

// The statuses: accepted and sending are pending; the others are their state's name.
const (
	StatusPending  Status = "pending"
	StatusApproved Status = "approved"
	StatusDeclined Status = "declined"
	StatusUnknown  Status = "unknown"
)

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusApproved, StatusDeclined, StatusUnknown:
		return true
	}
	return false
}

// Status is what the ECR sees: pending, approved, declined or unknown.
func (s State) Status() Status {
	switch s {
	case StateAccepted, StateSending:
		return StatusPending
	}
	return Status(s)
}

// Resolution says how a final state was reached, for the audit trail.
type Resolution string

// How an operation reached its final state.
const (
	ResolvedDirect   Resolution = "direct"    // the answer to the request itself
	ResolvedByQuery  Resolution = "query"     // a status query after unknown
	ResolvedNotFound Resolution = "not_found" // iyzico had no record after the grace period
	ResolvedNotSent  Resolution = "not_sent"  // refused before the device could act
	ResolvedOperator Resolution = "operator"  // settled by an operator, with evidence, when iyzico would not
)

// Card is everything bridged may keep of a card: BIN, last four and type.
// No type in bridged can hold a full card number, track data or CVV.
type Card struct {
	BIN   string `json:"bin,omitempty"`
	Last4 string `json:"last4,omitempty"`
	Type  string `json:"type,omitempty"`
}

// UpstreamError is iyzico's own error, safe to show the ECR.
type UpstreamError struct {
	Code    string `json:"code"`
	Group   string `json:"group,omitempty"`
	Message string `json:"message,omitempty"`
}

// SaleLine is one VUK 507 sale line (a fiscal receipt line).
type SaleLine struct {
	ID           string `json:"id,omitempty"` // iyzico's line id, known after the sale
	Name         string `json:"name"`
	Quantity     int    `json:"quantity"`
	UnitPrice    Money  `json:"-"`
	Total        Money  `json:"-"`
	UnitCode     string `json:"unit_code"`
	TaxGroupCode string `json:"tax_group_code"`
	Generic      bool   `json:"generic,omitempty"`
	// For refunds: the sale line refunded and the amount returned.
	RelatedLineID string `json:"related_line_id,omitempty"`
	// For sale lines: what approved refunds returned of the line so far.
	RefundedQuantity int   `json:"refunded_quantity,omitempty"`
	RefundedMinor    int64 `json:"-"`
}

// Buyer is the VUK 507 buyer identity, needed when the buyer is not the final consumer.
type Buyer struct {
	CustomerType  int    `json:"customer_type"` // 1 individual, 2 corporate
	FirstName     string `json:"first_name,omitempty"`
	MiddleName    string `json:"middle_name,omitempty"`
	FamilyName    string `json:"family_name,omitempty"`
	CompanyName   string `json:"company_name,omitempty"`
	TaxOfficeCode string `json:"tax_office_code,omitempty"`
	TaxNumber     string `json:"tax_number,omitempty"`
	Country       string `json:"country,omitempty"`
	City          string `json:"city,omitempty"`
	District      string `json:"district,omitempty"`
}

// Operation is one journaled money operation (or end of day) and its current state.
type Operation struct {
	ID             string
	Kind           Kind
	Client         string // the API key name: the idempotency scope
	IdempotencyKey string
	Fingerprint    string
	Reference      string // the ECR's own reference
	Terminal       string
	DeviceUniqueID string

	Amount      Money
	Installment int

	// VUK 507 sale and line-refund fields.
	PaymentType  string // CARD or CASH
	DocumentType string // "1" e-invoice, "9" expense voucher
	Lines        []SaleLine
	Buyer        *Buyer

	// For void, refund, post-auth and split steps: the operation this one acts on.
	ParentID string
	// ParentTransactionReferenceID is the parent's reference (VUK 507 line
	// refunds look up the sale's line ids by it).
	ParentTransactionReferenceID string
	SaleNumber                   string // VUK 507 partial payment flow id

	// Generated by bridged, sent upstream, and the key of every status query.
	TransactionReferenceID string
	ConversationID         string

	State       State
	Resolution  Resolution
	SafeToRetry bool

	// iyzico's answer.
	PaymentID   string
	PaymentDate string // YYYYMMDD
	AuthCode    string
	HostRef     string
	BatchNo     string
	Card        *Card
	Error       *UpstreamError

	// What later operations did to a payment, each applied exactly once, in
	// the commit that made the later operation final (Journal.Record effects).
	Voided        bool
	RefundedMinor int64
	// A pre-auth: the post-auth that captured it, and the amount captured.
	CapturedBy    string
	CapturedMinor int64
	// A split sale's start: closed by a cancel; no part may be added.
	Closed bool

	// Reason is why an operation is unknown (upstream's reason, such as
	// queried_timeout), or how an undecided answer was judged; for the ECR
	// and the operator.
	Reason string
	// Settlement is the operator's settlement of an unknown that iyzico would
	// not settle; Conflict a later answer of iyzico's that contradicts it.
	Settlement *Settlement
	Conflict   *Conflict

	// KeyReleased: the idempotency key was given back in the commit that made
	// the operation final, because nothing moved and the ECR must be able to
	// send the same request again (the terminal was busy).
	KeyReleased bool

	CreatedAt   time.Time
	UpdatedAt   time.Time
	SentAt      time.Time
	BusinessDay string // YYYYMMDD of the store's local day at creation

	// End of day: iyzico's report, and the start of the batch it closed.
	Report     *EndOfDayReport
	BatchSince time.Time
	// BatchMaybeClosed marks an end of day whose answer never came (or that
	// was cut by a stop): iyzico may have closed the batch. It is a
	// provisional boundary that the next end of day confirms or discards.
	BatchMaybeClosed bool

	// Reconciler bookkeeping.
	Queries     int
	NextQueryAt time.Time
}

// Settlement is an operator's settlement of an unknown, journaled as
// evidence: who, when, what they saw, and the paymentId they read on the
// slip for an approval.
type Settlement struct {
	By        string
	At        time.Time
	Evidence  string
	PaymentID string
	// WatchUntil: bridged keeps asking iyzico about the operation until then
	// (the end of the business day); zero once the watch is over.
	WatchUntil time.Time
	// Confirmed: iyzico later gave the same answer.
	Confirmed bool
}

// Conflict is an answer of iyzico's that contradicts an operator's
// settlement. bridged never changes the money state on it: an operator
// looks, acts, and acknowledges it.
type Conflict struct {
	At                time.Time
	Settled           State  // what the operator said
	Upstream          State  // what iyzico says
	UpstreamPaymentID string // the paymentId iyzico gives, if any
	AcknowledgedBy    string
	AcknowledgedAt    time.Time
	AcknowledgedNote  string
}

// Open reports whether the conflict still waits for an operator.
func (c *Conflict) Open() bool { return c != nil && c.AcknowledgedAt.IsZero() }

// Attention reports whether the operation needs bridged's or an operator's
// attention beyond the reconciler's queue: a settlement still watched, or a
// conflict not acknowledged. The journal indexes these so that a start finds
// them without reading the history.
func (op *Operation) Attention() bool {
	return (op.Settlement != nil && !op.Settlement.WatchUntil.IsZero()) || op.Conflict.Open()
}

// Clone returns a deep copy, so a stored record is never shared with a caller.
func (op *Operation) Clone() *Operation {
	if op == nil {
		return nil
	}
	c := *op
	if op.Lines != nil {
		c.Lines = append([]SaleLine(nil), op.Lines...)
	}
	if op.Card != nil {
		card := *op.Card
		c.Card = &card
	}
	if op.Error != nil {
		e := *op.Error
		c.Error = &e
	}
	if op.Buyer != nil {
		b := *op.Buyer
		c.Buyer = &b
	}
	if op.Settlement != nil {
		st := *op.Settlement
		c.Settlement = &st
	}
	if op.Conflict != nil {
		cf := *op.Conflict
		c.Conflict = &cf
	}
	if op.Report != nil {
		r := *op.Report
		r.Totals = append([]AcquirerTotal(nil), op.Report.Totals...)
		c.Report = &r
	}
	return &c
}

// Refundable is what is left to refund of a payment, in minor units.
func (op *Operation) Refundable() int64 { return op.Amount.Minor() - op.RefundedMinor }

// RefundedAmount is the total refunded so far.
func (op *Operation) RefundedAmount() Money {
	return NewMoney(op.RefundedMinor, op.Amount.Currency())
}
