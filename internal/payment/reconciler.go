package payment

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Recover runs once at start, before the service takes requests: every
// operation the journal shows in flight (a crash, kill -9 or power cut cut it
// short) becomes unknown, and its terminal is blocked until the reconciler
// settles it with a status query. Nothing is ever re-sent.
func (s *Service) Recover(ctx context.Context) error {
	now := s.clock.Now()
	if err := s.recoverOpen(ctx, now); err != nil {
		return err
	}
	if err := s.recoverAttention(ctx, now); err != nil {
		return err
	}
	if err := s.recoverBatches(ctx); err != nil {
		return err
	}
	s.poke()
	s.notify()
	return nil
}

// recoverOpen takes over the operations open at the last stop: an end of day
// is declined (it may have closed the batch), anything else becomes unknown,
// blocks its terminal and waits for a status query.
func (s *Service) recoverOpen(ctx context.Context, now time.Time) error {
	open, err := s.j.Open(ctx)
	if err != nil {
		return fmt.Errorf("recover: list open operations: %w", err)
	}
	for _, op := range open {
		if op.Kind == KindEndOfDay {
			// An end of day cannot be queried; running it again is harmless
			// (it closes an empty batch), so an interrupted one is declined
			// with safe_to_retry. It may have reached iyzico and closed the
			// batch: a provisional boundary until the next end of day.
			op.State, op.SafeToRetry, op.Resolution = StateDeclined, true, ResolvedNotSent
			op.BatchMaybeClosed = true
			op.Error = &UpstreamError{Code: "interrupted", Message: "bridged stopped during end of day; iyzico may have closed the batch; run it again"}
			if _, err := s.commit(op); err != nil {
				return fmt.Errorf("recover: %w", err)
			}
			continue
		}
		if op.State != StateUnknown {
			op.State = StateUnknown
			op.NextQueryAt = now
			if op.SentAt.IsZero() {
				// The crash may have come after the first byte went out;
				// the grace period runs from the intent commit.
				op.SentAt = op.CreatedAt
			}
			if _, err := s.commit(op); err != nil {
				return fmt.Errorf("recover: %w", err)
			}
			s.log.Warn().Str("op_id", op.ID).Str("terminal", op.Terminal).Msg("operation was in flight at the last stop: now unknown, will query iyzico")
		}
		s.mu.Lock()
		if ln := s.lanes[op.Terminal]; ln != nil {
			ln.blocked[op.ID] = true
		}
		s.pending[op.ID] = op.Clone()
		// The grace counts from this start on the monotonic clock: a restart
		// (and a clock set forward meanwhile) can only lengthen it.
		s.graceFrom[op.ID] = s.opt.Monotonic()
		s.mu.Unlock()
	}
	return nil
}

// recoverAttention watches the operator's settlements until their day ends
// and lists the open conflicts.
func (s *Service) recoverAttention(ctx context.Context, now time.Time) error {
	attention, err := s.j.Attention(ctx)
	if err != nil {
		return fmt.Errorf("recover: operations needing attention: %w", err)
	}
	s.mu.Lock()
	for _, op := range attention {
		if op.Settlement != nil && !op.Settlement.WatchUntil.IsZero() {
			op.NextQueryAt = now
			s.watched[op.ID] = op
		}
		if op.Conflict.Open() {
			s.conflicts[op.ID] = op
		}
	}
	s.mu.Unlock()
	return nil
}

