package upstream

import (
	"context"
	"encoding/json"

	"github.com/bridgedpos/bridged/internal/payment"
)

// VUK 509 paths (spec §3).
const (
	PathPayment = "/v2/terminal-host/payment"
	PathQuery   = "/v2/terminal-host/payment/query-transaction-status"
	PathVoid    = "/v2/terminal-host/payment/void"
	PathRefund  = "/v2/terminal-host/payment/refund"
	PathEOD     = "/v2/terminal-host/eod"
)

var (
	opPayment = operation{name: "payment", path: PathPayment, kind: kindCard}
	opQuery   = operation{name: "query", path: PathQuery, kind: kindQuery}
	opVoid    = operation{name: "void", path: PathVoid, kind: kindCard}
	opRefund  = operation{name: "refund", path: PathRefund, kind: kindCard}
	opEOD     = operation{name: "eod", path: PathEOD, kind: kindEOD}
)

// SalesType is the VUK 509 payment kind.
type SalesType string

// The VUK 509 sales types.
const (
	SalesTypeSale     SalesType = "SALE"
	SalesTypePreAuth  SalesType = "PRE_AUTH"
	SalesTypePostAuth SalesType = "POST_AUTH" // closes a pre-auth; needs its PaymentID
)

// PaymentRequest is POST /v2/terminal-host/payment (CompletePaymentRequest).
type PaymentRequest struct {
	Head
	Installment int       `json:"installment"` // 0-12; 0 and 1 both mean a single payment
	SalesType   SalesType `json:"salesType"`
	PaymentID   string    `json:"paymentId,omitempty"` // required for POST_AUTH
	// Amount is sent as price (an exact JSON number) and currency.
	Amount payment.Money `json:"-"`
}

// MarshalJSON writes price and currency from Amount.
func (r PaymentRequest) MarshalJSON() ([]byte, error) {
	type plain PaymentRequest
	return json.Marshal(struct {
		plain
		Price    json.Number `json:"price"`
		Currency string      `json:"currency"`
	}{plain(r), amountNumber(r.Amount), string(r.Amount.Currency())})
}

// QueryRequest is POST /v2/terminal-host/payment/query-transaction-status.
// Send PaymentID, or DeviceUniqueID + TransactionReferenceID, or both ids
// (spec §3.2: the three are not required at once).
type QueryRequest struct {
	Head
	PaymentID string `json:"paymentId,omitempty"`
}

// head adds the paymentId asked for, which the answer must repeat.
func (r *QueryRequest) head() head { return r.Head.head().asking(r.PaymentID) }

// VoidRequest is POST /v2/terminal-host/payment/void.
// Its TransactionReferenceID is new, for this void.
type VoidRequest struct {
	Head
	PaymentID   string `json:"paymentId"`
	PaymentDate string `json:"paymentDate"` // YYYYMMDD of the original payment
	Reason      string `json:"reason,omitempty"`
	Description string `json:"description,omitempty"`
}

// RefundRequest is POST /v2/terminal-host/payment/refund (by amount). Its
// TransactionReferenceID is new, for this refund.
type RefundRequest struct {
	Head
	PaymentID   string `json:"paymentId"`
	PaymentDate string `json:"paymentDate"` // YYYYMMDD of the original payment
	Reason      string `json:"reason,omitempty"`
	Description string `json:"description,omitempty"`
	// Amount is sent as price; the spec's refund has no currency field.
	Amount payment.Money `json:"-"`
}

// MarshalJSON writes price from Amount.
func (r RefundRequest) MarshalJSON() ([]byte, error) {
	type plain RefundRequest
	return json.Marshal(struct {
		plain
		Price json.Number `json:"price"`
	}{plain(r), amountNumber(r.Amount)})
}

// EODRequest is POST /v2/terminal-host/eod. An end of day has no
// transactionReferenceId: one set in its Head is refused.
type EODRequest struct {
	Head
	// UseSummary: true prints the transaction details on the slip; nil omits it.
	UseSummary *bool `json:"useSummary,omitempty"`
}

