package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/simulator"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr error
		check   func(t *testing.T, cfg simulator.Config, opts options)
	}{
		{"defaults", nil, nil, func(t *testing.T, cfg simulator.Config, opts options) {
			if opts.listen != "127.0.0.1:8471" || cfg.Devices != nil || cfg.DuplicateReferences != simulator.DuplicateReject ||
				cfg.AbandonOnCancel || cfg.OmitReturnedLines {
				t.Errorf("%+v %+v", cfg, opts)
			}
		}},
		{"everything", []string{
			"-listen", "127.0.0.1:0", "-client-id", "c", "-client-secret", "s", "-username", "u", "-password", "p",
			"-devices", "A, B", "-token-ttl", "60s", "-refresh-token-ttl", "1h", "-rotate-refresh-tokens",
			"-card-wait", "2s", "-slow-card-wait", "9s", "-continue-after-cancel=false", "-seed", "42",
			"-duplicate-references", "charge", "-accept-sale-type", "-strict-query-509",
			"-require-return-fields-on-sale", "-accept-decimal-strings", "-gmu-error-group", "-omit-returned-lines", "-quiet",
		}, nil, func(t *testing.T, cfg simulator.Config, opts options) {
			if cfg.ClientID != "c" || cfg.ClientSecret != "s" || cfg.Username != "u" || cfg.Password != "p" ||
				len(cfg.Devices) != 2 || cfg.Devices[1] != "B" || cfg.TokenTTL != time.Minute || cfg.RefreshTokenTTL != time.Hour ||
				!cfg.RotateRefreshTokens || cfg.CardWait != 2*time.Second || cfg.SlowCardWait != 9*time.Second ||
				!cfg.AbandonOnCancel || cfg.ContinueAfterCancel || cfg.Seed != 42 || cfg.DuplicateReferences != simulator.DuplicateCharge ||
				!cfg.AcceptSaleType || !cfg.StrictQuery509 || !cfg.RequireReturnFieldsOnSale || !cfg.AcceptDecimalStrings ||
				!cfg.GmuErrorGroup || !cfg.OmitReturnedLines || !opts.quiet {
				t.Errorf("%+v %+v", cfg, opts)
			}
		}},
		{"help", []string{"-h"}, flag.ErrHelp, nil},
		{"unknown flag", []string{"-nope"}, errUsage, nil},
		{"stray argument", []string{"serve"}, errUsage, nil},
		{"bad duplicate policy", []string{"-duplicate-references", "maybe"}, errUsage, nil},
		{"invalid devices", []string{"-devices", "A,,A"}, errUsage, nil},
		{"negative wait", []string{"-card-wait", "-1s"}, errUsage, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, opts, err := parseFlags(tt.args, io.Discard)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, cfg, opts)
			}
		})
	}
}

func TestCheckListen(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:0": true, "[::1]:8471": true, "localhost:1": true, "127.1.2.3:5": true,
		"0.0.0.0:8471": false, ":8471": false, "192.168.1.5:80": false, "nonsense": false,
	} {
		if err := checkListen(addr, false); (err == nil) != ok {
			t.Errorf("%s: %v", addr, err)
		}
	}
	if err := checkListen("0.0.0.0:0", true); err != nil {
		t.Errorf("-allow-remote: %v", err)
	}
}

func TestRunRefusesRemoteListen(t *testing.T) {
	err := run(context.Background(), []string{"-listen", "0.0.0.0:0"}, io.Discard, io.Discard)
	if !errors.Is(err, errUsage) || exitCode(err, io.Discard) != 2 {
		t.Fatalf("%v", err)
	}
}

// TestRunServesAndStops runs the command in-process: the first stdout line is
// the URL, and cancelling the context (as SIGINT does) stops it cleanly.
func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-quiet"}, outW, io.Discard)
		outW.Close()
	}()
	line, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "iyzico-sim listening on ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("first line %q", line)
	}
	c := newClient(t, url)
	c.login()
	cancel()
	if err := <-done; err != nil || exitCode(err, io.Discard) != 0 {
		t.Fatalf("run: %v", err)
	}
}

func TestExitCode(t *testing.T) {
	if exitCode(nil, io.Discard) != 0 || exitCode(flag.ErrHelp, io.Discard) != 0 ||
		exitCode(errUsage, io.Discard) != 2 || exitCode(errors.New("x"), io.Discard) != 1 {
		t.Fatal("exit codes")
	}
}
