package payment

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Reasons bridged itself gives an operation (Operation.Reason), beside
// upstream's own.
const (
	// ReasonPaymentIDConflict: iyzico approved the operation with a paymentId
	// that another operation owns; one of the two answers is about another
	// transaction, so this one stays unknown for an operator.
	ReasonPaymentIDConflict = "payment_id_conflict"
	// ReasonUnnamedAnswer: a status query answered approved without naming
	// the transaction, and what it said did not match the operation.
	ReasonUnnamedAnswer = "answer_not_about_this_operation"
	// ReasonRecordsUnreachable: iyzico answered "not found", but a query of a
	// transaction it approved on the same terminal did not find that either.
	ReasonRecordsUnreachable = "records_unreachable"
)

// effects returns what op's new state does to other operations, to be
// committed with it (Journal.Record): an approved void marks its payment
// voided (a completed split sale with all its parts, a post-auth with its
// pre-auth), an approved refund adds to its payment's refunded amount and, in
// VUK 507, to each refunded line, an approved post-auth marks its pre-auth
// captured. Each effect sets its target from the child alone, on a fresh
// copy, so that it may run again (group commit) and is applied exactly once:
// Record refuses a second final state of the child.
func (s *Service) effects(ctx context.Context, op *Operation) ([]Effect, error) {
	if op.State != StateApproved || op.ParentID == "" {
		return nil, nil
	}
	switch op.Kind {
	case KindVoid:
		return s.voidEffects(ctx, op)
	case KindRefund:
		return []Effect{refundEffect(op)}, nil
	case KindPostAuth:
		id, amount := op.ID, op.Amount.Minor()
		return []Effect{{ID: op.ParentID, Apply: func(pre *Operation) error {
			pre.CapturedBy, pre.CapturedMinor = id, amount
			pre.UpdatedAt = op.UpdatedAt
			return nil
		}}}, nil
	}
	return nil, nil
}

func markVoided(at time.Time) func(*Operation) error {
	return func(p *Operation) error {
		p.Voided = true
		p.UpdatedAt = at
		return nil
	}
}

// voidEffects marks the voided payment, and what iyzico voids with it: a
// completed split sale's parts (their money goes back with the sale), a
// post-auth's pre-auth (the same iyzico payment).
func (s *Service) voidEffects(ctx context.Context, void *Operation) ([]Effect, error) {
	out := []Effect{{ID: void.ParentID, Apply: markVoided(void.UpdatedAt)}}
	parent, err := s.j.Get(ctx, void.ParentID)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("void %s: its payment %s: %w", void.ID, void.ParentID, err)
	}
	if err != nil {
		return nil, err
	}
	switch parent.Kind {
	case KindSplitComplete:
		parts, err := s.splitParts(ctx, parent.ParentID)
		if err != nil {
			return nil, err
		}
		for _, p := range parts {
			if p.State == StateApproved && !p.Voided {
				out = append(out, Effect{ID: p.ID, Apply: markVoided(void.UpdatedAt)})
			}
		}
	case KindPostAuth:
		if parent.ParentID != "" {
			out = append(out, Effect{ID: parent.ParentID, Apply: markVoided(void.UpdatedAt)})
		}
	}
	return out, nil
}

// refundEffect adds an approved refund to its payment: the amount, and in
// VUK 507 each line's quantity and amount.
func refundEffect(refund *Operation) Effect {
	amount := refund.Amount.Minor()
	lines := append([]SaleLine(nil), refund.Lines...)
	at := refund.UpdatedAt
	return Effect{ID: refund.ParentID, Apply: func(p *Operation) error {
		p.RefundedMinor += amount
		for _, rl := range lines {
			for i := range p.Lines {
				if p.Lines[i].ID == rl.RelatedLineID && rl.RelatedLineID != "" {
					p.Lines[i].RefundedQuantity += rl.Quantity
					p.Lines[i].RefundedMinor += rl.Total.Minor()
				}
			}
		}
		p.UpdatedAt = at
		return nil
	}}
}

// splitParts lists the payments added to a split sale.
func (s *Service) splitParts(ctx context.Context, startID string) ([]*Operation, error) {
	parts, _, err := s.j.List(ctx, Filter{ParentID: startID, Kinds: []Kind{KindSplitPayment}, Limit: 1000})
	return parts, err
}
