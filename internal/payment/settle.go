package payment

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bridgedpos/bridged/internal/publicerr"
)

// An unknown that iyzico will never settle (its own record of the
// transaction stays a device timeout, 380103, or an unreadable device answer)
// would block its terminal for good. An operator who has checked the
// terminal's slip or transaction list settles it with that evidence; bridged
// journals who, when and why in the hash chain, frees the terminal at once,
// and keeps asking iyzico for the rest of the business day: an answer that
// contradicts the operator is raised as a conflict, never applied.

// SettleRequest is an operator's settlement of an unknown operation.
type SettleRequest struct {
	ID        string
	Outcome   string // approved or declined
	Evidence  string // what the operator saw: the slip, the device's transaction list, a ticket number
	By        string // who
	PaymentID string // with approved: the paymentId on the slip, when known
	// PaymentDate (YYYYMMDD), with approved: the posting date on the slip;
	// default the operation's business day. A void or refund names it.
	PaymentDate string
}

// ErrNotSettleable is a settlement refused: the operation is not unknown,
// is too young (iyzico may still answer), or iyzico answered the status query
// that comes first. A SettleRefusal says which.
var ErrNotSettleable = publicerr.New("operation cannot be settled by an operator")

// SettleRefusal is ErrNotSettleable with the operation as it stands.
type SettleRefusal struct {
	Reason string
	Op     *Operation
}

func (e *SettleRefusal) Error() string { return e.Unwrap().Error() }

// Unwrap is the public refusal: ErrNotSettleable with the reason, which is
// built from states, durations and the operator's own payment_id only.
func (e *SettleRefusal) Unwrap() error { return ErrNotSettleable.Withf("%s", e.Reason) }

// notUnknown refuses to settle op, which is final already.
func notUnknown(op *Operation) *SettleRefusal {
	return &SettleRefusal{Op: op, Reason: fmt.Sprintf("it is %s (%s), not unknown: there is nothing to settle", op.State.Status(), op.Resolution)}
}

// settleAfter is how old an unknown must be before an operator may settle
// it: the card timeout and the query grace (NotFoundGrace, the card timeout
// plus two minutes by default), so that iyzico has had every chance to answer.
func (s *Service) settleAfter() time.Duration { return s.opt.NotFoundGrace }

