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
  API key:  %s

Take a card payment of 149.90 TRY (the simulated customer taps the card after a second):
  %s

Then look at it, the terminals, or the event stream:
  curl -s -H "Authorization: Bearer %s" http://%s/v1/payments
  curl -s -H "Authorization: Bearer %s" http://%s/v1/terminals
  curl -sN -H "Authorization: Bearer %s" http://%s/v1/events

Amounts ending in .51 are declined by the bank, .52 time out on the device. Press Ctrl-C to stop.
`, cfg.Mode, simURL, dir, key, demoSaleCurl(cfg.Mode, key, addr), key, addr, key, addr, key, addr)
	})
}

// demoSaleCurl is a first sale the newcomer can paste, for either mode.
func demoSaleCurl(mode config.Mode, key, addr string) string {
	body := `{"amount":"149.90","reference":"ECR-000001"}`
	if mode == config.ModeVUK507 {
		body = `{"amount":"149.90","reference":"ECR-000001","document_type":"1","items":[{"name":"Coffee","quantity":1,"unit_price":"149.90","total":"149.90","tax_group_code":"1"}]}`
	}
	return fmt.Sprintf(`curl -s -X POST http://%s/v1/payments -H "Authorization: Bearer %s" -H "Idempotency-Key: ECR-000001" -H "Content-Type: application/json" -d '%s'`, addr, key, body)
}

// demoDevice is the simulator's device, iyzico's own example id.
const demoDevice = "PAV860047264"

func demoConfig(dir, listen string, mode config.Mode, key, upstreamURL string) *config.Config {
	cfg := config.Defaults()
	cfg.Listen = listen
	cfg.DataDir = dir
	cfg.Mode = mode
	cfg.API.Keys = []config.APIKey{{Name: "demo", Key: config.NewSecret(key)}}
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
