package ossvc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kardianos/service"

	"github.com/bridgedpos/bridged/internal/config"
	"github.com/bridgedpos/bridged/internal/ossvc/ossvctest"
)

// fakeHost records every change install makes to the machine.
func fakeHost(log *[]string) Host {
	return Host{
		stdout: io.Discard,
		stderr: io.Discard,
		protectDataDir: func(dir string) error {
			*log = append(*log, "protect "+dir)
			return nil
		},
		executable: func() (string, error) { return "/usr/local/bin/bridged", nil },
		exists:     func(string) bool { return false },
		lookupGroup: func(name string) (int, error) {
			*log = append(*log, "lookup "+name)
			return 990, nil
		},
		run: func(name string, args ...string) error {
			*log = append(*log, name+" "+strings.Join(args, " "))
			return nil
		},
		shareConfig: func(path string, gid int) error {
			*log = append(*log, "share "+path)
			return nil
		},
		protectConfig: func(path string) error {
			*log = append(*log, "protect config "+path)
			return nil
		},
		prepareDataDir: func(dir string) error {
			*log = append(*log, "data dir "+dir)
			return nil
		},
	}
}

// fakeRoot is a machine's root for install and uninstall to write in.
func fakeRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"etc/systemd/system", "etc/init.d"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestServiceConfigRecoveryOptions(t *testing.T) {
	c := Config(`C:\ProgramData\bridged\bridged.yaml`)
	if c.Name != "bridged" || !reflect.DeepEqual(c.Arguments, []string{"run", "-c", `C:\ProgramData\bridged\bridged.yaml`}) {
		t.Errorf("name %q, arguments %q", c.Name, c.Arguments)
	}
	// kardianos/service hands Dependencies to the Windows SCM as service
	// names; a systemd line there would stop the service from ever starting.
	if len(c.Dependencies) != 0 {
		t.Errorf("Dependencies = %q, want none (the unit carries After=/Wants=)", c.Dependencies)
	}
	want := map[string]any{
		// Windows SCM: automatic start, restart 5 s after every crash.
		"StartType":              "automatic",
		"DelayedAutoStart":       false,
		"OnFailure":              "restart",
		"OnFailureDelayDuration": "5s",
		"OnFailureResetPeriod":   86400,
		// systemd
		"Restart":       "on-failure",
		"SystemdScript": systemdUnit,
	}
	if !reflect.DeepEqual(map[string]any(c.Option), want) {
		t.Errorf("options:\n got %v\nwant %v", c.Option, want)
	}
	// The delay must parse the way kardianos/service parses it.
	if d, err := time.ParseDuration(c.Option["OnFailureDelayDuration"].(string)); err != nil || d != 5*time.Second {
		t.Errorf("OnFailureDelayDuration: %v %v", d, err)
	}
	if run := Config(""); !reflect.DeepEqual(run.Arguments, []string{"run"}) {
		t.Errorf("without a config: %q", run.Arguments)
	}
}

func TestWindowsInstallOrder(t *testing.T) {
	cfg := &config.Config{DataDir: `C:\ProgramData\bridged`, Log: config.Log{File: `C:\ProgramData\bridged\logs\bridged.log`}}
	var log []string
	var errOut bytes.Buffer
	h := fakeHost(&log)
	h.stderr = &errOut
	if err := h.Install(ossvctest.On(windowsPlatform, &log), cfg, `C:\ProgramData\bridged\bridged.yaml`); err != nil {
		t.Fatal(err)
	}
	if want := []string{`protect C:\ProgramData\bridged`, `protect config C:\ProgramData\bridged\bridged.yaml`, "Install"}; !reflect.DeepEqual(log, want) {
		t.Errorf("steps %q, want %q", log, want)
	}
	if errOut.Len() != 0 {
		t.Errorf("unexpected warning: %s", errOut.String())
	}

	// A failing ACL stops the install before the service exists.
	log = nil
	h.protectDataDir = func(string) error { return errors.New("access denied") }
	err := h.Install(ossvctest.On(windowsPlatform, &log), cfg, `C:\x.yaml`)
	if err == nil || len(log) != 0 {
		t.Errorf("err %v, steps %q", err, log)
	}
}

func TestProtectDataDirCreatesAPrivateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "bridged")
	if err := protectDataDir(dir); err != nil {
		t.Fatal(err)
	}
	if err := protectDataDir(dir); err != nil { // a reinstall
		t.Fatalf("second run: %v", err)
	}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		t.Fatal(err)
	}
	if isWindows() {
		return // the DACL is dataDirSDDL's; Unix modes do not apply
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("mode %v, want 0700", st.Mode().Perm())
	}
}

