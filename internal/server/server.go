package server

import (
	"context"
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

// Terminal is what GET /v1/terminals shows of one configured terminal.
type Terminal struct {
	ID             string `json:"id"`
	DeviceUniqueID string `json:"device_unique_id"`
	State          string `json:"state"`
}

// Status is what the server needs from the rest of the daemon. The payment
// service implements it once it exists; until then cmd/bridged supplies the
// configured terminals.
type Status interface {
	Terminals(ctx context.Context) []Terminal
}

// Options configures the HTTP surface.
type Options struct {
	Logger         zerolog.Logger
	Keys           []Key
	AllowedHosts   []string // accepted besides the loopback names
	AllowedOrigins []string // Origin values accepted; none by default
	Status         Status
	Mode           string
}

// New returns the handler with every route and middleware in place.
func New(o Options) http.Handler {
	s := &server{
		log:    o.Logger.With().Str("component", "server").Logger(),
		keys:   o.Keys,
		hosts:  hostSet(o.AllowedHosts),
		origin: stringSet(o.AllowedOrigins),
		status: o.Status,
		mode:   o.Mode,
	}
	return s.routes()
}

type server struct {
	log    zerolog.Logger
	keys   []Key
	hosts  map[string]bool
	origin map[string]bool
	status Status
	mode   string
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
