package payment

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/bridgedpos/bridged/internal/backoff"
	"github.com/bridgedpos/bridged/internal/idempotency"
)

// Mode is the iyzico model of the installation: "vuk509" or "vuk507".
type Mode string

// The two models; never mixed in one installation.
const (
	VUK509 Mode = "vuk509"
	VUK507 Mode = "vuk507"
)

// TerminalConfig maps the ECR's terminal id to iyzico's device.
type TerminalConfig struct {
	ID             string
	DeviceUniqueID string
}

// Options configures the service.
type Options struct {
	Mode      Mode
	Terminals []TerminalConfig
	Journal   Journal
	Gateway   Gateway
	Clock     Clock
	Logger    zerolog.Logger
	// MaxAmount caps a single amount; zero means no cap beyond ParseMoney's.
	MaxAmount Money
	// Currency is used when a request names none; default TRY.
	Currency Currency
	// Location is the store's time zone, for business days; default time.Local.
	Location *time.Location
	// NotFoundGrace is how long after sending an operation iyzico's "not
	// found" is believed. Until then the request may still be in iyzico's
	// hands. Default: CardTimeout + 2 minutes.
	NotFoundGrace time.Duration
	// CardTimeout is the longest a card operation takes upstream (for Retry-After hints).
	CardTimeout time.Duration
	// Backoff bounds the reconciler's query backoff. Defaults 1 s and 60 s.
	BackoffMin, BackoffMax time.Duration
	// OnState, when set, is told of every journaled state (metrics). It must not block.
	OnState func(op *Operation)
	// OnQuery, when set, is told the result of every reconciler query.
	OnQuery func(result string)
	// OnConflict, when set, is told of every answer that contradicts the
	// journal (kind: payment_id, settlement), for the metrics.
	OnConflict func(kind string)
	// OnSettle, when set, is told of every operator settlement (its outcome).
	OnSettle func(outcome string)
	// Monotonic is a clock that never jumps (elapsed time since an arbitrary
	// origin), for the grace periods: a wall-clock jump must not shorten
	// them. Default: time since the service was built, on Go's monotonic clock.
	Monotonic func() time.Duration
	// SettleByWallClock: the wait before an operator may settle an unknown
	// counts on the wall clock since its send alone. For a process that was
	// not watching the operation (the CLI settling with the daemon stopped):
	// its monotonic clock started a moment ago. The reconciler's own grace
	// before believing "not found" is untouched.
	SettleByWallClock bool
}

// Service is the durable payment core: journal -> forward -> record.
type Service struct {
	opt   Options
	log   zerolog.Logger
	j     Journal
	gw    Gateway
	clock Clock
	// queryBackoff spaces an unknown operation's status queries by their count.
	queryBackoff backoff.Policy

	// base outlives requests: an operation sent upstream keeps running when
	// the ECR hangs up, and is cut only by Close.
	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	lanes   map[string]*lane      // by terminal id
	flights map[string]*flight    // by client + "\x00" + key
	byID    map[string]*flight    // the same flights by operation id
	failed  error                 // sticky: the first store write error
	pending map[string]*Operation // unknown operations awaiting a query
	// resolving holds the status query in progress per operation: one
	// resolution of an operation at a time (reconciler, resolve, end of day).
	resolving map[string]*resolution
	// watched are operator settlements still compared with iyzico's answers
	// (until the end of their business day); conflicts the open conflicts.
	watched   map[string]*Operation
	conflicts map[string]*Operation
	// graceFrom is, per unknown operation, the monotonic time from which
	// this process counts its grace (its send, or the start that found it).
	graceFrom map[string]time.Duration
	// lastCreated keeps creation times strictly increasing.
	lastCreated time.Time

	wake    chan struct{}
	changed chan struct{} // closed and replaced at every journal write
	fp      failpoints
}

