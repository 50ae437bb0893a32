package upstream

import (
	"fmt"
	"strings"
	"time"

	"github.com/bridgedpos/bridged/internal/payment"
)

// Requests are checked against the spec's required fields and enums before
// anything is sent: a request iyzico would refuse is refused here, as NotSent,
// so it can never be half-processed.

// problems collects every problem of one request.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p *problems) required(name, v string) {
	if strings.TrimSpace(v) == "" {
		p.add("%s is required", name)
	}
}

func (p *problems) device(v string, required bool) {
	if required {
		p.required("deviceUniqueId", v)
	}
	if len(v) > 64 {
		p.add("deviceUniqueId is longer than 64 characters")
	}
}

// noReference refuses a transactionReferenceId on a request that has none
// (an end of day): Head carries one for the others.
func (p *problems) noReference(v string) {
	if v != "" {
		p.add("transactionReferenceId is not part of an end of day")
	}
}

func (p *problems) amount(name string, m payment.Money) {
	if !m.IsPositive() {
		p.add("%s must be positive", name)
	}
	if _, err := payment.ParseCurrency(string(m.Currency())); err != nil {
		p.add("%s has currency %q, not one of TRY, USD, EUR", name, m.Currency())
	}
}

// lineAmount checks a sale-line amount: positive, and either without a
// currency or in the sale's.
func (p *problems) lineAmount(name string, m payment.Money, cur payment.Currency) {
	if !m.IsPositive() {
		p.add("%s must be positive", name)
	}
	if cur != "" && m.Currency() != "" && m.Currency() != cur {
		p.add("%s is in %s, the sale in %s", name, m.Currency(), cur)
	}
}

func (p *problems) locale509(v string) {
	if v != "tr" && v != "en" {
		p.add("locale %q is not tr or en", v)
	}
}

func (p *problems) date509(v string) {
	if _, err := time.Parse("20060102", v); err != nil || len(v) != 8 {
		p.add("paymentDate %q is not YYYYMMDD", v)
	}
}

func (p *problems) date507(v int) {
	s := fmt.Sprintf("%08d", v)
	if _, err := time.Parse("20060102", s); err != nil || v < 10000101 {
		p.add("paymentDate %d is not YYYYMMDD", v)
	}
}

func (p problems) err() *Error {
	if len(p) == 0 {
		return nil
	}
	return invalid("", "%s", strings.Join(p, "; "))
}

func (r *PaymentRequest) validate() *Error {
	var p problems
	p.locale509(r.Locale)
	p.device(r.DeviceUniqueID, true)
	p.required("transactionReferenceId", r.TransactionReferenceID)
	p.amount("price", r.Amount)
	if r.Installment < 0 || r.Installment > 12 {
		p.add("installment %d is not 0-12", r.Installment)
	}
	switch r.SalesType {
	case SalesTypeSale, SalesTypePreAuth:
	case SalesTypePostAuth:
		p.required("paymentId (for POST_AUTH)", r.PaymentID)
	default:
		p.add("salesType %q is not SALE, PRE_AUTH or POST_AUTH", r.SalesType)
	}
	return p.err()
}

func (r *QueryRequest) validate() *Error {
	var p problems
	p.locale509(r.Locale)
	p.device(r.DeviceUniqueID, false)
	if r.PaymentID == "" && (r.DeviceUniqueID == "" || r.TransactionReferenceID == "") {
		p.add("paymentId, or deviceUniqueId with transactionReferenceId, is required")
	}
	return p.err()
}

func (r *VoidRequest) validate() *Error {
	var p problems
	p.locale509(r.Locale)
	p.required("paymentId", r.PaymentID)
	p.date509(r.PaymentDate)
	p.device(r.DeviceUniqueID, true)
	p.required("transactionReferenceId", r.TransactionReferenceID)
	return p.err()
}

func (r *RefundRequest) validate() *Error {
	var p problems
	p.locale509(r.Locale)
	p.required("paymentId", r.PaymentID)
	p.device(r.DeviceUniqueID, true)
	p.amount("price", r.Amount)
	p.required("transactionReferenceId", r.TransactionReferenceID)
	p.date509(r.PaymentDate)
	return p.err()
}

func (r *EODRequest) validate() *Error {
	var p problems
	p.locale509(r.Locale)
	p.device(r.DeviceUniqueID, true)
	p.noReference(r.TransactionReferenceID)
	return p.err()
}

