package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bridgedpos/bridged/internal/ossvc"
	"github.com/bridgedpos/bridged/internal/ossvc/ossvctest"
	"github.com/kardianos/service"
)

// TestWindowsInstallProtectsTheDataDirFirst drives `bridged install -c` the
// way it runs on Windows, with a fake service manager: the data directory is
// created with its ACL before the service is registered with its recovery
// options, and uninstall leaves the journal where it is.
func TestWindowsInstallProtectsTheDataDirFirst(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "ProgramData", "bridged")
	path := writeConfig(t, validConfig(dataDir))

	var log []string
	fake := ossvctest.On("windows-service", &log) // kardianos/service's name for the Windows SCM
	var out, errOut bytes.Buffer
	a := testApp(noEnv, &out, &errOut)
	var cfg *service.Config
	a.newService = func(_ service.Interface, c *service.Config) (service.Service, error) {
		cfg = c
		return fake, nil
	}
	if err := a.main(context.Background(), []string{"install", "-c", path}); err != nil {
		t.Fatal(err)
	}
	// The real protectDataDir of this OS ran (on Windows: the DACL).
	st, err := os.Stat(dataDir)
	if err != nil || !st.IsDir() {
		t.Fatalf("data dir not created: %v", err)
	}
	if !strings.Contains(out.String(), "limited to SYSTEM and Administrators") {
		t.Errorf("install did not report the ACL:\n%s", out.String())
	}
	if cfg.Option["OnFailure"] != "restart" || cfg.Option["StartType"] != "automatic" || !filepath.IsAbs(cfg.Arguments[2]) {
		t.Errorf("service config: %+v", cfg)
	}
	if !strings.Contains(errOut.String(), "log.file is empty") {
		t.Errorf("no warning about the missing log file:\n%s", errOut.String())
	}

	// Uninstall: the journal stays.
	journal := filepath.Join(dataDir, "bridged.db")
	if err := os.WriteFile(journal, []byte("journal"), 0o600); err != nil {
		t.Fatal(err)
	}
	fake.Calls = nil
	if err := a.main(context.Background(), []string{"uninstall"}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(fake.Calls, ",") != "Uninstall" {
		t.Errorf("uninstall calls: %v", fake.Calls)
	}
	if b, err := os.ReadFile(journal); err != nil || string(b) != "journal" {
		t.Errorf("journal after uninstall: %q %v", b, err)
	}
}

// TestPackagedUnitTypeHasReadiness: a Type=notify unit is only right when
// `bridged run` under the service manager sends READY=1; until then the unit
// is Type=simple (or exec).
func TestPackagedUnitTypeHasReadiness(t *testing.T) {
	m := regexp.MustCompile(`(?m)^Type=(\w+)$`).FindStringSubmatch(ossvc.Config("").Option["SystemdScript"].(string)) // the unit install writes
	if m == nil {
		t.Fatal("no Type= in the unit")
	}
	switch m[1] {
	case "simple", "exec":
		return
	case "notify":
	default:
		t.Fatalf("Type=%s", m[1])
	}
	if isWindows() {
		t.Skip("no unix datagram sockets")
	}
	sock, ready := ossvctest.ListenNotify(t)
	path := writeConfig(t, validConfig(privateDir(t)))
	a := testApp(func(k string) string {
		if k == "NOTIFY_SOCKET" {
			return sock
		}
		return ""
	}, io.Discard, io.Discard)
	a.interactive = func() bool { return false }
	stopped := make(chan struct{})
	a.newService = func(i service.Interface, _ *service.Config) (service.Service, error) {
		f := &ossvctest.Service{}
		f.OnRun = func() error {
			if err := i.Start(f); err != nil {
				return err
			}
			<-stopped
			return i.Stop(f)
		}
		return f, nil
	}
	done := make(chan error, 1)
	go func() { done <- a.main(context.Background(), []string{"run", "-c", path}) }()
	msg := ossvctest.WaitDatagram(t, ready, "Type=notify, but `bridged run` under the service manager sent no READY=1: pass readyNotifier to runDaemon in cmdRun")
	close(stopped)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, "READY=1") {
		t.Fatalf("Type=notify, but the service sent %q", msg)
	}
}

