package payment

import (
	"context"
	"strconv"

	"github.com/bridgedpos/bridged/internal/idempotency"
)

// AdjustRequest is a void, refund or cancel of an earlier payment.
type AdjustRequest struct {
	PaymentID string // bridged's id of the payment
	Reference string // the ECR's reference for this adjustment (and the key when no header)
	Reason    string
	// Amount is the refund amount (VUK 509). Empty on a refund means the full remainder.
	Amount string
	// Lines are the VUK 507 refund lines.
	Lines []RefundLineRequest
}

// RefundLineRequest refunds (part of) one VUK 507 sale line.
type RefundLineRequest struct {
	LineID   string // the sale line's id
	Quantity int    // 0: every item left on the line
	Amount   string
}

// Void reverses a payment the same business day, before end of day.
func (s *Service) Void(ctx context.Context, c Caller, r AdjustRequest) (*Result, error) {
	fp := adjustFingerprint("void", r)
	if res, err := s.replay(ctx, c, r.Reference, fp); res != nil || err != nil {
		return res, err
	}
	parent, err := s.j.Get(ctx, r.PaymentID)
	if err != nil {
		return nil, err
	}
	return s.void(ctx, c, r, parent, fp)
}

func (s *Service) void(ctx context.Context, c Caller, r AdjustRequest, parent *Operation, fp string) (*Result, error) {
	op, err := s.childOperation(KindVoid, c, r, parent)
	if err != nil {
		return nil, err
	}
	op.Amount = parent.Amount
	op.Fingerprint = fp
	return s.submit(ctx, submission{op: op, wait: c.Wait, check: func(s *Service) error {
		cur, err := s.j.Get(ctx, parent.ID)
		if err != nil {
			return err
		}
		return s.voidable(ctx, cur)
	}})
}

// Refund returns part or all of a payment.
func (s *Service) Refund(ctx context.Context, c Caller, r AdjustRequest) (*Result, error) {
	fp := adjustFingerprint("refund", r)
	if res, err := s.replay(ctx, c, r.Reference, fp); res != nil || err != nil {
		return res, err
	}
	parent, err := s.j.Get(ctx, r.PaymentID)
	if err != nil {
		return nil, err
	}
	return s.refund(ctx, c, r, parent, fp)
}

func (s *Service) refund(ctx context.Context, c Caller, r AdjustRequest, parent *Operation, fp string) (*Result, error) {
	op, err := s.childOperation(KindRefund, c, r, parent)
	if err != nil {
		return nil, err
	}
	ve := &ValidationError{}
	if s.opt.Mode == VUK507 {
		op.Lines, op.Amount = s.refundLines(r.Lines, parent, ve)
		if r.Amount != "" {
			ve.add("amount", "is not used in vuk507: refund by lines")
		}
	} else {
		if len(r.Lines) > 0 {
			ve.add("lines", "are used only in vuk507")
		}
		if r.Amount == "" {
			op.Amount = NewMoney(parent.Refundable(), parent.Amount.Currency())
		} else {
			op.Amount = s.parseAmount("amount", r.Amount, string(parent.Amount.Currency()), ve)
		}
	}
	if err := ve.orNil(); err != nil {
		return nil, err
	}
	op.Fingerprint = fp
	return s.submit(ctx, submission{op: op, wait: c.Wait, check: func(s *Service) error {
		cur, err := s.j.Get(ctx, parent.ID)
		if err != nil {
			return err
		}
		if err := refundable(cur, op.Amount); err != nil {
			return err
		}
		return linesRefundable(cur, op.Lines)
	}})
}

