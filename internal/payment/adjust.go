package payment

import (
	"context"
	"fmt"
	"strconv"
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
	LineID   string // the sale line's id as iyzico assigned it
	Quantity int
	Amount   string
}

// Void reverses a payment the same business day, before end of day.
func (s *Service) Void(ctx context.Context, c Caller, r AdjustRequest) (*Result, error) {
	parent, err := s.j.Get(ctx, r.PaymentID)
	if err != nil {
		return nil, err
	}
	op, err := s.childOperation(KindVoid, c, r, parent)
	if err != nil {
		return nil, err
	}
	op.Amount = parent.Amount
	op.Fingerprint = fingerprint(op)
	return s.submit(ctx, submission{op: op, wait: c.Wait, check: func(s *Service) error {
		cur, err := s.j.Get(ctx, parent.ID)
		if err != nil {
			return err
		}
		return s.voidable(cur)
	}})
}

// Refund returns part or all of a payment.
func (s *Service) Refund(ctx context.Context, c Caller, r AdjustRequest) (*Result, error) {
	parent, err := s.j.Get(ctx, r.PaymentID)
	if err != nil {
		return nil, err
	}
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
			op.Amount = NewMoney(parent.Amount.Minor()-parent.RefundedMinor, parent.Amount.Currency())
		} else {
			op.Amount = s.parseAmount("amount", r.Amount, string(parent.Amount.Currency()), ve)
		}
	}
	if err := ve.orNil(); err != nil {
		return nil, err
	}
	op.Fingerprint = fingerprint(op)
	return s.submit(ctx, submission{op: op, wait: c.Wait, check: func(s *Service) error {
		cur, err := s.j.Get(ctx, parent.ID)
		if err != nil {
			return err
		}
		return refundable(cur, op.Amount)
	}})
}

// Cancel voids a payment that is still voidable and refunds it in full otherwise.
func (s *Service) Cancel(ctx context.Context, c Caller, r AdjustRequest) (*Result, error) {
	parent, err := s.j.Get(ctx, r.PaymentID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	verr := s.voidable(parent)
	s.mu.Unlock()
	if verr == nil {
		return s.Void(ctx, c, r)
	}
	if s.opt.Mode == VUK507 {
		if parent.RefundedMinor > 0 {
			return nil, fmt.Errorf("%w: part of it was refunded already; refund the remaining lines explicitly", ErrNotRefundable)
		}
		r.Lines = nil
		for _, l := range parent.Lines {
			r.Lines = append(r.Lines, RefundLineRequest{LineID: l.ID, Quantity: l.Quantity, Amount: l.Total.Decimal()})
		}
	}
	r.Amount = ""
	return s.Refund(ctx, c, r)
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
	op.Amount = NewMoney(0, parent.Amount.Currency())
	return op, nil
}

// voidable says whether p can be voided now. Called with s.mu held.
func (s *Service) voidable(p *Operation) error {
	switch {
	case !isPayment(p.Kind):
		return fmt.Errorf("%w: a %s is not a payment", ErrNotVoidable, p.Kind)
	case p.State != StateApproved:
		return fmt.Errorf("%w: it is %s, not approved", ErrNotVoidable, p.State.Status())
	case p.Voided:
		return fmt.Errorf("%w: it is voided already", ErrNotVoidable)
	case p.RefundedMinor > 0:
		return fmt.Errorf("%w: part of it was refunded; refund the rest instead", ErrNotVoidable)
	case p.BusinessDay != s.clock.Now().In(s.opt.Location).Format("20060102"):
		return fmt.Errorf("%w: it is from business day %s; refund it instead", ErrNotVoidable, p.BusinessDay)
	}
	if ln := s.lanes[p.Terminal]; ln != nil && !ln.lastEOD.IsZero() && !p.CreatedAt.After(ln.lastEOD) {
		return fmt.Errorf("%w: end of day has closed its batch; refund it instead", ErrNotVoidable)
	}
	return nil
}

func isPayment(k Kind) bool {
	return k == KindSale || k == KindPreAuth || k == KindPostAuth || k == KindSplitComplete
}

// refundable says whether amount can be refunded from p now.
func refundable(p *Operation, amount Money) error {
	switch {
	case !isPayment(p.Kind):
		return fmt.Errorf("%w: a %s is not a payment", ErrNotRefundable, p.Kind)
	case p.State != StateApproved:
		return fmt.Errorf("%w: it is %s, not approved", ErrNotRefundable, p.State.Status())
	case p.Voided:
		return fmt.Errorf("%w: it is voided", ErrNotRefundable)
	}
	left := p.Amount.Minor() - p.RefundedMinor
	if amount.Minor() > left {
		return fmt.Errorf("%w: %s requested, %s refundable", ErrRefundExceeds, amount.Decimal(), NewMoney(left, p.Amount.Currency()).Decimal())
	}
	if amount.Minor() <= 0 {
		return fmt.Errorf("%w: nothing left to refund", ErrNotRefundable)
	}
	return nil
}

// refundLines checks VUK 507 refund lines against the sale's lines.
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
	var out []SaleLine
	var sum int64
	for i, r := range req {
		f := "lines[" + strconv.Itoa(i) + "]"
		sl, ok := byID[r.LineID]
		if r.LineID == "" || !ok {
			ve.add(f+".line_id", "%q is not a line of this payment", r.LineID)
			continue
		}
		amt := s.parseAmount(f+".amount", r.Amount, string(cur), ve)
		if amt.Cmp(sl.Total) > 0 {
			ve.add(f+".amount", "%s is more than the line's total %s", amt.Decimal(), sl.Total.Decimal())
		}
		qty := r.Quantity
		if qty == 0 {
			qty = sl.Quantity
		}
		if qty < 1 || qty > sl.Quantity {
			ve.add(f+".quantity", "must be from 1 to %d", sl.Quantity)
		}
		sum += amt.Minor()
		out = append(out, SaleLine{Name: sl.Name, Quantity: qty, UnitPrice: sl.UnitPrice, Total: amt,
			UnitCode: sl.UnitCode, TaxGroupCode: sl.TaxGroupCode, RelatedLineID: sl.ID})
	}
	return out, NewMoney(sum, cur)
}
