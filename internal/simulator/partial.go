package simulator

import "encoding/json"

// VUK 507 partial payment (spec §4.6-4.8): start opens a split sale and charges
// nothing (open question 14); each add-payment charges one card part of at most
// the remainder; complete, once the remainder is zero, makes the fiscal record:
// a sale whose paymentId is the saleNumber, voided and refunded as one payment.
// An open split sale does not block other operations on the device, and one
// that is never completed simply stays open with its parts charged.

// gmuPartialStart is GmuPartialPaymentStartResponse.
type gmuPartialStart struct {
	envelope507
	SaleNumber             string      `json:"saleNumber"`
	RemainingPaymentAmount json.Number `json:"remainingPaymentAmount"`
}

// gmuPartialComplete is GmuPartialPaymentCompleteResponse.
type gmuPartialComplete struct {
	gmuPayment
	RemainingPaymentAmount json.Number `json:"remainingPaymentAmount"`
}

func (s *Sim) gmuPartialStart(c *call, b body) reply {
	req, e := s.readSale(c, b)
	if e != nil {
		return s.fail(c, e)
	}
	// paymentType is required by the schema but chooses nothing: every part is
	// paid by card in add-payment, which has no paymentType (open question 14).
	return s.withDevice(c, b.str("deviceUniqueId"), func(d *device) reply {
		s.mu.Lock()
		defer s.mu.Unlock()
		if rep, done := s.duplicateLocked(c, d, req.ref); done {
			return rep
		}
		sp := &split{saleNumber: s.newPaymentIDLocked(), device: d, price: req.price, remaining: req.price,
			currency: req.currency, installment: req.installment, lines: req.lines}
		op := &operation{kind: kindPartialStart, fam: fam507, ref: req.ref, device: d, at: s.now(), batch: d.batch,
			amount: req.price, currency: req.currency, installment: req.installment, split: sp}
		sp.start = op
		s.splits[sp.saleNumber] = sp
		return s.finishLocked(c, op, ok(gmuPartialStart{envelope507: s.ok507(c),
			SaleNumber: sp.saleNumber, RemainingPaymentAmount: sp.remaining.decimal()}))
	})
}

// openSplit finds the split sale a step names; the device, when given, must be its own.
func (s *Sim) openSplit(c *call, saleNumber, deviceID string) (*split, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if deviceID != "" && s.devices[deviceID] == nil {
		return nil, errDeviceNotFound(c.user)
	}
	sp := s.splits[saleNumber]
	if sp == nil || (deviceID != "" && sp.device.id != deviceID) {
		return nil, errPaymentNotFound(saleNumber)
	}
	return sp, nil
}

func (s *Sim) gmuPartialAdd(c *call, b body) reply {
	ref, price, saleNumber := b.str("transactionReferenceId"), b.amount("price"), b.str("saleNumber")
	sp, e := s.openSplit(c, saleNumber, b.str("deviceUniqueId"))
	if e != nil {
		return s.fail(c, e)
	}
	if cur := b.str("currency"); cur != "" && cur != sp.currency {
		c.findings = append(c.findings, Finding{Field: "currency", Kind: FindingValue, Detail: "must be the sale's currency " + sp.currency})
		return s.fail(c, errValidation("currency: must be the sale's currency "+sp.currency))
	}
	check := func(*device) *apiError {
		switch {
		case sp.sale != nil:
			return errSaleClosed(saleNumber)
		case price > sp.remaining:
			return errAmountNotAvailable("payment " + price.String() + " exceeds the remaining " + sp.remaining.String())
		}
		return nil
	}
	var out cardOutcome
	wait := func(d *device) (waited bool) { out, waited = s.presentCard(c, d, price); return waited }
	return s.cardStep(c, sp.device.id, ref, check, wait, func(d *device) reply {
		op := &operation{kind: kindPartialAdd, fam: fam507, ref: ref, device: d, at: s.now(), batch: d.batch,
			amount: price, currency: sp.currency, installment: b.integer("installment", 1), split: sp}
		if out.err != nil {
			op.err = out.err
			return s.finishLocked(c, op, s.fail(c, out.err))
		}
		op.auth = s.hostAuthLocked()
		part := s.newPaymentLocked(op, out)
		part.saleNumber, part.split = sp.saleNumber, sp
		op.payment = part
		sp.parts = append(sp.parts, part)
		sp.remaining -= price
		if ref != "" {
			s.obs.charge(ref)
		} else {
			s.obs.charge(sp.saleNumber)
		}
		return s.finishLocked(c, op, s.answerLocked(c, op, out, ok(s.render507Locked(c, op))))
	})
}

func (s *Sim) gmuPartialComplete(c *call, b body) reply {
	ref, saleNumber := b.str("transactionReferenceId"), b.str("saleNumber")
	sp, e := s.openSplit(c, saleNumber, b.str("deviceUniqueId"))
	if e != nil {
		return s.fail(c, e)
	}
	return s.withDevice(c, sp.device.id, func(d *device) reply {
		s.mu.Lock()
		defer s.mu.Unlock()
		if rep, done := s.duplicateLocked(c, d, ref); done {
			return rep
		}
		switch {
		case sp.sale != nil:
			return s.fail(c, errSaleClosed(saleNumber))
		case sp.remaining > 0:
			return s.fail(c, errSaleIncomplete(sp.remaining))
		}
		now := s.now()
		op := &operation{kind: kindPartialComplete, fam: fam507, ref: ref, device: d, at: now, batch: d.batch,
			amount: sp.price, currency: sp.currency, installment: sp.installment, split: sp}
		first := sp.parts[0] // price > 0 and remainder 0: there is at least one part
		p := &payment{
			id: sp.saleNumber, fam: fam507, kind: kindPartialComplete, device: d, origin: op,
			date: dateOf(now), amount: sp.price, currency: sp.currency, installment: sp.installment,
			card: first.card, acq: first.acq, auth: first.auth, batch: d.batch, movedOn: dateOf(now),
			lines: sp.lines, saleNumber: sp.saleNumber, saleUID: newUUID(), parts: sp.parts, split: sp,
		}
		s.payments[p.id] = p
		sp.sale, op.payment = p, p
		sp.start.payment = p
		return s.finishLocked(c, op, ok(gmuPartialComplete{gmuPayment: s.render507Locked(c, op),
			RemainingPaymentAmount: amount(0).decimal()}))
	})
}
