package ossvc

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/ossvc/ossvctest"
	"github.com/kardianos/service"
)

func TestInstallCreatesTheConfigFromTheExample(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "..", "configs", "bridged.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(example), exampleAPIKey) {
		t.Fatalf("the example config no longer holds the placeholder key %q: update exampleAPIKey", exampleAPIKey)
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "Program Files", "bridged", "bridged.exe")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(exe), exampleConfigName), example, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ProgramData", "bridged", "bridged.yaml")
	o := InstallOptions{registered: true, listen: "127.0.0.1:9470"}
	src, err := o.CreateConfig(path, func() (string, error) { return exe, nil })
	if err != nil {
		t.Fatal(err)
	}
	if src != filepath.Join(filepath.Dir(exe), exampleConfigName) {
		t.Errorf("created from %q", src)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(got)
	if strings.Contains(text, exampleAPIKey) {
		t.Error("the example's API key was kept")
	}
	if !regexp.MustCompile(`(?m)^      key: "[0-9a-f]{64}"$`).MatchString(text) {
		t.Errorf("no random API key in:\n%s", text)
	}
	if !strings.Contains(text, "\nlisten: \"127.0.0.1:9470\"\n") || strings.Contains(text, "listen: 127.0.0.1:8470") {
		t.Error("listen not set")
	}
	// Everything else is the example, comments included.
	want := regexp.MustCompile(`(?m)^listen:.*$`).ReplaceAllString(strings.ReplaceAll(string(example), exampleAPIKey, "K"), "L")
	have := regexp.MustCompile(`(?m)^listen:.*$`).ReplaceAllString(regexp.MustCompile(`[0-9a-f]{64}`).ReplaceAllString(text, "K"), "L")
	if want != have {
		t.Error("the created config differs from the example in more than the key and listen")
	}
	// It loads for an install, with the iyzico credentials (and only them)
	// still to fill in: the service is installed, not started.
	if _, pending, err := LoadInstallConfig(path, noEnv); err != nil {
		t.Errorf("the created config does not load for an install: %v", err)
	} else {
		var paths []string
		for _, p := range pending {
			paths = append(paths, p.Path)
		}
		if got := strings.Join(paths, ","); got != "upstream.client_id,upstream.client_secret,upstream.username,upstream.password" {
			t.Errorf("left to fill in: %s", got)
		}
	}

	// An existing config (an upgrade, an admin's edit) is never touched.
	edited := append(got, "# edited by store IT\n"...)
	if err := os.WriteFile(path, edited, 0o600); err != nil {
		t.Fatal(err)
	}
	o.configFrom = filepath.Join(dir, "other.yaml")
	if src, err := o.CreateConfig(path, func() (string, error) { return exe, nil }); err != nil || src != "" {
		t.Fatalf("existing config: created from %q, %v", src, err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(edited) {
		t.Error("the existing config was changed")
	}
}

func TestInstallCopiesAPreparedConfig(t *testing.T) {
	dir := t.TempDir()
	prepared := filepath.Join(dir, "store42.yaml")
	body := validConfig(filepath.Join(dir, "data"))
	if err := os.WriteFile(prepared, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "cfg", "bridged.yaml")
	o := InstallOptions{configFrom: prepared}
	noExe := func() (string, error) { return "", errors.New("not asked") }
	if src, err := o.CreateConfig(path, noExe); err != nil || src != prepared {
		t.Fatalf("created from %q, %v", src, err)
	}
	if got, _ := os.ReadFile(path); string(got) != body {
		t.Errorf("the prepared config was changed:\n%s", got)
	}
	if fi, err := os.Stat(path); err != nil || (!isWindows() && fi.Mode().Perm() != 0o600) {
		t.Errorf("config mode: %v %v", fi.Mode(), err)
	}

	// A missing source fails the install, and leaves no config behind.
	path2 := filepath.Join(dir, "cfg2", "bridged.yaml")
	o = InstallOptions{configFrom: filepath.Join(dir, "missing.yaml")}
	if _, err := o.CreateConfig(path2, noExe); err == nil {
		t.Error("no error for a missing source")
	}
	if _, err := os.Stat(path2); err == nil {
		t.Error("a config was written from nothing")
	}
	// A plain install (not the MSI's) without --config-from creates nothing.
	if src, err := (InstallOptions{}).CreateConfig(path2, noExe); err != nil || src != "" {
		t.Errorf("plain install: %q, %v", src, err)
	}
}

func TestSetListen(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"a: 1\nlisten: 127.0.0.1:8470 # here\nb: 2\n", "a: 1\nlisten: \"127.0.0.1:9\"\nb: 2\n"},
		{"a: 1\n  listen: nested\n", "a: 1\n  listen: nested\nlisten: \"127.0.0.1:9\"\n"},
		{"a: 1", "a: 1\nlisten: \"127.0.0.1:9\"\n"},
	} {
		if got := setListen(tt.in, "127.0.0.1:9"); got != tt.want {
			t.Errorf("setListen(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestStartAndWait(t *testing.T) {
	running := &ossvctest.Service{State: service.StatusRunning}
	if err := StartAndWait(running, time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(running.Calls, ","); got != "Start,Status" {
		t.Errorf("calls %s", got)
	}
	stopped := &ossvctest.Service{State: service.StatusStopped}
	if err := StartAndWait(stopped, 0); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Fatalf("a service that stays stopped: %v", err)
	}
}