func TestDataDirSDDL(t *testing.T) {
	tests := []struct {
		account, want string
	}{
		{"", "D:PAI(A;OICI;FA;;;S-1-5-18)(A;OICI;FA;;;S-1-5-32-544)"},
		{"S-1-5-18", "D:PAI(A;OICI;FA;;;S-1-5-18)(A;OICI;FA;;;S-1-5-32-544)"},
		// A virtual service account (NT SERVICE\bridged), were the service to run as one.
		{"S-1-5-80-1-2-3-4-5", "D:PAI(A;OICI;FA;;;S-1-5-18)(A;OICI;FA;;;S-1-5-32-544)(A;OICI;FA;;;S-1-5-80-1-2-3-4-5)"},
	}
	for _, tt := range tests {
		got := dataDirSDDL(tt.account)
		if got != tt.want {
			t.Errorf("dataDirSDDL(%q) = %s, want %s", tt.account, got, tt.want)
		}
		// Protected (P): nothing inherited from %ProgramData%. Every entry
		// allows, inherits to files and directories, and names only the
		// accounts above: never Everyone, Users, Authenticated Users,
		// CREATOR OWNER.
		if !strings.HasPrefix(got, "D:P") {
			t.Errorf("%s: DACL not protected", got)
		}
		for _, ace := range regexp.MustCompile(`\(([^)]*)\)`).FindAllStringSubmatch(got, -1) {
			f := strings.Split(ace[1], ";")
			if len(f) != 6 || f[0] != "A" || f[1] != "OICI" || f[2] != "FA" {
				t.Errorf("unexpected entry %s", ace[0])
			}
			switch f[5] {
			case sidLocalSystem, sidAdministrators, tt.account:
			default:
				t.Errorf("entry for %s", f[5])
			}
		}
	}
}

func TestSystemdUnitMatchesPackagedUnit(t *testing.T) {
	packaged := readRepoFile(t, "packaging", "systemd", "bridged.service")
	if strings.Count(systemdUnit, unitExecTemplate) != 1 {
		t.Fatal("the unit template must have exactly one kardianos ExecStart line")
	}
	const packagedExec = "ExecStart=/usr/bin/bridged run -c /etc/bridged/bridged.yaml"
	got := strings.Replace(systemdUnit, unitExecTemplate, packagedExec, 1)
	if got != packaged {
		t.Errorf("packaging/systemd/bridged.service and systemdUnit differ; they must be the same unit.\n%s", lineDiff(packaged, got))
	}
	// The unit's directories and account are the ones install checks for.
	for _, want := range []string{"User=" + serviceUser, "StateDirectory=bridged", "LogsDirectory=bridged", "Restart=on-failure"} {
		if !strings.Contains(packaged, "\n"+want+"\n") {
			t.Errorf("unit lacks %s", want)
		}
	}
	// kardianos/service's template engine only knows these placeholders.
	if rest := strings.Replace(systemdUnit, unitExecTemplate, "", 1); strings.Contains(rest, "{{") {
		t.Error("the unit template has a placeholder besides ExecStart")
	}
}

func TestReadyNotifier(t *testing.T) {
	if ReadyNotifier(noEnv, io.Discard) != nil {
		t.Error("a callback without NOTIFY_SOCKET")
	}
	if isWindows() {
		t.Skip("no unix datagram sockets")
	}
	sock, ready := ossvctest.ListenNotify(t)
	notify := ReadyNotifier(func(k string) string {
		if k == "NOTIFY_SOCKET" {
			return sock
		}
		return ""
	}, io.Discard)
	notify("127.0.0.1:8470")
	if got := ossvctest.WaitDatagram(t, ready, "no READY=1"); got != "READY=1\nSTATUS=listening on 127.0.0.1:8470" {
		t.Errorf("sent %q", got)
	}

	// A socket that is gone is reported, not fatal.
	var errOut bytes.Buffer
	ReadyNotifier(func(string) string { return filepath.Join(t.TempDir(), "gone.sock") }, &errOut)("x")
	if !strings.Contains(errOut.String(), "sd_notify") {
		t.Errorf("no report of the failed notify: %q", errOut.String())
	}
}

