package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/bridgedpos/bridged/internal/config"
	"github.com/bridgedpos/bridged/internal/simulator"
)

// cmdDemo runs the whole daemon against a built-in simulator with a temporary
// data dir and a fresh API key: the newcomer's first command. With -c FILE it
// tries that config instead: its mode, terminals, API keys and limits, with a
// temporary data dir and the simulator in iyzico's place (its credentials are
// never used). The simulator is reachable only through this verb and
// cmd/iyzico-sim, never from `run`.
func (a *app) cmdDemo(ctx context.Context, args []string) error {
	var d demo
	var mode string
	if _, err := a.ops().Flags("demo", args, func(fs *flag.FlagSet) {
		fs.StringVar(&d.listen, "listen", "", "address for the ECR API (default 127.0.0.1:8470, or the config's listen with -c)")
		fs.StringVar(&mode, "mode", string(config.ModeVUK509), "vuk509 or vuk507 (without -c)")
		fs.StringVar(&d.path, "c", "", "try this config against the simulator (its data dir and iyzico credentials are not used)")
	}); err != nil {
		return err
	}
	var err error
	if d.dir, err = os.MkdirTemp("", "bridged-demo-"); err != nil {
		return fmt.Errorf("demo data dir: %w", err)
	}
	defer os.RemoveAll(d.dir)
	if d.path != "" {
		if d.own, err = a.demoOwnConfig(d.path); err != nil {
			return err
		}
	}
	if d.key, err = newAPIKey(); err != nil {
		return err
	}
	stop, err := d.startSimulator()
	if err != nil {
		return err
	}
	defer stop()
	cfg := d.config(config.Mode(mode))
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return runDaemon(ctx, cfg, a.stderr, func(addr string) { d.print(a.stdout, cfg, addr) })
}

// demo is one run of the demo verb: its flags, its data dir and key, and
// the simulator's address once it runs.
type demo struct {
	listen, path string
	own          *config.Config // the config of -c, if given
	dir, key     string
	simURL       string
}

// startSimulator starts the simulator on its own loopback port, playing
// iyzico for the demo's devices; a one-second card wait stands for the
// customer tapping the card.
func (d *demo) startSimulator() (stop func(), err error) {
	devices := []string{demoDevice}
	if d.own != nil {
		devices = nil
		for _, t := range d.own.Terminals {
			devices = append(devices, t.DeviceUniqueID)
		}
	}
	sim := simulator.New(simulator.Config{Devices: devices, CardWait: time.Second})
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo simulator: %w", err)
	}
	simSrv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = simSrv.Serve(simLn) }()
	d.simURL = "http://" + simLn.Addr().String()
	return func() { simSrv.Close() }, nil
}

// config is the daemon's config: -c's with the demo's data dir and the
// simulator, or the demo's own in the given mode.
func (d *demo) config(mode config.Mode) *config.Config {
	if d.own != nil {
		return demoWithConfig(d.own, d.dir, d.listen, d.simURL)
	}
	if d.listen == "" {
		d.listen = "127.0.0.1:8470"
	}
	return demoConfig(d.dir, d.listen, mode, d.key, d.simURL)
}

// print is the demo's welcome once the daemon listens on addr: the key to
// set and the lines to paste.
func (d *demo) print(w io.Writer, cfg *config.Config, addr string) {
	keyIntro := "In another terminal, set the API key (it has every scope: payments, read, operate):"
	keyLine := "  export BRIDGED_KEY=" + d.key + " BRIDGED_KEY_NAME=demo\n  (PowerShell: $env:BRIDGED_KEY = '" + d.key +
		"'; $env:BRIDGED_KEY_NAME = 'demo'. Windows cmd: set BRIDGED_KEY=" + d.key + ")"
	if d.own != nil {
		keyIntro = "In another terminal, set the API key of your ECR (the key of api.keys with the payments scope in " + d.path + "):"
		keyLine = "  export BRIDGED_KEY=<that key> BRIDGED_KEY_NAME=<its name>"
	}
	terminal := ""
	if len(cfg.Terminals) > 1 {
		terminal = cfg.Terminals[0].ID
	}
	fmt.Fprintf(w, `bridged demo is running (mode %s) against the iyzico simulator at %s.
  data dir: %s (removed on exit)
  status page: http://%s/ (log in with a key that has the read or operate scope)

%s

%s

then paste these lines, one after the other.

Take a card payment of 149.90 TRY (the simulated customer taps the card after a second):
  %s

Look it up by your reference:
  %s

Void it (the first line finds its id):
  %s
  %s

Watch every change as it happens (Ctrl-C ends it):
  %s

Amounts ending in .51 are declined by the bank. An amount ending in .52 times out on the device:
iyzico's own record of it is that timeout, so the sale stays unknown and lane-1 takes no new sale
until someone settles it with what the terminal's slip says, %s after the sale at the earliest:
POST /v1/payments/ID/settle with {"outcome":"declined","evidence":"slip: cancelled","by":"your name"},
or bridged tx settle (docs/operations.md, "When iyzico will never settle it").

Press Ctrl-C to stop.
`, cfg.Mode, d.simURL, d.dir, addr, keyIntro, keyLine,
		demoSaleCurl(cfg.Mode, addr, terminal), demoLookupCurl(addr), demoFindID(addr), demoVoidCurl(addr), demoEventsCurl(addr),
		cfg.Upstream.CardTimeout+2*time.Minute)
}

