package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kardianos/service"

	"github.com/bridgedpos/bridged/internal/config"
)

const serviceName = "bridged"

// stopTimeout bounds how long Stop waits for the daemon to drain before it
// reports the service stopped anyway (the SCM gives a service about 20 s).
const stopTimeout = 15 * time.Second

// The systemd service account and the directories the hardened unit lets it
// write. The .deb/.rpm and `bridged install` create the same account.
const (
	serviceUser      = "bridged"
	systemdStateDir  = "/var/lib/bridged"
	systemdLogsDir   = "/var/log/bridged"
	systemdPlatform  = "linux-systemd"   // kardianos/service's name for systemd
	windowsPlatform  = "windows-service" // and for the Windows SCM
	unitExecTemplate = `ExecStart={{Path | cmdEscape}}{{range Arguments}} {{. | cmd}}{{end}}`
)

// systemdUnit is the unit `bridged install` writes on systemd. It is
// packaging/systemd/bridged.service (what the .deb and .rpm install) with
// kardianos/service's ExecStart line, so both install paths give the same
// service; TestSystemdUnitMatchesPackagedUnit keeps the two in sync.
const systemdUnit = `# bridged as a systemd service: the same unit comes with the .deb/.rpm
# (/usr/lib/systemd/system/bridged.service) and from ` + "`bridged install`" + `
# (/etc/systemd/system/bridged.service). Change settings with
# ` + "`systemctl edit bridged`" + ` (a drop-in), not in this file.
[Unit]
Description=bridged payment bridge (cash register to iyzico card terminals)
Documentation=file:/usr/share/doc/bridged/install.md
After=network-online.target bridged.socket
Wants=network-online.target
# The API's sockets (127.0.0.1 and ::1 on its port) come from bridged.socket,
# which holds them while bridged restarts or is upgraded: no other program
# can take the port the ECR calls.
Requires=bridged.socket
# Restart forever: RestartSec keeps the rate far below any start limit.
StartLimitIntervalSec=0

[Service]
Type=notify
User=bridged
Group=bridged
` + unitExecTemplate + `
# Secrets may live here instead of the YAML (BRIDGED_UPSTREAM_CLIENT_SECRET=...).
EnvironmentFile=-/etc/bridged/bridged.env
# A crash or a failed start is retried every 5 s. Whatever was in flight is
# in the journal and is resolved by a status query on the next start.
Restart=on-failure
RestartSec=5s
# bridged drains within 15 s of SIGTERM; after that systemd kills it.
TimeoutStopSec=30s

# The journal: /var/lib/bridged, owned by bridged, mode 0700. Log files (only
# when log.file is set): /var/log/bridged. Nothing else is writable.
StateDirectory=bridged
StateDirectoryMode=0700
LogsDirectory=bridged
LogsDirectoryMode=0750
UMask=0077

# Hardening: an unprivileged network daemon that writes only its own
# directories. Check with: systemd-analyze security bridged
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
DevicePolicy=closed
PrivateIPC=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
RemoveIPC=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
KeyringMode=private
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
`

// systemdSocketTemplate is bridged.socket, with %[1]s the port: the same
// unit comes with the .deb/.rpm (packaging/systemd/bridged.socket, port 8470)
// and from `bridged install` (the port of the config's listen).
// TestSystemdSocketMatchesPackagedSocket keeps the two in sync.
const systemdSocketTemplate = `# bridged's API sockets: systemd holds 127.0.0.1:%[1]s and [::1]:%[1]s for bridged.service
# (socket activation), also while bridged restarts or is upgraded, so that no
# other program can take the port the ECR calls. The same unit comes with the
# .deb/.rpm (/usr/lib/systemd/system/bridged.socket) and from ` + "`bridged install`" + `
# (/etc/systemd/system/bridged.socket). Another port: ` + "`systemctl edit bridged.socket`" + `
# with ListenStream= (empty, to drop these) and the new addresses, and the
# same port in listen of /etc/bridged/bridged.yaml. Without IPv6 on the host,
# list only the 127.0.0.1 address.
[Unit]
Description=bridged API sockets (127.0.0.1:%[1]s and [::1]:%[1]s)
Documentation=file:/usr/share/doc/bridged/install.md

[Socket]
ListenStream=127.0.0.1:%[1]s
ListenStream=[::1]:%[1]s
BindIPv6Only=ipv6-only
NoDelay=true
Service=bridged.service

[Install]
WantedBy=sockets.target
`

