package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/bridgedpos/bridged/internal/config"
	"github.com/bridgedpos/bridged/internal/server"
)

// shutdownGrace bounds how long in-flight HTTP requests may finish after a stop.
// An operation cut short is journaled and is resolved after restart, so the grace
// serves politeness, not correctness.
const shutdownGrace = 1500 * time.Millisecond

// runDaemon builds the graph top to bottom (config, logger, data dir, server)
// and supervises its workers until ctx ends or one fails. onReady, when set, is
// called with the bound address once the listener accepts connections.
func runDaemon(ctx context.Context, cfg *config.Config, stderr io.Writer, onReady func(addr string)) error {
	log, closeLog, err := newLogger(cfg.Log, stderr)
	if err != nil {
		return fmt.Errorf("logger: %w", err)
	}
	defer closeLog.Close()
	b := currentBuild()
	log.Info().Str("component", "main").Str("version", b.Version).Str("commit", b.Commit).
		Str("mode", string(cfg.Mode)).Str("data_dir", cfg.DataDir).Msg("starting")

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}

	handler := server.New(server.Options{
		Logger:         log,
		Keys:           serverKeys(cfg.API.Keys),
		AllowedHosts:   cfg.API.AllowedHosts,
		AllowedOrigins: cfg.API.AllowedOrigins,
		Status:         configuredTerminals(cfg.Terminals),
		Mode:           string(cfg.Mode),
	})
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	srv := server.HTTPServer(handler)
	log.Info().Str("component", "main").Str("listen", ln.Addr().String()).Msg("ready")
	if onReady != nil {
		onReady(ln.Addr().String())
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			_ = srv.Close()
		}
		return nil
	})
	err = g.Wait()
	log.Info().Str("component", "main").Msg("stopped")
	return err
}

func serverKeys(keys []config.APIKey) []server.Key {
	out := make([]server.Key, len(keys))
	for i, k := range keys {
		out[i] = server.Key{Name: k.Name, Key: []byte(k.Key.Reveal())}
	}
	return out
}

// configuredTerminals answers GET /v1/terminals from the config until the
// payment service, which knows each lane's state, takes over.
type configuredTerminals []config.Terminal

func (ts configuredTerminals) Terminals(context.Context) []server.Terminal {
	out := make([]server.Terminal, len(ts))
	for i, t := range ts {
		out[i] = server.Terminal{ID: t.ID, DeviceUniqueID: t.DeviceUniqueID, State: "idle"}
	}
	return out
}
