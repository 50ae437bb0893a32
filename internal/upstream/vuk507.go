package upstream

import (
	"context"
	"encoding/json"

	"github.com/bridgedpos/bridged/internal/payment"
)

// VUK 507 (GMU) paths (spec §4).
const (
	PathGmuPayment            = "/v2/terminal-host/gmu/payment"
	PathGmuQuery              = "/v2/terminal-host/gmu/payment/query-transaction-status"
	PathGmuVoid               = "/v2/terminal-host/gmu/payment/void"
	PathGmuRefund             = "/v2/terminal-host/gmu/payment/refund"
	PathGmuRefundableSaleInfo = "/v2/terminal-host/gmu/payment/refundable-sale-info"
	PathGmuPartialStart       = "/v2/terminal-host/gmu/partial-payment/start"
	PathGmuPartialAdd         = "/v2/terminal-host/gmu/partial-payment/add-payment"
	PathGmuPartialComplete    = "/v2/terminal-host/gmu/partial-payment/complete"
	PathGmuEOD                = "/v2/terminal-host/gmu/eod"
)

var (
	opGmuPayment         = operation{name: "gmu.payment", path: PathGmuPayment, kind: kindCard}
	opGmuQuery           = operation{name: "gmu.query", path: PathGmuQuery, kind: kindQuery}
	opGmuVoid            = operation{name: "gmu.void", path: PathGmuVoid, kind: kindCard}
	opGmuRefund          = operation{name: "gmu.refund", path: PathGmuRefund, kind: kindCard}
	opGmuRefundableInfo  = operation{name: "gmu.refundable_sale_info", path: PathGmuRefundableSaleInfo, kind: kindInfo}
	opGmuPartialStart    = operation{name: "gmu.partial_start", path: PathGmuPartialStart, kind: kindCard}
	opGmuPartialAdd      = operation{name: "gmu.partial_add", path: PathGmuPartialAdd, kind: kindCard}
	opGmuPartialComplete = operation{name: "gmu.partial_complete", path: PathGmuPartialComplete, kind: kindCard}
	opGmuEOD             = operation{name: "gmu.eod", path: PathGmuEOD, kind: kindEOD}
)

// PaymentType is how a VUK 507 sale is paid.
type PaymentType string

// The VUK 507 payment types.
const (
	PaymentTypeCard PaymentType = "CARD"
	PaymentTypeCash PaymentType = "CASH"
)

// DocumentType is saleDocumentType, a JSON string.
type DocumentType string

// The VUK 507 sale document types.
const (
	DocumentEInvoice       DocumentType = "1" // E-Fatura
	DocumentExpenseVoucher DocumentType = "9" // Gider Pusulası
)

// CustomerType is BuyerInfo.customerType.
type CustomerType int

// The buyer kinds.
const (
	CustomerIndividual CustomerType = 1
	CustomerCorporate  CustomerType = 2
)

// BuyerInfo is the buyer's tax identity, required when the buyer is not the
// final consumer.
type BuyerInfo struct {
	CustomerType  CustomerType `json:"customerType,omitempty"`
	FirstName     string       `json:"firstName,omitempty"`
	MiddleName    string       `json:"middleName,omitempty"`
	FamilyName    string       `json:"familyName,omitempty"`
	CompanyName   string       `json:"companyName,omitempty"`
	TaxOfficeCode string       `json:"taxOfficeCode,omitempty"`
	TaxNumber     string       `json:"taxNumber,omitempty"`
	Country       string       `json:"country,omitempty"`
	City          string       `json:"city,omitempty"`
	District      string       `json:"district,omitempty"`
}