// Cancel voids a payment that is still voidable and refunds what is left of
// it otherwise. When iyzico refuses the void as a business rule (end of day
// ran where bridged could not see it), the cancel goes on as a refund.
func (s *Service) Cancel(ctx context.Context, c Caller, r AdjustRequest) (*Result, error) {
	fp := adjustFingerprint("cancel", r)
	res, err := s.replay(ctx, c, r.Reference, fp)
	if err != nil {
		return nil, err
	}
	parent, err := s.j.Get(ctx, r.PaymentID)
	if err != nil {
		return nil, err
	}
	if res == nil {
		s.mu.Lock()
		verr := s.voidable(ctx, parent)
		s.mu.Unlock()
		if verr != nil {
			return s.cancelByRefund(ctx, c, r, parent, fp)
		}
		if res, err = s.void(ctx, c, r, parent, fp); err != nil {
			return nil, err
		}
	}
	if res.Op.Kind == KindVoid && voidRefusedAsClosed(res.Op) {
		// The void is over, and moved nothing: the same cancel goes on as a
		// refund under its own key (derived, so that a retry of the cancel
		// finds it and replays it).
		key, err := keyOf(c.IdempotencyKey, r.Reference)
		if err != nil {
			return nil, err
		}
		c.IdempotencyKey = derivedKey(key, "#refund")
		cur, err := s.j.Get(ctx, r.PaymentID)
		if err != nil {
			return nil, err
		}
		refundFP := adjustFingerprint("cancel-refund", r)
		if again, err := s.replay(ctx, c, r.Reference, refundFP); again != nil || err != nil {
			return again, err
		}
		return s.cancelByRefund(ctx, c, r, cur, refundFP)
	}
	return res, nil
}

// cancelByRefund refunds everything left of a payment: the remainder in VUK
// 509, every line's remaining items and amount in VUK 507.
func (s *Service) cancelByRefund(ctx context.Context, c Caller, r AdjustRequest, parent *Operation, fp string) (*Result, error) {
	r.Amount, r.Lines = "", nil
	if s.opt.Mode == VUK507 {
		for _, l := range parent.Lines {
			left := l.Total.Minor() - l.RefundedMinor
			if left <= 0 || l.Quantity-l.RefundedQuantity <= 0 {
				continue
			}
			r.Lines = append(r.Lines, RefundLineRequest{LineID: l.ID, Quantity: l.Quantity - l.RefundedQuantity,
				Amount: NewMoney(left, l.Total.Currency()).Decimal()})
		}
		if len(r.Lines) == 0 {
			return nil, ErrNotRefundable.Withf("nothing left to refund")
		}
	}
	return s.refund(ctx, c, r, parent, fp)
}

// derivedKey is the key of an operation that one request starts beside its
// own (the refund of a cancel whose void was refused, the void of each part
// of a cancelled split sale): the request's key and a suffix, shortened to a
// hash of the key when the whole would be longer than a key may be.
func derivedKey(key, suffix string) string {
	if len(key)+len(suffix) <= idempotency.MaxKeyLen {
		return key + suffix
	}
	return idempotency.NewFingerprint().Add("key", key).Sum()[:40] + suffix
}

// voidRefusedAsClosed reports whether iyzico refused a void on a business
// rule that a refund can meet: the payment's batch was closed by an end of
// day bridged did not see, or it is otherwise no longer voidable. A bank or
// device answer, a timeout, busy: no (the cashier decides again).
func voidRefusedAsClosed(op *Operation) bool {
	if op.State != StateDeclined || op.Resolution != ResolvedDirect || op.Error == nil {
		return false
	}
	return op.Error.Group == "BUSINESS_ERROR" || voidRefusedCodes[op.Error.Code]
}

// voidRefusedCodes are codes that refuse a void as not possible any more
// when iyzico sends no errorGroup (VUK 507). iyzico documents none; 389902
// is the simulator's reading ("void not allowed: end of day has closed its
// batch"), see docs/simulator.md.
var voidRefusedCodes = map[string]bool{"389902": true}