func TestSystemdInstallCreatesTheAccount(t *testing.T) {
	skipUnlessLinux(t)
	cfg := &config.Config{DataDir: "/var/lib/bridged", Listen: "127.0.0.1:8471"}
	var log []string
	h := fakeHost(&log)
	h.root = fakeRoot(t)
	missing := true
	h.lookupGroup = func(name string) (int, error) {
		log = append(log, "lookup "+name)
		if missing {
			return 0, user.UnknownUserError(name)
		}
		return 990, nil
	}
	h.run = func(name string, args ...string) error {
		log = append(log, name+" "+strings.Join(args, " "))
		missing = false
		return nil
	}
	if err := h.Install(ossvctest.On(systemdPlatform, &log), cfg, "/etc/bridged/bridged.yaml"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"lookup bridged",
		"useradd " + strings.Join(useraddArgs(), " "),
		"lookup bridged",
		"share /etc/bridged/bridged.yaml",
		"data dir /var/lib/bridged",
		"Install",
		"systemctl enable bridged.socket",
	}
	if !reflect.DeepEqual(log, want) {
		t.Errorf("steps:\n got %q\nwant %q", log, want)
	}
	// The socket unit holds the config's port on both loopback addresses.
	sock, err := os.ReadFile(filepath.Join(h.root, systemdSocketPath))
	if err != nil || !strings.Contains(string(sock), "ListenStream=127.0.0.1:8471\n") || !strings.Contains(string(sock), "ListenStream=[::1]:8471\n") {
		t.Fatalf("bridged.socket: %v\n%s", err, sock)
	}

	// An existing account is used as it is.
	log = nil
	if err := h.Install(ossvctest.On(systemdPlatform, &log), cfg, "/etc/bridged/bridged.yaml"); err != nil {
		t.Fatal(err)
	}
	if want := []string{"lookup bridged", "share /etc/bridged/bridged.yaml", "data dir /var/lib/bridged", "Install", "systemctl enable bridged.socket"}; !reflect.DeepEqual(log, want) {
		t.Errorf("steps %q, want %q", log, want)
	}
}

// TestPostinstallCreatesTheSameAccount keeps the packages' useradd equal to
// `bridged install`'s.
func TestPostinstallCreatesTheSameAccount(t *testing.T) {
	script := readRepoFile(t, "packaging", "scripts", "postinstall.sh")
	args := useraddArgs()
	for i, a := range args {
		if strings.Contains(a, " ") {
			args[i] = `"` + a + `"`
		}
	}
	want := strings.Join(args, " ")
	if n := strings.Count(script, want); n != 2 { // with and without --prefix
		t.Errorf("postinstall.sh has %d useradd lines with %q, want 2", n, want)
	}
}