// SaleItem is one sale line (SaleItem). On a sale RelatedSaleItemID and
// ReturnAmount stay empty and are not sent; on a refund both are required.
// The amounts are sent as exact JSON numbers; their currency, when set, must
// be the sale's.
type SaleItem struct {
	RelatedSaleItemID string        `json:"relatedSaleItemId,omitempty"`
	Name              string        `json:"name"`
	Generic           bool          `json:"generic,omitempty"`
	UnitCode          string        `json:"unitCode"` // e.g. "C62" (piece)
	TaxGroupCode      string        `json:"taxGroupCode"`
	ItemQuantity      int           `json:"itemQuantity"`
	UnitPriceAmount   payment.Money `json:"-"`
	GrossPriceAmount  payment.Money `json:"-"`
	TotalPriceAmount  payment.Money `json:"-"`
	ReturnAmount      payment.Money `json:"-"`
}

// MarshalJSON writes the amounts as JSON numbers, returnAmount only when set.
func (it SaleItem) MarshalJSON() ([]byte, error) {
	type plain SaleItem
	var ret json.Number
	if !it.ReturnAmount.IsZero() {
		ret = amountNumber(it.ReturnAmount)
	}
	return json.Marshal(struct {
		plain
		UnitPriceAmount  json.Number `json:"unitPriceAmount"`
		GrossPriceAmount json.Number `json:"grossPriceAmount"`
		TotalPriceAmount json.Number `json:"totalPriceAmount"`
		ReturnAmount     json.Number `json:"returnAmount,omitempty"`
	}{plain(it), amountNumber(it.UnitPriceAmount), amountNumber(it.GrossPriceAmount), amountNumber(it.TotalPriceAmount), ret})
}

// GmuPaymentRequest is POST /v2/terminal-host/gmu/payment (GmuPaymentRequest),
// also the body of partial-payment/start.
type GmuPaymentRequest struct {
	Head
	PaymentType       PaymentType  `json:"paymentType"`
	Installment       int          `json:"installment,omitempty"` // 0 = not sent (iyzico's default 1)
	SaleAppName       string       `json:"saleAppName"`
	SaleAppVersion    string       `json:"saleAppVersion"`
	SaleDocumentType  DocumentType `json:"saleDocumentType"`
	NotificationPhone string       `json:"notificationPhone,omitempty"`
	NotificationEmail string       `json:"notificationEmail,omitempty"`
	SaleItems         []SaleItem   `json:"saleItems"`
	BuyerInfo         *BuyerInfo   `json:"buyerInfo,omitempty"`
	// Price (gross) and PaidPrice (to pay) are sent as price, paidPrice and
	// currency; both must share one currency.
	Price     payment.Money `json:"-"`
	PaidPrice payment.Money `json:"-"`
}

// MarshalJSON writes price, paidPrice and currency.
func (r GmuPaymentRequest) MarshalJSON() ([]byte, error) {
	type plain GmuPaymentRequest
	return json.Marshal(struct {
		plain
		Price     json.Number `json:"price"`
		PaidPrice json.Number `json:"paidPrice"`
		Currency  string      `json:"currency"`
	}{plain(r), amountNumber(r.Price), amountNumber(r.PaidPrice), string(r.Price.Currency())})
}

// GmuQueryRequest is POST /v2/terminal-host/gmu/payment/query-transaction-status;
// PaymentID, TransactionReferenceID or both.
type GmuQueryRequest struct {
	Head
	PaymentID string `json:"paymentId,omitempty"`
}

// head adds the paymentId asked for, which the answer must repeat.
func (r *GmuQueryRequest) head() head { return r.Head.head().asking(r.PaymentID) }

// GmuVoidRequest is POST /v2/terminal-host/gmu/payment/void (same day only).
type GmuVoidRequest struct {
	Head
	PaymentID   string `json:"paymentId"`
	PaymentDate int    `json:"paymentDate"` // YYYYMMDD as an integer
	Reason      string `json:"reason,omitempty"`
	Description string `json:"description,omitempty"`
}