// Settle settles an unknown operation on an operator's evidence. It runs one
// more status query first: a definite answer from iyzico wins, is recorded,
// and the settlement is refused saying so.
func (s *Service) Settle(ctx context.Context, r SettleRequest) (*Operation, error) {
	outcome, err := r.validate()
	if err != nil {
		return nil, err
	}
	op, err := s.j.Get(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	if op.State != StateUnknown {
		return nil, notUnknown(op)
	}
	if age, need := s.settleAge(op), s.settleAfter(); age < need {
		// The reconciler may have recorded iyzico's answer since op was read
		// (ending its grace clock, which settleAge then started afresh): the
		// journal says so, not a grace that no longer runs.
		if cur, err := s.j.Get(ctx, r.ID); err == nil && cur.State != StateUnknown {
			s.mu.Lock()
			delete(s.graceFrom, cur.ID)
			s.mu.Unlock()
			return nil, notUnknown(cur)
		}
		return nil, &SettleRefusal{Op: op, Reason: fmt.Sprintf("it has been unknown for %s; iyzico may still answer for %s more (bridged keeps asking)",
			age.Round(time.Second), (need - age).Round(time.Second))}
	}
	// One more status query: iyzico's definite answer wins over any evidence.
	got, err := s.resolveOrJoin(ctx, op)
	if err != nil {
		return nil, err
	}
	if got.State.Final() {
		return nil, &SettleRefusal{Op: got, Reason: fmt.Sprintf("iyzico answered %s when asked just now; that is recorded, and there is nothing to settle", got.State.Status())}
	}
	settled := s.settled(got, r, outcome)
	stored, err := s.commit(settled)
	switch {
	case err != nil:
		return nil, err
	case stored != settled:
		return nil, &SettleRefusal{Op: stored, Reason: fmt.Sprintf("it was settled meanwhile: %s (%s)", stored.State.Status(), stored.Resolution)}
	case stored.State == StateUnknown:
		// The paymentId the operator gave is another operation's.
		return nil, &SettleRefusal{Op: stored, Reason: "the payment_id " + r.PaymentID + " belongs to another operation; check the slip"}
	}
	s.settleLane(stored)
	s.mu.Lock()
	s.watched[stored.ID] = stored.Clone()
	s.mu.Unlock()
	s.log.Warn().Str("op_id", stored.ID).Str("terminal", stored.Terminal).Str("state", string(stored.State)).
		Str("by", r.By).Msg("unknown settled by an operator; iyzico is still asked until the end of the business day")
	if s.opt.OnSettle != nil {
		s.opt.OnSettle(string(outcome))
	}
	s.poke()
	return stored.Clone(), nil
}

// validate checks an operator's settlement and returns the state it sets.
func (r SettleRequest) validate() (State, error) {
	ve := &ValidationError{}
	var outcome State
	switch Status(r.Outcome) {
	case StatusApproved:
		outcome = StateApproved
	case StatusDeclined:
		outcome = StateDeclined
		if r.PaymentID != "" {
			ve.add("payment_id", "is only for an approved outcome")
		}
	default:
		ve.add("outcome", "must be approved or declined")
	}
	checkText(ve, "evidence", r.Evidence, 1000)
	if r.Evidence == "" {
		ve.add("evidence", "is required: what you checked (the slip, the terminal's transaction list, an iyzico ticket)")
	}
	checkText(ve, "by", r.By, 128)
	if r.By == "" {
		ve.add("by", "is required: who settles it")
	}
	checkText(ve, "payment_id", r.PaymentID, 64)
	if r.PaymentDate != "" {
		if _, err := time.Parse("20060102", r.PaymentDate); err != nil || outcome != StateApproved {
			ve.add("payment_date", "must be the slip's date as YYYYMMDD, with an approved outcome")
		}
	}
	return outcome, ve.orNil()
}

// settled is op as the operator's settlement r makes it.
func (s *Service) settled(op *Operation, r SettleRequest, outcome State) *Operation {
	now := s.clock.Now()
	settled := op.Clone()
	settled.State, settled.Resolution, settled.SafeToRetry = outcome, ResolvedOperator, outcome == StateDeclined
	settled.Settlement = &Settlement{By: r.By, At: now, Evidence: r.Evidence, PaymentID: r.PaymentID, WatchUntil: s.endOfDay(now)}
	if outcome == StateApproved {
		settled.Error = nil
		if r.PaymentID != "" {
			settled.PaymentID = r.PaymentID
		}
		switch {
		case r.PaymentDate != "":
			settled.PaymentDate = r.PaymentDate
		case settled.PaymentDate == "":
			settled.PaymentDate = settled.BusinessDay
		}
	} else {
		settled.Error = &UpstreamError{Code: "settled_by_operator", Message: "settled declined by an operator: " + r.Evidence}
	}
	return settled
}

// endOfDay is the end of the store's business day that contains t.
func (s *Service) endOfDay(t time.Time) time.Time {
	l := t.In(s.opt.Location)
	y, m, d := l.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, s.opt.Location)
}

// settleAge is how long op has been unknown for the settlement rule:
// unknownFor, or with SettleByWallClock the wall clock since its send.
func (s *Service) settleAge(op *Operation) time.Duration {
	if !s.opt.SettleByWallClock {
		return s.unknownFor(op)
	}
	sent := op.SentAt
	if sent.IsZero() {
		sent = op.CreatedAt
	}
	return s.clock.Now().Sub(sent)
}

// unknownFor is how long op has been waiting for iyzico, measured so that a
// clock jump or a restart can only lengthen it: the shorter of the wall
// clock since it was sent and the monotonic time since this process started
// counting (at its send, or at the start that found it in flight).
func (s *Service) unknownFor(op *Operation) time.Duration {
	wall := s.clock.Now().Sub(op.SentAt)
	if op.SentAt.IsZero() {
		wall = s.clock.Now().Sub(op.CreatedAt)
	}
	s.mu.Lock()
	from, ok := s.graceFrom[op.ID]
	if !ok {
		from = s.opt.Monotonic()
		s.graceFrom[op.ID] = from
	}
	s.mu.Unlock()
	return min(wall, s.opt.Monotonic()-from)
}

// watch asks iyzico about the settled operations whose next query is due,
// and returns when the next one will be due.
func (s *Service) watch(ctx context.Context) time.Time {
	s.mu.Lock()
	due, next := dueBy(s.watched, s.clock.Now())
	s.mu.Unlock()
	for _, op := range due {
		if ctx.Err() != nil {
			return time.Time{}
		}
		s.watchOne(ctx, op)
		s.mu.Lock()
		if w := s.watched[op.ID]; w != nil && (next.IsZero() || w.NextQueryAt.Before(next)) {
			next = w.NextQueryAt
		}
		s.mu.Unlock()
	}
	return next
}

