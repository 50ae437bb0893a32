package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/bridgedpos/bridged/internal/config"
	"github.com/bridgedpos/bridged/internal/failpoint"
	"github.com/bridgedpos/bridged/internal/metrics"
	"github.com/bridgedpos/bridged/internal/ossvc"
	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/profiling"
	"github.com/bridgedpos/bridged/internal/server"
	"github.com/bridgedpos/bridged/internal/store"
	"github.com/bridgedpos/bridged/internal/upstream"
)

// shutdownGrace bounds how long in-flight HTTP requests may finish after a stop.
// An operation cut short is journaled and is resolved after restart, so the grace
// serves politeness, not correctness.
const shutdownGrace = 1500 * time.Millisecond

// runDaemon builds the graph top to bottom (config, logger, store, upstream,
// payment service, server) and supervises its workers until ctx ends or one
// fails. onReady, when set, is called with the bound address once the
// listener accepts connections and the journal has been recovered.
func runDaemon(ctx context.Context, cfg *config.Config, stderr io.Writer, onReady func(addr string)) error {
	sm, err := failpoint.FromEnv(stderr)
	if err != nil {
		return err
	}
	defer profiling.Start(os.Getenv, stderr)()
	return runDaemonWith(ctx, cfg, stderr, onReady, sm)
}

// seams are the test hooks of the daemon (internal/failpoint): none in
// production builds, the crash matrix's in builds with the failpoint tag.
type seams = failpoint.Seams

func runDaemonWith(ctx context.Context, cfg *config.Config, stderr io.Writer, onReady func(addr string), sm seams) error {
	log, closeLog, err := newLogger(cfg.Log, stderr)
	if err != nil {
		return fmt.Errorf("logger: %w", err)
	}
	defer closeLog.Close()
	b := currentBuild()
	mainLog := log.With().Str("component", "main").Logger()
	mainLog.Info().Str("version", b.Version).Str("commit", b.Commit).
		Str("mode", string(cfg.Mode)).Str("data_dir", cfg.DataDir).Msg("starting")

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	// Metrics are read at scrape time through closures over the parts built
	// below; their hooks are handed to each part as it is built.
	var (
		svc    *payment.Service
		client *upstream.Client
		st     *store.Store
	)
	m := metrics.New(metrics.Gauges{
		UnknownOpen:    func() float64 { return float64(svc.UnknownCount()) },
		TokenRefreshes: func() float64 { return float64(client.TokenStatus().Refreshes) },
		TokenLogins:    func() float64 { return float64(client.TokenStatus().Logins) },
		TokenFailures: func() float64 {
			if client.TokenStatus().LastError != "" {
				return 1
			}
			return 0
		},
		TokenExpiry: func() float64 {
			if exp := client.TokenExpiry(); !exp.IsZero() {
				return float64(exp.Unix())
			}
			return 0
		},
		StoreFailClosed: func() float64 {
			if svc.Health() != nil {
				return 1
			}
			return 0
		},
		ConflictsOpen: func() float64 { return float64(len(svc.Conflicts())) },
	})

	st, err = store.Open(cfg.DataDir, store.Options{Logger: log, OnCommit: m.StoreCommit, OnGroup: m.StoreGroup,
		FailWrites: sm.FailWrites, FailWrite: sm.FailWrite, Fault: sm.StoreFault, ArchiveChunk: sm.ArchiveChunk})
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	// The store closes last, after every worker that writes to it has stopped.
	defer st.Close()

	ucfg := upstreamConfig(cfg, log)
	ucfg.OnCall = func(r upstream.CallRecord) { m.UpstreamCall(r.Op, r.Class.String(), r.Duration) }
	ucfg.WrapTransport = sm.Transport
	if sm.Upstream != nil {
		sm.Upstream(&ucfg)
	}
	client, err = upstream.New(ucfg, st)
	if err != nil {
		return fmt.Errorf("upstream: %w", err)
	}
	svc, err = newPaymentService(cfg, st, upstream.NewGateway(client, payment.Mode(cfg.Mode),
		upstream.SaleApp{Name: cfg.SaleApp.Name, Version: cfg.SaleApp.Version}), log, m, sm.Payment)
	if err != nil {
		return err
	}
	if sm.Service != nil {
		sm.Service(svc)
	}
	// Every operation the last run left in flight becomes unknown before the
	// first request is taken; the reconciler settles them.
	if err := svc.Recover(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: not a failure
		}
		return err
	}

	handler := server.New(server.Options{
		Logger:         log,
		Keys:           serverKeys(cfg.API.Keys),
		AllowedHosts:   cfg.API.AllowedHosts,
		AllowedOrigins: cfg.API.AllowedOrigins,
		Service:        svc,
		DefaultWait:    cfg.API.DefaultWait,
		CardTimeout:    cfg.Upstream.CardTimeout,
		Token: func() server.TokenHealth {
			ts := client.TokenStatus()
			return server.TokenHealth{Valid: ts.Valid, Expiry: ts.Expiry, LastError: ts.LastError}
		},
		Upstream: func() server.UpstreamHealth {
			cs := client.CallStatus()
			return server.UpstreamHealth{Reachable: cs.Reachable(), ServerErrors: cs.ServerErrors(), ServerErrorStatus: cs.LastServerErrorStatus,
				LastAnswer: cs.LastAnswer, LastSuccess: cs.LastSuccess, LastFailure: cs.LastFailure, LastFailureReason: cs.LastFailureReason}
		},
		Metrics: m,
		Version: b.Version,
		Journal: journalAdmin(st, svc),
	})
	lns, err := ossvc.OpenListeners(cfg.Listen, getenvOS, mainLog)
	if err != nil {
		return err
	}
	if sm.Handler != nil {
		handler = sm.Handler(handler)
	}
	srv := server.NewHTTP(handler, connLimits(cfg, mainLog), log)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return client.Run(gctx) })
	g.Go(func() error { return svc.Run(gctx) })
	// Closed business days past journal.retain_days go to the archives.
	g.Go(func() error { return st.Maintain(gctx, store.MaintainOptions{RetainDays: cfg.Journal.RetainDays}) })
	for _, ln := range lns {
		g.Go(func() error {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("http server: %w", err)
			}
			return nil
		})
	}
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			_ = srv.Close()
		}
		// Operations still upstream end unknown and are journaled so.
		svc.Close()
		return nil
	})
	addrs := make([]string, len(lns))
	for i, ln := range lns {
		addrs[i] = ln.Addr().String()
	}
	mainLog.Info().Str("listen", addrs[0]).Strs("addresses", addrs).Msg("ready")
	if onReady != nil {
		onReady(addrs[0])
	}
	err = g.Wait()
	mainLog.Info().Msg("stopped")
	return err
}

