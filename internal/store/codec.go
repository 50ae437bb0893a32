package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bridgedpos/bridged/internal/payment"
)

// ErrCorrupt marks a record, key or entry that cannot be decoded or does not
// match what the schema says.
var ErrCorrupt = errors.New("store: corrupt data")

// Record codec, version 1: one version byte, then JSON of a store-owned
// mirror of payment.Operation. The mirror, not the domain type, is the
// format, so payment can rename or add fields without breaking existing
// files: a new field gets a new JSON name here (old records decode it as
// zero). Schema v1 and v2 journals hold their records so; schema v3 keeps
// them in version 2 (record.go) and uses this JSON where people read
// records: the archives (archive.go). decodeOp reads both versions.
const recordV1 byte = 1

type moneyV1 struct {
	Minor    int64  `json:"minor"`
	Currency string `json:"currency"`
}

type lineV1 struct {
	ID            string  `json:"id,omitempty"`
	Name          string  `json:"name"`
	Quantity      int     `json:"quantity"`
	UnitPrice     moneyV1 `json:"unit_price"`
	Total         moneyV1 `json:"total"`
	UnitCode      string  `json:"unit_code,omitempty"`
	TaxGroupCode  string  `json:"tax_group_code,omitempty"`
	Generic       bool    `json:"generic,omitempty"`
	RelatedLineID string  `json:"related_line_id,omitempty"`
	RefundedQty   int     `json:"refunded_quantity,omitempty"`
	RefundedMinor int64   `json:"refunded_minor,omitempty"`
}