// New builds the service. Call Recover before serving.
func New(o Options) (*Service, error) {
	if o.Journal == nil || o.Gateway == nil {
		return nil, errors.New("payment: journal and gateway are required")
	}
	if o.Mode != VUK509 && o.Mode != VUK507 {
		return nil, fmt.Errorf("payment: unknown mode %q", o.Mode)
	}
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Currency == "" {
		o.Currency = TRY
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.CardTimeout == 0 {
		o.CardTimeout = 180 * time.Second
	}
	if o.NotFoundGrace == 0 {
		o.NotFoundGrace = o.CardTimeout + 2*time.Minute
	}
	if o.BackoffMin == 0 {
		o.BackoffMin = time.Second
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = time.Minute
	}
	if o.Monotonic == nil {
		origin := time.Now()
		o.Monotonic = func() time.Duration { return time.Since(origin) }
	}
	s := &Service{
		opt:       o,
		log:       o.Logger.With().Str("component", "payment").Logger(),
		j:         o.Journal,
		gw:        o.Gateway,
		clock:     o.Clock,
		lanes:     map[string]*lane{},
		flights:   map[string]*flight{},
		byID:      map[string]*flight{},
		pending:   map[string]*Operation{},
		resolving: map[string]*resolution{},
		watched:   map[string]*Operation{},
		conflicts: map[string]*Operation{},
		graceFrom: map[string]time.Duration{},
		wake:      make(chan struct{}, 1),
		changed:   make(chan struct{}),
		// Jitter, so that many unknowns after an outage do not query iyzico in lockstep.
		queryBackoff: backoff.Policy{Min: o.BackoffMin, Max: o.BackoffMax, Jitter: 0.2},
	}
	s.base, s.cancel = context.WithCancel(context.Background())
	for _, t := range o.Terminals {
		s.lanes[t.ID] = &lane{id: t.ID, device: t.DeviceUniqueID, blocked: map[string]bool{}}
	}
	return s, nil
}

// Mode returns the installation's model.
func (s *Service) Mode() Mode { return s.opt.Mode }

// Close cancels operations still upstream (they end unknown and are
// journaled so) and waits until every one has recorded its state.
func (s *Service) Close() {
	// Under the lock, so that no submit is between its check of base and
	// its wg.Add: every operation that starts is counted before Wait.
	s.mu.Lock()
	s.cancel()
	s.mu.Unlock()
	s.wg.Wait()
}

// Health returns the sticky store failure, if any.
func (s *Service) Health() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

// failClosed records the first store failure; from then on no new money
// operation is accepted. Operations already upstream still finish.
func (s *Service) failClosed(err error) {
	s.mu.Lock()
	first := s.failed == nil
	if first {
		s.failed = err
	}
	s.mu.Unlock()
	if first {
		s.log.Error().Err(err).Msg("store write failed: refusing new money operations (fail closed)")
	}
}

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

// submit applies idempotency, the terminal lane, the durable intent commit,
// and then runs the operation upstream in the background, waiting up to
// sub.wait for its outcome.
func (s *Service) submit(ctx context.Context, sub submission) (*Result, error) {
	op := sub.op
	key, err := keyOf(op.IdempotencyKey, op.Reference)
	if err != nil {
		return nil, err
	}
	op.IdempotencyKey = key
	flightKey := op.Client + "\x00" + op.IdempotencyKey

	s.mu.Lock()
	if res, found, err := s.known(ctx, op.Client, op.IdempotencyKey, op.Fingerprint, sub.wait); found {
		return res, err
	}
	if s.failed != nil {
		s.mu.Unlock()
		return nil, ErrStorageFailure
	}
	if s.base.Err() != nil {
		// Closing: an operation started now would be cut off at once.
		s.mu.Unlock()
		return nil, ErrShuttingDown
	}
	ln := s.lanes[op.Terminal]
	if ln == nil {
		s.mu.Unlock()
		return nil, ErrUnknownTerminal
	}
	if err := ln.acquire(op, s.opt.CardTimeout, s.clock.Now(), sub.allowUnknown); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if sub.check != nil {
		if err := sub.check(s); err != nil {
			ln.release(op.ID)
			s.mu.Unlock()
			return nil, err
		}
	}
	fl := newFlight(op)
	s.flights[flightKey] = fl
	s.byID[op.ID] = fl
	s.wg.Add(1) // under s.mu, after the check of base: Close waits for it
	s.mu.Unlock()

	if err := s.begin(ctx, op); err != nil {
		s.mu.Lock()
		ln.release(op.ID)
		delete(s.flights, flightKey)
		delete(s.byID, op.ID)
		s.mu.Unlock()
		fl.finish(nil)
		s.wg.Done()
		return nil, err
	}

	go func() {
		defer s.wg.Done()
		s.execute(op, fl, flightKey)
	}()
	return s.await(ctx, fl, sub.wait, false)
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

// known looks a key up, in flight in this process (the call joins it) or in
// the journal (the call gets the stored operation, replayed), and compares
// the request's fingerprint with the one stored: a different request under
// the same key is refused. It is called with s.mu held; when it finds the
// key it releases s.mu and returns the answer with found set.
func (s *Service) known(ctx context.Context, client, key, fp string, wait time.Duration) (res *Result, found bool, err error) {
	if fl := s.flights[client+"\x00"+key]; fl != nil {
		s.mu.Unlock()
		if idempotency.Decide(true, fl.fingerprint, fp, true) == idempotency.Conflict {
			return nil, true, ErrIdempotencyKeyReused
		}
		res, err := s.await(ctx, fl, wait, true)
		return res, true, err
	}
	existing, err := s.j.ByKey(ctx, client, key)
	switch {
	case err == nil:
		s.mu.Unlock()
		if idempotency.Decide(true, existing.Fingerprint, fp, false) == idempotency.Conflict {
			return nil, true, ErrIdempotencyKeyReused
		}
		if !existing.State.Final() && wait > 0 {
			// The same request again while its operation is unknown: it waits
			// like the first one did (a long poll), rather than answering at
			// once an ECR that would ask again at once.
			if op, err := s.Wait(ctx, existing.ID, wait); err == nil {
				existing = op
			}
		}
		return &Result{Op: existing, Replayed: true, Final: existing.State.Final()}, true, nil
	case !errors.Is(err, ErrNotFound):
		s.mu.Unlock()
		return nil, true, fmt.Errorf("%w: %w", ErrStorageFailure, err)
	}
	return nil, false, nil
}

// replay answers a request whose key is taken already (known) before anything
// is derived from the current state of the journal: "refund what is left",
// "cancel" or "end of day" asked again must get their first answer, not a
// new derivation that no longer matches it. It returns a nil Result for a new key.
func (s *Service) replay(ctx context.Context, c Caller, reference, fp string) (*Result, error) {
	key, err := keyOf(c.IdempotencyKey, reference)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	res, found, err := s.known(ctx, c.Client, key, fp, c.Wait)
	if !found {
		s.mu.Unlock()
	}
	return res, err
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
			// The flight map makes this unreachable in one process; a second
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
			return fmt.Errorf("%w: %w", ErrCancelled, ctxErr)
		}
		s.failClosed(err)
		return fmt.Errorf("%w: %w", ErrStorageFailure, err)
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
func (s *Service) execute(op *Operation, fl *flight, flightKey string) {
	// The flight leaves the table before it is finished: a retry that comes
	// after its outcome reads the journal (a replay, or, when the key was
	// given back, a new operation), never a finished flight.
	land := func(res *Operation) {
		s.mu.Lock()
		delete(s.flights, flightKey)
		delete(s.byID, op.ID)
		s.mu.Unlock()
		fl.finish(res)
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

// UnknownCount is how many operations await a status query.
func (s *Service) UnknownCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// await waits for a flight up to wait, or until ctx ends, and returns the
// operation as it stands.
func (s *Service) await(ctx context.Context, fl *flight, wait time.Duration, joined bool) (*Result, error) {
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-fl.done:
		case <-t.C:
		case <-ctx.Done():
		}
	}
	select {
	case <-fl.done:
		if op := fl.result(); op != nil {
			return &Result{Op: op, Replayed: joined, Final: op.State.Final()}, nil
		}
	default:
	}
	op, err := s.j.Get(context.Background(), fl.id)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			// The intent commit failed: the operation never existed.
			return nil, ErrStorageFailure
		}
		return nil, fmt.Errorf("%w: %w", ErrStorageFailure, err)
	}
	return &Result{Op: op, Replayed: joined, Final: op.State.Final()}, nil
}

// Get returns one operation by bridged's id.
func (s *Service) Get(ctx context.Context, id string) (*Operation, error) {
	return s.j.Get(ctx, id)
}

// Wait long-polls an operation: it returns as soon as the operation is final
// (answered upstream, or settled by the reconciler) or wait has passed.
func (s *Service) Wait(ctx context.Context, id string, wait time.Duration) (*Operation, error) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		changed := s.Changed()
		op, err := s.j.Get(ctx, id)
		if err != nil || op.State.Final() || wait <= 0 {
			return op, err
		}
		select {
		case <-changed:
		case <-deadline.C:
			return op, nil
		case <-ctx.Done():
			return op, nil
		}
	}
}

// List returns operations matching f.
func (s *Service) List(ctx context.Context, f Filter) ([]*Operation, string, error) {
	return s.j.List(ctx, f)
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
