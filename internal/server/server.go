package server

import (
	"net/http"
	"time"

	"github.com/rs/zerolog"
)

// Key is one named API key. The name scopes idempotency keys, appears in logs
// and names the key of a signed request; the key bytes are compared in
// constant time and never logged. Scopes say what it may call.
type Key struct {
	Name   string
	Key    []byte
	Scopes []Scope
}

// Options configures the HTTP surface.
type Options struct {
	Logger         zerolog.Logger
	Keys           []Key
	AllowedHosts   []string // accepted besides the loopback names
	AllowedOrigins []string // Origin values accepted; none by default
	Service        Service
	// DefaultWait is how long a money call blocks before answering 202.
	DefaultWait time.Duration
	// CardTimeout is the longest a card operation may take (readiness verdicts).
	CardTimeout time.Duration
	// Token and Upstream report the iyzico side for /readyz; nil skips the part.
	Token    TokenReporter
	Upstream UpstreamReporter
	// Metrics serves /metrics and records HTTP requests; nil disables both.
	Metrics Metrics
	// Version is shown on the status page; empty shows the Go build's own.
	Version string
	// Now is the clock of signed requests' timestamps and sessions; nil is time.Now.
	Now func() time.Time
	// Journal serves /v1/admin/backup and /v1/admin/compact (admin.go);
	// without it they answer 503.
	Journal Journal
}

// Metrics is the part of the metrics registry the server uses.
type Metrics interface {
	Handler() http.Handler
	HTTPRequest(route, method string, code int, d time.Duration)
}

// New returns the handler with every route and middleware in place.
func New(o Options) http.Handler {
	keys := make([]Key, len(o.Keys))
	for i, k := range o.Keys {
		keys[i] = k
		if len(k.Scopes) == 0 { // as in the config: a key without scopes takes payments
			keys[i].Scopes = []Scope{ScopePayments}
		}
	}
	s := &server{
		log:         o.Logger.With().Str("component", "server").Logger(),
		keys:        keys,
		hosts:       hostSet(o.AllowedHosts),
		origin:      stringSet(o.AllowedOrigins),
		svc:         o.Service,
		defaultWait: o.DefaultWait,
		cardTimeout: o.CardTimeout,
		token:       o.Token,
		upstream:    o.Upstream,
		metrics:     o.Metrics,
		version:     o.Version,
		clock:       o.Now,
		failures:    &failureLimiter{burst: 20, every: time.Second},
		nonces:      &nonceCache{},
		sessions:    &sessionStore{},
		journal:     o.Journal,
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	return s.routes()
}

type server struct {
	log         zerolog.Logger
	keys        []Key
	hosts       map[string]bool
	origin      map[string]bool
	svc         Service
	defaultWait time.Duration
	cardTimeout time.Duration
	token       TokenReporter
	upstream    UpstreamReporter
	metrics     Metrics
	version     string
	clock       func() time.Time
	failures    *failureLimiter
	nonces      *nonceCache
	sessions    *sessionStore
	journal     Journal
}

func (s *server) now() time.Time { return s.clock() }
