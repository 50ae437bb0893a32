package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/ossvc/ossvctest"
	"github.com/kardianos/service"
)

const (
	testClientSecret = ossvctest.ClientSecret
	testPassword     = ossvctest.Password
	testAPIKey       = ossvctest.APIKey
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bridged.yaml")
	if err := os.WriteFile(path, []byte(forThisPlatform(body)), 0o600); err != nil {
		t.Fatal(err)
	}
	makePrivate(t, path, false)
	return path
}

// validConfig and noEnv are the service tests' fixture (ossvctest).
var (
	validConfig = ossvctest.ValidConfig
	noEnv       = ossvctest.NoEnv
)

// privateDir is a temporary directory only its owner may open, as a data dir
// must be (t.TempDir's own are 0755 under a usual umask).
func privateDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	makePrivate(t, dir, true)
	return dir
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, noEnv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	// A build the release did not sign says so (the Makefile stamps "yes"
	// only into the Windows exe it Authenticode-signs).
	for _, want := range []string{"bridged ", "commit: ", "go: " + runtime.Version(), "\nsigned: no\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("version output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestUnknownVerbIsUsageError(t *testing.T) {
	err := run(context.Background(), []string{"frobnicate"}, noEnv, io.Discard, io.Discard)
	if exitCode(err) != 2 {
		t.Fatalf("exit code %d for %v, want 2", exitCode(err), err)
	}
}

// TestPlaceholdersAreRefused: the example config as shipped is refused by
// check-config, doctor and run alike, each naming every value still to fill
// in; filled in, check-config takes it.
func TestPlaceholdersAreRefused(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "..", "configs", "bridged.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Replace(string(example), "data_dir: /var/lib/bridged", "data_dir: "+privateDir(t), 1)
	path := writeConfig(t, body)
	named := []string{"api.keys[0].key: is still the example's placeholder", "openssl rand -hex 32",
		"upstream.client_id: is still", "upstream.client_secret: is still", "upstream.username: is still", "upstream.password: is still"}
	for _, verb := range []string{"check-config", "doctor", "run"} {
		t.Run(verb, func(t *testing.T) {
			var out, errOut bytes.Buffer
			a := testApp(noEnv, &out, &errOut)
			err := a.main(context.Background(), []string{verb, "-c", path})
			if err == nil || exitCode(err) == 0 {
				t.Fatalf("%s passed the example's placeholders:\n%s", verb, out.String())
			}
			all := err.Error() + out.String() + errOut.String()
			for _, want := range named {
				if !strings.Contains(all, want) {
					t.Errorf("%s does not say %q:\n%s", verb, want, all)
				}
			}
		})
	}
	filled := strings.NewReplacer("change-me-to-a-random-key-of-32-chars-or-more", strings.Repeat("0123456789abcdef", 4),
		"your-client-id", "cid", "your-client-secret", "secret", "your-merchant-user", "user", "your-merchant-password", "pw").Replace(body)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check-config", "-c", writeConfig(t, filled)}, noEnv, &out, io.Discard); err != nil {
		t.Fatalf("check-config on the example, filled in: %v", err)
	}
	if !strings.Contains(out.String(), "is valid") {
		t.Errorf("unexpected output:\n%s", out.String())
	}
}

// TestRunRefusesOpenPermissions: a config every user can read, or a data
// dir others can open, stops `run` before anything starts, unless
// allow_open_permissions is set.
func TestRunRefusesOpenPermissions(t *testing.T) {
	if isWindows() {
		t.Skip("Unix modes; Windows ACLs are checked by access_windows.go")
	}
	tests := []struct {
		name       string
		file, data os.FileMode
		want       string
	}{
		{"world-readable config", 0o644, 0o700, "every user of this machine can read"},
		{"open data dir", 0o600, 0o777, "other users can read or change the journal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := privateDir(t)
			path := writeConfig(t, validConfig(data))
			if err := os.Chmod(path, tt.file); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(data, tt.data); err != nil {
				t.Fatal(err)
			}
			var logs safeBuffer
			a := testApp(noEnv, io.Discard, &logs)
			err := a.main(context.Background(), []string{"run", "-c", path})
			if err == nil || !strings.Contains(err.Error(), "refusing to start") || !strings.Contains(err.Error(), tt.want) ||
				!strings.Contains(err.Error(), "allow_open_permissions") {
				t.Fatalf("run: %v", err)
			}
			if strings.Contains(logs.String(), `"listen"`) {
				t.Fatal("the daemon started")
			}
			// The documented opt-out: it starts, and says what it let pass.
			if err := os.WriteFile(path, []byte(validConfig(data)+"allow_open_permissions: true\n"), tt.file); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- a.main(ctx, []string{"run", "-c", path}) }()
			waitForLog(t, &logs, `"listen":"`)
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("run with the opt-out: %v", err)
			}
			if !strings.Contains(logs.String(), "warning (allow_open_permissions is set)") {
				t.Errorf("the opt-out passed silently:\n%s", logs.String())
			}
		})
	}
}