// GmuRefundRequest is POST /v2/terminal-host/gmu/payment/refund, by line.
type GmuRefundRequest struct {
	Head
	PaymentID         string     `json:"paymentId"`
	PaymentDate       int        `json:"paymentDate"` // YYYYMMDD as an integer
	SaleAppName       string     `json:"saleAppName"`
	SaleAppVersion    string     `json:"saleAppVersion"`
	NotificationPhone string     `json:"notificationPhone,omitempty"`
	NotificationEmail string     `json:"notificationEmail,omitempty"`
	SaleItems         []SaleItem `json:"saleItems"` // each with RelatedSaleItemID and ReturnAmount
}

// GmuRefundableSaleInfoRequest is POST /v2/terminal-host/gmu/payment/refundable-sale-info.
// Its TransactionReferenceID is the original sale's.
type GmuRefundableSaleInfoRequest struct {
	Head
}

// GmuPartialAddRequest is POST /v2/terminal-host/gmu/partial-payment/add-payment.
type GmuPartialAddRequest struct {
	Head
	SaleNumber  string `json:"saleNumber"`
	Installment int    `json:"installment,omitempty"`
	// Price (at most the remaining amount) is sent as price and currency.
	Price payment.Money `json:"-"`
}

// MarshalJSON writes price and currency.
func (r GmuPartialAddRequest) MarshalJSON() ([]byte, error) {
	type plain GmuPartialAddRequest
	return json.Marshal(struct {
		plain
		Price    json.Number `json:"price"`
		Currency string      `json:"currency"`
	}{plain(r), amountNumber(r.Price), string(r.Price.Currency())})
}

// GmuPartialCompleteRequest is POST /v2/terminal-host/gmu/partial-payment/complete.
type GmuPartialCompleteRequest struct {
	Head
	SaleNumber string `json:"saleNumber"`
}

// GmuEODRequest is POST /v2/terminal-host/gmu/eod. An end of day has no
// transactionReferenceId: one set in its Head is refused.
type GmuEODRequest struct {
	Head
	UseSummary *bool `json:"useSummary,omitempty"`
}

// AddedSaleItem is a sale line as the device recorded it.
type AddedSaleItem struct {
	Name             string      `json:"name"`
	Generic          bool        `json:"generic"`
	UnitCode         string      `json:"unitCode"`
	TaxGroupCode     string      `json:"taxGroupCode"`
	ItemQuantity     Int         `json:"itemQuantity"`
	UnitPriceAmount  json.Number `json:"unitPriceAmount"`
	GrossPriceAmount json.Number `json:"grossPriceAmount"`
	TotalPriceAmount json.Number `json:"totalPriceAmount"`
}

// GmuPaymentResponse is GmuPaymentResponse (sale, partial add-payment).
type GmuPaymentResponse struct {
	Envelope
	ConversationID         string          `json:"conversationId"`
	DeviceUniqueID         string          `json:"deviceUniqueId"`
	TransactionReferenceID string          `json:"transactionReferenceId"`
	TransactionDateTime    string          `json:"transactionDateTime"`
	PaymentID              Text            `json:"paymentId"`   // a string; a number is read as its text
	PaymentDate            Int             `json:"paymentDate"` // YYYYMMDD
	Price                  json.Number     `json:"price"`
	Installment            Int             `json:"installment"`
	AcquirerID             string          `json:"acquirerId"`
	BankMerchantID         string          `json:"bankMerchantId"`
	BankTerminalID         string          `json:"bankTerminalId"`
	IssuerID               string          `json:"issuerId"`
	Currency               string          `json:"currency"`
	AuthCode               string          `json:"authCode"`
	BinNumber              string          `json:"binNumber"`
	LastFourDigits         string          `json:"lastFourDigits"`
	HostReference          string          `json:"hostReference"`
	CardType               string          `json:"cardType"`
	BatchNo                string          `json:"batchNo"`
	StanNo                 string          `json:"stanNo"`
	PosEntryModeCode       string          `json:"posEntryModeCode"`
	SaleItems              []AddedSaleItem `json:"saleItems"`
	SaleNumber             string          `json:"saleNumber"`
}

