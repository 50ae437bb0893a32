package simulator

import (
	"encoding/json"
	"slices"
)

// VUK 509 (spec §3): payment (SALE, PRE_AUTH, POST_AUTH), query, void, refund
// and end of day under /v2/terminal-host/. Answers: status SUCCESS/FAILURE,
// errorCode "" on success, errorGroup, consumerErrorMessage on failure.

// paymentResponse509 is TerminalPaymentSuccessResponse, field for field. A query of a
// declined operation answers it too, with status FAILURE and the original error.
type paymentResponse509 struct {
	ConversationID         string      `json:"conversationId"`
	Locale                 string      `json:"locale"`
	DeviceUniqueID         string      `json:"deviceUniqueId"`
	TransactionReferenceID string      `json:"transactionReferenceId"`
	Status                 string      `json:"status"`
	ErrorCode              string      `json:"errorCode"`
	ErrorMessage           string      `json:"errorMessage"`
	ErrorGroup             string      `json:"errorGroup"`
	SystemTime             int64       `json:"systemTime"`
	TransactionDateTime    string      `json:"transactionDateTime"`
	AuthCode               string      `json:"authCode"`
	PaymentID              string      `json:"paymentId"`
	PaymentDate            string      `json:"paymentDate"`
	Price                  json.Number `json:"price"`
	Installment            int64       `json:"installment"`
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

// eodResponse509 is TerminalEodSuccessResponse.
type eodResponse509 struct {
	Status         string     `json:"status"`
	ErrorCode      string     `json:"errorCode"`
	ErrorMessage   string     `json:"errorMessage"`
	ErrorGroup     string     `json:"errorGroup"`
	Locale         string     `json:"locale"`
	SystemTime     int64      `json:"systemTime"`
	ConversationID string     `json:"conversationId"`
	Totals         []eodTotal `json:"totals"`
	BatchNo        string     `json:"batchNo"`
	ResultMessage  string     `json:"resultMessage"`
}

func (s *Sim) payment509(c *call, b body) reply {
	salesType := b.str("salesType")
	if s.cfg.AcceptSaleType && !b.has("salesType") {
		// Open question 1: the overview's example spells it "saleType".
		salesType = b.str("saleType")
		if !slices.Contains([]string{"SALE", "PRE_AUTH", "POST_AUTH"}, salesType) {
			c.findings = append(c.findings, Finding{Field: "salesType", Kind: FindingMissing, Detail: "required (or saleType)"})
			return s.fail(c, errValidation("salesType: required"))
		}
	}
	paymentID := b.str("paymentId")
	if salesType == "POST_AUTH" && paymentID == "" {
		c.findings = append(c.findings, Finding{Field: "paymentId", Kind: FindingMissing, Detail: "required when salesType is POST_AUTH"})
		return s.fail(c, errValidation("paymentId: required when salesType is POST_AUTH"))
	}
	kind := map[string]opKind{"SALE": kindSale, "PRE_AUTH": kindPreAuth, "POST_AUTH": kindPostAuth}[salesType]
	price, ref := b.amount("price"), b.str("transactionReferenceId")

	var pre *payment
	var out cardOutcome
	check := func(d *device) (e *apiError) {
		if kind == kindPostAuth {
			pre, e = s.capturableLocked(d, paymentID, price)
		}
		return e
	}
	wait := func(d *device) (waited bool) { out, waited = s.presentCard(c, d, price); return waited }
	return s.cardStep(c, b.str("deviceUniqueId"), ref, check, wait, func(d *device) reply {
		now := s.now()
		op := &operation{kind: kind, fam: fam509, ref: ref, device: d, at: now, batch: d.batch,
			amount: price, currency: b.str("currency"), installment: b.integer("installment", 0)}
		if out.err != nil {
			op.err, op.payment = out.err, pre
			return s.finishLocked(c, op, s.fail(c, out.err))
		}
		op.auth = s.hostAuthLocked()
		switch kind {
		case kindPostAuth:
			pre.captured, pre.amount, pre.batch, pre.movedOn = true, price, d.batch, dateOf(now)
			op.payment = pre
		default:
			op.payment = s.newPaymentLocked(op, out)
		}
		if kind != kindPreAuth {
			s.obs.charge(ref)
		}
		return s.finishLocked(c, op, s.answerLocked(c, op, out, ok(s.render509Locked(c, op))))
	})
}

// capturableLocked checks that paymentID is an open pre-auth of d that can be
// captured for price.
func (s *Sim) capturableLocked(d *device, paymentID string, price amount) (*payment, *apiError) {
	p := s.payments[paymentID]
	switch {
	case p == nil || p.fam != fam509 || p.device != d:
		return nil, errPaymentNotFound(paymentID)
	case p.kind != kindPreAuth:
		return nil, errNotAllowed("payment " + paymentID + " is not a pre-authorisation")
	case p.captured:
		return nil, errNotAllowed("pre-authorisation " + paymentID + " is already closed")
	case p.voided:
		return nil, errAmountNotAvailable("pre-authorisation " + paymentID + " is voided")
	case price > p.amount:
		return nil, errAmountNotAvailable("capture " + price.String() + " exceeds the authorised " + p.amount.String())
	}
	return p, nil
}

// newPaymentLocked makes the payment an approved sale-like operation created.
func (s *Sim) newPaymentLocked(op *operation, out cardOutcome) *payment {
	p := &payment{
		id: s.newPaymentIDLocked(), fam: op.fam, kind: op.kind, device: op.device, origin: op,
		date: dateOf(op.at), amount: op.amount, currency: op.currency, installment: op.installment,
		card: out.card, acq: out.acq, auth: op.auth, batch: op.batch, movedOn: dateOf(op.at),
	}
	s.payments[p.id] = p
	return p
}

// finishLocked records op with the answer it got, and returns the answer.
func (s *Sim) finishLocked(c *call, op *operation, rep reply) reply {
	op.reply = rep
	op.device.record(op)
	return rep
}

func (s *Sim) query509(c *call, b body) reply {
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
	op, e := s.findOpLocked(fam509, paymentID, b.str("deviceUniqueId"), ref, c.user)
	if e != nil {
		return s.fail(c, e)
	}
	return ok(s.render509Locked(c, s.recordLocked(op)))
}

func (s *Sim) void509(c *call, b body) reply {
	ref := b.str("transactionReferenceId")
	var p *payment
	check := func(d *device) (e *apiError) {
		if p, e = s.lookupLocked(fam509, d, b.str("paymentId"), b.str("paymentDate")); e == nil {
			e = s.voidableLocked(p)
		}
		return e
	}
	wait := func(d *device) bool { return s.cardWait(c, d, "", s.cfg.CardWait) }
	return s.cardStep(c, b.str("deviceUniqueId"), ref, check, wait, func(d *device) reply {
		op := &operation{kind: kindVoid, fam: fam509, ref: ref, device: d, at: s.now(), batch: d.batch,
			amount: p.amount, currency: p.currency, installment: p.installment, payment: p, auth: s.hostAuthLocked()}
		p.voidLocked(op.auth.hostRef)
		return s.finishLocked(c, op, ok(s.render509Locked(c, op)))
	})
}

func (s *Sim) refund509(c *call, b body) reply {
	ref, price := b.str("transactionReferenceId"), b.amount("price")
	var p *payment
	var out cardOutcome
	check := func(d *device) (e *apiError) {
		if p, e = s.lookupLocked(fam509, d, b.str("paymentId"), b.str("paymentDate")); e == nil {
			e = refundableLocked(p, price)
		}
		return e
	}
	wait := func(d *device) (waited bool) { out, waited = s.presentCard(c, d, price); return waited }
	return s.cardStep(c, b.str("deviceUniqueId"), ref, check, wait, func(d *device) reply {
		op := &operation{kind: kindRefund, fam: fam509, ref: ref, device: d, at: s.now(), batch: d.batch,
			amount: price, currency: p.currency, installment: p.installment, payment: p}
		if out.err != nil {
			op.err = out.err
			return s.finishLocked(c, op, s.fail(c, out.err))
		}
		op.auth = s.hostAuthLocked()
		p.refunded += price
		p.refundRef = op.auth.hostRef
		s.obs.refund(ref)
		return s.finishLocked(c, op, s.answerLocked(c, op, out, ok(s.render509Locked(c, op))))
	})
}

// refundableLocked applies the refund rules: captured money only, up to what is
// left (380112 beyond).
func refundableLocked(p *payment, a amount) *apiError {
	switch {
	case p.kind == kindPreAuth && !p.captured:
		return errNotAllowed("pre-authorisation " + p.id + " is not captured; void it instead")
	case p.kind == kindPartialAdd:
		return errNotAllowed("a partial payment is refunded through its sale (saleNumber " + p.saleNumber + ")")
	case p.voided:
		return errAmountNotAvailable("payment " + p.id + " is voided")
	case a > p.refundable():
		return errAmountNotAvailable("refund " + a.String() + " exceeds the refundable " + p.refundable().String())
	}
	return nil
}

func (s *Sim) eod509(c *call, b body) reply {
	return s.withDevice(c, b.str("deviceUniqueId"), func(d *device) reply {
		s.mu.Lock()
		defer s.mu.Unlock()
		batchNo, totals := s.closeBatchLocked(d)
		return ok(eodResponse509{
			Status: status509OK, Locale: c.locale, SystemTime: s.now().UnixMilli(), ConversationID: c.conversationID,
			Totals: totals, BatchNo: batchNo, ResultMessage: eodMessage(c.english()),
		})
	})
}

// render509Locked shows an operation as a query finds it: its own reference,
// amount and approval data, with the payment's latest state (a voided or
// refunded sale carries cancelHostReference / refundHostReference). The
// original payment's hostReference stays in hostReference; a void's or refund's
// own host reference is in cancelHostReference / refundHostReference.
func (s *Sim) render509Locked(c *call, op *operation) paymentResponse509 {
	r := paymentResponse509{
		ConversationID: c.conversationID, Locale: c.locale, DeviceUniqueID: op.device.id,
		TransactionReferenceID: op.ref, SystemTime: s.now().UnixMilli(),
		TransactionDateTime: op.at.UTC().Format("2006-01-02T15:04:05.000Z"),
		Price:               op.amount.double(), Installment: op.installment, Currency: op.currency,
		BatchNo: op.device.batchNo(op.batch),
	}
	if op.err != nil {
		r.Status, r.ErrorCode, r.ErrorGroup = status509Fail, op.err.code, op.err.group
		r.ErrorMessage = op.err.message(c.english())
		if op.payment != nil {
			r.PaymentID, r.PaymentDate = op.payment.id, op.payment.date
		}
		return r
	}
	p := op.payment
	r.Status = status509OK
	r.AuthCode, r.StanNo, r.PosEntryModeCode = op.auth.authCode, op.auth.stan, posEntryMode
	r.PaymentID, r.PaymentDate, r.HostReference = p.id, p.date, p.auth.hostRef
	r.CancelHostReference, r.RefundHostReference = p.cancelRef, p.refundRef
	switch op.kind {
	case kindSale, kindPreAuth, kindPostAuth:
		r.Price = p.amount.double()
		if op.kind == kindPostAuth {
			r.HostReference = op.auth.hostRef
		}
	case kindVoid:
		r.CancelHostReference = op.auth.hostRef
	case kindRefund:
		r.RefundHostReference = op.auth.hostRef
	}
	if p.card != nil {
		r.BinNumber, r.LastFourDigits, r.CardType, r.IssuerID = p.card.bin, p.card.last4, p.card.type509, p.card.issuer
	}
	if p.acq != nil {
		r.AcquirerID, r.BankMerchantID, r.BankTerminalID = p.acq.id, p.acq.merchantID, terminalID(p.device, p.acq)
	}
	return r
}
