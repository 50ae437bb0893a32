package ossvc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kardianos/service"

	"github.com/bridgedpos/bridged/internal/config"
)

// Host is what install changes on the machine besides registering the
// service, as functions so that tests can replace every one of them.
type Host struct {
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

// OSHost is the Host of this machine.
func OSHost(stdout, stderr io.Writer) Host {
	return Host{
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

// Install prepares the machine for the platform's service manager, then
// registers the service. Each step is safe to repeat.
func (h Host) Install(svc service.Service, cfg *config.Config, configPath string) error {
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

// Uninstall removes everything install wrote: the service registration, and
// under systemd the socket unit; it also removes the rc links of a SysV
// install, which kardianos/service leaves behind. The journal and the config
// stay.
func (h Host) Uninstall(svc service.Service) error {
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
func (h Host) prepareSystemd(cfg *config.Config, configPath string) error {
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

// LoadInstallConfig loads the config an install registers the service with.
// A config whose only problems are the example's placeholders is returned
// with them in pending; any other problem is an error.
func LoadInstallConfig(path string, getenv func(string) string) (cfg *config.Config, pending config.Problems, err error) {
	cfg, err = config.Load(path, getenv)
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
