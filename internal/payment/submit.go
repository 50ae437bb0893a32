package payment

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/bridgedpos/bridged/internal/idempotency"
)

// submission is one request to run an operation, before it is journaled.
type submission struct {
	op   *Operation
	wait time.Duration
	// check runs under the service lock after idempotency and before the
	// journal commit: the place for rules that depend on other operations
	// (refundable amount, voidability).
	check func(s *Service) error
	// allowUnknown: an end of day that runs although unknowns block its terminal.
	allowUnknown bool
}

// Result is an operation as the caller sees it after waiting.
type Result struct {
	Op       *Operation
	Replayed bool // the answer of an earlier request with the same key
	Final    bool // false: still pending or unknown when the wait ended
}

// Busy reports whether the terminal refused the operation as busy (iyzico's
// 380201): nothing moved, the key was given back, and the ECR sends the same
// request again later.
func (r *Result) Busy() bool {
	return r.Op != nil && r.Op.State == StateDeclined && r.Op.KeyReleased
}

// flight is an operation running in this process. Retries with the same key
// join it and get the same answer; no second upstream call is made.
type flight = idempotency.Flight[*Operation]

// submit applies idempotency, the terminal lane, the durable intent commit,
// and then runs the operation upstream in the background, waiting up to
// sub.wait for its outcome.
//
// The service lock is held from the idempotency decision to the claim of the
// key and the terminal, and guards two races. Two calls with one key (on one
// terminal or two) never both find it free: one runs, the other joins it,
// finds its journal record once it has landed, or is refused as a different
// request. And no call joins a claim that is given back (the terminal busy,
// a rule refused the operation, the journal held the key already): it would
// wait for an operation that never runs. The journal read of the decision
// (the key index, a bbolt view, on every money call) and the rules' reads
// (sub.check, for adjustments and split steps) therefore run under it.
// TestOneKeyOnTwoTerminalsRunsOnce,
// TestKeyOnBusyTerminalIsToldBusy and TestRetriesOfADoneKeyReplay fail
// without it; BenchmarkPayLock measures the read, and docs/decisions.md ("the
// service lock") has the figures and why it stays here rather than the lane.
func (s *Service) submit(ctx context.Context, sub submission) (*Result, error) {
	op := sub.op
	key, err := keyOf(op.IdempotencyKey, op.Reference)
	if err != nil {
		return nil, err
	}
	op.IdempotencyKey = key

	s.mu.Lock()
	ans, err := s.keys.Claim(ctx, keyHolder{s.j}, op.Client, key, op.Fingerprint, op.ID)
	if err != nil || ans.Decision != idempotency.New {
		s.mu.Unlock()
		return s.answer(ctx, ans, err, sub.wait)
	}
	fl := ans.Flight
	ln, err := s.admit(op, sub)
	if err != nil {
		s.keys.Release(fl)
		s.mu.Unlock()
		return nil, err
	}
	s.wg.Add(1) // under s.mu, after the check of base: Close waits for it
	s.mu.Unlock()

	if err := s.begin(ctx, op); err != nil {
		s.mu.Lock()
		ln.release(op.ID)
		s.keys.Release(fl)
		s.mu.Unlock()
		fl.Finish(nil)
		s.wg.Done()
		return nil, err
	}

	go func() {
		defer s.wg.Done()
		s.execute(op, fl)
	}()
	return s.await(ctx, fl, sub.wait, false)
}

// admit decides, with s.mu held, whether a new operation may start: the
// store is healthy, the service is not closing, its terminal is free (and is
// taken for it), and the operation's own rules (sub.check) pass (else the
// terminal is given back).
func (s *Service) admit(op *Operation, sub submission) (*lane, error) {
	if s.failed != nil {
		return nil, ErrStorageFailure
	}
	if s.base.Err() != nil {
		// Closing: an operation started now would be cut off at once.
		return nil, ErrShuttingDown
	}
	ln := s.lanes[op.Terminal]
	if ln == nil {
		return nil, ErrUnknownTerminal
	}
	if err := ln.acquire(op, s.opt.CardTimeout, s.clock.Now(), sub.allowUnknown); err != nil {
		return nil, err
	}
	if sub.check != nil {
		if err := sub.check(s); err != nil {
			ln.release(op.ID)
			return nil, err
		}
	}
	return ln, nil
}

