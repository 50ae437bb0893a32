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
