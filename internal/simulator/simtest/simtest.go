// Package simtest starts the iyzico simulator for tests of other packages.
package simtest

import (
	"net/http/httptest"
	"testing"

	"github.com/bridgedpos/bridged/internal/simulator"
)

// Start serves a new simulator on a loopback port chosen by the system; the
// server closes when the test ends, after the simulator's card waits were
// ended (Sim.Close: by default a card wait ignores its client, as a device
// does). srv.URL is the base URL to give a client.
func Start(tb testing.TB, cfg simulator.Config) (*simulator.Sim, *httptest.Server) {
	tb.Helper()
	sim := simulator.New(cfg)
	srv := httptest.NewServer(sim.Handler())
	tb.Cleanup(srv.Close)
	tb.Cleanup(sim.Close) // runs first
	return sim, srv
}
