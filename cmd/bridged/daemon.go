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

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"
	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/bridgedpos/bridged/internal/apitype"
	"github.com/bridgedpos/bridged/internal/config"
	"github.com/bridgedpos/bridged/internal/failpoint"
	"github.com/bridgedpos/bridged/internal/metrics"
	"github.com/bridgedpos/bridged/internal/opscli"
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
	d := &daemon{cfg: cfg, sm: sm, log: log, mainLog: log.With().Str("component", "main").Logger(), m: metrics.New()}
	b := currentBuild()
	d.mainLog.Info().Str("version", b.Version).Str("commit", b.Commit).
		Str("mode", string(cfg.Mode)).Str("data_dir", cfg.DataDir).Msg("starting")
	st, err := d.openStore()
	if err != nil {
		return err
	}
	// The store closes last, after every worker that writes to it has stopped.
	defer st.Close()
	client, err := d.newUpstream(st)
	if err != nil {
		return err
	}
	svc, err := d.newPayments(st, client)
	if err != nil {
		return err
	}
	registerGauges(d.m, svc, client)
	// Every operation the last run left in flight becomes unknown before the
	// first request is taken; the reconciler settles them.
	if err := svc.Recover(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: not a failure
		}
		return err
	}
	srv, lns, err := d.newHTTP(st, svc, client, b.Version)
	if err != nil {
		return err
	}
	return d.serve(ctx, st, client, svc, srv, lns, onReady)
}

// daemon is what every part of the graph is built with: the config, the test
// seams, the logger and the metrics (whose hooks each part gets as it is
// built). The parts themselves are passed from one constructor to the next.
type daemon struct {
	cfg     *config.Config
	sm      seams
	log     zerolog.Logger
	mainLog zerolog.Logger // component=main
	m       *metrics.Metrics
}

// openStore opens the journal in the data dir, creating the dir first.
func (d *daemon) openStore() (*store.Store, error) {
	if err := os.MkdirAll(d.cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	st, err := store.Open(d.cfg.DataDir, store.Options{Logger: d.log, OnCommit: d.m.StoreCommit, OnGroup: d.m.StoreGroup,
		FailWrites: d.sm.FailWrites, FailWrite: d.sm.FailWrite, Fault: d.sm.StoreFault, ArchiveChunk: d.sm.ArchiveChunk})
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return st, nil
}

// newUpstream is the iyzico client, its calls timed by the metrics.
func (d *daemon) newUpstream(st *store.Store) (*upstream.Client, error) {
	u := d.cfg.Upstream
	ucfg := upstream.Config{
		BaseURL: u.BaseURL,
		Credentials: upstream.Credentials{ClientID: u.ClientID, ClientSecret: u.ClientSecret,
			Username: u.Username, Password: u.Password},
		Locale:        d.cfg.Upstream.Locale, // upstream: "tr" when empty; its case per mode at each send
		CardTimeout:   u.CardTimeout,
		QueryTimeout:  u.QueryTimeout,
		Logger:        d.log,
		OnCall:        func(r upstream.CallRecord) { d.m.UpstreamCall(r.Op, r.Class.String(), r.Duration) },
		WrapTransport: d.sm.Transport,
	}
	if d.sm.Upstream != nil {
		d.sm.Upstream(&ucfg)
	}
	client, err := upstream.New(ucfg, st)
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	return client, nil
}

// newPayments is the payment service over the journal and the gateway of
// the config's mode.
func (d *daemon) newPayments(st *store.Store, client *upstream.Client) (*payment.Service, error) {
	cfg := d.cfg
	maxAmount, err := cfg.Payments.Limit()
	if err != nil {
		return nil, fmt.Errorf("payments: %w", err)
	}
	terms := make([]payment.TerminalConfig, len(cfg.Terminals))
	for i, t := range cfg.Terminals {
		terms[i] = payment.TerminalConfig{ID: t.ID, DeviceUniqueID: t.DeviceUniqueID}
	}
	o := payment.Options{
		Mode: cfg.Mode, Terminals: terms, Journal: st, Logger: d.log,
		Gateway:   upstream.NewGateway(client, cfg.Mode, upstream.SaleApp{Name: cfg.SaleApp.Name, Version: cfg.SaleApp.Version}),
		MaxAmount: maxAmount, Currency: cfg.Payments.Currency, CardTimeout: cfg.Upstream.CardTimeout,
		OnState: d.m.Operation, OnQuery: d.m.ReconcilerQuery, OnConflict: d.m.Conflict, OnSettle: d.m.Settlement,
	}
	if d.sm.Payment != nil {
		d.sm.Payment(&o)
	}
	svc, err := payment.New(o)
	if err != nil {
		return nil, err
	}
	if d.sm.Service != nil {
		d.sm.Service(svc)
	}
	return svc, nil
}

// registerGauges registers the values read at scrape time, over parts that
// exist by now.
func registerGauges(m *metrics.Metrics, svc *payment.Service, client *upstream.Client) {
	m.RegisterGauges(metrics.Gauges{
		UnknownOpen:    func() float64 { return float64(svc.UnknownCount()) },
		TokenRefreshes: func() float64 { return float64(client.TokenStatus().Refreshes) },
		TokenLogins:    func() float64 { return float64(client.TokenStatus().Logins) },
		TokenFailures:  func() float64 { return oneIf(client.TokenStatus().LastError != "") },
		TokenExpiry: func() float64 {
			if exp := client.TokenExpiry(); !exp.IsZero() {
				return float64(exp.Unix())
			}
			return 0
		},
		StoreFailClosed: func() float64 { return oneIf(svc.Health() != nil) },
		ConflictsOpen:   func() float64 { return float64(len(svc.Conflicts())) },
	})
}

// oneIf is a gauge's 1 or 0.
func oneIf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// newHTTP is the local API's server and its listeners, opened once the
// journal is recovered.
func (d *daemon) newHTTP(st *store.Store, svc *payment.Service, client *upstream.Client, version string) (*server.HTTP, []net.Listener, error) {
	handler := server.New(server.Options{
		Logger:         d.log,
		Keys:           serverKeys(d.cfg.API.Keys),
		AllowedHosts:   d.cfg.API.AllowedHosts,
		AllowedOrigins: d.cfg.API.AllowedOrigins,
		Service:        svc,
		DefaultWait:    d.cfg.API.DefaultWait,
		CardTimeout:    d.cfg.Upstream.CardTimeout,
		Token:          client,
		Upstream:       client,
		Metrics:        d.m,
		Version:        version,
		Journal:        journalAdmin(st, svc),
	})
	lns, err := ossvc.OpenListeners(d.cfg.Listen, os.Getenv, d.mainLog) // socket activation is a fact of this process, whatever the verbs were given
	if err != nil {
		return nil, nil, err
	}
	if d.sm.Handler != nil {
		handler = d.sm.Handler(handler)
	}
	return server.NewHTTP(handler, connLimits(d.cfg, d.mainLog), d.log), lns, nil
}

// serve supervises the workers (token owner, reconciler, journal upkeep, one
// server per listener) until ctx ends or one fails, then drains.
func (d *daemon) serve(ctx context.Context, st *store.Store, client *upstream.Client, svc *payment.Service,
	srv *server.HTTP, lns []net.Listener, onReady func(addr string)) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return client.Run(gctx) })
	g.Go(func() error { return svc.Run(gctx) })
	// Closed business days past journal.retain_days go to the archives.
	g.Go(func() error { return st.Maintain(gctx, store.MaintainOptions{RetainDays: d.cfg.Journal.RetainDays}) })
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
	d.mainLog.Info().Str("listen", addrs[0]).Strs("addresses", addrs).Msg("ready")
	if onReady != nil {
		onReady(addrs[0])
	}
	err := g.Wait()
	d.mainLog.Info().Msg("stopped")
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