// TestInstallStartsOnlyACompleteConfig: an install registers a service whose
// config holds only the example's placeholders, and leaves it stopped; start
// -c refuses it, naming them; any other problem fails the install.
func TestInstallStartsOnlyACompleteConfig(t *testing.T) {
	dir := privateDir(t)
	draft := strings.Replace(validConfig(filepath.Join(dir, "data")), "client_id: cid", `client_id: "your-client-id"`, 1)
	if draft == validConfig(filepath.Join(dir, "data")) {
		t.Fatal("validConfig no longer has client_id: cid")
	}
	path := writeConfig(t, draft)
	a := testApp(noEnv, io.Discard, io.Discard)
	cfg, pending, err := ossvc.LoadInstallConfig(path, noEnv)
	if err != nil || cfg == nil || len(pending) != 1 || pending[0].Path != "upstream.client_id" {
		t.Fatalf("a draft config: %v, pending %v", err, pending)
	}
	bad := writeConfig(t, strings.Replace(draft, "mode: vuk509", "mode: x", 1))
	if _, _, err := ossvc.LoadInstallConfig(bad, noEnv); err == nil || !strings.Contains(err.Error(), "mode") {
		t.Fatalf("a placeholder and a real problem: %v", err)
	}

	fake := &ossvctest.Service{}
	a.newService = func(service.Interface, *service.Config) (service.Service, error) { return fake, nil }
	err = a.main(context.Background(), []string{"start", "-c", path})
	if err == nil || !strings.Contains(err.Error(), "upstream.client_id: is still the example's placeholder") {
		t.Fatalf("start -c a draft: %v", err)
	}
	if len(fake.Calls) != 0 {
		t.Errorf("service manager called: %v", fake.Calls)
	}
}

// freePort is a port free on both loopback addresses, for the moment.
func freePort(t *testing.T) string {
	t.Helper()
	for i := 0; i < 20; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		ln6, err := net.Listen("tcp", "[::1]:"+port)
		ln.Close()
		if err == nil {
			ln6.Close()
			return port
		}
	}
	t.Fatal("no port free on both loopback addresses")
	return ""
}

// TestSquatterStopsTheStart: a program holding 127.0.0.1:PORT, then one
// holding [::1]:PORT, makes `bridged run` refuse to start, naming the holder
// (here this test process) and saying why.
func TestSquatterStopsTheStart(t *testing.T) {
	if !ossvctest.HasIPv6Loopback(t) {
		t.Skip("no IPv6 loopback on this machine")
	}
	for _, host := range []string{"127.0.0.1", "::1"} {
		t.Run(host, func(t *testing.T) {
			port := freePort(t)
			squatter, err := net.Listen("tcp", net.JoinHostPort(host, port))
			if err != nil {
				t.Fatal(err)
			}
			defer squatter.Close()
			body := strings.Replace(validConfig(privateDir(t)), "listen: 127.0.0.1:0", "listen: 127.0.0.1:"+port, 1)
			var logs safeBuffer
			a := testApp(noEnv, io.Discard, &logs)
			err = a.main(context.Background(), []string{"run", "-c", writeConfig(t, body)})
			var taken *ossvc.PortTaken
			if !errors.As(err, &taken) {
				t.Fatalf("bridged started beside a squatter on %s: %v", squatter.Addr(), err)
			}
			msg := err.Error()
			for _, want := range []string{net.JoinHostPort(host, port), "is taken by", "receives the ECR's requests"} {
				if !strings.Contains(msg, want) {
					t.Errorf("the refusal lacks %q: %s", want, msg)
				}
			}
			if isLinux() && !strings.Contains(msg, fmt.Sprintf("process %d (", os.Getpid())) {
				t.Errorf("the refusal does not name the holder, process %d: %s", os.Getpid(), msg)
			}
			if strings.Contains(logs.String(), `"message":"ready"`) {
				t.Error("bridged said ready")
			}
		})
	}
}

func isLinux() bool { return filepath.Separator == '/' && fileExists("/proc/self/fd") }

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func isWindows() bool { return filepath.Separator == '\\' }