func TestSystemdInstallRefusesWhatTheUnitCannotRun(t *testing.T) {
	skipUnlessLinux(t)
	good := config.Config{DataDir: "/var/lib/bridged/", Listen: "127.0.0.1:8470"}
	tests := []struct {
		name     string
		exe, cfg string
		mutate   func(*config.Config)
		packaged bool
		want     []string // substrings, one per problem
	}{
		{"fine", "/usr/local/bin/bridged", "/etc/bridged/bridged.yaml", nil, false, nil},
		{"log file in the logs dir", "/usr/local/bin/bridged", "/etc/bridged/bridged.yaml",
			func(c *config.Config) { c.Log.File = "/var/log/bridged/bridged.log" }, false, nil},
		{"binary in a home", "/home/it/bridged", "/etc/bridged/bridged.yaml", nil, false, []string{"the binary is /home/it/bridged"}},
		{"config in root's home", "/usr/local/bin/bridged", "/root/bridged.yaml", nil, false, []string{"the config is /root/bridged.yaml"}},
		{"other data dir", "/usr/local/bin/bridged", "/etc/bridged/bridged.yaml",
			func(c *config.Config) { c.DataDir = "/srv/bridged" }, false, []string{"data_dir is /srv/bridged"}},
		{"look-alike data dir", "/usr/local/bin/bridged", "/etc/bridged/bridged.yaml",
			func(c *config.Config) { c.DataDir = "/var/lib/bridged2" }, false, []string{"data_dir is /var/lib/bridged2"}},
		{"log file elsewhere", "/usr/local/bin/bridged", "/etc/bridged/bridged.yaml",
			func(c *config.Config) { c.Log.File = "/var/log/bridged.log" }, false, []string{"log.file is /var/log/bridged.log"}},
		{"package installed", "/usr/local/bin/bridged", "/etc/bridged/bridged.yaml", nil, true, []string{"installed from the package"}},
		{"listen off loopback", "/usr/local/bin/bridged", "/etc/bridged/bridged.yaml",
			func(c *config.Config) { c.Listen = "0.0.0.0:8470" }, false, []string{"bridged.socket holds 127.0.0.1 and [::1]"}},
		{"all at once", "/home/it/bridged", "/home/it/bridged.yaml",
			func(c *config.Config) { c.DataDir = "/tmp/j" }, true, []string{"the binary", "the config", "data_dir", "package"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			if tt.mutate != nil {
				tt.mutate(&cfg)
			}
			exists := func(p string) bool { return tt.packaged && p == "/usr/lib/systemd/system/bridged.service" }
			probs := systemdInstallProblems(tt.exe, tt.cfg, &cfg, exists)
			if len(probs) != len(tt.want) {
				t.Fatalf("problems %q, want %d", probs, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(probs[i], w) {
					t.Errorf("problem %q lacks %q", probs[i], w)
				}
			}
		})
	}

	// Refused before anything on the machine changes.
	var log []string
	h := fakeHost(&log)
	h.executable = func() (string, error) { return "/home/it/bridged", nil }
	err := h.Install(ossvctest.On(systemdPlatform, &log), &good, "/etc/bridged/bridged.yaml")
	if err == nil || !strings.Contains(err.Error(), "ProtectHome") || len(log) != 0 {
		t.Errorf("err %v, steps %q", err, log)
	}
}

// TestSystemdSocketMatchesPackagedSocket keeps packaging/systemd/bridged.socket
// equal to what `bridged install` writes for port 8470.
func TestSystemdSocketMatchesPackagedSocket(t *testing.T) {
	packaged := readRepoFile(t, "packaging", "systemd", "bridged.socket")
	if got := systemdSocket("8470"); got != packaged {
		t.Errorf("packaging/systemd/bridged.socket and systemdSocket(\"8470\") differ.\n%s", lineDiff(packaged, got))
	}
	unit := readRepoFile(t, "packaging", "systemd", "bridged.service")
	for _, want := range []string{"Requires=bridged.socket", "After=network-online.target bridged.socket"} {
		if !strings.Contains(unit, "\n"+want+"\n") {
			t.Errorf("bridged.service lacks %s", want)
		}
	}
}

// TestInstallWithoutSystemd: on a Linux whose service manager is not systemd
// (here a fake one that says SysV), install refuses with the reason and
// changes nothing; uninstall removes the SysV script and every rc link an
// older install left; status explains its "unknown".
func TestInstallWithoutSystemd(t *testing.T) {
	for _, platform := range []string{"unix-systemv", "linux-upstart", "linux-openrc"} {
		t.Run(platform, func(t *testing.T) {
			var log []string
			h := fakeHost(&log)
			h.root = fakeRoot(t)
			cfg := &config.Config{DataDir: "/var/lib/bridged", Listen: "127.0.0.1:8470"}
			err := h.Install(ossvctest.On(platform, &log), cfg, "/etc/bridged/bridged.yaml")
			if err == nil || !strings.Contains(err.Error(), "does not run systemd") || !strings.Contains(err.Error(), platform) ||
				!strings.Contains(err.Error(), "Nothing was changed") {
				t.Fatalf("install: %v", err)
			}
			if len(log) != 0 {
				t.Fatalf("install changed the machine: %q", log)
			}
			if entries, _ := os.ReadDir(filepath.Join(h.root, "etc", "systemd", "system")); len(entries) != 0 {
				t.Fatalf("install wrote %v", entries)
			}
			if st := StatusText(platform, service.StatusUnknown, errors.New("exit status 3")); !strings.Contains(st, "unknown: this Linux does not run systemd") {
				t.Errorf("status: %q", st)
			}
		})
	}
}

// TestUninstallRemovesSysVLeftovers: what kardianos/service's SysV install
// (an older bridged) left behind: the script and seven rc links. Uninstall
// removes all of them, and only them.
func TestUninstallRemovesSysVLeftovers(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SysV init scripts and their rc links are Unix's")
	}
	var log []string
	h := fakeHost(&log)
	h.root = fakeRoot(t)
	var out bytes.Buffer
	h.stdout = &out
	script := filepath.Join(h.root, sysvScript)
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var links []string
	for _, l := range []string{"rc2.d/S50bridged", "rc3.d/S50bridged", "rc4.d/S50bridged", "rc5.d/S50bridged",
		"rc0.d/K02bridged", "rc1.d/K02bridged", "rc6.d/K02bridged"} {
		p := filepath.Join(h.root, "etc", l)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.Symlink(sysvScript, p); err != nil {
			t.Fatal(err)
		}
		links = append(links, p)
	}
	other := filepath.Join(h.root, "etc", "rc2.d", "S20otherd")
	if err := os.Symlink("/etc/init.d/otherd", other); err != nil {
		t.Fatal(err)
	}
	sysv := &sysvFake{Service: &ossvctest.Service{}, script: script}
	if err := h.Uninstall(sysv); err != nil {
		t.Fatal(err)
	}
	for _, l := range append(links, script) {
		if _, err := os.Lstat(l); err == nil {
			t.Errorf("uninstall left %s", strings.TrimPrefix(l, h.root))
		}
	}
	if _, err := os.Lstat(other); err != nil {
		t.Error("uninstall removed another service's link")
	}
	if n := strings.Count(out.String(), "removed /etc/rc"); n != 7 {
		t.Errorf("uninstall reported %d links:\n%s", n, out.String())
	}
}

