package payment

import (
	"context"
	"fmt"
)

// A VUK 507 split sale settles one fiscal sale with several payments:
// start (opens the sale on the device, moves no money), one add per payment
// until nothing remains, complete (creates the fiscal record). Each step is
// its own journaled operation with its own transactionReferenceId; the
// start's id names the flow.

// StartSplit opens a split sale with its full lines.
func (s *Service) StartSplit(ctx context.Context, c Caller, r SaleRequest) (*Result, error) {
	if s.opt.Mode != VUK507 {
		return nil, fmt.Errorf("%w: split sales exist only in vuk507", ErrModeUnsupported)
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
	start, err := s.splitStart(ctx, r.SplitID)
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
	op.Fingerprint = fingerprint(op)
	return s.submit(ctx, submission{op: op, wait: c.Wait, check: func(s *Service) error {
		remaining, err := s.splitRemaining(ctx, start)
		if err != nil {
			return err
		}
		if amount.Minor() > remaining.Minor() {
			return fmt.Errorf("%w: %s requested, %s remains to be paid", ErrAmountOutOfRange, amount.Decimal(), remaining.Decimal())
		}
		return nil
	}})
}

// CompleteSplit closes a fully paid split sale; the completion is the payment
// that can later be voided or refunded.
func (s *Service) CompleteSplit(ctx context.Context, c Caller, splitID, reference string) (*Result, error) {
	ve := &ValidationError{}
	checkText(ve, "reference", reference, 128)
	if err := ve.orNil(); err != nil {
		return nil, err
	}
	start, err := s.splitStart(ctx, splitID)
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
	op.Fingerprint = fingerprint(op)
	return s.submit(ctx, submission{op: op, wait: c.Wait, check: func(s *Service) error {
		remaining, err := s.splitRemaining(ctx, start)
		if err != nil {
			return err
		}
		if remaining.IsPositive() {
			return fmt.Errorf("%w: %s remains to be paid before the sale can be completed", ErrAmountOutOfRange, remaining.Decimal())
		}
		return nil
	}})
}

func (s *Service) splitStart(ctx context.Context, id string) (*Operation, error) {
	if s.opt.Mode != VUK507 {
		return nil, fmt.Errorf("%w: split sales exist only in vuk507", ErrModeUnsupported)
	}
	start, err := s.j.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if start.Kind != KindSplitStart {
		return nil, fmt.Errorf("%w: %s is not a split sale", ErrNotFound, id)
	}
	if start.State != StateApproved || start.SaleNumber == "" {
		return nil, fmt.Errorf("%w: the split sale is %s, not open", ErrAmountOutOfRange, start.State.Status())
	}
	return start, nil
}

// splitRemaining is the start's amount less every approved part. An unknown
// part blocks the terminal, so it cannot be overlooked here.
func (s *Service) splitRemaining(ctx context.Context, start *Operation) (Money, error) {
	parts, _, err := s.j.List(ctx, Filter{ParentID: start.ID, Kinds: []Kind{KindSplitPayment, KindSplitComplete}, Limit: 1000})
	if err != nil {
		return Money{}, err
	}
	left := start.Amount.Minor()
	for _, p := range parts {
		if p.Kind == KindSplitComplete && p.State == StateApproved {
			return NewMoney(0, start.Amount.Currency()), fmt.Errorf("%w: the split sale is completed already", ErrAmountOutOfRange)
		}
		if p.Kind == KindSplitPayment && p.State == StateApproved {
			left -= p.Amount.Minor()
		}
	}
	return NewMoney(left, start.Amount.Currency()), nil
}
