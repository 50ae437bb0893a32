package payment

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/bridgedpos/bridged/internal/idempotency"
)

// A VUK 507 split sale settles one fiscal sale with several payments:
// start (opens the sale on the device, moves no money), one add per payment
// until nothing remains, complete (creates the fiscal record). Each step is
// its own journaled operation with its own transactionReferenceId; the
// start's id names the flow.

// splitsSupported is the one gate of the split-sale steps, checked first by
// each of them: split sales exist only in VUK 507. The HTTP layer answers its
// error 409 mode_unsupported.
func (s *Service) splitsSupported() error { return s.opt.Mode.SplitsSupported() }

// SplitsSupported is the one rule of which mode has split sales: VUK 507
// only. The server asks it before reading a split request's body, so that
// any split call in VUK 509 gets the same 409 mode_unsupported.
func (m Mode) SplitsSupported() error {
	if m != VUK507 {
		return ErrModeUnsupported.Withf("split sales exist only in %s; this installation runs %s", VUK507, m)
	}
	return nil
}

// StartSplit opens a split sale with its full lines.
func (s *Service) StartSplit(ctx context.Context, c Caller, r SaleRequest) (*Result, error) {
	if err := s.splitsSupported(); err != nil {
		return nil, err
	}
	if r.Type != "" && r.Type != KindSale {
		return nil, &ValidationError{Problems: []FieldProblem{{Field: "type", Message: "a split sale is a sale"}}}
	}
	op, err := s.validateSale(c, r)
	if err != nil {
		return nil, err
	}
	op.Kind = KindSplitStart
	op.Fingerprint = fingerprint(op)
	return s.submit(ctx, submission{op: op, wait: c.Wait})
}

// SplitPaymentRequest adds one payment to a split sale.
type SplitPaymentRequest struct {
	SplitID     string // the start operation's id
	Amount      string
	Installment int
	Reference   string
}

// AddSplitPayment charges one part of a split sale.
func (s *Service) AddSplitPayment(ctx context.Context, c Caller, r SplitPaymentRequest) (*Result, error) {
	if err := s.splitsSupported(); err != nil {
		return nil, err
	}
	fp := idempotency.NewFingerprint().Add("kind", string(KindSplitPayment)).Add("split", r.SplitID).
		Add("amount", minorText(r.Amount)).AddInt("installment", int64(r.Installment)).Add("reference", r.Reference).Sum()
	if res, err := s.replay(ctx, c, r.Reference, fp); res != nil || err != nil {
		return res, err
	}
	start, err := s.openSplit(ctx, r.SplitID)
	if err != nil {
		return nil, err
	}
	ve := &ValidationError{}
	checkText(ve, "reference", r.Reference, 128)
	amount := s.parseAmount("amount", r.Amount, string(start.Amount.Currency()), ve)
	inst := r.Installment
	if inst == 0 {
		inst = 1
	}
	if inst < 1 || inst > 12 {
		ve.add("installment", "must be from 1 to 12")
	}
	if err := ve.orNil(); err != nil {
		return nil, err
	}
	op, err := s.newOperation(KindSplitPayment, c.Client, c.IdempotencyKey, r.Reference, start.Terminal)
	if err != nil {
		return nil, err
	}
	op.ParentID, op.SaleNumber = start.ID, start.SaleNumber
	op.Amount, op.Installment = amount, inst
	op.Fingerprint = fp
	return s.submit(ctx, submission{op: op, wait: c.Wait, check: func(s *Service) error {
		remaining, err := s.splitRemaining(ctx, start)
		if err != nil {
			return err
		}
		if !remaining.IsPositive() {
			return ErrSplitPaid.Withf("nothing remains to be paid; complete the split sale")
		}
		if amount.Minor() > remaining.Minor() {
			return ErrAmountOutOfRange.Withf("%s requested, %s remains to be paid", amount.Decimal(), remaining.Decimal())
		}
		return nil
	}})
}

