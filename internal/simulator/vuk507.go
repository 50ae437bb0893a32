package simulator

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// VUK 507 / GMU (spec §4): sale with lines, query, void, line refund,
// refundable-sale info and end of day under /v2/terminal-host/gmu/ (partial
// payments are in partial.go). Answers: status success/failure, errorCode "0"
// on success, systemTime in ms, paymentDate an integer.

// gmuPayment is GmuPaymentResponse.
type gmuPayment struct {
	envelope507
	DeviceUniqueID         string          `json:"deviceUniqueId"`
	TransactionReferenceID string          `json:"transactionReferenceId"`
	TransactionDateTime    string          `json:"transactionDateTime"`
	PaymentID              string          `json:"paymentId"`
	PaymentDate            int64           `json:"paymentDate"`
	Price                  json.Number     `json:"price"`
	Installment            int64           `json:"installment"`
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
	SaleItems              []addedSaleItem `json:"saleItems"`
	SaleNumber             string          `json:"saleNumber"`
}

// addedSaleItem is AddedSaleItem.
type addedSaleItem struct {
	Name             string      `json:"name"`
	Generic          bool        `json:"generic"`
	UnitCode         string      `json:"unitCode"`
	TaxGroupCode     string      `json:"taxGroupCode"`
	ItemQuantity     int64       `json:"itemQuantity"`
	UnitPriceAmount  json.Number `json:"unitPriceAmount"`
	GrossPriceAmount json.Number `json:"grossPriceAmount"`
	TotalPriceAmount json.Number `json:"totalPriceAmount"`
}

// gmuQuery is GmuQueryTransactionStatusResponse: the payment plus the nullable
// host references of its void and latest refund.
type gmuQuery struct {
	gmuPayment
	CancelHostReference *string `json:"cancelHostReference"`
	RefundHostReference *string `json:"refundHostReference"`
}

// gmuVoid is GmuVoidResponse.
type gmuVoid struct {
	envelope507
	DeviceUniqueID         string      `json:"deviceUniqueId"`
	TransactionReferenceID string      `json:"transactionReferenceId"`
	PaymentID              string      `json:"paymentId"`
	Price                  json.Number `json:"price"`
	Currency               string      `json:"currency"`
	AuthCode               string      `json:"authCode"`
	HostReference          string      `json:"hostReference"`
	CancelHostReference    string      `json:"cancelHostReference"`
	TransactionDate        string      `json:"transactionDate"`
	TransactionTime        string      `json:"transactionTime"`
	PaymentDate            int64       `json:"paymentDate"`
	TransactionDateTime    string      `json:"transactionDateTime"`
	BinNumber              string      `json:"binNumber"`
	LastFourDigits         string      `json:"lastFourDigits"`
}

