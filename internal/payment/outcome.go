package payment

import (
	"context"
	"errors"
)

// apply turns an upstream outcome into the operation's next state.
func (s *Service) apply(op *Operation, out Outcome, how Resolution) {
	op.UpdatedAt = s.clock.Now()
	op.Error = out.Error
	op.Reason = ""
	switch out.Class {
	case Approved:
		op.State, op.Resolution, op.SafeToRetry = StateApproved, how, false
		op.Error = nil
		fillFromOutcome(op, out)
		if out.Voided && op.Kind.IsPayment() {
			// A status query found the payment approved and voided since
			// (through bridged's lost answer, or on the device): it stands voided.
			op.Voided = true
		}
	case Declined:
		op.State, op.Resolution, op.SafeToRetry = StateDeclined, how, true
	case NotSent:
		op.State, op.Resolution, op.SafeToRetry = StateDeclined, ResolvedNotSent, true
	case NotFound:
		// Only the reconciler sees NotFound, and it decides on the grace period.
		op.State = StateUnknown
	default:
		op.State, op.SafeToRetry = StateUnknown, false
		op.Reason = out.Reason
		if op.NextQueryAt.IsZero() {
			op.NextQueryAt = op.UpdatedAt.Add(s.opt.BackoffMin)
		}
	}
	if out.Cause != nil {
		s.log.Warn().Str("op_id", op.ID).Str("kind", string(op.Kind)).Str("class", out.Class.String()).
			Str("cause", out.Cause.Error()).Msg("upstream call did not give a clear answer")
	}
}

func fillFromOutcome(op *Operation, out Outcome) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&op.PaymentID, out.PaymentID)
	set(&op.PaymentDate, out.PaymentDate)
	set(&op.AuthCode, out.AuthCode)
	set(&op.HostRef, out.HostRef)
	set(&op.BatchNo, out.BatchNo)
	set(&op.SaleNumber, out.SaleNumber)
	if out.Card != nil {
		c := *out.Card
		op.Card = &c
	}
	if len(out.Lines) > 0 && len(op.Lines) == len(out.Lines) {
		for i := range op.Lines {
			if out.Lines[i].ID != "" {
				op.Lines[i].ID = out.Lines[i].ID
			}
		}
	}
}

// commit records a new state of op together with its effects on other
// operations (effects.go), in one durable commit, and returns the operation
// as the journal holds it afterwards: op itself, or, when another resolution
// settled it first, the stored final state (a final state is never
// overwritten and an effect is never applied twice). An approval whose
// paymentId another operation owns is not believed: op stays unknown, and an
// operator is told. A write failure puts the service in fail-closed mode.
func (s *Service) commit(op *Operation) (*Operation, error) {
	op.UpdatedAt = s.clock.Now()
	ctx := context.Background()
	effects, err := s.effects(ctx, op)
	if err == nil {
		err = s.j.Record(ctx, op, effects...)
	}
	var fe *FinalError
	var pc *PaymentIDConflictError
	switch {
	case err == nil:
	case errors.As(err, &fe):
		s.log.Info().Str("op_id", op.ID).Str("state", string(fe.Stored.State)).Str("dropped", string(op.State)).
			Msg("operation was settled meanwhile; this answer is not recorded")
		return fe.Stored, nil
	case errors.As(err, &pc):
		s.log.Error().Str("op_id", op.ID).Str("payment_id", pc.PaymentID).Strs("owners", pc.Owners).
			Msg("iyzico answered approved with a paymentId another operation owns: one of the answers is about another transaction; the operation stays unknown for an operator")
		if s.opt.OnConflict != nil {
			s.opt.OnConflict("payment_id")
		}
		op.State, op.SafeToRetry, op.Resolution = StateUnknown, false, ""
		op.Reason = ReasonPaymentIDConflict
		op.PaymentID, op.AuthCode, op.HostRef = "", "", ""
		if op.NextQueryAt.IsZero() || !op.NextQueryAt.After(op.UpdatedAt) {
			op.NextQueryAt = op.UpdatedAt.Add(s.opt.BackoffMax)
		}
		return s.commit(op)
	case errors.Is(err, ErrNotFound):
		s.log.Error().Err(err).Str("op_id", op.ID).Msg("an operation this one acts on is missing from the journal")
		s.failClosed(err)
		return op, err
	default:
		s.failClosed(err)
		return op, err
	}
	s.logState(op, "state")
	s.observe(op)
	// Watchers (long polls, the event stream) are woken by settleLane, once
	// the terminal is free again: an ECR that sees the outcome and sends the
	// next sale at once must not meet a terminal still marked busy.
	return op, nil
}

// settleLane frees the terminal, or keeps it blocked by an unknown, and then
// wakes everyone watching the journal.
func (s *Service) settleLane(op *Operation) {
	s.settleLaneLocked(op)
	s.notify()
}

func (s *Service) settleLaneLocked(op *Operation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ln := s.lanes[op.Terminal]
	if ln == nil {
		return
	}
	ln.release(op.ID)
	now := s.clock.Now()
	switch {
	case op.State == StateApproved || (op.State == StateDeclined && op.Resolution == ResolvedDirect):
		// The device (or its bank) gave a definite answer.
		ln.lastAnswer = now
		ln.recent = append(ln.recent, laneError{at: now}) // a success breaks a run of timeouts
		ln.noteError(now, op.Error)
	case op.State == StateUnknown:
		// Only iyzico's 380103 says the device was silent; an answer that
		// never came (cut connection, bridged's own deadline) may be the network.
		code := CodeNoAnswer
		if op.Error != nil && op.Error.Code != "" {
			code = op.Error.Code
		}
		ln.noteError(now, &UpstreamError{Code: code})
	default:
		ln.noteError(now, op.Error)
	}
	if len(ln.recent) > maxRecent {
		ln.recent = ln.recent[len(ln.recent)-maxRecent:]
	}
	if op.Kind == KindEndOfDay {
		ln.noteEndOfDay(op)
	}
	if op.State == StateApproved && op.Resolution != ResolvedOperator && op.Kind != KindEndOfDay && op.Kind != KindSplitStart {
		// A transaction iyzico knows: the control of a later "not found".
		ln.control = op.Clone()
	}
	if op.State == StateUnknown {
		ln.blocked[op.ID] = true
		s.pending[op.ID] = op.Clone()
		s.poke()
	} else {
		delete(ln.blocked, op.ID)
		delete(s.pending, op.ID)
		delete(s.graceFrom, op.ID)
	}
}

func (s *Service) observe(op *Operation) {
	if s.opt.OnState != nil {
		s.opt.OnState(op)
	}
}

// logState writes one line per state change with allow-listed fields only:
// no card data beyond BIN and last four, no token, no secret.
func (s *Service) logState(op *Operation, msg string) {
	ev := s.log.Info().
		Str("op_id", op.ID).
		Str("kind", string(op.Kind)).
		Str("state", string(op.State)).
		Str("terminal", op.Terminal).
		Str("client", op.Client).
		Str("reference", op.Reference).
		Str("transaction_reference_id", op.TransactionReferenceID).
		Str("amount", op.Amount.Decimal()).
		Str("currency", string(op.Amount.Currency()))
	if op.PaymentID != "" {
		ev = ev.Str("payment_id", op.PaymentID)
	}
	if op.Resolution != "" {
		ev = ev.Str("resolution", string(op.Resolution))
	}
	if op.Error != nil {
		ev = ev.Str("error_code", op.Error.Code).Str("error_group", op.Error.Group)
	}
	ev.Msg(msg)
}