// recoverBatches reads each terminal's batch boundaries and its latest
// approved money operation from the journal's marks.
func (s *Service) recoverBatches(ctx context.Context) error {
	for _, t := range s.opt.Terminals {
		// The journal keeps each terminal's marks: reading them costs the
		// same whatever the history.
		h, err := s.j.TerminalHistory(ctx, t.ID)
		if err != nil {
			return fmt.Errorf("recover: history of terminal %s: %w", t.ID, err)
		}
		s.mu.Lock()
		// The last approved end of day, then the latest one after it whose
		// answer was lost: the provisional batch boundary.
		for _, e := range []*Operation{h.LastEndOfDay, h.MaybeClosed} {
			if e == nil {
				continue
			}
			s.lanes[t.ID].noteEndOfDay(e)
			if e.CreatedAt.After(s.lastCreated) {
				s.lastCreated = e.CreatedAt
			}
		}
		if c := h.LastApproved; c != nil && c.Resolution != ResolvedOperator {
			s.lanes[t.ID].control = c
		}
		s.mu.Unlock()
	}
	return nil
}

// Run is the reconciler worker: it queries every unknown operation with its
// original reference, with backoff and jitter, until iyzico settles it, and
// prunes old idempotency keys. It stops when ctx ends.
func (s *Service) Run(ctx context.Context) error {
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	for {
		next := s.ReconcileDue(ctx)
		if w := s.watch(ctx); !w.IsZero() && (next.IsZero() || w.Before(next)) {
			next = w
		}
		var timer *time.Timer
		var due <-chan time.Time
		if !next.IsZero() {
			timer = time.NewTimer(max(next.Sub(s.clock.Now()), 0))
			due = timer.C
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-due:
		case <-prune.C:
			s.pruneKeys(ctx)
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// dueBy splits ops (the reconciler's pending or the settlements watched) at
// now: copies of those whose next query is due, and when the next of the
// others will be (zero: none). The caller holds s.mu.
func dueBy(ops map[string]*Operation, now time.Time) (due []*Operation, next time.Time) {
	for _, op := range ops {
		if !op.NextQueryAt.After(now) {
			due = append(due, op.Clone())
		} else if next.IsZero() || op.NextQueryAt.Before(next) {
			next = op.NextQueryAt
		}
	}
	return due, next
}

// ReconcileDue queries every unknown operation whose next query is due and
// returns when the next one will be due (zero: none pending).
func (s *Service) ReconcileDue(ctx context.Context) time.Time {
	s.mu.Lock()
	due, next := dueBy(s.pending, s.clock.Now())
	s.mu.Unlock()
	for _, op := range due {
		if ctx.Err() != nil {
			return time.Time{}
		}
		if _, err := s.resolve(ctx, op); err != nil && !errors.Is(err, errCrashed) && !errors.Is(err, errResolving) {
			s.log.Warn().Err(err).Str("op_id", op.ID).Msg("reconcile")
		}
		s.mu.Lock()
		if p := s.pending[op.ID]; p != nil && (next.IsZero() || p.NextQueryAt.Before(next)) {
			next = p.NextQueryAt
		}
		s.mu.Unlock()
	}
	return next
}

// ReconcileTerminal queries every unknown operation of one terminal now,
// regardless of backoff (end of day does this first). It returns how many
// are still unknown.
func (s *Service) ReconcileTerminal(ctx context.Context, terminal string) int {
	s.mu.Lock()
	var ops []*Operation
	for _, op := range s.pending {
		if op.Terminal == terminal {
			ops = append(ops, op.Clone())
		}
	}
	s.mu.Unlock()
	left := 0
	for _, op := range ops {
		got, err := s.resolveOrJoin(ctx, op)
		if err != nil || !got.State.Final() {
			left++
		}
	}
	return left
}

// Resolve queries iyzico now for one unknown operation (the operator's and
// the ECR's "resolve" button). A final operation is returned as it is; a
// resolution already running is joined, not repeated.
func (s *Service) Resolve(ctx context.Context, id string) (*Operation, error) {
	op, err := s.j.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if op.State != StateUnknown {
		return op, nil
	}
	s.mu.Lock()
	if p := s.pending[id]; p != nil {
		op.Queries, op.NextQueryAt = max(op.Queries, p.Queries), p.NextQueryAt
		if op.SentAt.IsZero() {
			op.SentAt = p.SentAt
		}
	}
	s.mu.Unlock()
	return s.resolveOrJoin(ctx, op)
}

var errCrashed = errors.New("crashed at a failpoint")

// errResolving says that another caller is resolving the operation now.
var errResolving = errors.New("a status query of this operation is already running")

// resolution is one status query of an operation in progress: callers that
// come while it runs wait for its result instead of asking again.
type resolution struct {
	done chan struct{}
	op   *Operation
	err  error
}

// resolveOrJoin resolves op, or waits for the resolution already running.
func (s *Service) resolveOrJoin(ctx context.Context, op *Operation) (*Operation, error) {
	for {
		got, err := s.resolve(ctx, op)
		if !errors.Is(err, errResolving) {
			return got, err
		}
		s.mu.Lock()
		r := s.resolving[op.ID]
		s.mu.Unlock()
		if r == nil {
			continue // it ended between the two looks: ask again
		}
		select {
		case <-r.done:
			if r.op != nil || r.err != nil {
				return r.op, r.err
			}
		case <-ctx.Done():
			return op.Clone(), nil
		}
	}
}

// resolve runs one status query of op and records what it proves. Only one
// runs per operation at a time (errResolving otherwise), and it starts from
// the journal: an operation settled meanwhile is not asked about again, and
// a final state is never overwritten (Journal.Record).
func (s *Service) resolve(ctx context.Context, op *Operation) (res *Operation, err error) {
	r := &resolution{done: make(chan struct{})}
	s.mu.Lock()
	if s.resolving[op.ID] != nil {
		s.mu.Unlock()
		return nil, errResolving
	}
	s.resolving[op.ID] = r
	s.mu.Unlock()
	defer func() {
		r.op, r.err = res, err
		s.mu.Lock()
		delete(s.resolving, op.ID)
		s.mu.Unlock()
		close(r.done)
	}()

	cur, err := s.j.Get(ctx, op.ID)
	if err != nil {
		return nil, err
	}
	if cur.State.Final() {
		// Settled by another resolution since op was read.
		s.settleLane(cur)
		return cur, nil
	}
	cur.Queries, cur.NextQueryAt = max(cur.Queries, op.Queries), op.NextQueryAt
	if cur.SentAt.IsZero() {
		cur.SentAt = op.SentAt
	}
	op = cur

	if err := s.fp.hit(FailReconcilerBeforeQuery); err != nil {
		return nil, errCrashed
	}
	out := s.gw.Query(ctx, op)
	now := s.clock.Now()
	op.Queries++
	if s.opt.OnQuery != nil {
		s.opt.OnQuery(out.Class.String())
	}
	s.applyQuery(ctx, op, out, now)
	if err := s.fp.hit(FailReconcilerBeforeCommit); err != nil {
		return nil, errCrashed
	}
	if op.State.Final() {
		stored, err := s.commit(op)
		if err != nil {
			return nil, err
		}
		s.settleLane(stored)
		s.log.Info().Str("op_id", op.ID).Str("state", string(stored.State)).Str("resolution", string(stored.Resolution)).Msg("unknown resolved")
		return stored.Clone(), nil
	}
	s.mu.Lock()
	if _, ok := s.pending[op.ID]; ok {
		s.pending[op.ID] = op.Clone()
	}
	s.mu.Unlock()
	return op.Clone(), nil
}

// applyQuery turns a status query's answer, got at now, into op's next state:
// final on iyzico's word about op (or on "not found" after the grace period,
// when iyzico's records are reachable), otherwise the time of the next query.
func (s *Service) applyQuery(ctx context.Context, op *Operation, out Outcome, now time.Time) {
	if (out.Class == Approved || out.Class == Declined) && !s.answerIsAbout(op, out) {
		out = Outcome{Class: Unknown, Reason: ReasonUnnamedAnswer, Error: op.Error}
	}
	switch out.Class {
	case Approved, Declined:
		s.apply(op, out, ResolvedByQuery)
	case NotFound:
		switch {
		case s.unknownFor(op) < s.opt.NotFoundGrace:
			op.NextQueryAt = now.Add(s.queryBackoff.Delay(op.Queries))
		case !s.recordsReachable(ctx, op):
			// iyzico does not find a transaction it knows either: its records
			// are not reachable, and "not found" proves nothing.
			op.Reason = ReasonRecordsUnreachable
			op.NextQueryAt = now.Add(s.queryBackoff.Delay(op.Queries))
		default:
			op.State, op.Resolution, op.SafeToRetry = StateDeclined, ResolvedNotFound, true
			op.Error = &UpstreamError{Code: "not_found", Message: "iyzico has no record of this operation: it was never processed"}
			op.Reason = ""
		}
	default:
		op.NextQueryAt = now.Add(s.queryBackoff.Delay(op.Queries))
		if out.Reason != "" {
			op.Reason = out.Reason
		}
		if out.Cause != nil {
			s.log.Info().Str("op_id", op.ID).Str("class", out.Class.String()).Str("cause", out.Cause.Error()).Msg("status query inconclusive; will retry")
		}
	}
}

// recordsReachable runs the control query before a "not found" is believed:
// it asks iyzico for the latest transaction of the same terminal that iyzico
// approved. Only when iyzico finds that one is its "not found" of op evidence;
// when it does not find it either (or cannot answer), its records are not
// reachable. A terminal with no approval yet has no control: the grace
// period alone decides.
func (s *Service) recordsReachable(ctx context.Context, op *Operation) bool {
	s.mu.Lock()
	var ctrl *Operation
	if ln := s.lanes[op.Terminal]; ln != nil && ln.control != nil && ln.control.ID != op.ID {
		ctrl = ln.control.Clone()
	}
	s.mu.Unlock()
	if ctrl == nil {
		return true
	}
	out := s.gw.Query(ctx, ctrl)
	if out.Class == Approved {
		return true
	}
	s.log.Warn().Str("op_id", op.ID).Str("control_op_id", ctrl.ID).Str("control_class", out.Class.String()).
		Msg("iyzico does not find a transaction it approved either: its records are not reachable; the operation stays unknown")
	return false
}

// answerIsAbout reports whether a query's definite answer may be believed
// for op: it repeats op's transactionReferenceId, or, when it names none,
// what it says matches what bridged knows of op (its amount, and its device
// when the answer names one). An answer that names nothing and says nothing
// to check is not evidence.
func (s *Service) answerIsAbout(op *Operation, out Outcome) bool {
	if out.Named {
		return true
	}
	if out.Amount == nil || out.Amount.Minor() != op.Amount.Minor() || out.Amount.Currency() != op.Amount.Currency() {
		s.log.Warn().Str("op_id", op.ID).Str("class", out.Class.String()).
			Msg("status query answer names no transaction and its amount does not match this operation; not believed")
		return false
	}
	if out.Device != "" && out.Device != op.DeviceUniqueID {
		s.log.Warn().Str("op_id", op.ID).Msg("status query answer names no transaction and another device; not believed")
		return false
	}
	return true
}

// pruneKeys forgets the idempotency keys that have served their time: those
// of the final operations of each terminal created before its end of day
// before the last approved one. A key is kept at least until the end of day
// after the next, and never while its operation is not final (the journal
// keeps those whatever their age).
func (s *Service) pruneKeys(ctx context.Context) {
	s.mu.Lock()
	cut := make(map[string]time.Time, len(s.lanes))
	for id, ln := range s.lanes {
		if !ln.keysBefore.IsZero() {
			cut[id] = ln.keysBefore
		}
	}
	s.mu.Unlock()
	n := 0
	for id, before := range cut {
		k, err := s.j.PruneKeys(ctx, id, before)
		if err != nil {
			if ctx.Err() == nil {
				s.failClosed(err)
			}
			return
		}
		n += k
	}
	if n > 0 {
		s.log.Info().Int("keys", n).Msg("forgot the idempotency keys of operations two ends of day old")
	}
}
