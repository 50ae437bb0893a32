package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/bridgedpos/bridged/internal/config"
	"github.com/bridgedpos/bridged/internal/metrics"
	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/store"
	"github.com/bridgedpos/bridged/internal/upstream"
)

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
	log, closeLog, err := newLogger(config.Log{Level: "warn", Format: "console"}, stderr)
	if err != nil {
		return nil, err
	}
	defer closeLog.Close()
	client, err := upstream.New(upstreamConfig(cfg, log), st)
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	// The token owner, as in the daemon: the status query needs a token.
	runCtx, stop := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- client.Run(runCtx) }()
	defer func() { stop(); <-stopped }()
	gw := upstream.NewGateway(client, payment.Mode(cfg.Mode), upstream.SaleApp{Name: cfg.SaleApp.Name, Version: cfg.SaleApp.Version})
	svc, err := newPaymentService(cfg, st, gw, log, metrics.New(), func(o *payment.Options) {
		o.SettleByWallClock = true
		if adjust != nil {
			adjust(o)
		}
	})
	if err != nil {
		return nil, err
	}
	if err := svc.Recover(ctx); err != nil {
		return nil, err
	}
	return apply(svc)
}