// adjustFingerprint is the fingerprint of a void, refund or cancel request as
// the ECR sent it, never of what bridged derived from the payment's state:
// "refund what is left" is the same request after the refund as before it.
func adjustFingerprint(verb string, r AdjustRequest) string {
	f := idempotency.NewFingerprint().Add("kind", verb).Add("parent", r.PaymentID).
		Add("reference", r.Reference).Add("amount", minorText(r.Amount))
	for _, l := range r.Lines {
		f.Add("line", l.LineID).AddInt("qty", int64(l.Quantity)).Add("line_amount", minorText(l.Amount))
	}
	return f.Sum()
}

// minorText normalises an amount for a fingerprint ("10" and "10.00" are one
// amount); text that is not an amount is kept as it is (it fails validation).
func minorText(v string) string {
	if v == "" {
		return ""
	}
	if m, err := ParseMoney(v, TRY); err == nil {
		return strconv.FormatInt(m.Minor(), 10)
	}
	return "?" + v
}

func (s *Service) childOperation(kind Kind, c Caller, r AdjustRequest, parent *Operation) (*Operation, error) {
	ve := &ValidationError{}
	checkText(ve, "reference", r.Reference, 128)
	checkText(ve, "reason", r.Reason, 256)
	if err := ve.orNil(); err != nil {
		return nil, err
	}
	op, err := s.newOperation(kind, c.Client, c.IdempotencyKey, r.Reference, parent.Terminal)
	if err != nil {
		return nil, err
	}
	op.ParentID = parent.ID
	op.ParentTransactionReferenceID = parent.TransactionReferenceID
	op.PaymentID = parent.PaymentID
	op.PaymentDate = parent.PaymentDate
	// A refund of a cash sale returns cash: it is not in the card batch.
	op.PaymentType = parent.PaymentType
	op.Amount = NewMoney(0, parent.Amount.Currency())
	return op, nil
}

// voidable says whether p can be voided now. Called with s.mu held.
func (s *Service) voidable(ctx context.Context, p *Operation) error {
	switch {
	case p.Kind == KindSplitPayment:
		return s.partVoidable(ctx, p)
	case !p.Kind.IsPayment():
		return ErrNotVoidable.Withf("a %s is not a payment", p.Kind)
	case p.State != StateApproved:
		return ErrNotVoidable.Withf("it is %s, not approved", p.State.Status())
	case p.Voided:
		return ErrNotVoidable.Withf("it is voided already")
	case p.CapturedBy != "":
		return ErrNotVoidable.Withf("the pre-authorisation was captured by payment %s; void or refund that instead", p.CapturedBy)
	case p.RefundedMinor > 0:
		return ErrNotVoidable.Withf("part of it was refunded; refund the rest instead")
	}
	return s.sameBatch(p)
}

// sameBatch says whether p is still in its terminal's open batch: the same
// business day, after the last end of day, and after an end of day whose
// answer was lost and may have closed the batch. Called with s.mu held.
func (s *Service) sameBatch(p *Operation) error {
	if p.BusinessDay != s.clock.Now().In(s.opt.Location).Format("20060102") {
		return ErrNotVoidable.Withf("it is from business day %s; refund it instead", p.BusinessDay)
	}
	ln := s.lanes[p.Terminal]
	if ln == nil {
		return nil
	}
	if !ln.lastEOD.IsZero() && !p.CreatedAt.After(ln.lastEOD) {
		return ErrNotVoidable.Withf("end of day has closed its batch; refund it instead")
	}
	if !ln.maybeClosed.IsZero() && !p.CreatedAt.After(ln.maybeClosed) {
		return ErrNotVoidable.Withf("an end of day whose answer was lost may have closed its batch; refund it instead")
	}
	return nil
}

