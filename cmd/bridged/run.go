package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/kardianos/service"

	"github.com/bridgedpos/bridged/internal/config"
	"github.com/bridgedpos/bridged/internal/opscli"
	"github.com/bridgedpos/bridged/internal/ossvc"
	"github.com/bridgedpos/bridged/internal/payment"
)

const usage = `bridged connects cash-register software to card terminals through the iyzico Terminal API.

Usage:
  bridged demo [--listen ADDR] [--mode vuk509|vuk507] [-c FILE]   run against a built-in simulator (-c: your config)
  bridged run -c FILE                                  run in the foreground (what the service runs)
  bridged check-config -c FILE                         validate a config and print it with secrets masked
  bridged version                                      print version, commit and Go version
  bridged install -c FILE                              install the system service (systemd, Windows SCM)
  bridged uninstall|start|stop|restart                 manage the installed service
  bridged status [-c FILE]                             the service's state and the daemon's readiness
  bridged tx list [--status unknown] [--since 24h]     transactions (from the daemon, or the journal when stopped)
  bridged tx show ID|REFERENCE                         one transaction
  bridged tx resolve ID                                ask iyzico now for an unknown outcome
  bridged export --from DAY --to DAY [--format csv|jsonl] [-o NEW-FILE]   the journal, for accounting
  bridged doctor [-c FILE]                             check config, data dir, journal, network, login
  bridged backup -o FILE [-c FILE]                     a verified backup of the journal and its archives, while it runs
  bridged restore -i FILE [-c FILE | --data-dir DIR]   restore a backup into an empty data dir (service stopped)
  bridged verify [-c FILE] [--backup FILE]             check the journal's hash chain with its archives
  bridged compact [-c FILE] [--force]                  give the journal file's free pages back

Operator verbs read the config at -c FILE (default /etc/bridged/bridged.yaml; on Windows
%ProgramData%\bridged\bridged.yaml) to find the daemon and an API key; they sign every request
with the key and refuse any answer the daemon did not sign.
`

func exitCode(err error) int {
	var ue opscli.UsageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// app holds what the verbs need from the outside world, so tests can replace
// the service manager and the environment.
type app struct {
	getenv      func(string) string
	stdout      io.Writer
	stderr      io.Writer
	newService  func(service.Interface, *service.Config) (service.Service, error)
	interactive func() bool
	exit        func(int)
	// offlinePayment adjusts the payment service tx settle builds over the
	// journal when no daemon runs (tests: a shorter wait before settling).
	offlinePayment func(*payment.Options)
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	a := &app{
		getenv:      getenv,
		stdout:      stdout,
		stderr:      stderr,
		newService:  service.New,
		interactive: service.Interactive,
		exit:        os.Exit,
	}
	return a.main(ctx, args)
}

func (a *app) main(ctx context.Context, args []string) error {
	err := a.dispatch(ctx, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil // a verb's --help: its usage is printed
	}
	return err
}

func (a *app) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(a.stderr, usage)
		return opscli.UsageError{Msg: "no command given"}
	}
	verb, rest := args[0], args[1:]
	switch verb {
	case "run":
		return a.cmdRun(ctx, rest)
	case "demo":
		return a.cmdDemo(ctx, rest)
	case "check-config":
		return a.ops().CheckConfig(rest)
	case "version", "--version":
		return printVersion(a.stdout)
	case "install", "uninstall", "start", "stop", "restart":
		return a.ops().Service(verb, rest)
	case "status":
		return a.ops().Status(ctx, rest)
	case "tx":
		return a.ops().Tx(ctx, rest)
	case "export":
		return a.ops().Export(ctx, rest)
	case "doctor":
		return a.ops().Doctor(ctx, rest)
	case "backup":
		return a.ops().Backup(ctx, rest)
	case "restore":
		return a.ops().Restore(ctx, rest)
	case "verify":
		return a.ops().Verify(ctx, rest)
	case "compact":
		return a.ops().Compact(ctx, rest)
	case "help", "-h", "--help":
		fmt.Fprint(a.stdout, usage)
		return nil
	}
	fmt.Fprint(a.stderr, usage)
	return opscli.UsageError{Msg: fmt.Sprintf("unknown command %q", verb)}
}

// ops is the operator verbs' view of the app: exactly what they are handed.
func (a *app) ops() *opscli.CLI {
	return &opscli.CLI{
		Getenv: a.getenv, Stdout: a.stdout, Stderr: a.stderr,
		NewService: a.newService, Exit: a.exit, Version: currentBuild().Version,
		SettleOffline: func(ctx context.Context, cfg *config.Config, apply func(*payment.Service) (*payment.Operation, error)) (*payment.Operation, error) {
			return settleOffline(ctx, cfg, a.stderr, a.offlinePayment, apply)
		},
	}
}

func (a *app) cmdRun(ctx context.Context, args []string) error {
	var path string
	if _, err := a.ops().Flags("run", args, opscli.ConfigFlag(&path)); err != nil {
		return err
	}
	cfg, err := a.ops().LoadConfig(path)
	if err != nil {
		return err
	}
	// The config holds every credential and the data dir every payment:
	// no other user of this machine may read or change them.
	if probs := config.CheckAccess(path, cfg.DataDir); len(probs) > 0 {
		if !cfg.AllowOpenPermissions {
			return fmt.Errorf("refusing to start: %w", &probs)
		}
		for _, p := range probs {
			fmt.Fprintf(a.stderr, "bridged: warning (allow_open_permissions is set): %s\n", p)
		}
	}
	// Under systemd (Type=notify) readiness is sent once the journal is
	// recovered and the listener accepts; elsewhere the notifier is nil.
	ready := ossvc.ReadyNotifier(a.getenv, a.stderr)
	if a.interactive() {
		return runDaemon(ctx, cfg, a.stderr, ready)
	}
	// Started by systemd or the Windows SCM: hand control to the service
	// manager, which calls program.Start and program.Stop.
	prg := ossvc.NewProgram(func(ctx context.Context) error { return runDaemon(ctx, cfg, a.stderr, ready) }, a.exit, a.stderr, currentBuild().Version)
	svc, err := a.newService(prg, ossvc.Config(path))
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	return svc.Run()
}