type buyerV1 struct {
	CustomerType  int    `json:"customer_type"`
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

type cardV1 struct {
	BIN   string `json:"bin,omitempty"`
	Last4 string `json:"last4,omitempty"`
	Type  string `json:"type,omitempty"`
}

type upstreamErrorV1 struct {
	Code    string `json:"code"`
	Group   string `json:"group,omitempty"`
	Message string `json:"message,omitempty"`
}

type settlementV1 struct {
	By         string `json:"by"`
	At         string `json:"at"`
	Evidence   string `json:"evidence"`
	PaymentID  string `json:"payment_id,omitempty"`
	WatchUntil string `json:"watch_until,omitempty"`
	Confirmed  bool   `json:"confirmed,omitempty"`
}

type conflictV1 struct {
	At                string `json:"at"`
	Settled           string `json:"settled"`
	Upstream          string `json:"upstream"`
	UpstreamPaymentID string `json:"upstream_payment_id,omitempty"`
	AcknowledgedBy    string `json:"acknowledged_by,omitempty"`
	AcknowledgedAt    string `json:"acknowledged_at,omitempty"`
	AcknowledgedNote  string `json:"acknowledged_note,omitempty"`
}

type eodReportV1 struct {
	BatchNo       string            `json:"batch_no,omitempty"`
	ResultMessage string            `json:"result_message,omitempty"`
	Totals        []acquirerTotalV1 `json:"totals,omitempty"`
}

type acquirerTotalV1 struct {
	AcquirerID   string  `json:"acquirer_id,omitempty"`
	AcquirerName string  `json:"acquirer_name,omitempty"`
	TerminalID   string  `json:"terminal_id,omitempty"`
	BatchNo      string  `json:"batch_no,omitempty"`
	Amount       moneyV1 `json:"amount"`
	Count        int     `json:"count"`
	ResponseCode string  `json:"response_code,omitempty"`
}

// opV1 mirrors payment.Operation. Times are RFC 3339 with nanoseconds in UTC,
// "" for the zero time.
type opV1 struct {
	ID             string `json:"id"`
	Kind           string `json:"kind"`
	Client         string `json:"client,omitempty"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	Fingerprint    string `json:"fingerprint,omitempty"`
	Reference      string `json:"reference,omitempty"`
	Terminal       string `json:"terminal,omitempty"`
	DeviceUniqueID string `json:"device_unique_id,omitempty"`

	Amount      moneyV1 `json:"amount"`
	Installment int     `json:"installment,omitempty"`

	PaymentType  string   `json:"payment_type,omitempty"`
	DocumentType string   `json:"document_type,omitempty"`
	Lines        []lineV1 `json:"lines,omitempty"`
	Buyer        *buyerV1 `json:"buyer,omitempty"`

	ParentID   string `json:"parent_id,omitempty"`
	ParentRef  string `json:"parent_transaction_reference_id,omitempty"`
	SaleNumber string `json:"sale_number,omitempty"`

	TransactionReferenceID string `json:"transaction_reference_id,omitempty"`
	ConversationID         string `json:"conversation_id,omitempty"`

	State       string `json:"state"`
	Resolution  string `json:"resolution,omitempty"`
	SafeToRetry bool   `json:"safe_to_retry,omitempty"`

	PaymentID   string           `json:"payment_id,omitempty"`
	PaymentDate string           `json:"payment_date,omitempty"`
	AuthCode    string           `json:"auth_code,omitempty"`
	HostRef     string           `json:"host_ref,omitempty"`
	BatchNo     string           `json:"batch_no,omitempty"`
	Card        *cardV1          `json:"card,omitempty"`
	Error       *upstreamErrorV1 `json:"error,omitempty"`

	Voided        bool   `json:"voided,omitempty"`
	RefundedMinor int64  `json:"refunded_minor,omitempty"`
	CapturedBy    string `json:"captured_by,omitempty"`
	CapturedMinor int64  `json:"captured_minor,omitempty"`
	Closed        bool   `json:"closed,omitempty"`
	Reason        string `json:"reason,omitempty"`
	KeyReleased   bool   `json:"key_released,omitempty"`

	Settlement *settlementV1 `json:"settlement,omitempty"`
	Conflict   *conflictV1   `json:"conflict,omitempty"`

	CreatedAt   string `json:"created_at,omitempty"`
	UpdatedAt   string `json:"updated_at,omitempty"`
	SentAt      string `json:"sent_at,omitempty"`
	BusinessDay string `json:"business_day,omitempty"`

	EODReport        *eodReportV1 `json:"eod_report,omitempty"`
	BatchSince       string       `json:"batch_since,omitempty"`
	BatchMaybeClosed bool         `json:"batch_maybe_closed,omitempty"`

	Queries     int    `json:"queries,omitempty"`
	NextQueryAt string `json:"next_query_at,omitempty"`
}

func encodeMoney(m payment.Money) moneyV1 {
	return moneyV1{Minor: m.Minor(), Currency: string(m.Currency())}
}

func (m moneyV1) decode() payment.Money {
	return payment.NewMoney(m.Minor, payment.Currency(m.Currency))
}

func encodeTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func decodeTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s: %w", ErrCorrupt, field, err)
	}
	return t.UTC(), nil
}

// encodeOp returns the record bytes of op as the journal keeps them
// (version 2, record.go).
func encodeOp(op *payment.Operation) ([]byte, error) { return encodeRecord(op) }

// encodeOpV1 returns the version 1 record of op: recordV1 then JSON.
func encodeOpV1(op *payment.Operation) ([]byte, error) {
	js, err := encodeJSON(op)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 1+len(js))
	out = append(out, recordV1)
	return append(out, js...), nil
}

// encodeJSON is the JSON mirror of op (version 1's body, and an archive's
// record lines).
func encodeJSON(op *payment.Operation) ([]byte, error) {
	r := opV1{
		ID:                     op.ID,
		Kind:                   string(op.Kind),
		Client:                 op.Client,
		IdempotencyKey:         op.IdempotencyKey,
		Fingerprint:            op.Fingerprint,
		Reference:              op.Reference,
		Terminal:               op.Terminal,
		DeviceUniqueID:         op.DeviceUniqueID,
		Amount:                 encodeMoney(op.Amount),
		Installment:            op.Installment,
		PaymentType:            op.PaymentType,
		DocumentType:           op.DocumentType,
		ParentID:               op.ParentID,
		ParentRef:              op.ParentTransactionReferenceID,
		SaleNumber:             op.SaleNumber,
		TransactionReferenceID: op.TransactionReferenceID,
		ConversationID:         op.ConversationID,
		State:                  string(op.State),
		Resolution:             string(op.Resolution),
		SafeToRetry:            op.SafeToRetry,
		PaymentID:              op.PaymentID,
		PaymentDate:            op.PaymentDate,
		AuthCode:               op.AuthCode,
		HostRef:                op.HostRef,
		BatchNo:                op.BatchNo,
		Voided:                 op.Voided,
		RefundedMinor:          op.RefundedMinor,
		CapturedBy:             op.CapturedBy,
		CapturedMinor:          op.CapturedMinor,
		Closed:                 op.Closed,
		Reason:                 op.Reason,
		KeyReleased:            op.KeyReleased,
		BatchMaybeClosed:       op.BatchMaybeClosed,
		CreatedAt:              encodeTime(op.CreatedAt),
		UpdatedAt:              encodeTime(op.UpdatedAt),
		SentAt:                 encodeTime(op.SentAt),
		BusinessDay:            op.BusinessDay,
		BatchSince:             encodeTime(op.BatchSince),
		Queries:                op.Queries,
		NextQueryAt:            encodeTime(op.NextQueryAt),
	}
	r.EODReport = encodeReport(op.Report)
	r.Lines = encodeLines(op.Lines)
	r.Buyer = encodeBuyer(op.Buyer)
	r.Card = encodeCard(op.Card)
	r.Error = encodeUpstreamError(op.Error)
	r.Settlement = encodeSettlement(op.Settlement)
	r.Conflict = encodeConflict(op.Conflict)
	js, err := json.Marshal(&r)
	if err != nil {
		return nil, fmt.Errorf("encode operation %s: %w", op.ID, err)
	}
	return js, nil
}

// The encode helpers below write the nested parts of the JSON mirror: nil
// stays nil (the member is left out), as does a nil slice.

func encodeReport(rep *payment.EndOfDayReport) *eodReportV1 {
	if rep == nil {
		return nil
	}
	r := &eodReportV1{BatchNo: rep.BatchNo, ResultMessage: rep.ResultMessage}
	if rep.Totals != nil {
		r.Totals = make([]acquirerTotalV1, len(rep.Totals))
		for i, t := range rep.Totals {
			r.Totals[i] = acquirerTotalV1{
				AcquirerID: t.AcquirerID, AcquirerName: t.AcquirerName, TerminalID: t.TerminalID,
				BatchNo: t.BatchNo, Amount: encodeMoney(t.Amount), Count: t.Count, ResponseCode: t.ResponseCode,
			}
		}
	}
	return r
}

func encodeLines(lines []payment.SaleLine) []lineV1 {
	if lines == nil {
		return nil
	}
	out := make([]lineV1, len(lines))
	for i, l := range lines {
		out[i] = lineV1{
			ID:            l.ID,
			Name:          l.Name,
			Quantity:      l.Quantity,
			UnitPrice:     encodeMoney(l.UnitPrice),
			Total:         encodeMoney(l.Total),
			UnitCode:      l.UnitCode,
			TaxGroupCode:  l.TaxGroupCode,
			Generic:       l.Generic,
			RelatedLineID: l.RelatedLineID,
			RefundedQty:   l.RefundedQuantity,
			RefundedMinor: l.RefundedMinor,
		}
	}
	return out
}

func encodeBuyer(b *payment.Buyer) *buyerV1 {
	if b == nil {
		return nil
	}
	return &buyerV1{
		CustomerType: b.CustomerType, FirstName: b.FirstName, MiddleName: b.MiddleName,
		FamilyName: b.FamilyName, CompanyName: b.CompanyName, TaxOfficeCode: b.TaxOfficeCode,
		TaxNumber: b.TaxNumber, Country: b.Country, City: b.City, District: b.District,
	}
}

func encodeCard(c *payment.Card) *cardV1 {
	if c == nil {
		return nil
	}
	return &cardV1{BIN: c.BIN, Last4: c.Last4, Type: c.Type}
}

func encodeUpstreamError(e *payment.UpstreamError) *upstreamErrorV1 {
	if e == nil {
		return nil
	}
	return &upstreamErrorV1{Code: e.Code, Group: e.Group, Message: e.Message}
}

func encodeSettlement(st *payment.Settlement) *settlementV1 {
	if st == nil {
		return nil
	}
	return &settlementV1{By: st.By, At: encodeTime(st.At), Evidence: st.Evidence, PaymentID: st.PaymentID,
		WatchUntil: encodeTime(st.WatchUntil), Confirmed: st.Confirmed}
}

func encodeConflict(c *payment.Conflict) *conflictV1 {
	if c == nil {
		return nil
	}
	return &conflictV1{At: encodeTime(c.At), Settled: string(c.Settled), Upstream: string(c.Upstream),
		UpstreamPaymentID: c.UpstreamPaymentID, AcknowledgedBy: c.AcknowledgedBy,
		AcknowledgedAt: encodeTime(c.AcknowledgedAt), AcknowledgedNote: c.AcknowledgedNote}
}

// decodeOp builds a new Operation from record bytes of either version. It
// shares no memory with b, so b may be a bbolt value that dies with its
// transaction.
func decodeOp(b []byte) (*payment.Operation, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty operation record", ErrCorrupt)
	}
	switch b[0] {
	case recordV2:
		return decodeRecord(b)
	case recordV1:
		return decodeJSON(b[1:])
	}
	return nil, fmt.Errorf("%w: operation record version %d is not known to this bridged", ErrCorrupt, b[0])
}

// decodeJSON reads the JSON mirror (a version 1 record's body, an archive's
// record line).
func decodeJSON(js []byte) (*payment.Operation, error) {
	var r opV1
	if err := json.Unmarshal(js, &r); err != nil {
		return nil, fmt.Errorf("%w: operation record: %w", ErrCorrupt, err)
	}
	op := &payment.Operation{
		ID:                           r.ID,
		Kind:                         payment.Kind(r.Kind),
		Client:                       r.Client,
		IdempotencyKey:               r.IdempotencyKey,
		Fingerprint:                  r.Fingerprint,
		Reference:                    r.Reference,
		Terminal:                     r.Terminal,
		DeviceUniqueID:               r.DeviceUniqueID,
		Amount:                       r.Amount.decode(),
		Installment:                  r.Installment,
		PaymentType:                  r.PaymentType,
		DocumentType:                 r.DocumentType,
		ParentID:                     r.ParentID,
		ParentTransactionReferenceID: r.ParentRef,
		SaleNumber:                   r.SaleNumber,
		TransactionReferenceID:       r.TransactionReferenceID,
		ConversationID:               r.ConversationID,
		State:                        payment.State(r.State),
		Resolution:                   payment.Resolution(r.Resolution),
		SafeToRetry:                  r.SafeToRetry,
		PaymentID:                    r.PaymentID,
		PaymentDate:                  r.PaymentDate,
		AuthCode:                     r.AuthCode,
		HostRef:                      r.HostRef,
		BatchNo:                      r.BatchNo,
		Voided:                       r.Voided,
		RefundedMinor:                r.RefundedMinor,
		CapturedBy:                   r.CapturedBy,
		CapturedMinor:                r.CapturedMinor,
		Closed:                       r.Closed,
		Reason:                       r.Reason,
		KeyReleased:                  r.KeyReleased,
		BatchMaybeClosed:             r.BatchMaybeClosed,
		BusinessDay:                  r.BusinessDay,
		Queries:                      r.Queries,
	}
	if err := decodeTimes(op, &r); err != nil {
		return nil, err
	}
	op.Report = r.EODReport.decode()
	op.Lines = decodeLines(r.Lines)
	op.Buyer = r.Buyer.decode()
	op.Card = r.Card.decode()
	op.Error = r.Error.decode()
	var err error
	if op.Settlement, err = r.Settlement.decode(); err != nil {
		return nil, err
	}
	if op.Conflict, err = r.Conflict.decode(); err != nil {
		return nil, err
	}
	return op, nil
}

// decodeTimes reads the operation's own times.
func decodeTimes(op *payment.Operation, r *opV1) error {
	return decodeTimeFields(
		timeField{"created_at", r.CreatedAt, &op.CreatedAt},
		timeField{"updated_at", r.UpdatedAt, &op.UpdatedAt},
		timeField{"sent_at", r.SentAt, &op.SentAt},
		timeField{"next_query_at", r.NextQueryAt, &op.NextQueryAt},
		timeField{"batch_since", r.BatchSince, &op.BatchSince},
	)
}

// timeField is a time of the JSON mirror: its name (for errors), its text
// and where it goes.
type timeField struct {
	name, text string
	dst        *time.Time
}

// decodeTimeFields reads each field in turn; the first that does not read
// is the error.
func decodeTimeFields(fs ...timeField) error {
	for _, f := range fs {
		t, err := decodeTime(f.name, f.text)
		if err != nil {
			return err
		}
		*f.dst = t
	}
	return nil
}

// The decode helpers below read the nested parts of the JSON mirror: an
// absent member stays nil, as does an absent list.

func (rep *eodReportV1) decode() *payment.EndOfDayReport {
	if rep == nil {
		return nil
	}
	out := &payment.EndOfDayReport{BatchNo: rep.BatchNo, ResultMessage: rep.ResultMessage}
	if rep.Totals != nil {
		out.Totals = make([]payment.AcquirerTotal, len(rep.Totals))
		for i, t := range rep.Totals {
			out.Totals[i] = payment.AcquirerTotal{
				AcquirerID: t.AcquirerID, AcquirerName: t.AcquirerName, TerminalID: t.TerminalID,
				BatchNo: t.BatchNo, Amount: t.Amount.decode(), Count: t.Count, ResponseCode: t.ResponseCode,
			}
		}
	}
	return out
}

func decodeLines(lines []lineV1) []payment.SaleLine {
	if lines == nil {
		return nil
	}
	out := make([]payment.SaleLine, len(lines))
	for i, l := range lines {
		out[i] = payment.SaleLine{
			ID:               l.ID,
			Name:             l.Name,
			Quantity:         l.Quantity,
			UnitPrice:        l.UnitPrice.decode(),
			Total:            l.Total.decode(),
			UnitCode:         l.UnitCode,
			TaxGroupCode:     l.TaxGroupCode,
			Generic:          l.Generic,
			RelatedLineID:    l.RelatedLineID,
			RefundedQuantity: l.RefundedQty,
			RefundedMinor:    l.RefundedMinor,
		}
	}
	return out
}

func (b *buyerV1) decode() *payment.Buyer {
	if b == nil {
		return nil
	}
	return &payment.Buyer{
		CustomerType: b.CustomerType, FirstName: b.FirstName, MiddleName: b.MiddleName,
		FamilyName: b.FamilyName, CompanyName: b.CompanyName, TaxOfficeCode: b.TaxOfficeCode,
		TaxNumber: b.TaxNumber, Country: b.Country, City: b.City, District: b.District,
	}
}

func (c *cardV1) decode() *payment.Card {
	if c == nil {
		return nil
	}
	return &payment.Card{BIN: c.BIN, Last4: c.Last4, Type: c.Type}
}

func (e *upstreamErrorV1) decode() *payment.UpstreamError {
	if e == nil {
		return nil
	}
	return &payment.UpstreamError{Code: e.Code, Group: e.Group, Message: e.Message}
}

func (st *settlementV1) decode() (*payment.Settlement, error) {
	if st == nil {
		return nil, nil
	}
	out := &payment.Settlement{By: st.By, Evidence: st.Evidence, PaymentID: st.PaymentID, Confirmed: st.Confirmed}
	err := decodeTimeFields(
		timeField{"settlement.at", st.At, &out.At},
		timeField{"settlement.watch_until", st.WatchUntil, &out.WatchUntil},
	)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *conflictV1) decode() (*payment.Conflict, error) {
	if c == nil {
		return nil, nil
	}
	out := &payment.Conflict{Settled: payment.State(c.Settled), Upstream: payment.State(c.Upstream),
		UpstreamPaymentID: c.UpstreamPaymentID, AcknowledgedBy: c.AcknowledgedBy, AcknowledgedNote: c.AcknowledgedNote}
	err := decodeTimeFields(
		timeField{"conflict.at", c.At, &out.At},
		timeField{"conflict.acknowledged_at", c.AcknowledgedAt, &out.AcknowledgedAt},
	)
	if err != nil {
		return nil, err
	}
	return out, nil
}