func TestDemoHelpExitsZero(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"demo", "--help"}, noEnv, &out, &errOut); err != nil {
		t.Fatalf("demo --help: %v", err)
	}
	if !strings.Contains(out.String()+errOut.String(), "-listen") {
		t.Errorf("demo --help printed no usage:\n%s%s", out.String(), errOut.String())
	}
	if err := run(context.Background(), []string{"demo", "--bogus"}, noEnv, io.Discard, io.Discard); exitCode(err) != 2 {
		t.Errorf("demo --bogus: %v", err)
	}
}

func TestCheckConfigReportsEveryMistake(t *testing.T) {
	body := validConfig(privateDir(t))
	body = strings.Replace(body, "listen: 127.0.0.1:0", "listen: 0.0.0.0:8470", 1)
	body = strings.Replace(body, "mode: vuk509", "mode: vuk510", 1)
	body = strings.Replace(body, "terminals: [{id: lane-1, device_unique_id: PAV860047264}]",
		"terminals: [{id: lane-1, device_unique_id: A}, {id: lane-1, device_unique_id: B}]", 1)
	err := run(context.Background(), []string{"check-config", "-c", writeConfig(t, body)}, noEnv, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"listen:", "mode:", "terminals[1].id:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if exitCode(err) == 0 {
		t.Error("exit code 0 on a bad config")
	}
}

// TestSecretsNeverReachOutput runs check-config and the daemon itself with
// secrets in the config and in the environment and scans everything printed.
func TestSecretsNeverReachOutput(t *testing.T) {
	const envSecret = "env-secret-VALUE-never-printed"
	getenv := func(k string) string {
		if k == "BRIDGED_UPSTREAM_PASSWORD" {
			return envSecret
		}
		return ""
	}
	path := writeConfig(t, validConfig(privateDir(t)))
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"check-config", "-c", path}, getenv, &out, &errOut); err != nil {
		t.Fatal(err)
	}

	// A bad config must not echo the secret in its problems either.
	bad := strings.Replace(validConfig(privateDir(t)), "mode: vuk509", "mode: nope", 1)
	_ = run(context.Background(), []string{"check-config", "-c", writeConfig(t, bad)}, getenv, &out, &errOut)

	// The daemon's own log, from start to stop, with a request that fails auth.
	ctx, cancel := context.WithCancel(context.Background())
	var logs safeBuffer
	a := testApp(getenv, io.Discard, &logs)
	a.interactive = func() bool { return true }
	done := make(chan error, 1)
	go func() { done <- a.main(ctx, []string{"run", "-c", path}) }()
	addr := waitForLog(t, &logs, `"listen":"`)
	req, _ := http.NewRequest("GET", "http://"+addr+"/v1/terminals", nil)
	req.Header.Set("Authorization", "Bearer wrong-"+testAPIKey)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out.Write(body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("daemon: %v", err)
	}

	all := out.String() + errOut.String() + logs.String()
	for _, s := range []string{testClientSecret, testPassword, testAPIKey, envSecret} {
		if strings.Contains(all, s) {
			t.Errorf("secret %q appeared in output", s)
		}
	}
	if !strings.Contains(out.String(), "***") {
		t.Error("check-config did not show masked secrets")
	}
}

