// Package ossvc is bridged as an operating-system service: the
// kardianos/service program adapter and the service's description (recovery
// actions, the hardened systemd unit and its socket), what install and
// uninstall change on the machine (the service account, the data directory's
// ACL on Windows, the MSI's registered service), systemd's readiness
// notification and socket activation, the listener that no other program
// may share, and the Wine test build's session fix. Per-OS code is in
// _windows, _linux and _other files, as AdGuard Home's internal/ossvc.
// It is handed what it needs (writers, the exit function, the version, the
// loaded config); it parses no flags and imports no other bridged package
// than config.
package ossvc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/kardianos/service"
)

const serviceName = "bridged"

// stopTimeout bounds how long Stop waits for the daemon to drain before it
// reports the service stopped anyway (the SCM gives a service about 20 s).
const stopTimeout = 15 * time.Second

// Config describes the service to systemd or the Windows SCM. The
// recovery options make the manager restart bridged after a crash; journaled
// operations are resolved on the next start.
func Config(configPath string) *service.Config {
	args := []string{"run"}
	if configPath != "" {
		args = append(args, "-c", configPath)
	}
	return &service.Config{
		Name:        serviceName,
		DisplayName: "bridged payment bridge",
		Description: "Connects the cash register to card terminals through the iyzico Terminal API.",
		Arguments:   args,
		// No Dependencies: kardianos/service also hands them to the Windows
		// SCM, as names of services to start first; "After=network-online.target"
		// names none, and the SCM refuses to start a service whose dependency
		// does not exist. The systemd ordering is in systemdUnit.
		Option: service.KeyValue{
			// systemd: our hardened unit. Restart is what it says too.
			"SystemdScript": systemdUnit,
			"Restart":       "on-failure",
			// Windows SCM: start at boot without the delayed-start queue
			// (the cashier's first sale can come a minute after power-on),
			// and restart 5 s after every crash. The SCM repeats the last
			// recovery action for every later failure; the failure count
			// resets after a day without one.
			"StartType":              "automatic",
			"DelayedAutoStart":       false,
			"OnFailure":              "restart",
			"OnFailureDelayDuration": "5s",
			"OnFailureResetPeriod":   86400,
		},
	}
}

// Program adapts the daemon to kardianos/service: Start returns at once with
// the daemon running in the background; Stop cancels it and waits for the drain.
type Program struct {
	daemon  func(context.Context) error
	exit    func(int)
	stderr  io.Writer
	version string // for the service manager's log

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func NewProgram(daemon func(context.Context) error, exit func(int), stderr io.Writer, version string) *Program {
	return &Program{daemon: daemon, exit: exit, stderr: stderr, version: version}
}

// systemLog is the service manager's own log: the Windows Event Log under
// the SCM, syslog/journald under systemd. It records start, stop and
// failure, which an operator looks for there first. nil when unavailable.
func systemLog(s service.Service) service.Logger {
	if s == nil {
		return nil
	}
	l, err := s.SystemLogger(nil)
	if err != nil {
		return nil
	}
	return l
}

func (p *Program) Start(s service.Service) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil {
		return errors.New("already started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	slog := systemLog(s)
	if slog != nil {
		_ = slog.Info("bridged service started (version " + p.version + ")")
	}
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
			if slog != nil {
				_ = slog.Error("bridged service failed and will be restarted by the service manager: " + err.Error())
			}
			p.exit(1)
		}
	}()
	return nil
}

func (p *Program) Stop(s service.Service) error {
	if slog := systemLog(s); slog != nil {
		defer func() { _ = slog.Info("bridged service stopped") }()
	}
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

// StartTimeout is how long an install waits for the service it
// started to report running: what Windows Installer's ServiceControl
// Wait="yes" allows (30 s), doubled for a slow disk's journal recovery.
const StartTimeout = 60 * time.Second

// StartAndWait starts svc and waits until the service manager reports it
// running. A service that stops instead (a port held by another program, a
// data dir it may not write) is an error naming where to look.
func StartAndWait(svc service.Service, timeout time.Duration) error {
	if err := svc.Start(); err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := svc.Status()
		if err == nil && st == service.StatusRunning {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("not running after %s: %w", timeout, err)
			}
			return fmt.Errorf("not running after %s (see the log file and the Event Log, source bridged)", timeout)
		}
		<-tick.C
	}
}

// StatusText is the service manager's answer in words; "unknown" always
// says why.
func StatusText(platform string, st service.Status, err error) string {
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		return "not installed (register it with: bridged install -c FILE)"
	case err == nil && st == service.StatusRunning:
		return "running"
	case err == nil && st == service.StatusStopped:
		return "stopped"
	case linuxWithoutSystemd(platform):
		return "unknown: this Linux does not run systemd (the service manager found is " + platform +
			"); bridged installs as a systemd service only, so no service manager runs it here"
	case err != nil:
		return "unknown: the service manager (" + platform + ") did not say: " + err.Error()
	}
	return "unknown: the service manager (" + platform + ") gave no state"
}
