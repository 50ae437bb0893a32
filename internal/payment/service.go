package payment

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

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

// DefaultCardTimeout is how long a card operation may take upstream unless
// configured (upstream.card_timeout): iyzico holds the request while the
// customer acts on the device. The config's default, upstream's and this
// package's are this one value.
const DefaultCardTimeout = 180 * time.Second

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
	// CardTimeout is the longest a card operation takes upstream (for
	// Retry-After hints). Default: DefaultCardTimeout.
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

	// keys is the in-flight table: the operations running in this process,
	// by client and idempotency key. Claimed and looked up under mu (submit.go).
	keys *idempotency.Table[*Operation]

	// mu is the service lock. Among what it guards, submit holds it from the
	// idempotency decision (the in-flight table, then the journal's key
	// index: a bbolt read) through the terminal, the operation's rules and
	// the claim, so that no request joins a claim that is given back
	// (submit.go, docs/decisions.md "the service lock").
	mu      sync.Mutex
	lanes   map[string]*lane      // by terminal id
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
		o.CardTimeout = DefaultCardTimeout
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
		keys:      idempotency.NewTable[*Operation](),
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