// keyOf is a money call's idempotency key: the header, or else the ECR's
// reference; one of them is required.
func keyOf(header, reference string) (string, error) {
	key := header
	if key == "" {
		key = reference
	}
	if key == "" {
		return "", ErrKeyRequired
	}
	if err := idempotency.CheckKey(key); err != nil {
		return "", &ValidationError{Problems: []FieldProblem{{Field: "Idempotency-Key", Message: err.Error()}}}
	}
	return key, nil
}

// keyHolder is the journal as the in-flight table reads it: the operation
// holding a key, with the fingerprint of the request that took it.
type keyHolder struct{ j Journal }

func (k keyHolder) Holder(ctx context.Context, client, key string) (*Operation, string, bool, error) {
	op, err := k.j.ByKey(ctx, client, key)
	switch {
	case err == nil:
		return op, op.Fingerprint, true, nil
	case errors.Is(err, ErrNotFound):
		return nil, "", false, nil
	}
	return nil, "", false, err
}

// answer is a call's result when its key was taken already: in flight in
// this process (the call joins it), or in the journal (the call gets the
// stored operation, replayed); a different request under the same key is
// refused. It is nil, nil for a new key.
func (s *Service) answer(ctx context.Context, ans idempotency.Answer[*Operation], err error, wait time.Duration) (*Result, error) {
	if err != nil {
		return nil, ErrStorageFailure.Because(err)
	}
	switch ans.Decision {
	case idempotency.Conflict:
		return nil, ErrIdempotencyKeyReused
	case idempotency.Join:
		return s.await(ctx, ans.Flight, wait, true)
	case idempotency.Replay:
		existing := ans.Stored
		if !existing.State.Final() && wait > 0 {
			// The same request again while its operation is unknown: it waits
			// like the first one did (a long poll), rather than answering at
			// once an ECR that would ask again at once.
			if op, err := s.Wait(ctx, existing.ID, wait); err == nil {
				existing = op
			}
		}
		return &Result{Op: existing, Replayed: true, Final: existing.State.Final()}, nil
	}
	return nil, nil
}

// replay answers a request whose key is taken already (answer) before anything
// is derived from the current state of the journal: "refund what is left",
// "cancel" or "end of day" asked again must get their first answer, not a
// new derivation that no longer matches it. It returns a nil Result for a new key.
// It claims nothing: submit decides again, and claims.
func (s *Service) replay(ctx context.Context, c Caller, reference, fp string) (*Result, error) {
	key, err := keyOf(c.IdempotencyKey, reference)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	ans, err := s.keys.Look(ctx, keyHolder{s.j}, c.Client, key, fp)
	s.mu.Unlock()
	return s.answer(ctx, ans, err, c.Wait)
}

// begin fills in the generated fields and commits the intent durably.
func (s *Service) begin(ctx context.Context, op *Operation) error {
	if err := s.fp.hit(FailBeforeIntentCommit); err != nil {
		return err
	}
	now := s.createdNow()
	op.CreatedAt, op.UpdatedAt = now, now
	op.BusinessDay = now.In(s.opt.Location).Format("20060102")
	op.State = StateSending
	if _, err := s.j.Begin(ctx, op); err != nil {
		if errors.Is(err, ErrDuplicateKey) {
			// The in-flight table makes this unreachable in one process; a second
			// process cannot open the same journal.
			return ErrIdempotencyKeyReused
		}
		if errors.Is(err, ErrNotFound) {
			// The operation this one acts on left the journal since it was
			// read (its day was archived): nothing was journaled or sent.
			return err
		}
		if ctxErr := ctx.Err(); ctxErr != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			// The caller went away while its intent waited for a commit: the
			// store never ran the write (commit.go), nothing was journaled or
			// sent, and the store is as healthy as before.
			return ErrCancelled.Because(ctxErr)
		}
		s.failClosed(err)
		return ErrStorageFailure.Because(err)
	}
	s.logState(op, "journaled")
	s.observe(op)
	s.notify()
	return nil
}