// TestDemoPrintsWorkingLines pastes what demo prints into a shell, as a
// newcomer would: the export line, then the sale, the lookup, the void and
// the event stream, each of which must work.
func TestDemoPrintsWorkingLines(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out safeBuffer
	a := testApp(noEnv, &out, io.Discard)
	done := make(chan error, 1)
	go func() { done <- a.main(ctx, []string{"demo", "--listen", "127.0.0.1:0"}) }()

	text := waitFor(t, &out, "Press Ctrl-C")
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "export BRIDGED_KEY=") || strings.HasPrefix(l, "curl ") || strings.HasPrefix(l, "ID=$(") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "export BRIDGED_KEY=") {
		t.Fatalf("demo printed %d pasteable lines, want export, sale, lookup, find id, void, events:\n%s", len(lines), text)
	}
	// Each line as pasted, in one shell; the event stream is cut after a while.
	script := lines[0] + "\necho '== sale'\n" + lines[1] + "\necho\necho '== lookup'\n" + lines[2] + "\necho\n" + lines[3] +
		"\necho '== void'\n" + lines[4] + "\necho\necho '== events'\n" + strings.Replace(lines[5], "curl -sN", "curl -sN --max-time 2", 1) + " || true\n"
	got, err := exec.Command("bash", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, script, got)
	}
	section := func(name string) string {
		rest := string(got)[strings.Index(string(got), "== "+name)+len(name)+3:]
		if i := strings.Index(rest, "== "); i >= 0 {
			rest = rest[:i]
		}
		return rest
	}
	for _, c := range []struct{ name, want string }{
		{"sale", `"status":"approved"`},
		{"lookup", `"reference":"ECR-000001"`},
		{"void", `"type":"void"`},
		{"void", `"status":"approved"`},
		{"events", "event: payment.approved"},
		{"events", "event: void.approved"},
	} {
		if !strings.Contains(section(c.name), c.want) {
			t.Errorf("%s: %q not in %s", c.name, c.want, section(c.name))
		}
	}
	dir := regexp.MustCompile(`data dir: (\S+)`).FindStringSubmatch(text)[1]

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo: %v", err)
		}
	case <-time.After(30 * time.Second): // a hang guard, not a timing assertion
		t.Fatal("demo did not stop after cancel")
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("demo data dir %s left behind: %v", dir, err)
	}
}

func TestServiceVerbsUseTheServiceManager(t *testing.T) {
	path := writeConfig(t, validConfig(privateDir(t)))
	tests := []struct {
		verb string
		want string
	}{
		{"install", "Install"},
		{"uninstall", "Uninstall"},
		{"start", "Start"},
		{"stop", "Stop"},
		{"restart", "Restart"},
	}
	for _, tt := range tests {
		t.Run(tt.verb, func(t *testing.T) {
			fake := &ossvctest.Service{State: service.StatusRunning}
			var out bytes.Buffer
			a := testApp(noEnv, &out, io.Discard)
			var gotCfg *service.Config
			a.newService = func(_ service.Interface, c *service.Config) (service.Service, error) {
				gotCfg = c
				return fake, nil
			}
			if err := a.main(context.Background(), []string{tt.verb, "-c", path}); err != nil {
				t.Fatal(err)
			}
			if strings.Join(fake.Calls, ",") != tt.want {
				t.Errorf("calls = %v, want %s", fake.Calls, tt.want)
			}
			if tt.verb == "install" {
				if gotCfg.Name != "bridged" || gotCfg.Arguments[0] != "run" || !filepath.IsAbs(gotCfg.Arguments[2]) {
					t.Errorf("service config: %+v", gotCfg)
				}
				if gotCfg.Option["OnFailure"] != "restart" || gotCfg.Option["Restart"] != "on-failure" || gotCfg.Option["StartType"] != "automatic" {
					t.Errorf("recovery options missing: %v", gotCfg.Option)
				}
			}
		})
	}
}

func TestInstallRefusesABadConfig(t *testing.T) {
	fake := &ossvctest.Service{}
	a := testApp(noEnv, io.Discard, io.Discard)
	a.newService = func(service.Interface, *service.Config) (service.Service, error) { return fake, nil }
	bad := writeConfig(t, strings.Replace(validConfig(privateDir(t)), "mode: vuk509", "mode: x", 1))
	if err := a.main(context.Background(), []string{"install", "-c", bad}); err == nil {
		t.Fatal("installed a service with a bad config")
	}
	if len(fake.Calls) != 0 {
		t.Errorf("service manager called: %v", fake.Calls)
	}
}

func TestStatusWithoutDaemon(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status service.Status
		err    error
		want   string
	}{
		{"not installed", 0, service.ErrNotInstalled, "service: not installed"},
		{"stopped", service.StatusStopped, nil, "service: stopped"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			a := testApp(noEnv, &out, io.Discard)
			a.newService = func(service.Interface, *service.Config) (service.Service, error) {
				return &ossvctest.Service{State: tt.status, StateErr: tt.err}, nil
			}
			err := a.main(context.Background(), []string{"status", "-c", writeConfig(t, validConfig(privateDir(t)))})
			if err == nil || !strings.Contains(err.Error(), "not running") {
				t.Fatalf("status without a daemon: %v", err)
			}
			if !strings.Contains(out.String(), tt.want) || !strings.Contains(out.String(), "daemon: not answering") {
				t.Errorf("status printed %q", out.String())
			}
		})
	}
}