// gmuRefund is GmuRefundResponse.
type gmuRefund struct {
	envelope507
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

// gmuRefundable is GmuRefundableSaleInfoResponse.
type gmuRefundable struct {
	envelope507
	SaleNumber            string           `json:"saleNumber"`
	SaleUID               string           `json:"saleUid"`
	TotalReturnableAmount json.Number      `json:"totalReturnableAmount"`
	Currency              string           `json:"currency"`
	SaleItems             []refundableItem `json:"saleItems"`
}

// refundableItem is RefundableAddedSaleItem.
type refundableItem struct {
	ID                 int         `json:"id"`
	Name               string      `json:"name"`
	ItemQuantity       int64       `json:"itemQuantity"`
	TotalPriceAmount   json.Number `json:"totalPriceAmount"`
	VatAmount          json.Number `json:"vatAmount"`
	ReturnableQuantity int64       `json:"returnableQuantity"`
	ReturnableAmount   json.Number `json:"returnableAmount"`
}

// gmuEOD is GmuEodResponse.
type gmuEOD struct {
	envelope507
	BatchNo       string     `json:"batchNo"`
	ResultMessage string     `json:"resultMessage"`
	Tails         []eodTotal `json:"tails"`
}

// saleRequest is a validated GmuPaymentRequest (sale and partial start).
type saleRequest struct {
	ref         string
	price       amount
	cash        bool
	currency    string
	installment int64
	lines       []*line
}

// readSale checks what the schema cannot: positive quantities, line totals
// adding up to price, and paidPrice equal to price (the simulator has no model
// of a basket-level discount; spec §4.1 gives no rule).
func (s *Sim) readSale(c *call, b body) (saleRequest, *apiError) {
	req := saleRequest{
		ref: b.str("transactionReferenceId"), price: b.amount("price"),
		cash: b.str("paymentType") == "CASH", currency: b.str("currency"), installment: b.integer("installment", 1),
	}
	if req.currency == "" {
		req.currency = "TRY"
	}
	var bad []Finding
	if paid := b.amount("paidPrice"); paid != req.price {
		bad = append(bad, Finding{Field: "paidPrice", Kind: FindingValue, Detail: "must equal price (" + req.price.String() + ")"})
	}
	if req.installment < 1 || req.installment > 12 {
		bad = append(bad, Finding{Field: "installment", Kind: FindingValue, Detail: "must be 1-12"})
	}
	var sum amount
	for i, it := range b.objects("saleItems") {
		l := &line{
			name: it.str("name"), unitCode: it.str("unitCode"), taxGroupCode: it.str("taxGroupCode"),
			generic: it.boolean("generic"), quantity: it.integer("itemQuantity", 0),
			unitPrice: it.amount("unitPriceAmount"), grossPrice: it.amount("grossPriceAmount"), total: it.amount("totalPriceAmount"),
		}
		if l.quantity <= 0 {
			bad = append(bad, Finding{Field: fmt.Sprintf("saleItems[%d].itemQuantity", i), Kind: FindingValue, Detail: "must be greater than zero"})
		}
		sum += l.total
		req.lines = append(req.lines, l)
	}
	if sum != req.price {
		bad = append(bad, Finding{Field: "saleItems", Kind: FindingValue,
			Detail: "totalPriceAmount values add up to " + sum.String() + ", not price " + req.price.String()})
	}
	if len(bad) > 0 {
		c.findings = append(c.findings, bad...)
		return req, errValidation(fatalDetails(bad))
	}
	s.mu.Lock()
	for _, l := range req.lines {
		l.id = s.lineIDLocked()
	}
	s.mu.Unlock()
	return req, nil
}

// lineIDLocked draws the id of a new sale line. Ids are unique in the Sim and
// unrelated to a line's position (six digits, 100000-999999, in a scrambled
// but deterministic order), so a client that maps lines by position fails.
func (s *Sim) lineIDLocked() int {
	s.lineSeq++
	return 100000 + int((s.lineSeq*7919)%900000)
}

// line finds a sale line by its id; nil when the sale has no such line.
func (p *payment) line(id int) *line {
	for _, l := range p.lines {
		if l.id == id {
			return l
		}
	}
	return nil
}

func (s *Sim) gmuPayment(c *call, b body) reply {
	req, e := s.readSale(c, b)
	if e != nil {
		return s.fail(c, e)
	}
	return s.withDevice(c, b.str("deviceUniqueId"), func(d *device) reply {
		s.mu.Lock()
		rep, done := s.duplicateLocked(c, d, req.ref)
		s.mu.Unlock()
		if done {
			return rep
		}
		var out cardOutcome
		if !req.cash {
			var waited bool
			if out, waited = s.presentCard(c, d, req.price); !waited {
				return reply{abandoned: true}
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		op := &operation{kind: kindSale, fam: fam507, ref: req.ref, device: d, at: s.now(), batch: d.batch,
			amount: req.price, currency: req.currency, installment: req.installment}
		if out.err != nil {
			op.err = out.err
			return s.finishLocked(c, op, s.fail(c, out.err))
		}
		op.auth = s.hostAuthLocked()
		p := s.newPaymentLocked(op, out)
		p.cash, p.lines, p.saleNumber, p.saleUID = req.cash, req.lines, p.id, newUUID()
		op.payment = p
		s.obs.charge(req.ref)
		return s.finishLocked(c, op, s.answerLocked(c, op, out, ok(s.render507Locked(c, op))))
	})
}

func (s *Sim) gmuQuery(c *call, b body) reply {
	paymentID, ref := b.str("paymentId"), b.str("transactionReferenceId")
	if paymentID == "" && ref == "" {
		return s.fail(c, errNoIdentifier())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.faults.take(FaultQueryNotFound, c.op, c.device); ok {
		c.faults = append(c.faults, string(f.Kind))
		return s.fail(c, errReferenceNotFound(ref))
	}
	op, e := s.findOpLocked(fam507, paymentID, b.str("deviceUniqueId"), ref, c.user)
	if e != nil {
		return s.fail(c, e)
	}
	op = s.recordLocked(op)
	q := gmuQuery{gmuPayment: s.render507Locked(c, op)}
	if p := op.payment; p != nil && op.err == nil {
		q.CancelHostReference, q.RefundHostReference = nonEmpty(p.cancelRef), nonEmpty(p.refundRef)
		switch op.kind {
		case kindVoid:
			q.CancelHostReference = nonEmpty(op.auth.hostRef)
		case kindRefund:
			q.RefundHostReference = nonEmpty(op.auth.hostRef)
		}
	}
	return ok(q)
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *Sim) gmuVoid(c *call, b body) reply {
	ref := b.str("transactionReferenceId")
	var p *payment
	check := func(d *device) (e *apiError) {
		if p, e = s.lookupLocked(fam507, d, b.str("paymentId"), b.date("paymentDate")); e == nil {
			e = s.voidableLocked(p)
		}
		return e
	}
	wait := func(d *device) bool { return p.cash || s.cardWait(c, d, "", s.cfg.CardWait) }
	return s.cardStep(c, b.str("deviceUniqueId"), ref, check, wait, func(d *device) reply {
		now := s.now()
		op := &operation{kind: kindVoid, fam: fam507, ref: ref, device: d, at: now, batch: d.batch,
			amount: p.amount, currency: p.currency, installment: p.installment, payment: p, auth: s.hostAuthLocked()}
		p.voidLocked(op.auth.hostRef)
		if p.kind == kindPartialAdd && p.split != nil {
			p.split.remaining += p.amount // the part's money is back: the sale is owed it again
		}
		r := gmuVoid{
			envelope507: s.ok507(c), DeviceUniqueID: d.id, TransactionReferenceID: ref, PaymentID: p.id,
			Price: p.amount.decimal(), Currency: p.currency, CancelHostReference: op.auth.hostRef,
			TransactionDate: now.Format("2006-01-02"), TransactionTime: now.Format("15:04:05"),
			PaymentDate: intDate(p.date), TransactionDateTime: now.Format(dateTime507),
		}
		if !p.cash {
			r.AuthCode, r.HostReference = op.auth.authCode, p.auth.hostRef
			r.BinNumber, r.LastFourDigits = p.card.bin, p.card.last4
		}
		return s.finishLocked(c, op, ok(r))
	})
}

// refundLine is one validated line of a GmuRefundRequest.
type refundLine struct {
	id     int
	qty    int64
	amount amount
}

func (s *Sim) gmuRefund(c *call, b body) reply {
	ref := b.str("transactionReferenceId")
	var lines []refundLine
	var bad []Finding
	seen := map[int]bool{}
	for i, it := range b.objects("saleItems") {
		id, err := strconv.Atoi(it.str("relatedSaleItemId"))
		path := fmt.Sprintf("saleItems[%d].", i)
		switch {
		case err != nil || id < 1:
			bad = append(bad, Finding{Field: path + "relatedSaleItemId", Kind: FindingValue, Detail: "must be the id of a sale line (refundable-sale-info saleItems[].id)"})
		case seen[id]:
			bad = append(bad, Finding{Field: path + "relatedSaleItemId", Kind: FindingValue, Detail: "line refunded twice in one request"})
		}
		seen[id] = true
		qty := it.integer("itemQuantity", 0)
		if qty <= 0 {
			bad = append(bad, Finding{Field: path + "itemQuantity", Kind: FindingValue, Detail: "must be greater than zero"})
		}
		lines = append(lines, refundLine{id: id, qty: qty, amount: it.amount("returnAmount")})
	}
	if len(bad) > 0 {
		c.findings = append(c.findings, bad...)
		return s.fail(c, errValidation(fatalDetails(bad)))
	}
	var p *payment
	var total amount
	var out cardOutcome
	check := func(d *device) (e *apiError) {
		p, total, e = s.lineRefundableLocked(c, d, b, lines)
		return e
	}
	wait := func(d *device) (waited bool) {
		if p.cash {
			return true
		}
		out, waited = s.presentCard(c, d, total)
		return waited
	}
	return s.cardStep(c, b.str("deviceUniqueId"), ref, check, wait, func(d *device) reply {
		op := &operation{kind: kindRefund, fam: fam507, ref: ref, device: d, at: s.now(), batch: d.batch,
			amount: total, currency: p.currency, installment: p.installment, payment: p}
		if out.err != nil {
			op.err = out.err
			return s.finishLocked(c, op, s.fail(c, out.err))
		}
		op.auth = s.hostAuthLocked()
		op.invoiceNo = fmt.Sprintf("SIM-INV-%06d", s.nextLocked())
		for _, rl := range lines {
			l := p.line(rl.id)
			l.returnedQty += rl.qty
			l.returned += rl.amount
			if l.returned == l.total {
				l.returnedQty = l.quantity // nothing left to return of a fully refunded line
			}
			op.vat += vatOf(rl.amount, l.taxGroupCode)
		}
		p.refunded += total
		p.refundRef = op.auth.hostRef
		r := gmuRefund{
			envelope507: s.ok507(c), DeviceUniqueID: d.id, TransactionReferenceID: ref,
			Price: total.decimal(), VatAmount: op.vat.decimal(), Currency: p.currency, InvoiceNo: op.invoiceNo,
			BatchNo: d.batchNo(d.batch),
		}
		if !p.cash {
			r.AuthCode, r.HostReference = op.auth.authCode, op.auth.hostRef
			r.BinNumber, r.LastFourDigits = p.card.bin, p.card.last4
			r.AcquirerName, r.AcquirerID = p.acq.name, p.acq.id
		}
		s.obs.refund(ref)
		return s.finishLocked(c, op, s.answerLocked(c, op, out, ok(r)))
	})
}

// lineRefundableLocked applies the line refund rules and returns the payment
// and the refund total: each line at most its returnable quantity and amount
// (380112 beyond), the sale not voided.
func (s *Sim) lineRefundableLocked(c *call, d *device, b body, lines []refundLine) (*payment, amount, *apiError) {
	p, e := s.lookupLocked(fam507, d, b.str("paymentId"), b.date("paymentDate"))
	if e != nil {
		return nil, 0, e
	}
	if p.kind == kindPartialAdd {
		return nil, 0, errNotAllowed("a partial payment is refunded through its sale (saleNumber " + p.saleNumber + ")")
	}
	if p.voided {
		return nil, 0, errAmountNotAvailable("payment " + p.id + " is voided")
	}
	var total amount
	for i, rl := range lines {
		l := p.line(rl.id)
		if l == nil {
			f := Finding{Field: fmt.Sprintf("saleItems[%d].relatedSaleItemId", i), Kind: FindingValue, Detail: "no such line in the sale"}
			c.findings = append(c.findings, f)
			return nil, 0, errValidation(f.String())
		}
		if rl.qty > l.quantity-l.returnedQty || rl.amount > l.total-l.returned {
			return nil, 0, errAmountNotAvailable(fmt.Sprintf("line %d has %d item(s) and %s left to return",
				l.id, l.quantity-l.returnedQty, (l.total - l.returned).String()))
		}
		total += rl.amount
	}
	if total > p.refundable() {
		return nil, 0, errAmountNotAvailable("refund " + total.String() + " exceeds the refundable " + p.refundable().String())
	}
	return p, total, nil
}

func (s *Sim) gmuRefundableSaleInfo(c *call, b body) reply {
	ref := b.str("transactionReferenceId")
	s.mu.Lock()
	defer s.mu.Unlock()
	op, e := s.findOpLocked(fam507, "", b.str("deviceUniqueId"), ref, c.user)
	if e != nil {
		return s.fail(c, e)
	}
	var p *payment
	switch {
	case op.err != nil:
		return s.fail(c, errReferenceNotFound(ref)) // a declined sale sold nothing
	case op.kind == kindSale || op.kind == kindPartialComplete:
		p = op.payment
	case op.kind == kindPartialStart:
		if p = op.split.sale; p == nil {
			return s.fail(c, errSaleIncomplete(op.split.remaining))
		}
	default:
		return s.fail(c, errReferenceNotFound(ref)) // the reference of a void, refund or part is no sale
	}
	r := gmuRefundable{envelope507: s.ok507(c), SaleNumber: p.saleNumber, SaleUID: p.saleUID,
		TotalReturnableAmount: p.refundable().decimal(), Currency: p.currency, SaleItems: []refundableItem{}}
	for _, l := range p.lines {
		item := refundableItem{ID: l.id, Name: l.name, ItemQuantity: l.quantity,
			TotalPriceAmount: l.total.decimal(), VatAmount: vatOf(l.total, l.taxGroupCode).decimal(),
			ReturnableQuantity: l.quantity - l.returnedQty, ReturnableAmount: (l.total - l.returned).decimal()}
		if p.voided {
			item.ReturnableQuantity, item.ReturnableAmount = 0, amount(0).decimal()
		}
		if s.cfg.OmitReturnedLines && item.ReturnableQuantity == 0 && (p.voided || l.returned == l.total) {
			continue // nothing left to return of it
		}
		r.SaleItems = append(r.SaleItems, item)
	}
	return ok(r)
}

func (s *Sim) gmuEOD(c *call, b body) reply {
	return s.withDevice(c, b.str("deviceUniqueId"), func(d *device) reply {
		s.mu.Lock()
		defer s.mu.Unlock()
		batchNo, tails := s.closeBatchLocked(d)
		return ok(gmuEOD{envelope507: s.ok507(c), BatchNo: batchNo, ResultMessage: eodMessage(c.english()), Tails: tails})
	})
}

// dateTime507 is VUK 507's transactionDateTime layout ("2026-04-06 10:00:00").
const dateTime507 = "2006-01-02 15:04:05"

// render507Locked shows an operation as GmuPaymentResponse: its own reference,
// amount and approval data with its payment's data. Cash payments carry no card,
// acquirer or bank approval data.
func (s *Sim) render507Locked(c *call, op *operation) gmuPayment {
	r := gmuPayment{
		envelope507: s.ok507(c), DeviceUniqueID: op.device.id, TransactionReferenceID: op.ref,
		TransactionDateTime: op.at.Format(dateTime507), Price: op.amount.decimal(), Installment: op.installment,
		Currency: op.currency, BatchNo: op.device.batchNo(op.batch), SaleItems: []addedSaleItem{},
	}
	if op.err != nil {
		r.envelope507 = s.failed507(c, op.err)
		if op.payment != nil {
			r.PaymentID, r.PaymentDate = op.payment.id, intDate(op.payment.date)
		}
		return r
	}
	p := op.payment
	if p == nil { // a partial-payment start whose sale is not complete yet
		r.SaleNumber, r.Price = op.split.saleNumber, op.split.price.decimal()
		r.SaleItems = addedItems(op.split.lines)
		return r
	}
	auth := op.auth
	if auth.authCode == "" {
		auth = p.auth
	}
	r.PaymentID, r.PaymentDate, r.SaleNumber = p.id, intDate(p.date), p.saleNumber
	switch op.kind {
	case kindSale, kindPartialStart, kindPartialComplete:
		r.Price, r.SaleItems = p.amount.decimal(), addedItems(p.lines)
	}
	if p.cash {
		return r
	}
	r.AuthCode, r.StanNo, r.PosEntryModeCode, r.HostReference = auth.authCode, auth.stan, posEntryMode, p.auth.hostRef
	if p.card != nil {
		r.BinNumber, r.LastFourDigits, r.CardType, r.IssuerID = p.card.bin, p.card.last4, p.card.type507, p.card.issuer
	}
	if p.acq != nil {
		r.AcquirerID, r.BankMerchantID, r.BankTerminalID = p.acq.id, p.acq.merchantID, terminalID(p.device, p.acq)
	}
	return r
}

func addedItems(lines []*line) []addedSaleItem {
	out := make([]addedSaleItem, 0, len(lines))
	for _, l := range lines {
		out = append(out, addedSaleItem{
			Name: l.name, Generic: l.generic, UnitCode: l.unitCode, TaxGroupCode: l.taxGroupCode, ItemQuantity: l.quantity,
			UnitPriceAmount: l.unitPrice.decimal(), GrossPriceAmount: l.grossPrice.decimal(), TotalPriceAmount: l.total.decimal(),
		})
	}
	return out
}

// intDate turns a YYYYMMDD string into VUK 507's integer paymentDate.
func intDate(d string) int64 {
	n, _ := strconv.ParseInt(d, 10, 64)
	return n
}

// vatOf is the VAT included in a gross amount. iyzico does not document the
// taxGroupCode values (spec §10 q12); the simulator reads a code that is a
// whole percentage ("20", "10", "1") as that rate and any other code as 0 %.
// Rounding is half up to the kuruş.
func vatOf(gross amount, taxGroupCode string) amount {
	rate, err := strconv.Atoi(taxGroupCode)
	if err != nil || rate <= 0 || rate > 100 {
		return 0
	}
	r := amount(rate)
	return (gross*r*2 + 100 + r) / (2 * (100 + r))
}