// createdNow is the clock, made strictly increasing: creation times order
// operations (lists, batches between two ends of day) even where the wall
// clock is coarse (Windows) or a test clock stands still.
func (s *Service) createdNow() time.Time {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !now.After(s.lastCreated) {
		now = s.lastCreated.Add(time.Microsecond)
	}
	s.lastCreated = now
	return now
}

// execute sends a journaled operation and records its outcome. It runs on
// the service's base context, not the request's.
func (s *Service) execute(op *Operation, fl *flight) {
	// The flight leaves the table before it is finished, and after its
	// outcome is journaled: a retry that comes after its outcome reads the
	// journal (a replay, or, when the key was given back, a new operation),
	// never a finished flight.
	land := func(res *Operation) {
		s.keys.Release(fl)
		fl.Finish(res)
	}
	if err := s.fp.hit(FailAfterIntentCommit); err != nil {
		land(nil)
		return
	}
	op.SentAt = s.clock.Now()
	sentMono := s.opt.Monotonic()
	var out Outcome
	if op.Kind == KindEndOfDay {
		out = s.runEndOfDay(s.base, op)
	} else {
		out = s.gw.Execute(s.base, op)
	}
	if err := s.fp.hit(FailAfterUpstreamAnswer); err != nil {
		land(nil)
		return
	}
	s.apply(op, out, ResolvedDirect)
	if op.State == StateUnknown {
		s.mu.Lock()
		s.graceFrom[op.ID] = sentMono
		s.mu.Unlock()
	}
	if op.State == StateDeclined && out.Busy {
		// The device was busy: nothing moved. The ECR is told terminal_busy
		// and sends the same request again, with the same key.
		op.KeyReleased = true
	}
	stored, recErr := s.commit(op)
	if err := s.fp.hit(FailAfterOutcomeCommit); err != nil {
		land(nil)
		return
	}
	if recErr == nil || stored.State == StateUnknown {
		s.settleLane(stored)
	} else {
		// The outcome is known but not durable: keep the lane blocked until a
		// restart re-derives it from iyzico. The caller still gets the truth.
		s.mu.Lock()
		if ln := s.lanes[op.Terminal]; ln != nil {
			ln.release(op.ID)
			ln.blocked[op.ID] = true
		}
		s.mu.Unlock()
	}
	land(stored.Clone())
}

// await waits for a flight up to wait, or until ctx ends, and returns the
// operation as it stands.
func (s *Service) await(ctx context.Context, fl *flight, wait time.Duration, joined bool) (*Result, error) {
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-fl.Done():
		case <-t.C:
		case <-ctx.Done():
		}
	}
	select {
	case <-fl.Done():
		if op := fl.Result().Clone(); op != nil {
			return &Result{Op: op, Replayed: joined, Final: op.State.Final()}, nil
		}
	default:
	}
	op, err := s.j.Get(context.Background(), fl.ID())
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			// The intent commit failed: the operation never existed.
			return nil, ErrStorageFailure
		}
		return nil, ErrStorageFailure.Because(err)
	}
	return &Result{Op: op, Replayed: joined, Final: op.State.Final()}, nil
}

func (s *Service) newOperation(kind Kind, client, key, reference, terminal string) (*Operation, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("generate id: %w", err)
	}
	hex := id.String()
	device := ""
	if ln := s.lanes[terminal]; ln != nil {
		device = ln.device
	}
	op := &Operation{
		ID:             "op_" + stripDashes(hex),
		DeviceUniqueID: device,
		Kind:           kind,
		Client:         client,
		IdempotencyKey: key,
		Reference:      reference,
		Terminal:       terminal,
		// Unique per operation, at most 64 characters, and the only key of
		// every status query for it.
		TransactionReferenceID: "brg-" + stripDashes(hex),
		ConversationID:         uuid.NewString(),
		State:                  StateAccepted,
	}
	return op, nil
}

func stripDashes(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '-' {
			b = append(b, s[i])
		}
	}
	return string(b)
}