// serverKeys are the config's API keys as the server checks them.
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

// journalAdmin is the journal's upkeep the daemon offers on its API
// (/v1/admin/backup, /v1/admin/compact): a backup while payments go on, and
// a compaction with every terminal held (payment.Service.Hold).
func journalAdmin(st *store.Store, svc *payment.Service) server.Journal {
	return server.Journal{
		Backup: func(ctx context.Context, w io.Writer) error {
			_, err := st.Backup(ctx, w)
			return err
		},
		Compact: func(ctx context.Context, force bool) (apitype.CompactResult, error) {
			return opscli.CompactJournal(ctx, st, force, svc.Hold)
		},
	}
}

// newLogger builds the one logger of the process. Packages get it passed in and
// add their own component field; nothing logs through a global.
func newLogger(c config.Log, stderr io.Writer) (zerolog.Logger, io.Closer, error) {
	level, err := c.Level.Level()
	if err != nil {
		return zerolog.Nop(), nil, err
	}
	var w io.Writer = stderr
	var closer io.Closer = io.NopCloser(nil)
	if c.File != "" {
		// lumberjack rotates by size and keeps a bounded number of old files.
		lj := &lumberjack.Logger{
			Filename:   c.File,
			MaxSize:    c.MaxSizeMB,
			MaxBackups: c.MaxBackups,
			MaxAge:     c.MaxAgeDays,
			Compress:   true,
		}
		w, closer = lj, lj
	} else if c.Format == "console" || (c.Format == "auto" && isTerminal(stderr)) {
		w = zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger(), closer, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// settleOffline runs tx settle or tx acknowledge on the journal itself,
// when no daemon holds it, with the daemon's rules: the payment service
// over the journal and iyzico, so that a settlement asks iyzico once more
// first and iyzico's definite answer wins. Operations the last run left in
// flight become unknown first, as at every start. The wait before a
// settlement counts on the wall clock since the send (no process was
// watching it); the daemon, once started, watches the settled operation
// until the end of its business day.
func settleOffline(ctx context.Context, cfg *config.Config, stderr io.Writer, adjust func(*payment.Options),
	apply func(*payment.Service) (*payment.Operation, error)) (*payment.Operation, error) {
	st, err := store.Open(cfg.DataDir, store.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("bridged is not running and its journal cannot be opened: %w", err)
	}
	defer st.Close()
	fmt.Fprintf(stderr, "bridged is not running: working on the journal in %s directly\n", cfg.DataDir)
	log, closeLog, err := newLogger(config.Log{Level: config.ParseLogLevel("warn"), Format: "console"}, stderr)
	if err != nil {
		return nil, err
	}
	defer closeLog.Close()
	d := &daemon{cfg: cfg, log: log, m: metrics.New(), sm: seams{Payment: func(o *payment.Options) {
		o.SettleByWallClock = true
		if adjust != nil {
			adjust(o)
		}
	}}}
	client, err := d.newUpstream(st)
	if err != nil {
		return nil, err
	}
	// The token owner, as in the daemon: the status query needs a token.
	runCtx, stop := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- client.Run(runCtx) }()
	defer func() { stop(); <-stopped }()
	svc, err := d.newPayments(st, client)
	if err != nil {
		return nil, err
	}
	if err := svc.Recover(ctx); err != nil {
		return nil, err
	}
	return apply(svc)
}