// systemdSocket is bridged.socket for port.
func systemdSocket(port string) string { return fmt.Sprintf(systemdSocketTemplate, port) }

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

func (p *program) Start(s service.Service) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil {
		return errors.New("already started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	slog := systemLog(s)
	if slog != nil {
		_ = slog.Info("bridged service started (version " + currentBuild().Version + ")")
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

func (p *program) Stop(s service.Service) error {
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

// cmdService runs install, uninstall, start, stop, restart and status.
func (a *app) cmdService(verb string, args []string) error {
	var path string
	var opts installOptions
	define := configFlag(&path)
	if verb == "install" {
		define = func(fs *flag.FlagSet) { configFlag(&path)(fs); opts.define(fs) }
	}
	if _, err := a.flags(verb, args, define); err != nil {
		return err
	}
	var cfg *config.Config
	var pending config.Problems
	if verb == "install" {
		opts.trim()
		src, err := opts.createConfig(path, os.Executable)
		if err != nil {
			return fmt.Errorf("config %s: %w", path, err)
		}
		if src != "" {
			fmt.Fprintf(a.stdout, "bridged service: created %s from %s\n", path, src)
		}
		// Never install a service that would fail at its first start, save
		// for one thing: the example's placeholders (iyzico's credentials),
		// which only the store can fill in. Then the service is installed
		// and not started, and the output says what is left to do.
		if cfg, pending, err = a.loadInstallConfig(path); err != nil {
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
		if opts.registered {
			svc = registeredService{svc, serviceConfig(path)}
		}
		err = osHost(a.stdout, a.stderr).install(svc, cfg, path)
	case "uninstall":
		// The data directory (the journal) and the config stay: an
		// uninstall or an upgrade must never lose a payment record.
		err = osHost(a.stdout, a.stderr).uninstall(svc)
	case "start", "restart":
		// A config that cannot run is said here, not in a service log.
		if path != "" {
			if _, err := a.loadConfig(path); err != nil {
				return err
			}
		}
		if verb == "start" {
			err = svc.Start()
		} else {
			err = svc.Restart()
		}
	case "stop":
		err = svc.Stop()
	case "status":
		st, serr := svc.Status()
		fmt.Fprintf(a.stdout, "bridged service: %s\n", statusText(svc.Platform(), st, serr))
		if serr != nil && !errors.Is(serr, service.ErrNotInstalled) {
			return fmt.Errorf("service status: %w", serr)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("service %s: %w", verb, err)
	}
	fmt.Fprintf(a.stdout, "bridged service: %s done\n", verb)
	if verb != "install" {
		return nil
	}
	if len(pending) > 0 {
		fmt.Fprintf(a.stdout, "bridged service: not started: %s still holds the example's placeholders:\n", path)
		for _, p := range pending {
			fmt.Fprintf(a.stdout, "  %s\n", p)
		}
		fmt.Fprintf(a.stdout, "Fill them in, check with: bridged check-config -c \"%s\"\nthen start the service: bridged start -c \"%s\"\n", path, path)
		return nil
	}
	if opts.registered {
		// The package's install starts the service once it is configured
		// (packaging/windows/bridged.wxs), and fails if it does not run.
		if err := startAndWait(svc, serviceStartTimeout); err != nil {
			return fmt.Errorf("service start: %w", err)
		}
		fmt.Fprintln(a.stdout, "bridged service: running")
	}
	return nil
}

// serviceStartTimeout is how long an install waits for the service it
// started to report running: what Windows Installer's ServiceControl
// Wait="yes" allows (30 s), doubled for a slow disk's journal recovery.
const serviceStartTimeout = 60 * time.Second

// startAndWait starts svc and waits until the service manager reports it
// running. A service that stops instead (a port held by another program, a
// data dir it may not write) is an error naming where to look.
func startAndWait(svc service.Service, timeout time.Duration) error {
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

// loadInstallConfig loads the config an install registers the service with.
// A config whose only problems are the example's placeholders is returned
// with them in pending; any other problem is an error.
func (a *app) loadInstallConfig(path string) (cfg *config.Config, pending config.Problems, err error) {
	if path == "" {
		return nil, nil, usageError{"-c FILE is required"}
	}
	cfg, err = config.Load(path, a.getenv)
	if err != nil {
		return nil, nil, err
	}
	verr := cfg.Validate()
	var ps *config.Problems
	switch {
	case verr == nil:
		return cfg, nil, nil
	case errors.As(verr, &ps) && ps.OnlyPlaceholders():
		return cfg, *ps, nil
	default:
		return nil, nil, fmt.Errorf("config %s: %w", path, verr)
	}
}

// host is what install changes on the machine besides registering the
// service, as functions so that tests can replace every one of them.
type host struct {
	stdout, stderr io.Writer
	// root is prepended to every system path install and uninstall write
	// themselves ("" on a real machine; a temporary directory in tests).
	root string
	// protectDataDir creates the data directory and limits it to SYSTEM and
	// Administrators (Windows; elsewhere it creates it with mode 0700).
	protectDataDir func(dir string) error
	executable     func() (string, error)
	exists         func(path string) bool
	// lookupGroup returns the service account's group id, or
	// user.UnknownUserError/UnknownGroupError when it does not exist.
	lookupGroup func(name string) (gid int, err error)
	run         func(name string, args ...string) error
	// shareConfig gives the service account's group read access to the config.
	shareConfig func(path string, gid int) error
	// protectConfig limits the config to SYSTEM and Administrators (Windows).
	protectConfig func(path string) error
	// prepareDataDir creates the systemd data dir owned by the service account, mode 0700.
	prepareDataDir func(dir string) error
}

func osHost(stdout, stderr io.Writer) host {
	return host{
		stdout:         stdout,
		stderr:         stderr,
		protectDataDir: protectDataDir,
		protectConfig:  protectConfigFile,
		prepareDataDir: func(dir string) error {
			if _, err := os.Stat(dir); err == nil {
				return nil // an existing data dir, with its journal, is never touched
			}
			u, err := user.Lookup(serviceUser)
			if err != nil {
				return err
			}
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			if err := os.Chown(dir, uid, gid); err != nil {
				return err
			}
			return os.Chmod(dir, 0o700)
		},
		executable: os.Executable,
		exists: func(path string) bool {
			_, err := os.Stat(path)
			return err == nil
		},
		lookupGroup: func(name string) (int, error) {
			if _, err := user.Lookup(name); err != nil {
				return 0, err
			}
			g, err := user.LookupGroup(name)
			if err != nil {
				return 0, err
			}
			return strconv.Atoi(g.Gid)
		},
		run: func(name string, args ...string) error {
			cmd := exec.Command(name, args...)
			cmd.Stdout, cmd.Stderr = stderr, stderr
			return cmd.Run()
		},
		shareConfig: func(path string, gid int) error {
			if err := os.Chown(path, -1, gid); err != nil {
				return err
			}
			return os.Chmod(path, 0o640)
		},
	}
}

// install prepares the machine for the platform's service manager, then
// registers the service. Each step is safe to repeat.
func (h host) install(svc service.Service, cfg *config.Config, configPath string) error {
	if linuxWithoutSystemd(svc.Platform()) {
		// kardianos/service would write a SysV script and rc links that run
		// bridged as root, unhardened, with none of the checks below.
		return fmt.Errorf("cannot install: this Linux does not run systemd (the service manager found is %s); "+
			"bridged installs as a systemd service only. Nothing was changed. On another init system, run "+
			"`bridged run -c %s` as an unprivileged user from it (see docs/install.md, \"Without systemd\")", svc.Platform(), configPath)
	}
	switch svc.Platform() {
	case windowsPlatform:
		// Before the service exists, so it never runs with an open journal
		// directory; existing files (an upgrade's journal) inherit the ACL.
		if err := h.protectDataDir(cfg.DataDir); err != nil {
			return fmt.Errorf("data dir %s: %w", cfg.DataDir, err)
		}
		fmt.Fprintf(h.stdout, "bridged service: data dir %s limited to SYSTEM and Administrators\n", cfg.DataDir)
		if err := h.protectConfig(configPath); err != nil {
			return fmt.Errorf("config %s: %w", configPath, err)
		}
		fmt.Fprintf(h.stdout, "bridged service: config %s limited to SYSTEM and Administrators\n", configPath)
		if cfg.Log.File == "" {
			fmt.Fprintln(h.stderr, "bridged: warning: log.file is empty; a Windows service has no console, so set it (e.g. C:\\ProgramData\\bridged\\logs\\bridged.log)")
		}
	case systemdPlatform:
		if err := h.prepareSystemd(cfg, configPath); err != nil {
			return err
		}
		if err := svc.Install(); err != nil {
			return err
		}
		// The socket unit is written first (the service requires it) and
		// enabled after, so that it is up at boot before anything can call.
		if err := h.run("systemctl", "enable", "bridged.socket"); err != nil {
			return fmt.Errorf("enable bridged.socket: %w", err)
		}
		return nil
	}
	return svc.Install()
}

// The files install writes beside the service unit, and what an older
// bridged install left on a Linux without systemd (kardianos/service's SysV
// script and its rc links).
const (
	systemdSocketPath = "/etc/systemd/system/bridged.socket"
	sysvScript        = "/etc/init.d/bridged"
)

// uninstall removes everything install wrote: the service registration, and
// under systemd the socket unit; it also removes the rc links of a SysV
// install, which kardianos/service leaves behind. The journal and the config
// stay.
func (h host) uninstall(svc service.Service) error {
	var errs []error
	if svc.Platform() == systemdPlatform {
		if _, err := os.Stat(h.root + systemdSocketPath); err == nil {
			if err := h.run("systemctl", "disable", "--now", "bridged.socket"); err != nil {
				errs = append(errs, fmt.Errorf("disable bridged.socket: %w", err))
			}
			if err := os.Remove(h.root + systemdSocketPath); err != nil {
				errs = append(errs, err)
			} else {
				fmt.Fprintf(h.stdout, "bridged service: removed %s\n", systemdSocketPath)
			}
		}
	}
	if err := svc.Uninstall(); err != nil {
		errs = append(errs, err)
	}
	var links []string
	if linuxWithoutSystemd(svc.Platform()) {
		links, _ = filepath.Glob(h.root + "/etc/rc[0-6S].d/[SK][0-9][0-9]bridged")
	}
	for _, l := range links {
		if target, err := os.Readlink(l); err == nil && (target == sysvScript || target == h.root+sysvScript) {
			if err := os.Remove(l); err != nil {
				errs = append(errs, err)
				continue
			}
			fmt.Fprintf(h.stdout, "bridged service: removed %s\n", strings.TrimPrefix(l, h.root))
		}
	}
	return errors.Join(errs...)
}

// prepareSystemd checks that the hardened unit can run this binary with this
// config, creates the service account, and lets it read the config.
func (h host) prepareSystemd(cfg *config.Config, configPath string) error {
	exe, err := h.executable()
	if err != nil {
		return fmt.Errorf("executable: %w", err)
	}
	if probs := systemdInstallProblems(exe, configPath, cfg, h.exists); len(probs) > 0 {
		return fmt.Errorf("cannot install under systemd:\n  %s", strings.Join(probs, "\n  "))
	}
	gid, err := h.lookupGroup(serviceUser)
	var unknownUser user.UnknownUserError
	var unknownGroup user.UnknownGroupError
	if errors.As(err, &unknownUser) || errors.As(err, &unknownGroup) {
		if err := h.run("useradd", useraddArgs()...); err != nil {
			return fmt.Errorf("create the service account %s: %w", serviceUser, err)
		}
		fmt.Fprintf(h.stdout, "bridged service: created system user %s\n", serviceUser)
		gid, err = h.lookupGroup(serviceUser)
	}
	if err != nil {
		return fmt.Errorf("service account %s: %w", serviceUser, err)
	}
	if err := h.shareConfig(configPath, gid); err != nil {
		return fmt.Errorf("config %s: %w", configPath, err)
	}
	if err := h.prepareDataDir(cfg.DataDir); err != nil {
		return fmt.Errorf("data dir %s: %w", cfg.DataDir, err)
	}
	_, port, _ := net.SplitHostPort(cfg.Listen)
	if err := os.WriteFile(h.root+systemdSocketPath, []byte(systemdSocket(port)), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", systemdSocketPath, err)
	}
	fmt.Fprintf(h.stdout, "bridged service: wrote %s (127.0.0.1:%s and [::1]:%s)\n", systemdSocketPath, port, port)
	return nil
}

// useraddArgs create the service account, as the packages' postinstall does:
// a system user and group with no login shell and no home of its own.
func useraddArgs() []string {
	return []string{"--system", "--user-group", "--home-dir", systemdStateDir, "--no-create-home",
		"--shell", "/usr/sbin/nologin", "--comment", "bridged payment bridge", serviceUser}
}

// systemdInstallProblems lists what would stop the hardened unit from
// running: ProtectHome hides /home and /root, and only the state and logs
// directories are writable. It also refuses to shadow the packaged unit.
func systemdInstallProblems(exe, configPath string, cfg *config.Config, exists func(string) bool) []string {
	var probs []string
	for _, f := range []struct{ what, path string }{{"the binary", exe}, {"the config", configPath}} {
		for _, hidden := range []string{"/home", "/root", "/run/user"} {
			if within(f.path, hidden) {
				probs = append(probs, fmt.Sprintf("%s is %s, under %s, which the service cannot see (ProtectHome): "+
					"copy it to /usr/local/bin or /etc/bridged", f.what, f.path, hidden))
			}
		}
	}
	if filepath.Clean(cfg.DataDir) != systemdStateDir {
		probs = append(probs, fmt.Sprintf("data_dir is %s: the service can write only %s (its StateDirectory); "+
			"set data_dir: %s, or see docs/install.md for another directory", cfg.DataDir, systemdStateDir, systemdStateDir))
	}
	if cfg.Log.File != "" && !within(cfg.Log.File, systemdLogsDir) {
		probs = append(probs, fmt.Sprintf("log.file is %s: the service can write logs only under %s, "+
			"or leave it empty for the journal (journalctl -u bridged)", cfg.Log.File, systemdLogsDir))
	}
	if host, port, _ := net.SplitHostPort(cfg.Listen); port == "0" || !isLocalhostName(host) {
		probs = append(probs, fmt.Sprintf("listen is %s: bridged.socket holds 127.0.0.1 and [::1] on one fixed port; "+
			"use listen: 127.0.0.1:<port>, or see docs/install.md to listen elsewhere", cfg.Listen))
	}
	for _, unit := range []string{"/usr/lib/systemd/system/bridged.service", "/lib/systemd/system/bridged.service"} {
		if exists(unit) {
			probs = append(probs, fmt.Sprintf("%s exists: bridged is installed from the package; "+
				"use systemctl enable --now bridged instead", unit))
			break
		}
	}
	return probs
}

// linuxWithoutSystemd reports whether kardianos/service found a Linux
// service manager other than systemd (SysV init, Upstart, OpenRC, ...).
func linuxWithoutSystemd(platform string) bool {
	return platform == "unix-systemv" || (strings.HasPrefix(platform, "linux-") && platform != systemdPlatform)
}

// isLocalhostName: the hosts whose addresses bridged.socket holds.
func isLocalhostName(host string) bool {
	switch strings.ToLower(strings.Trim(host, "[]")) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, filepath.Clean(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// Well-known SIDs, the same on every Windows in every language.
const (
	sidLocalSystem    = "S-1-5-18"
	sidAdministrators = "S-1-5-32-544"
)

// dataDirSDDL is the security descriptor of the Windows data directory: a
// protected DACL (nothing inherited from %ProgramData%, where Users may read)
// granting full control to SYSTEM, Administrators and, when the service runs
// as another account, that account; to no one else. OICI makes every file
// and directory created below inherit it. The MSI sets it through
// `bridged install --registered` (packaging/windows/bridged.wxs).
func dataDirSDDL(serviceAccountSID string) string {
	sddl := "D:PAI(A;OICI;FA;;;" + sidLocalSystem + ")(A;OICI;FA;;;" + sidAdministrators + ")"
	if serviceAccountSID != "" && serviceAccountSID != sidLocalSystem {
		sddl += "(A;OICI;FA;;;" + serviceAccountSID + ")"
	}
	return sddl
}

// readyNotifier returns runDaemon's onReady callback for systemd: it sends
// READY=1 to $NOTIFY_SOCKET once the journal is recovered and the listener
// accepts, which is what a Type=notify unit waits for. It returns nil (no
// callback) when systemd did not ask.
func readyNotifier(getenv func(string) string, stderr io.Writer) func(addr string) {
	socket := getenv("NOTIFY_SOCKET")
	if socket == "" {
		return nil
	}
	return func(addr string) {
		if err := sdNotify(socket, "READY=1\nSTATUS=listening on "+addr); err != nil {
			fmt.Fprintln(stderr, "bridged: sd_notify:", err)
		}
	}
}

// sdNotify sends one state datagram to systemd (sd_notify(3)); a leading @
// names a socket in the abstract namespace.
func sdNotify(socket, state string) error {
	if strings.HasPrefix(socket, "@") {
		socket = "\x00" + socket[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write([]byte(state))
	return err
}

// statusText is the service manager's answer in words; "unknown" always
// says why.
func statusText(platform string, st service.Status, err error) string {
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