func (r *GmuPaymentRequest) validate() *Error {
	var p problems
	p.device(r.DeviceUniqueID, true)
	p.required("transactionReferenceId", r.TransactionReferenceID)
	p.amount("price", r.Price)
	p.amount("paidPrice", r.PaidPrice)
	if r.PaidPrice.Currency() != r.Price.Currency() {
		p.add("paidPrice is in %s, price in %s", r.PaidPrice.Currency(), r.Price.Currency())
	}
	switch r.PaymentType {
	case PaymentTypeCard, PaymentTypeCash:
	default:
		p.add("paymentType %q is not CARD or CASH", r.PaymentType)
	}
	if r.Installment < 0 {
		p.add("installment is negative")
	}
	p.required("saleAppName", r.SaleAppName)
	p.required("saleAppVersion", r.SaleAppVersion)
	switch r.SaleDocumentType {
	case DocumentEInvoice, DocumentExpenseVoucher:
	default:
		p.add("saleDocumentType %q is not \"1\" or \"9\"", r.SaleDocumentType)
	}
	if len(r.SaleItems) == 0 {
		p.add("saleItems needs at least one line")
	}
	for i := range r.SaleItems {
		r.SaleItems[i].check(&p, i, false, r.Price.Currency())
	}
	if b := r.BuyerInfo; b != nil && b.CustomerType != 0 && b.CustomerType != CustomerIndividual && b.CustomerType != CustomerCorporate {
		p.add("buyerInfo.customerType %d is not 1 or 2", b.CustomerType)
	}
	return p.err()
}

func (it *SaleItem) check(p *problems, i int, refund bool, cur payment.Currency) {
	at := func(f string) string { return fmt.Sprintf("saleItems[%d].%s", i, f) }
	if refund {
		p.required(at("relatedSaleItemId"), it.RelatedSaleItemID)
		p.lineAmount(at("returnAmount"), it.ReturnAmount, cur)
	} else if !it.ReturnAmount.IsZero() {
		p.add("%s is only for refunds", at("returnAmount"))
	}
	p.required(at("name"), it.Name)
	p.required(at("unitCode"), it.UnitCode)
	p.required(at("taxGroupCode"), it.TaxGroupCode)
	if it.ItemQuantity <= 0 {
		p.add("%s must be positive", at("itemQuantity"))
	}
	p.lineAmount(at("unitPriceAmount"), it.UnitPriceAmount, cur)
	p.lineAmount(at("grossPriceAmount"), it.GrossPriceAmount, cur)
	p.lineAmount(at("totalPriceAmount"), it.TotalPriceAmount, cur)
}

func (r *GmuQueryRequest) validate() *Error {
	var p problems
	p.device(r.DeviceUniqueID, false)
	if r.PaymentID == "" && r.TransactionReferenceID == "" {
		p.add("paymentId or transactionReferenceId is required")
	}
	return p.err()
}

func (r *GmuVoidRequest) validate() *Error {
	var p problems
	p.device(r.DeviceUniqueID, true)
	p.required("paymentId", r.PaymentID)
	p.date507(r.PaymentDate)
	p.required("transactionReferenceId", r.TransactionReferenceID)
	return p.err()
}

func (r *GmuRefundRequest) validate() *Error {
	var p problems
	p.device(r.DeviceUniqueID, true)
	p.required("paymentId", r.PaymentID)
	p.date507(r.PaymentDate)
	p.required("transactionReferenceId", r.TransactionReferenceID)
	p.required("saleAppName", r.SaleAppName)
	p.required("saleAppVersion", r.SaleAppVersion)
	if len(r.SaleItems) == 0 {
		p.add("saleItems needs at least one line")
	}
	var cur payment.Currency
	for i := range r.SaleItems {
		if i == 0 {
			cur = r.SaleItems[0].ReturnAmount.Currency()
		}
		r.SaleItems[i].check(&p, i, true, cur)
	}
	return p.err()
}

func (r *GmuRefundableSaleInfoRequest) validate() *Error {
	var p problems
	p.device(r.DeviceUniqueID, false)
	p.required("transactionReferenceId", r.TransactionReferenceID)
	return p.err()
}

func (r *GmuPartialAddRequest) validate() *Error {
	var p problems
	p.device(r.DeviceUniqueID, false)
	p.required("saleNumber", r.SaleNumber)
	p.amount("price", r.Price)
	if r.Installment < 0 {
		p.add("installment is negative")
	}
	return p.err()
}

func (r *GmuPartialCompleteRequest) validate() *Error {
	var p problems
	p.device(r.DeviceUniqueID, true)
	p.required("transactionReferenceId", r.TransactionReferenceID)
	p.required("saleNumber", r.SaleNumber)
	return p.err()
}

func (r *GmuEODRequest) validate() *Error {
	var p problems
	p.device(r.DeviceUniqueID, true)
	p.noReference(r.TransactionReferenceID)
	return p.err()
}