// sysvFake is kardianos/service's SysV manager: Uninstall removes the script only.
type sysvFake struct {
	*ossvctest.Service
	script string
}

func (s *sysvFake) Platform() string { return "unix-systemv" }

func (s *sysvFake) Uninstall() error { return os.Remove(s.script) }

// TestSystemdUninstallRemovesTheSocket: uninstall takes away what install
// wrote beside the service unit.
func TestSystemdUninstallRemovesTheSocket(t *testing.T) {
	var log []string
	h := fakeHost(&log)
	h.root = fakeRoot(t)
	sock := filepath.Join(h.root, systemdSocketPath)
	if err := os.WriteFile(sock, []byte(systemdSocket("8470")), 0o644); err != nil {
		t.Fatal(err)
	}
	svc := ossvctest.On(systemdPlatform, &log)
	if err := h.Uninstall(svc); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); err == nil {
		t.Error("bridged.socket left behind")
	}
	if want := []string{"systemctl disable --now bridged.socket"}; !reflect.DeepEqual(log, want) || strings.Join(svc.Calls, ",") != "Uninstall" {
		t.Errorf("steps %q, calls %v", log, svc.Calls)
	}
}

func TestOtherPlatformsOnlyRegister(t *testing.T) {
	var log []string
	h := fakeHost(&log)
	cfg := &config.Config{DataDir: "/srv/anything"}
	if err := h.Install(ossvctest.On("darwin-launchd", &log), cfg, "/x.yaml"); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(log, []string{"Install"}) {
		t.Errorf("steps %q", log)
	}
}

func TestWithin(t *testing.T) {
	for _, tt := range []struct {
		path, dir string
		want      bool
	}{
		{"/home", "/home", true},
		{"/home/x/y", "/home", true},
		{"/homer/x", "/home", false},
		{"/var/log/bridged/../x.log", "/var/log/bridged", false},
		{"/usr/bin/bridged", "/home", false},
	} {
		if got := within(tt.path, tt.dir); got != tt.want {
			t.Errorf("within(%s, %s) = %v", tt.path, tt.dir, got)
		}
	}
}

func isWindows() bool { return filepath.Separator == '\\' }

// skipUnlessLinux skips a test of the systemd install path elsewhere:
// `bridged install` takes that path only on Linux, and its checks compare
// Linux paths (/var/lib/bridged) with path/filepath, which on Windows turns
// them into \var\lib\bridged.
func skipUnlessLinux(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("systemd install is Linux only: its path checks are Linux paths")
	}
}

func readRepoFile(t *testing.T, parts ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"..", ".."}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lineDiff shows the first differing line of two texts.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n  file:     " + wl + "\n  template: " + gl
		}
	}
	return ""
}

// TestRunUnderServiceManager drives the path systemd and the SCM take: Run
// calls program.Start, which must return while the daemon keeps running, and
// Stop, which must return only after the daemon has drained.
func TestRunUnderServiceManager(t *testing.T) {
	started := make(chan struct{})
	drained := make(chan struct{})
	p := NewProgram(func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		close(drained)
		return nil
	}, func(int) { t.Error("exit called on a clean stop") }, io.Discard, "test")
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	<-started
	if err := p.Stop(nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-drained:
	default:
		t.Fatal("Stop returned before the daemon drained")
	}
}

func TestProgramExitsWhenDaemonFails(t *testing.T) {
	exited := make(chan int, 1)
	p := NewProgram(func(context.Context) error { return errors.New("store broke") },
		func(code int) { exited <- code }, io.Discard, "test")
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	if code := <-exited; code != 1 {
		t.Fatalf("exit code %d", code)
	}
}
