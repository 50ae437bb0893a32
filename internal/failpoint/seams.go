// Package failpoint owns the daemon's test seams: the hooks the wiring in
// cmd/bridged threads into the store, the upstream client, the payment
// service and the HTTP handler. Production builds fill none of them
// (failpoint_off.go); builds with the failpoint tag fill them from the
// environment (failpoint_on.go) for the crash matrix (proof/crash) and the
// model test (proof/model), which kill or stall the real process at each
// boundary. It imports payment and upstream for their option types only,
// never bbolt, chi or the server.
package failpoint

import (
	"net/http"

	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/upstream"
)

// Seams are the test hooks of the daemon; a nil hook is no hook.
type Seams struct {
	// FailWrites makes every journal write fail (a dead disk) while it
	// returns an error; FailWrite is asked about each write by name.
	FailWrites func() error
	FailWrite  func(what string) error
	// Transport wraps the HTTP transport of every upstream call.
	Transport func(http.RoundTripper) http.RoundTripper
	// Handler wraps the local API's handler.
	Handler func(http.Handler) http.Handler
	// Upstream and Payment adjust the options built from the config, for
	// timings shorter than the config's bounds allow.
	Upstream func(*upstream.Config)
	Payment  func(*payment.Options)
	// Service is told of the payment service once it is built.
	Service func(*payment.Service)
	// StoreFault is the store's Fault seam (the journal's upkeep), and
	// ArchiveChunk its archive removal's write size.
	StoreFault   func(point string) error
	ArchiveChunk int
}