// connLimits are the API's connection limits, kept below the process's limit
// of open files with room for the journal, iyzico and the log.
func connLimits(cfg *config.Config, log zerolog.Logger) server.ConnLimits {
	lim := server.ConnLimits{Max: cfg.API.MaxConnections, Reserved: cfg.API.ReservedConnections}
	if n := ossvc.FDLimit(); n > 0 && lim.Max > n-128 {
		lim.Max = max(16, n-128)
		lim.Reserved = min(lim.Reserved, lim.Max/2)
		log.Warn().Int("max_connections", cfg.API.MaxConnections).Int("open_files_limit", n).Int("used", lim.Max).
			Msg("api.max_connections is above what this process may open: raise the limit (LimitNOFILE, ulimit -n) or lower it")
	}
	return lim
}

// upstreamConfig is the iyzico client's config from bridged's.
func upstreamConfig(cfg *config.Config, log zerolog.Logger) upstream.Config {
	return upstream.Config{
		BaseURL: cfg.Upstream.BaseURL,
		Credentials: upstream.Credentials{
			ClientID:     cfg.Upstream.ClientID,
			ClientSecret: cfg.Upstream.ClientSecret.Reveal(),
			Username:     cfg.Upstream.Username,
			Password:     cfg.Upstream.Password.Reveal(),
		},
		Locale:       cfg.EffectiveLocale(),
		CardTimeout:  cfg.Upstream.CardTimeout,
		QueryTimeout: cfg.Upstream.QueryTimeout,
		Logger:       log,
	}
}

func newPaymentService(cfg *config.Config, st *store.Store, gw payment.Gateway, log zerolog.Logger, m *metrics.Metrics, adjust func(*payment.Options)) (*payment.Service, error) {
	cur, err := payment.ParseCurrency(cfg.Payments.Currency)
	if err != nil {
		return nil, err
	}
	maxAmount, err := payment.ParseMoney(cfg.Payments.MaxAmount, cur)
	if err != nil {
		return nil, fmt.Errorf("payments.max_amount: %w", err)
	}
	terms := make([]payment.TerminalConfig, len(cfg.Terminals))
	for i, t := range cfg.Terminals {
		terms[i] = payment.TerminalConfig{ID: t.ID, DeviceUniqueID: t.DeviceUniqueID}
	}
	o := payment.Options{
		Mode:        payment.Mode(cfg.Mode),
		Terminals:   terms,
		Journal:     st,
		Gateway:     gw,
		Logger:      log,
		MaxAmount:   maxAmount,
		Currency:    cur,
		CardTimeout: cfg.Upstream.CardTimeout,
		OnState:     m.Operation,
		OnQuery:     m.ReconcilerQuery,
		OnConflict:  m.Conflict,
		OnSettle:    m.Settlement,
	}
	if adjust != nil {
		adjust(&o)
	}
	return payment.New(o)
}

func serverKeys(keys []config.APIKey) []server.Key {
	out := make([]server.Key, len(keys))
	for i, k := range keys {
		out[i] = server.Key{Name: k.Name, Key: []byte(k.Key.Reveal())}
		for _, s := range k.EffectiveScopes() {
			out[i].Scopes = append(out[i].Scopes, server.Scope(s))
		}
	}
	return out
}

// getenvOS reads the process environment: socket activation is a fact of
// this process, whatever environment the verbs were given.
func getenvOS(k string) string { return os.Getenv(k) }