// CompleteSplit closes a fully paid split sale; the completion is the payment
// that can later be voided or refunded.
func (s *Service) CompleteSplit(ctx context.Context, c Caller, splitID, reference string) (*Result, error) {
	if err := s.splitsSupported(); err != nil {
		return nil, err
	}
	ve := &ValidationError{}
	checkText(ve, "reference", reference, 128)
	if err := ve.orNil(); err != nil {
		return nil, err
	}
	fp := idempotency.NewFingerprint().Add("kind", string(KindSplitComplete)).Add("split", splitID).Add("reference", reference).Sum()
	if res, err := s.replay(ctx, c, reference, fp); res != nil || err != nil {
		return res, err
	}
	start, err := s.openSplit(ctx, splitID)
	if err != nil {
		return nil, err
	}
	op, err := s.newOperation(KindSplitComplete, c.Client, c.IdempotencyKey, reference, start.Terminal)
	if err != nil {
		return nil, err
	}
	op.ParentID, op.SaleNumber = start.ID, start.SaleNumber
	op.Amount, op.Installment = start.Amount, start.Installment
	op.PaymentType, op.DocumentType, op.Buyer = start.PaymentType, start.DocumentType, start.Buyer
	op.Lines = append([]SaleLine(nil), start.Lines...)
	op.Fingerprint = fp
	return s.submit(ctx, submission{op: op, wait: c.Wait, check: func(s *Service) error {
		remaining, err := s.splitRemaining(ctx, start)
		if err != nil {
			return err
		}
		if remaining.IsPositive() {
			return ErrSplitUnpaid.Withf("%s remains to be paid before the sale can be completed", remaining.Decimal())
		}
		return nil
	}})
}

func (s *Service) splitStart(ctx context.Context, id string) (*Operation, error) {
	start, err := s.j.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if start.Kind != KindSplitStart {
		return nil, ErrNotFound.Withf("%s is not a split sale", id)
	}
	if start.State != StateApproved || start.SaleNumber == "" {
		return nil, ErrSplitClosed.Withf("the split sale is %s, not open", start.State.Status())
	}
	return start, nil
}

// openSplit is splitStart for a step that adds to the sale: a cancelled
// split sale takes no more parts and cannot be completed.
func (s *Service) openSplit(ctx context.Context, id string) (*Operation, error) {
	start, err := s.splitStart(ctx, id)
	if err != nil {
		return nil, err
	}
	if start.Closed {
		return nil, ErrSplitClosed.Withf("the split sale was cancelled")
	}
	return start, nil
}

// splitRemaining is the start's amount less every approved part. An unknown
// part blocks the terminal, so it cannot be overlooked here.
func (s *Service) splitRemaining(ctx context.Context, start *Operation) (Money, error) {
	cur, err := s.j.Get(ctx, start.ID)
	if err != nil {
		return Money{}, err
	}
	if cur.Closed {
		return Money{}, ErrSplitClosed.Withf("the split sale was cancelled")
	}
	parts, _, err := s.j.List(ctx, Filter{ParentID: start.ID, Kinds: []Kind{KindSplitPayment, KindSplitComplete}, Limit: 1000})
	if err != nil {
		return Money{}, err
	}
	left := start.Amount.Minor()
	for _, p := range parts {
		if p.Kind == KindSplitComplete && p.State == StateApproved {
			return NewMoney(0, start.Amount.Currency()), ErrSplitClosed.Withf("the split sale is completed already")
		}
		if p.Kind == KindSplitPayment && p.State == StateApproved {
			left -= p.Amount.Minor()
		}
	}
	return NewMoney(left, start.Amount.Currency()), nil
}

// SplitCancelResult is a cancelled split sale: each of its parts with the
// void that gives its money back.
type SplitCancelResult struct {
	Start *Operation
	Parts []SplitPartCancel
	// Final: every void asked for is approved or declined.
	Final bool
	// Replayed: every void was an earlier request's (the same key).
	Replayed bool
}

// SplitPartCancel is one part of a cancelled split sale.
type SplitPartCancel struct {
	Part *Operation
	Void *Operation // nil when the part needed none, or could not be voided
	Note string     // why no void was sent, or what its answer means
}

// Settled reports whether every charged part has its money back.
func (r *SplitCancelResult) Settled() bool {
	for _, p := range r.Parts {
		if p.Part.State == StateApproved && !p.Part.Voided && (p.Void == nil || p.Void.State != StateApproved) {
			return false
		}
	}
	return true
}