// Amount is Price in Currency, exactly (TRY when no currency was answered).
func (r *GmuPaymentResponse) Amount() (payment.Money, error) {
	return moneyOf(r.Price, r.Currency, payment.TRY)
}

// GmuQueryResponse is GmuQueryTransactionStatusResponse.
type GmuQueryResponse struct {
	GmuPaymentResponse
	CancelHostReference string `json:"cancelHostReference"` // set when voided
	RefundHostReference string `json:"refundHostReference"` // set when refunded
}

// GmuVoidResponse is GmuVoidResponse.
type GmuVoidResponse struct {
	Envelope
	ConversationID         string      `json:"conversationId"`
	DeviceUniqueID         string      `json:"deviceUniqueId"`
	TransactionReferenceID string      `json:"transactionReferenceId"`
	PaymentID              Text        `json:"paymentId"`
	Price                  json.Number `json:"price"`
	Currency               string      `json:"currency"`
	AuthCode               string      `json:"authCode"`
	HostReference          string      `json:"hostReference"`
	CancelHostReference    string      `json:"cancelHostReference"`
	TransactionDate        string      `json:"transactionDate"`
	TransactionTime        string      `json:"transactionTime"`
	PaymentDate            Int         `json:"paymentDate"`
	TransactionDateTime    string      `json:"transactionDateTime"`
	BinNumber              string      `json:"binNumber"`
	LastFourDigits         string      `json:"lastFourDigits"`
}

// Amount is the voided Price in Currency.
func (r *GmuVoidResponse) Amount() (payment.Money, error) {
	return moneyOf(r.Price, r.Currency, payment.TRY)
}

// GmuRefundResponse is GmuRefundResponse.
type GmuRefundResponse struct {
	Envelope
	ConversationID         string      `json:"conversationId"`
	DeviceUniqueID         string      `json:"deviceUniqueId"`
	TransactionReferenceID string      `json:"transactionReferenceId"`
	Price                  json.Number `json:"price"`
	VatAmount              json.Number `json:"vatAmount"`
	Currency               string      `json:"currency"`
	InvoiceNo              string      `json:"invoiceNo"`
	AuthCode               string      `json:"authCode"`
	HostReference          string      `json:"hostReference"`
	BinNumber              string      `json:"binNumber"`
	LastFourDigits         string      `json:"lastFourDigits"`
	AcquirerName           string      `json:"acquirerName"`
	AcquirerID             string      `json:"acquirerId"`
	BatchNo                string      `json:"batchNo"`
}

// Amount is the refunded Price in Currency.
func (r *GmuRefundResponse) Amount() (payment.Money, error) {
	return moneyOf(r.Price, r.Currency, payment.TRY)
}

// RefundableSaleItem is RefundableAddedSaleItem: what is left to refund of a line.
type RefundableSaleItem struct {
	ID                 Int         `json:"id"` // send as relatedSaleItemId (as text)
	Name               string      `json:"name"`
	ItemQuantity       Int         `json:"itemQuantity"`
	TotalPriceAmount   json.Number `json:"totalPriceAmount"`
	VatAmount          json.Number `json:"vatAmount"`
	ReturnableQuantity Int         `json:"returnableQuantity"`
	ReturnableAmount   json.Number `json:"returnableAmount"`
}

// GmuRefundableSaleInfoResponse is GmuRefundableSaleInfoResponse.
type GmuRefundableSaleInfoResponse struct {
	Envelope
	ConversationID        string               `json:"conversationId"`
	SaleNumber            string               `json:"saleNumber"`
	SaleUID               string               `json:"saleUid"`
	TotalReturnableAmount json.Number          `json:"totalReturnableAmount"`
	Currency              string               `json:"currency"`
	SaleItems             []RefundableSaleItem `json:"saleItems"`
}

