package server

import (
	"net/http"
	"time"

	"github.com/rs/zerolog"
)

// Key is one named API key. The name scopes idempotency keys and appears in
// logs; the key bytes are compared in constant time and never logged.
type Key struct {
	Name string
	Key  []byte
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
	Token    func() TokenHealth
	Upstream func() UpstreamHealth
	// Metrics serves /metrics and records HTTP requests; nil disables both.
	Metrics Metrics
	// Version is shown on the status page; empty shows the Go build's own.
	Version string
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
	s := &server{
		log:         o.Logger.With().Str("component", "server").Logger(),
		keys:        o.Keys,
		hosts:       hostSet(o.AllowedHosts),
		origin:      stringSet(o.AllowedOrigins),
		svc:         o.Service,
		defaultWait: o.DefaultWait,
		cardTimeout: o.CardTimeout,
		token:       o.Token,
		upstream:    o.Upstream,
		metrics:     o.Metrics,
		version:     o.Version,
		journal:     o.Journal,
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
	token       func() TokenHealth
	upstream    func() UpstreamHealth
	metrics     Metrics
	version     string
	journal     Journal
}

// HTTPServer wraps the handler with the timeouts every listener must have:
// a slow or idle client cannot hold a connection or a goroutine forever.
func HTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		// No WriteTimeout: money calls and long polls block up to api.default_wait
		// by design; each handler bounds its own wait.
	}
}
