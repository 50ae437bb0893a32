package apitype

import "time"

// Payment is an operation as the ECR sees it. DESIGN.md §5 names the fields;
// the ones after it are additions.
type Payment struct {
	ID           string    `json:"id"`
	Reference    string    `json:"reference"`
	Terminal     string    `json:"terminal"`
	Type         string    `json:"type"`
	Amount       string    `json:"amount"`
	Currency     string    `json:"currency"`
	Installment  int       `json:"installment"`
	Status       string    `json:"status"`
	SafeToRetry  bool      `json:"safe_to_retry"`
	PaymentID    string    `json:"payment_id"`
	PaymentDate  string    `json:"payment_date"`
	AuthCode     string    `json:"auth_code"`
	Card         *Card     `json:"card"`
	Error        *Error    `json:"error"`
	Voided       bool      `json:"voided"`
	Refunded     string    `json:"refunded_amount"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	ParentID     string    `json:"parent_id,omitempty"`
	TxRef        string    `json:"transaction_reference_id"`
	Resolution   string    `json:"resolution,omitempty"`
	PaymentType  string    `json:"payment_type,omitempty"`
	DocumentType string    `json:"document_type,omitempty"`
	Items        []Item    `json:"items,omitempty"`
	SaleNumber   string    `json:"sale_number,omitempty"`
	Buyer        *Buyer    `json:"buyer,omitempty"`
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
	Settlement *Settlement       `json:"settlement,omitempty"`
	Conflict   *Conflict         `json:"conflict,omitempty"`
	Links      map[string]string `json:"links"`
}

// Card is what bridged ever has of a card: its BIN, last four digits and
// type (CREDIT_CARD, DEBIT_CARD, PREPAID_CARD, or iyzico's own word).
type Card struct {
	BIN   string `json:"bin,omitempty"`
	Last4 string `json:"last4,omitempty"`
	Type  string `json:"type,omitempty"`
}

// Error is iyzico's own error on an operation, safe to show the ECR.
type Error struct {
	Code    string `json:"code"`
	Group   string `json:"group,omitempty"`
	Message string `json:"message,omitempty"`
}

// Item is one VUK 507 sale line; a refund's line is the sale's line it returns.
type Item struct {
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

// Buyer is the VUK 507 buyer of a sale.
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

// Settlement is an operator's outcome for an operation iyzico could not settle.
type Settlement struct {
	By         string     `json:"by"`
	At         time.Time  `json:"at"`
	Evidence   string     `json:"evidence"`
	PaymentID  string     `json:"payment_id,omitempty"`
	WatchUntil *time.Time `json:"watched_until,omitempty"`
	Confirmed  bool       `json:"confirmed_by_iyzico"`
}

// Conflict is a later answer of iyzico's that contradicts a settlement.
type Conflict struct {
	At                time.Time  `json:"at"`
	Settled           string     `json:"settled"`
	Upstream          string     `json:"iyzico"`
	UpstreamPaymentID string     `json:"iyzico_payment_id,omitempty"`
	AcknowledgedBy    string     `json:"acknowledged_by,omitempty"`
	AcknowledgedAt    *time.Time `json:"acknowledged_at,omitempty"`
	AcknowledgedNote  string     `json:"acknowledged_note,omitempty"`
}

// PaymentList is one page of GET /v1/payments; NextCursor is empty on the last.
type PaymentList struct {
	Items      []Payment `json:"items"`
	NextCursor string    `json:"next_cursor"`
}

// SplitCancel is a cancelled split sale: each part and its void.
type SplitCancel struct {
	Split  Payment     `json:"split"`
	Status string      `json:"status"` // cancelled, pending, incomplete
	Parts  []SplitPart `json:"parts"`
}

// SplitPart is one payment of a split sale and the void that undid it.
type SplitPart struct {
	Payment Payment  `json:"payment"`
	Void    *Payment `json:"void"`
	Note    string   `json:"note,omitempty"`
}

// Event is the data of one server-sent event of GET /v1/events (its fields
// in the order of their names, as the feed has always sent them).
type Event struct {
	At      time.Time `json:"at"`
	Payment Payment   `json:"payment"`
	Seq     uint64    `json:"seq"`
	State   string    `json:"state"`
}

// SettleRequest is the body of POST /v1/payments/{id}/settle (its fields in
// the order of their names, as bridged tx settle has always sent them).
type SettleRequest struct {
	By          string `json:"by"`
	Evidence    string `json:"evidence"`
	Outcome     string `json:"outcome"`
	PaymentDate string `json:"payment_date,omitempty"`
	PaymentID   string `json:"payment_id,omitempty"`
}

// AcknowledgeRequest is the body of POST /v1/payments/{id}/acknowledge-conflict.
type AcknowledgeRequest struct {
	By   string `json:"by"`
	Note string `json:"note"`
}
