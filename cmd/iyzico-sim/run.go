package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/bridgedpos/bridged/internal/loopback"
	"github.com/bridgedpos/bridged/internal/simulator"
)

// errUsage marks a command-line mistake (exit status 2, as flag does).
var errUsage = errors.New("usage")

// options are the flags that are not simulator configuration.
type options struct {
	listen      string
	allowRemote bool
	quiet       bool
}

// run is the whole command: flags, listener, server, and a clean stop when ctx
// is cancelled (SIGINT/SIGTERM in main).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if err := checkListen(opts.listen, opts.allowRemote); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if !opts.quiet {
		cfg.OnRequest = func(r simulator.Request) { logRequest(stderr, r) }
	}
	sim := simulator.New(cfg)

	ln, err := net.Listen("tcp", opts.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           sim.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// In-flight card waits end when we stop, instead of holding the shutdown.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "iyzico-sim listening on http://%s\n", ln.Addr())

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sim.Close() // card waits that ignore their client end now
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	fmt.Fprintln(stderr, "iyzico-sim stopped")
	return nil
}

func parseFlags(args []string, stderr io.Writer) (simulator.Config, options, error) {
	var (
		cfg     simulator.Config
		opts    options
		devices string
		dup     string
		cont    bool
	)
	fs := flag.NewFlagSet("iyzico-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&opts.listen, "listen", "127.0.0.1:8471", "address to serve on; loopback only unless -allow-remote")
	fs.BoolVar(&opts.allowRemote, "allow-remote", false, "allow a non-loopback -listen address")
	fs.BoolVar(&opts.quiet, "quiet", false, "do not log requests to stderr")
	fs.StringVar(&cfg.ClientID, "client-id", "", `merchant client_id (default "sim-client")`)
	fs.StringVar(&cfg.ClientSecret, "client-secret", "", `merchant client_secret (default "sim-secret")`)
	fs.StringVar(&cfg.Username, "username", "", `merchant user (default "sim-user")`)
	fs.StringVar(&cfg.Password, "password", "", `merchant user password (default "sim-password")`)
	fs.StringVar(&devices, "devices", "", `comma-separated deviceUniqueIds (default "PAV860047264")`)
	fs.DurationVar(&cfg.TokenTTL, "token-ttl", 0, "access token life (default 7199s)")
	fs.DurationVar(&cfg.RefreshTokenTTL, "refresh-token-ttl", 0, "refresh token life (default: until the session is revoked)")
	fs.BoolVar(&cfg.RotateRefreshTokens, "rotate-refresh-tokens", false, "answer a new refresh token on every refresh")
	fs.DurationVar(&cfg.CardWait, "card-wait", 0, "how long the cardholder takes on every card operation")
	fs.DurationVar(&cfg.SlowCardWait, "slow-card-wait", 0, "card wait of amounts ending in .55 (default 5s)")
	fs.BoolVar(&cont, "continue-after-cancel", true, "finish (and charge) operations whose client went away, as a device does; =false abandons them")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "seed of probabilistic faults")
	fs.StringVar(&dup, "duplicate-references", "reject", "answer to a reused transactionReferenceId: reject, replay or charge")
	fs.BoolVar(&cfg.AcceptSaleType, "accept-sale-type", false, `VUK 509: take "saleType" for "salesType"`)
	fs.BoolVar(&cfg.StrictQuery509, "strict-query-509", false, "VUK 509 query: require paymentId, deviceUniqueId and transactionReferenceId together")
	fs.BoolVar(&cfg.RequireReturnFieldsOnSale, "require-return-fields-on-sale", false, "VUK 507 sale lines: require relatedSaleItemId and returnAmount")
	fs.BoolVar(&cfg.AcceptDecimalStrings, "accept-decimal-strings", false, "VUK 507: accept decimal amounts as JSON strings")
	fs.BoolVar(&cfg.GmuErrorGroup, "gmu-error-group", false, "VUK 507 failures: include errorGroup")
	fs.BoolVar(&cfg.OmitReturnedLines, "omit-returned-lines", false, "VUK 507 refundable-sale-info: leave out fully returned lines")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, opts, err
		}
		return cfg, opts, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return cfg, opts, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	cfg.AbandonOnCancel = !cont
	if devices != "" {
		for _, d := range strings.Split(devices, ",") {
			cfg.Devices = append(cfg.Devices, strings.TrimSpace(d))
		}
	}
	switch dup {
	case "reject":
		cfg.DuplicateReferences = simulator.DuplicateReject
	case "replay":
		cfg.DuplicateReferences = simulator.DuplicateReplay
	case "charge":
		cfg.DuplicateReferences = simulator.DuplicateCharge
	default:
		return cfg, opts, fmt.Errorf("%w: -duplicate-references must be reject, replay or charge", errUsage)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, opts, fmt.Errorf("%w: %w", errUsage, err)
	}
	return cfg, opts, nil
}

// checkListen refuses a non-loopback address unless asked: the simulator
// accepts any card and must never be reachable by mistake.
func checkListen(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-listen %q: %w", addr, err)
	}
	if allowRemote || loopback.Host(host) {
		return nil
	}
	return fmt.Errorf("-listen %q is not a loopback address (use -allow-remote to insist)", addr)
}

// logRequest writes one line per request; Request holds no secret or card data.
func logRequest(w io.Writer, r simulator.Request) {
	line := fmt.Sprintf("%s %s %s status=%d outcome=%s", r.Time.Format(time.RFC3339), r.Op, r.Path, r.Status, r.Outcome)
	if r.Device != "" {
		line += " device=" + r.Device
	}
	if r.TransactionReferenceID != "" {
		line += " ref=" + r.TransactionReferenceID
	}
	if r.ErrorCode != "" {
		line += " error=" + r.ErrorCode
	}
	if len(r.Faults) > 0 {
		line += " faults=" + strings.Join(r.Faults, ",")
	}
	for _, f := range r.Findings {
		line += fmt.Sprintf(" finding=%q", f.String())
	}
	fmt.Fprintln(w, line)
}

// exitCode turns run's error into the process status: 0, 2 for usage, 1 otherwise.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "iyzico-sim:", err)
		return 2
	}
	fmt.Fprintln(stderr, "iyzico-sim:", err)
	return 1
}
