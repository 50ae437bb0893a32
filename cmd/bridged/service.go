package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	"github.com/kardianos/service"
)

const serviceName = "bridged"

// stopTimeout bounds how long Stop waits for the daemon to drain before it
// reports the service stopped anyway (the SCM gives a service about 20 s).
const stopTimeout = 15 * time.Second

// serviceConfig describes the service to systemd or the Windows SCM. The
// recovery options make the manager restart bridged after a crash; journaled
// operations are resolved on the next start.
func serviceConfig(configPath string) *service.Config {
	args := []string{"run"}
	if configPath != "" {
		args = append(args, "-c", configPath)
	}
	return &service.Config{
		Name:        serviceName,
		DisplayName: "bridged payment bridge",
		Description: "Connects the cash register to card terminals through the iyzico Terminal API.",
		Arguments:   args,
		Dependencies: []string{
			"After=network-online.target",
			"Wants=network-online.target",
		},
		Option: service.KeyValue{
			// systemd
			"Restart": "on-failure",
			// Windows SCM
			"StartType":              "automatic",
			"DelayedAutoStart":       true,
			"OnFailure":              "restart",
			"OnFailureDelayDuration": "5s",
			"OnFailureResetPeriod":   86400,
		},
	}
}

// program adapts the daemon to kardianos/service: Start returns at once with
// the daemon running in the background; Stop cancels it and waits for the drain.
type program struct {
	daemon func(context.Context) error
	exit   func(int)
	stderr io.Writer

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func newProgram(daemon func(context.Context) error, exit func(int), stderr io.Writer) *program {
	return &program{daemon: daemon, exit: exit, stderr: stderr}
}

func (p *program) Start(service.Service) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil {
		return errors.New("already started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go func() {
		err := p.daemon(ctx)
		p.mu.Lock()
		p.err = err
		stopping := ctx.Err() != nil
		p.mu.Unlock()
		close(p.done)
		if err != nil && !stopping {
			// The daemon failed on its own: exit non-zero so the service
			// manager's recovery action (restart) applies.
			fmt.Fprintln(p.stderr, "bridged: daemon failed:", err)
			p.exit(1)
		}
	}()
	return nil
}

func (p *program) Stop(service.Service) error {
	p.mu.Lock()
	cancel, done := p.cancel, p.done
	p.mu.Unlock()
	if done == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
	case <-time.After(stopTimeout):
		return fmt.Errorf("daemon did not stop within %s", stopTimeout)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// cmdService runs install, uninstall, start, stop, restart and status.
func (a *app) cmdService(verb string, args []string) error {
	var path string
	if _, err := a.flags(verb, args, configFlag(&path)); err != nil {
		return err
	}
	if verb == "install" {
		// Never install a service that would fail at its first start.
		if _, err := a.loadConfig(path); err != nil {
			return err
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return fmt.Errorf("config path: %w", err)
		}
		path = abs
	}
	svc, err := a.newService(newProgram(nil, a.exit, a.stderr), serviceConfig(path))
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	switch verb {
	case "install":
		err = svc.Install()
	case "uninstall":
		err = svc.Uninstall()
	case "start":
		err = svc.Start()
	case "stop":
		err = svc.Stop()
	case "restart":
		err = svc.Restart()
	case "status":
		st, serr := svc.Status()
		fmt.Fprintf(a.stdout, "bridged service: %s\n", statusText(st, serr))
		if serr != nil && !errors.Is(serr, service.ErrNotInstalled) {
			return fmt.Errorf("service status: %w", serr)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("service %s: %w", verb, err)
	}
	fmt.Fprintf(a.stdout, "bridged service: %s done\n", verb)
	return nil
}

func statusText(st service.Status, err error) string {
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		return "not installed"
	case err != nil:
		return "unknown"
	case st == service.StatusRunning:
		return "running"
	case st == service.StatusStopped:
		return "stopped"
	}
	return "unknown"
}