// GmuPartialStartResponse is GmuPartialPaymentStartResponse.
type GmuPartialStartResponse struct {
	Envelope
	ConversationID         string      `json:"conversationId"`
	SaleNumber             string      `json:"saleNumber"`
	RemainingPaymentAmount json.Number `json:"remainingPaymentAmount"`
}

// GmuPartialCompleteResponse is GmuPartialPaymentCompleteResponse.
type GmuPartialCompleteResponse struct {
	GmuPaymentResponse
	RemainingPaymentAmount json.Number `json:"remainingPaymentAmount"` // 0 when complete
}

// GmuEODResponse is GmuEodResponse.
type GmuEODResponse struct {
	Envelope
	ConversationID string     `json:"conversationId"`
	BatchNo        string     `json:"batchNo"`
	ResultMessage  string     `json:"resultMessage"`
	Tails          []EODTotal `json:"tails"`
}

// GmuPayment runs a fiscal sale on the GMU device (card or cash) and waits up
// to CardTimeout.
func (c *Client) GmuPayment(ctx context.Context, r GmuPaymentRequest) (*GmuPaymentResponse, error) {
	return send[GmuPaymentResponse](ctx, c, &opGmuPayment, &r)
}

// GmuQueryTransactionStatus reads the status of an earlier sale, void or
// refund; classes as for QueryTransactionStatus.
func (c *Client) GmuQueryTransactionStatus(ctx context.Context, r GmuQueryRequest) (*GmuQueryResponse, error) {
	return send[GmuQueryResponse](ctx, c, &opGmuQuery, &r)
}

// GmuVoid voids a same-day sale.
func (c *Client) GmuVoid(ctx context.Context, r GmuVoidRequest) (*GmuVoidResponse, error) {
	return send[GmuVoidResponse](ctx, c, &opGmuVoid, &r)
}

// GmuRefund refunds sale lines.
func (c *Client) GmuRefund(ctx context.Context, r GmuRefundRequest) (*GmuRefundResponse, error) {
	return send[GmuRefundResponse](ctx, c, &opGmuRefund, &r)
}

// GmuRefundableSaleInfo reads what can still be refunded of a sale. NotFound
// when iyzico does not know the sale.
func (c *Client) GmuRefundableSaleInfo(ctx context.Context, r GmuRefundableSaleInfoRequest) (*GmuRefundableSaleInfoResponse, error) {
	return send[GmuRefundableSaleInfoResponse](ctx, c, &opGmuRefundableInfo, &r)
}

// GmuPartialStart opens a sale paid in parts; the answer's SaleNumber drives
// the next steps. It talks to the device, so it is bounded by CardTimeout and
// classified as a card operation.
func (c *Client) GmuPartialStart(ctx context.Context, r GmuPaymentRequest) (*GmuPartialStartResponse, error) {
	return send[GmuPartialStartResponse](ctx, c, &opGmuPartialStart, &r)
}

// GmuPartialAdd pays one part of an open partial sale.
func (c *Client) GmuPartialAdd(ctx context.Context, r GmuPartialAddRequest) (*GmuPaymentResponse, error) {
	return send[GmuPaymentResponse](ctx, c, &opGmuPartialAdd, &r)
}

// GmuPartialComplete closes a fully paid partial sale (the fiscal record).
func (c *Client) GmuPartialComplete(ctx context.Context, r GmuPartialCompleteRequest) (*GmuPartialCompleteResponse, error) {
	return send[GmuPartialCompleteResponse](ctx, c, &opGmuPartialComplete, &r)
}

// GmuEndOfDay closes the batch and the device's fiscal day.
func (c *Client) GmuEndOfDay(ctx context.Context, r GmuEODRequest) (*GmuEODResponse, error) {
	return send[GmuEODResponse](ctx, c, &opGmuEOD, &r)
}
