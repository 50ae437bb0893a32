package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/bridgedpos/bridged/internal/config"
	"github.com/bridgedpos/bridged/internal/simulator"
)

// cmdDemo runs the whole daemon against a built-in simulator with a temporary
// data dir and a fresh API key: the newcomer's first command. The simulator is
// reachable only through this verb and cmd/iyzico-sim, never from `run`.
func (a *app) cmdDemo(ctx context.Context, args []string) error {
	var listen, mode string
	if _, err := a.flags("demo", args, func(fs *flag.FlagSet) {
		fs.StringVar(&listen, "listen", "127.0.0.1:8470", "address for the ECR API")
		fs.StringVar(&mode, "mode", string(config.ModeVUK509), "vuk509 or vuk507")
	}); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "bridged-demo-")
	if err != nil {
		return fmt.Errorf("demo data dir: %w", err)
	}
	defer os.RemoveAll(dir)

	key, err := newAPIKey()
	if err != nil {
		return err
	}
	// The simulator listens on its own loopback port and plays iyzico; a
	// one-second card wait stands for the customer tapping the card.
	sim := simulator.New(simulator.Config{Devices: []string{demoDevice}, CardWait: time.Second})
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo simulator: %w", err)
	}
	simSrv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = simSrv.Serve(simLn) }()
	defer simSrv.Close()
	simURL := "http://" + simLn.Addr().String()

	cfg := demoConfig(dir, listen, config.Mode(mode), key, simURL)
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return runDaemon(ctx, cfg, a.stderr, func(addr string) {
		fmt.Fprintf(a.stdout, `bridged demo is running (mode %s) against the iyzico simulator at %s.
  data dir: %s (removed on exit)
  status page: http://%s/ (log in with the key below)

In another terminal, set the API key (it has every scope: payments, read, operate):

  export BRIDGED_KEY=%s
  (PowerShell: $env:BRIDGED_KEY = '%s'; Windows cmd: set BRIDGED_KEY=%s)

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

Amounts ending in .51 are declined by the bank, .52 time out on the device. Press Ctrl-C to stop.
`, cfg.Mode, simURL, dir, addr, key, key, key,
			demoSaleCurl(cfg.Mode, addr), demoLookupCurl(addr), demoFindID(addr), demoVoidCurl(addr), demoEventsCurl(addr))
	})
}

// The demo's pasteable lines: POSIX shell (Linux, macOS, Git Bash) with the
// key in $BRIDGED_KEY, as docs/api.md writes them.

func demoSaleCurl(mode config.Mode, addr string) string {
	body := `{"amount":"149.90","reference":"ECR-000001"}`
	if mode == config.ModeVUK507 {
		body = `{"amount":"149.90","reference":"ECR-000001","document_type":"1","items":[{"name":"Coffee","quantity":1,"unit_price":"149.90","total":"149.90","tax_group_code":"1"}]}`
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
	cfg.Log.Level = "info"
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