// watchOne queries one settled operation: an answer that agrees ends the
// watch (confirmed); one that contradicts it raises a conflict; none keeps
// the watch until the end of the business day.
func (s *Service) watchOne(ctx context.Context, op *Operation) {
	now := s.clock.Now()
	out := s.gw.Query(ctx, op)
	op.Queries++
	definite := (out.Class == Approved || out.Class == Declined) && s.answerIsAbout(op, out)
	switch {
	case definite:
		upstream := StateDeclined
		if out.Class == Approved {
			upstream = StateApproved
		}
		agrees := upstream == op.State && (upstream != StateApproved || op.PaymentID == "" || out.PaymentID == "" || out.PaymentID == op.PaymentID)
		if agrees {
			s.endWatch(ctx, op.ID, func(o *Operation) { o.Settlement.Confirmed = true })
			s.log.Info().Str("op_id", op.ID).Msg("iyzico now confirms the operator's settlement")
			return
		}
		s.endWatch(ctx, op.ID, func(o *Operation) {
			o.Conflict = &Conflict{At: now, Settled: o.State, Upstream: upstream, UpstreamPaymentID: out.PaymentID}
		})
		// The metric before the log line: whoever reads the line (an operator,
		// a test) finds the counter already up.
		if s.opt.OnConflict != nil {
			s.opt.OnConflict("settlement")
		}
		s.log.Error().Str("op_id", op.ID).Str("terminal", op.Terminal).Str("settled", string(op.State)).
			Str("iyzico", string(upstream)).Str("upstream_payment_id", out.PaymentID).
			Msg("CONFLICT: iyzico's answer contradicts the operator's settlement; the money state is left as settled: an operator must look")
	case !now.Before(op.Settlement.WatchUntil):
		s.endWatch(ctx, op.ID, func(*Operation) {})
	default:
		op.NextQueryAt = now.Add(s.queryBackoff.Delay(op.Queries))
		s.mu.Lock()
		if _, ok := s.watched[op.ID]; ok {
			s.watched[op.ID] = op
		}
		s.mu.Unlock()
	}
}

// endWatch records the end of a settlement's watch (with fn's change) and
// drops it from the watch list; a conflict joins the list of conflicts.
func (s *Service) endWatch(ctx context.Context, id string, fn func(*Operation)) {
	stored, err := s.j.Update(ctx, id, func(o *Operation) error {
		if o.Settlement == nil {
			return fmt.Errorf("operation %s has no settlement", id)
		}
		fn(o)
		o.Settlement.WatchUntil = time.Time{}
		o.UpdatedAt = s.clock.Now()
		return nil
	})
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			s.failClosed(err)
		}
		s.log.Error().Err(err).Str("op_id", id).Msg("end of a settlement's watch not recorded")
		return
	}
	s.mu.Lock()
	delete(s.watched, id)
	if stored.Conflict.Open() {
		s.conflicts[id] = stored
	}
	s.mu.Unlock()
	s.notify()
}

// AcknowledgeRequest closes a conflict: an operator looked and acted.
type AcknowledgeRequest struct {
	ID   string
	By   string
	Note string // what was done (refunded the customer, corrected the accounts, ...)
}

// AcknowledgeConflict records that an operator has dealt with a conflict.
// The money state stays as it is; the note says what was done outside.
func (s *Service) AcknowledgeConflict(ctx context.Context, r AcknowledgeRequest) (*Operation, error) {
	ve := &ValidationError{}
	checkText(ve, "by", r.By, 128)
	if r.By == "" {
		ve.add("by", "is required: who acknowledges it")
	}
	checkText(ve, "note", r.Note, 1000)
	if r.Note == "" {
		ve.add("note", "is required: what was done about it")
	}
	if err := ve.orNil(); err != nil {
		return nil, err
	}
	stored, err := s.j.Update(ctx, r.ID, func(o *Operation) error {
		if !o.Conflict.Open() {
			return &SettleRefusal{Op: o.Clone(), Reason: "it has no open conflict"}
		}
		o.Conflict.AcknowledgedBy, o.Conflict.AcknowledgedNote, o.Conflict.AcknowledgedAt = r.By, r.Note, s.clock.Now()
		o.UpdatedAt = s.clock.Now()
		return nil
	})
	if err != nil {
		var sr *SettleRefusal
		if !errors.As(err, &sr) && !errors.Is(err, ErrNotFound) {
			s.failClosed(err)
			return nil, ErrStorageFailure.Because(err)
		}
		return nil, err
	}
	s.mu.Lock()
	delete(s.conflicts, r.ID)
	s.mu.Unlock()
	s.notify()
	s.log.Warn().Str("op_id", r.ID).Str("by", r.By).Msg("conflict acknowledged by an operator")
	return stored, nil
}

// Conflicts returns the open conflicts, oldest first.
func (s *Service) Conflicts() []*Operation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Operation, 0, len(s.conflicts))
	for _, op := range s.conflicts {
		out = append(out, op.Clone())
	}
	slices.SortFunc(out, func(a, b *Operation) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}