// PaymentResponse is TerminalPaymentSuccessResponse (payment, query, void,
// refund), and on failure TerminalFailureResponse's fields through Envelope.
type PaymentResponse struct {
	Envelope
	ConversationID         string      `json:"conversationId"`
	Locale                 string      `json:"locale"`
	DeviceUniqueID         string      `json:"deviceUniqueId"`
	TransactionReferenceID string      `json:"transactionReferenceId"`
	TransactionDateTime    string      `json:"transactionDateTime"`
	AuthCode               string      `json:"authCode"`
	PaymentID              Text        `json:"paymentId"` // a string; a number is read as its text
	PaymentDate            Text        `json:"paymentDate"`
	Price                  json.Number `json:"price"`
	Installment            Int         `json:"installment"`
	Currency               string      `json:"currency"`
	BinNumber              string      `json:"binNumber"`
	LastFourDigits         string      `json:"lastFourDigits"`
	HostReference          string      `json:"hostReference"`
	CardType               string      `json:"cardType"`
	AcquirerID             string      `json:"acquirerId"`
	IssuerID               string      `json:"issuerId"`
	BankMerchantID         string      `json:"bankMerchantId"`
	BankTerminalID         string      `json:"bankTerminalId"`
	BatchNo                string      `json:"batchNo"`
	StanNo                 string      `json:"stanNo"`
	PosEntryModeCode       string      `json:"posEntryModeCode"`
	CancelHostReference    string      `json:"cancelHostReference"`
	RefundHostReference    string      `json:"refundHostReference"`
}

// Amount is Price in Currency, exactly (TRY when no currency was answered).
func (r *PaymentResponse) Amount() (payment.Money, error) {
	return moneyOf(r.Price, r.Currency, payment.TRY)
}

// EODTotal is one acquirer's line of an end of day (TerminalEodTotalsItem,
// and VUK 507's TailDto).
type EODTotal struct {
	AcquirerID             string `json:"acquirerId"`
	AcquirerName           string `json:"acquirerName"`
	TerminalID             string `json:"terminalId"`
	BankMerchantID         string `json:"bankMerchantId"`
	TotalTransactionAmount Text   `json:"totalTransactionAmount"` // documented as a string
	TotalTransactionCount  Text   `json:"totalTransactionCount"`  // documented as a string
	BatchNo                string `json:"batchNo"`
	ResponseCode           string `json:"responseCode"` // "00" usually means success
	InternalErrorCode      Text   `json:"internalErrorCode"`
}

// EODResponse is TerminalEodSuccessResponse.
type EODResponse struct {
	Envelope
	Locale         string     `json:"locale"`
	ConversationID string     `json:"conversationId"`
	Totals         []EODTotal `json:"totals"`
	BatchNo        string     `json:"batchNo"`
	ResultMessage  string     `json:"resultMessage"`
}

// Payment starts a sale, pre-authorisation or post-authorisation on the
// device and waits (up to CardTimeout) for the cardholder and the bank.
func (c *Client) Payment(ctx context.Context, r PaymentRequest) (*PaymentResponse, error) {
	return send[PaymentResponse](ctx, c, &opPayment, &r)
}

// QueryTransactionStatus reads the status of an earlier payment, void or
// refund. Approved: the queried transaction succeeded; Declined: it failed on
// positive evidence; NotFound: iyzico does not know it; Unknown: no answer.
func (c *Client) QueryTransactionStatus(ctx context.Context, r QueryRequest) (*PaymentResponse, error) {
	return send[PaymentResponse](ctx, c, &opQuery, &r)
}

// Void reverses a payment; the card is presented on the device.
func (c *Client) Void(ctx context.Context, r VoidRequest) (*PaymentResponse, error) {
	return send[PaymentResponse](ctx, c, &opVoid, &r)
}

// Refund refunds part or all of a payment; the card is presented on the device.
func (c *Client) Refund(ctx context.Context, r RefundRequest) (*PaymentResponse, error) {
	return send[PaymentResponse](ctx, c, &opRefund, &r)
}

// EndOfDay closes the terminal's batch and returns the per-acquirer totals.
func (c *Client) EndOfDay(ctx context.Context, r EODRequest) (*EODResponse, error) {
	return send[EODResponse](ctx, c, &opEOD, &r)
}

// refuse logs and returns a request refused locally.
func (c *Client) refuse(op *operation, e *Error, m meta) *Error {
	e.Op = op.name
	c.logCall(op, m, e, 0)
	return e
}