func TestRunNonInteractiveHandsOverToServiceManager(t *testing.T) {
	path := writeConfig(t, validConfig(privateDir(t)))
	fake := &ossvctest.Service{}
	a := testApp(noEnv, io.Discard, io.Discard)
	a.interactive = func() bool { return false }
	var prg service.Interface
	a.newService = func(i service.Interface, _ *service.Config) (service.Service, error) {
		prg = i
		fake.OnRun = func() error {
			if err := i.Start(fake); err != nil {
				return err
			}
			return i.Stop(fake)
		}
		return fake, nil
	}
	if err := a.main(context.Background(), []string{"run", "-c", path}); err != nil {
		t.Fatal(err)
	}
	if prg == nil || strings.Join(fake.Calls, ",") != "Run" {
		t.Fatalf("calls = %v", fake.Calls)
	}
}

// testApp is an app with a fake service manager that fails the test if used.
func testApp(getenv func(string) string, stdout, stderr io.Writer) *app {
	return &app{
		getenv: getenv, stdout: stdout, stderr: stderr,
		newService: func(service.Interface, *service.Config) (service.Service, error) {
			return nil, errors.New("no service manager in tests")
		},
		interactive: func() bool { return true },
		exit:        func(int) {},
	}
}

// safeBuffer is a writer the daemon writes to while the test reads it; every
// write wakes the readers waiting for a string.
type safeBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	return n, err
}

func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// wait returns the content and a channel closed on the next write.
func (b *safeBuffer) wait() (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed == nil {
		b.changed = make(chan struct{})
	}
	return b.buf.String(), b.changed
}

// waitFor blocks until the buffer contains s (readiness, not sleeping).
func waitFor(t *testing.T, b *safeBuffer, s string) string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		text, changed := b.wait()
		if strings.Contains(text, s) {
			return text
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %q in:\n%s", s, text)
		}
	}
}

// waitForLog waits for a JSON log field and returns its value.
func waitForLog(t *testing.T, b *safeBuffer, prefix string) string {
	t.Helper()
	text := waitFor(t, b, prefix)
	rest := text[strings.Index(text, prefix)+len(prefix):]
	return rest[:strings.IndexByte(rest, '"')]
}

// TestDemoTriesYourConfig: demo -c runs a config against the simulator (its
// keys, terminals and mode; iyzico's credentials may still be placeholders),
// and refuses what the demo does not replace, such as a placeholder key.
func TestDemoTriesYourConfig(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "..", "configs", "bridged.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "demo", "-c", writeConfig(t, string(example)), "--listen", "127.0.0.1:0"); err == nil ||
		!strings.Contains(err.Error(), "api.keys[0].key: is still the example's placeholder") || strings.Contains(err.Error(), "upstream.") {
		t.Fatalf("demo -c with the example's placeholder key: %v", err)
	}
	key := strings.Repeat("e", 40)
	body := strings.Replace(string(example), "change-me-to-a-random-key-of-32-chars-or-more", key, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out safeBuffer
	a := testApp(noEnv, &out, io.Discard)
	done := make(chan error, 1)
	go func() { done <- a.main(ctx, []string{"demo", "-c", writeConfig(t, body), "--listen", "127.0.0.1:0"}) }()
	text := waitFor(t, &out, "Press Ctrl-C")
	if strings.Contains(text, key) || !strings.Contains(text, "export BRIDGED_KEY=<that key> BRIDGED_KEY_NAME=<its name>") {
		t.Errorf("demo -c printed the config's key, or no export line:\n%s", text)
	}
	addr := regexp.MustCompile(`status page: http://(\S+)/`).FindStringSubmatch(text)[1]
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/payments", strings.NewReader(`{"amount":"149.90","reference":"TRY-1","terminal":"lane-1"}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || !strings.Contains(string(raw), `"status":"approved"`) {
		t.Fatalf("a sale with the config's key against the simulator: %d %s", resp.StatusCode, raw)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("demo -c: %v", err)
	}
}
