package payment

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Recover runs once at start, before the service takes requests: every
// operation the journal shows in flight (a crash, kill -9 or power cut cut it
// short) becomes unknown, and its terminal is blocked until the reconciler
// settles it with a status query. Nothing is ever re-sent.
func (s *Service) Recover(ctx context.Context) error {
	open, err := s.j.Open(ctx)
	if err != nil {
		return fmt.Errorf("recover: list open operations: %w", err)
	}
	now := s.clock.Now()
	for _, op := range open {
		if op.Kind == KindEndOfDay {
			// An end of day cannot be queried; running it again is harmless
			// (it closes an empty batch), so an interrupted one is declined
			// with safe_to_retry.
			op.State, op.SafeToRetry, op.Resolution = StateDeclined, true, ResolvedNotSent
			op.Error = &UpstreamError{Code: "interrupted", Message: "bridged stopped during end of day; run it again"}
			if err := s.record(op); err != nil {
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
			if err := s.record(op); err != nil {
				return fmt.Errorf("recover: %w", err)
			}
			s.log.Warn().Str("op_id", op.ID).Str("terminal", op.Terminal).Msg("operation was in flight at the last stop: now unknown, will query iyzico")
		}
		s.mu.Lock()
		if ln := s.lanes[op.Terminal]; ln != nil {
			ln.blocked[op.ID] = true
		}
		s.pending[op.ID] = op.Clone()
		s.mu.Unlock()
	}
	for _, t := range s.opt.Terminals {
		eods, _, err := s.j.List(ctx, Filter{Terminal: t.ID, Kinds: []Kind{KindEndOfDay}, Status: "approved", Limit: 1})
		if err != nil {
			return fmt.Errorf("recover: last end of day: %w", err)
		}
		if len(eods) > 0 {
			s.mu.Lock()
			s.lanes[t.ID].lastEOD = eods[0].CreatedAt
			if eods[0].CreatedAt.After(s.lastCreated) {
				s.lastCreated = eods[0].CreatedAt
			}
			s.mu.Unlock()
		}
	}
	s.poke()
	s.notify()
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

// ReconcileDue queries every unknown operation whose next query is due and
// returns when the next one will be due (zero: none pending).
func (s *Service) ReconcileDue(ctx context.Context) time.Time {
	now := s.clock.Now()
	s.mu.Lock()
	var due []*Operation
	var next time.Time
	for _, op := range s.pending {
		if !op.NextQueryAt.After(now) {
			due = append(due, op.Clone())
		} else if next.IsZero() || op.NextQueryAt.Before(next) {
			next = op.NextQueryAt
		}
	}
	s.mu.Unlock()
	for _, op := range due {
		if ctx.Err() != nil {
			return time.Time{}
		}
		if _, err := s.resolve(ctx, op); err != nil && !errors.Is(err, errCrashed) {
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
		got, err := s.resolve(ctx, op)
		if err != nil || !got.State.Final() {
			left++
		}
	}
	return left
}

// Resolve queries iyzico now for one unknown operation (the operator's and
// the ECR's "resolve" button). A final operation is returned as it is.
func (s *Service) Resolve(ctx context.Context, id string) (*Operation, error) {
	op, err := s.j.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if op.State != StateUnknown {
		return op, nil
	}
	return s.resolve(ctx, op)
}

var errCrashed = errors.New("crashed at a failpoint")

// resolve runs one status query and records what it proves.
func (s *Service) resolve(ctx context.Context, op *Operation) (*Operation, error) {
	if err := s.fp.hit(FailReconcilerBeforeQuery); err != nil {
		return nil, errCrashed
	}
	out := s.gw.Query(ctx, op)
	now := s.clock.Now()
	op.Queries++
	if s.opt.OnQuery != nil {
		s.opt.OnQuery(out.Class.String())
	}
	switch out.Class {
	case Approved, Declined:
		s.apply(op, out, ResolvedByQuery)
	case NotFound:
		if now.Sub(op.SentAt) >= s.opt.NotFoundGrace {
			op.State, op.Resolution, op.SafeToRetry = StateDeclined, ResolvedNotFound, true
			op.Error = &UpstreamError{Code: "not_found", Message: "iyzico has no record of this operation: it was never processed"}
		} else {
			op.NextQueryAt = now.Add(s.backoff(op.Queries))
		}
	default:
		op.NextQueryAt = now.Add(s.backoff(op.Queries))
		if out.Cause != nil {
			s.log.Info().Str("op_id", op.ID).Str("class", out.Class.String()).Str("cause", out.Cause.Error()).Msg("status query inconclusive; will retry")
		}
	}
	if err := s.fp.hit(FailReconcilerBeforeCommit); err != nil {
		return nil, errCrashed
	}
	if op.State.Final() {
		if err := s.record(op); err != nil {
			return nil, err
		}
		s.settleLane(op)
		s.log.Info().Str("op_id", op.ID).Str("state", string(op.State)).Str("resolution", string(op.Resolution)).Msg("unknown resolved")
	} else {
		s.mu.Lock()
		if _, ok := s.pending[op.ID]; ok {
			s.pending[op.ID] = op.Clone()
		}
		s.mu.Unlock()
	}
	return op.Clone(), nil
}

// backoff doubles from BackoffMin to BackoffMax with ±20% jitter, so many
// unknowns after an outage do not query iyzico in lockstep.
func (s *Service) backoff(n int) time.Duration {
	d := s.opt.BackoffMin
	for i := 1; i < n && d < s.opt.BackoffMax; i++ {
		d *= 2
	}
	if d > s.opt.BackoffMax {
		d = s.opt.BackoffMax
	}
	jitter := time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	return jitter
}

func (s *Service) pruneKeys(ctx context.Context) {
	n, err := s.j.PruneKeys(ctx, s.clock.Now().Add(-s.opt.KeyRetention))
	if err != nil {
		s.failClosed(err)
		return
	}
	if n > 0 {
		s.log.Info().Int("keys", n).Msg("pruned idempotency keys past retention")
	}
}