// demoOwnConfig loads a config for demo -c: every problem counts but those
// of what the demo replaces (the data dir, iyzico's address and credentials).
func (a *app) demoOwnConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path, a.getenv)
	if err != nil {
		return nil, err
	}
	var ps *config.Problems
	if errors.As(cfg.Validate(), &ps) {
		var kept config.Problems
		for _, p := range *ps {
			if !strings.HasPrefix(p.Path, "upstream.") && p.Path != "data_dir" {
				kept = append(kept, p)
			}
		}
		if len(kept) > 0 {
			return nil, fmt.Errorf("config %s: %w", path, &kept)
		}
	}
	return cfg, nil
}

// demoWithConfig is own with the demo's data dir and the simulator for iyzico.
func demoWithConfig(own *config.Config, dir, listen, simURL string) *config.Config {
	cfg := *own
	cfg.DataDir = dir
	if listen != "" {
		cfg.Listen = listen
	}
	cfg.Upstream.BaseURL = simURL
	cfg.Upstream.ClientID, cfg.Upstream.Username = "sim-client", "sim-user"
	cfg.Upstream.ClientSecret, cfg.Upstream.Password = config.NewSecret("sim-secret"), config.NewSecret("sim-password")
	cfg.Upstream.Locale = ""
	if cfg.Mode == config.ModeVUK507 && cfg.SaleApp.Name == "" {
		cfg.SaleApp = config.SaleApp{Name: "bridged-demo", Version: "1.0.0"}
	}
	cfg.Log.File = "" // the demo logs to the terminal
	return &cfg
}

// The demo's pasteable lines: POSIX shell (Linux, macOS, Git Bash) with the
// key in $BRIDGED_KEY, as docs/api.md writes them.

func demoSaleCurl(mode config.Mode, addr, terminal string) string {
	lane := ""
	if terminal != "" {
		lane = `,"terminal":"` + terminal + `"`
	}
	body := `{"amount":"149.90","reference":"ECR-000001"` + lane + `}`
	if mode == config.ModeVUK507 {
		body = `{"amount":"149.90","reference":"ECR-000001"` + lane + `,"document_type":"1","items":[{"name":"Coffee","quantity":1,"unit_price":"149.90","total":"149.90","tax_group_code":"1"}]}`
	}
	return fmt.Sprintf(`curl -s -X POST http://%s/v1/payments -H "Authorization: Bearer $BRIDGED_KEY" -H "Idempotency-Key: ECR-000001" -H "Content-Type: application/json" -d '%s'`, addr, body)
}

func demoLookupCurl(addr string) string {
	return fmt.Sprintf(`curl -s "http://%s/v1/payments?reference=ECR-000001" -H "Authorization: Bearer $BRIDGED_KEY"`, addr)
}

func demoFindID(addr string) string {
	return fmt.Sprintf(`ID=$(curl -s "http://%s/v1/payments?reference=ECR-000001&type=sale" -H "Authorization: Bearer $BRIDGED_KEY" | grep -o '"id":"op_[0-9a-f]*"' | head -n 1 | cut -d'"' -f4)`, addr)
}

func demoVoidCurl(addr string) string {
	return fmt.Sprintf(`curl -s -X POST "http://%s/v1/payments/$ID/void" -H "Authorization: Bearer $BRIDGED_KEY" -H "Idempotency-Key: ECR-000001-V" -H "Content-Type: application/json" -d '{"reason":"demo"}'`, addr)
}

func demoEventsCurl(addr string) string {
	return fmt.Sprintf(`curl -sN http://%s/v1/events -H "Authorization: Bearer $BRIDGED_KEY"`, addr)
}

// demoDevice is the simulator's device, iyzico's own example id.
const demoDevice = "PAV860047264"

func demoConfig(dir, listen string, mode config.Mode, key, upstreamURL string) *config.Config {
	cfg := config.Defaults()
	cfg.Listen = listen
	cfg.DataDir = dir
	cfg.Mode = mode
	cfg.API.Keys = []config.APIKey{{Name: "demo", Key: config.NewSecret(key), Scopes: config.Scopes}}
	cfg.Upstream.BaseURL = upstreamURL
	cfg.Upstream.ClientID = "sim-client"
	cfg.Upstream.ClientSecret = config.NewSecret("sim-secret")
	cfg.Upstream.Username = "sim-user"
	cfg.Upstream.Password = config.NewSecret("sim-password")
	cfg.Terminals = []config.Terminal{{ID: "lane-1", DeviceUniqueID: demoDevice}}
	cfg.SaleApp = config.SaleApp{Name: "bridged-demo", Version: "1.0.0"}
	cfg.Log.Level = config.ParseLogLevel("info")
	return &cfg
}

// newAPIKey returns 32 random bytes in hex: 64 characters.
func newAPIKey() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate API key: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
