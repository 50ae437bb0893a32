// Package opscli is bridged's operator verbs: status, tx list|show|resolve|
// settle|acknowledge, export, doctor, backup, restore, verify, compact, and
// the service verbs install|uninstall|start|stop|restart, with the signed
// client they talk to a running daemon through (or, when none runs, the
// journal itself). cmd/bridged dispatches to it and hands it exactly what it
// needs from the outside world (a CLI); opscli never wires a daemon: tx
// settle over the journal is a function cmd/bridged passes in. It reads the
// daemon's answers as internal/apitype's wire types, and shows the journal
// as the API would (internal/apiview); it never imports the server or chi.
package opscli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/kardianos/service"

	"github.com/bridgedpos/bridged/internal/config"
	"github.com/bridgedpos/bridged/internal/payment"
)

// CLI is what the operator verbs are handed by cmd/bridged.
type CLI struct {
	Getenv         func(string) string
	Stdout, Stderr io.Writer
	// NewService is kardianos/service's New (tests: a fake service manager).
	NewService func(service.Interface, *service.Config) (service.Service, error)
	// Exit ends the process (for the service program, which never runs here).
	Exit func(int)
	// Version is this build's version.
	Version string
	// SettleOffline runs apply on the payment service over the journal
	// itself, built as the daemon builds it, when no daemon runs.
	SettleOffline func(ctx context.Context, cfg *config.Config, apply func(*payment.Service) (*payment.Operation, error)) (*payment.Operation, error)
}

// UsageError is a mistake on the command line: exit code 2.
type UsageError struct{ Msg string }

func (e UsageError) Error() string { return e.Msg }

// Flags parses a verb's flags; -c/--config is common to most verbs.
func (a *CLI) Flags(name string, args []string, define func(*flag.FlagSet)) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(a.Stderr)
	if define != nil {
		define(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err // the usage went to stderr; asking for it is no mistake
		}
		return nil, UsageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return nil, UsageError{fmt.Sprintf("%s: unexpected argument %q", name, fs.Arg(0))}
	}
	return fs, nil
}

// ConfigFlag defines -c and --config, the path of the config file.
func ConfigFlag(path *string) func(*flag.FlagSet) {
	return func(fs *flag.FlagSet) {
		fs.StringVar(path, "c", "", "path to the YAML config file")
		fs.StringVar(path, "config", "", "path to the YAML config file")
	}
}

// LoadConfig loads and validates; every problem is reported together.
func (a *CLI) LoadConfig(path string) (*config.Config, error) {
	if path == "" {
		return nil, UsageError{"-c FILE is required"}
	}
	cfg, err := config.Load(path, a.Getenv)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// CheckConfig validates a config and prints it with its secrets masked.
func (a *CLI) CheckConfig(args []string) error {
	var path string
	if _, err := a.Flags("check-config", args, ConfigFlag(&path)); err != nil {
		return err
	}
	cfg, err := a.LoadConfig(path)
	if err != nil {
		return err
	}
	out, err := cfg.Masked()
	if err != nil {
		return fmt.Errorf("render config: %w", err)
	}
	// Who may read the file matters where it runs; say it here, refuse at run.
	for _, p := range config.CheckAccess(path, cfg.DataDir) {
		fmt.Fprintf(a.Stderr, "bridged: warning: %s (bridged run refuses to start so)\n", p)
	}
	fmt.Fprintf(a.Stdout, "# %s is valid: mode %s, %d terminal(s), listening on %s\n%s",
		path, cfg.Mode, len(cfg.Terminals), cfg.Listen, out)
	return nil
}