// refundable says whether amount can be refunded from p now.
func refundable(p *Operation, amount Money) error {
	switch {
	case p.Kind == KindPreAuth && p.CapturedBy != "":
		return ErrNotRefundable.Withf("the pre-authorisation was captured by payment %s; refund that instead", p.CapturedBy)
	case p.Kind == KindPreAuth:
		return ErrNotRefundable.Withf("a pre-authorisation holds money without taking it; void it to release the hold")
	case !p.Kind.IsPayment():
		return ErrNotRefundable.Withf("a %s is not a payment", p.Kind)
	case p.State != StateApproved:
		return ErrNotRefundable.Withf("it is %s, not approved", p.State.Status())
	case p.Voided:
		return ErrNotRefundable.Withf("it is voided")
	}
	left := p.Refundable()
	if amount.Minor() > left {
		return ErrRefundExceeds.Withf("%s requested, %s refundable", amount.Decimal(), NewMoney(left, p.Amount.Currency()).Decimal())
	}
	if amount.Minor() <= 0 {
		return ErrNotRefundable.Withf("nothing left to refund")
	}
	return nil
}

// refundLines reads VUK 507 refund lines against the sale's lines: each
// names a line of the sale, returns 1 to the line's quantity of items (0:
// what is left of it) and at most the price of the items returned. What is
// left of each line is checked when the refund is submitted (linesRefundable).
func (s *Service) refundLines(req []RefundLineRequest, parent *Operation, ve *ValidationError) ([]SaleLine, Money) {
	cur := parent.Amount.Currency()
	if len(req) == 0 {
		ve.add("lines", "at least one line to refund is required in vuk507")
		return nil, NewMoney(0, cur)
	}
	byID := map[string]SaleLine{}
	for _, l := range parent.Lines {
		byID[l.ID] = l
	}
	seen := map[string]bool{}
	var out []SaleLine
	var sum int64
	for i, r := range req {
		f := "lines[" + strconv.Itoa(i) + "]"
		sl, ok := byID[r.LineID]
		if r.LineID == "" || !ok {
			ve.add(f+".line_id", "%q is not a line of this payment", r.LineID)
			continue
		}
		if seen[r.LineID] {
			ve.add(f+".line_id", "line %q is named twice; refund it in one line", r.LineID)
			continue
		}
		seen[r.LineID] = true
		amt := s.parseAmount(f+".amount", r.Amount, string(cur), ve)
		qty := r.Quantity
		if qty == 0 {
			qty = sl.Quantity - sl.RefundedQuantity
		}
		if qty < 1 || qty > sl.Quantity {
			ve.add(f+".quantity", "must be from 1 to %d", sl.Quantity)
		} else if amt.IsPositive() && amt.Minor() > sl.UnitPrice.Minor()*int64(qty) {
			ve.add(f+".amount", "%s is more than %d item(s) at %s", amt.Decimal(), qty, sl.UnitPrice.Decimal())
		}
		sum += amt.Minor()
		out = append(out, SaleLine{Name: sl.Name, Quantity: qty, UnitPrice: sl.UnitPrice, Total: amt,
			UnitCode: sl.UnitCode, TaxGroupCode: sl.TaxGroupCode, RelatedLineID: sl.ID})
	}
	return out, NewMoney(sum, cur)
}

// linesRefundable checks VUK 507 refund lines against what approved refunds
// left of each sale line, so that iyzico is never asked for more than is left
// of a line (it would refuse the whole refund) while the payment as a whole
// still has money left.
func linesRefundable(p *Operation, lines []SaleLine) error {
	for _, rl := range lines {
		for _, sl := range p.Lines {
			if sl.ID != rl.RelatedLineID {
				continue
			}
			qtyLeft, amtLeft := sl.Quantity-sl.RefundedQuantity, sl.Total.Minor()-sl.RefundedMinor
			if rl.Quantity > qtyLeft || rl.Total.Minor() > amtLeft {
				return ErrRefundExceeds.Withf("line %s (%q) has %d item(s) and %s left to refund; %d item(s) and %s requested",
					sl.ID, sl.Name, qtyLeft, NewMoney(amtLeft, sl.Total.Currency()).Decimal(),
					rl.Quantity, rl.Total.Decimal())
			}
		}
	}
	return nil
}