// CancelSplit gives back the money of a split sale that was never completed:
// it closes the sale to new parts (durably, first), then voids each charged
// part on the terminal, one after the other, each a journaled operation of
// its own with the same guarantees as any void (its key is the request's
// key and the part's id). A part from a batch that end of day has closed
// cannot be voided, and a VUK 507 part has no lines to refund: such a part
// is listed with the reason, for the operator. A completed split sale is
// cancelled as a payment (its completion's cancel), not here.
func (s *Service) CancelSplit(ctx context.Context, c Caller, splitID, reference string) (*SplitCancelResult, error) {
	if err := s.splitsSupported(); err != nil {
		return nil, err
	}
	ve := &ValidationError{}
	checkText(ve, "reference", reference, 128)
	if err := ve.orNil(); err != nil {
		return nil, err
	}
	key, err := keyOf(c.IdempotencyKey, reference)
	if err != nil {
		return nil, err
	}
	start, err := s.splitStart(ctx, splitID)
	if err != nil {
		return nil, err
	}
	steps, _, err := s.j.List(ctx, Filter{ParentID: start.ID, Kinds: []Kind{KindSplitComplete}, Limit: 1000})
	if err != nil {
		return nil, err
	}
	for _, st := range steps {
		if st.State == StateApproved {
			return nil, ErrSplitClosed.Withf("the split sale was completed as payment %s; cancel that payment instead", st.ID)
		}
		if !st.State.Final() {
			return nil, &BusyError{Err: ErrTerminalBlocked, Terminal: start.Terminal, RetryAfter: 5 * time.Second}
		}
	}
	if !start.Closed {
		if start, err = s.j.Update(ctx, start.ID, func(op *Operation) error {
			op.Closed, op.UpdatedAt = true, s.clock.Now()
			return nil
		}); err != nil {
			s.failClosed(err)
			return nil, ErrStorageFailure.Because(err)
		}
		s.notify()
	}
	parts, err := s.splitParts(ctx, start.ID)
	if err != nil {
		return nil, err
	}
	res := &SplitCancelResult{Start: start, Final: true, Replayed: len(parts) > 0}
	slices.SortFunc(parts, func(a, b *Operation) int { return a.CreatedAt.Compare(b.CreatedAt) })
	for _, part := range parts {
		pc := SplitPartCancel{Part: part}
		switch {
		case part.State != StateApproved:
			pc.Note = "not charged: " + string(part.State.Status())
			res.Parts = append(res.Parts, pc)
			continue
		case part.Voided:
			pc.Note = "voided already"
		}
		pcaller := Caller{Client: c.Client, IdempotencyKey: derivedKey(key, "#"+part.ID), Wait: c.Wait}
		r := AdjustRequest{PaymentID: part.ID, Reference: reference}
		vres, err := s.Void(ctx, pcaller, r)
		switch {
		case err == nil:
			pc.Void, pc.Note = vres.Op, ""
			res.Final = res.Final && vres.Final
			res.Replayed = res.Replayed && vres.Replayed
			if vres.Op.State == StateApproved {
				pc.Part.Voided = true
			}
		case errors.Is(err, ErrNotVoidable) && part.Voided:
			res.Replayed = false
		case errors.Is(err, ErrNotVoidable):
			pc.Note = err.Error()
			res.Replayed = false
		default:
			return nil, err
		}
		res.Parts = append(res.Parts, pc)
	}
	return res, nil
}

// partVoidable says whether a part of a split sale can be voided now: only
// while the sale is not completed (a completed sale is voided as a whole),
// in the open batch. Called with s.mu held.
func (s *Service) partVoidable(ctx context.Context, p *Operation) error {
	switch {
	case p.State != StateApproved:
		return ErrNotVoidable.Withf("it is %s, not approved", p.State.Status())
	case p.Voided:
		return ErrNotVoidable.Withf("it is voided already")
	}
	steps, _, err := s.j.List(ctx, Filter{ParentID: p.ParentID, Kinds: []Kind{KindSplitComplete}, Limit: 1000})
	if err != nil {
		return err
	}
	for _, st := range steps {
		if st.State == StateApproved {
			return ErrNotVoidable.Withf("its split sale was completed as payment %s; void that instead", st.ID)
		}
	}
	return s.sameBatch(p)
}
