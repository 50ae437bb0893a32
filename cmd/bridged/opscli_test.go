package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bridgedpos/bridged/internal/config"
)

// configFile writes cfg as the YAML an operator would have, secrets included.
func configFile(t *testing.T, cfg *config.Config) string {
	t.Helper()
	var terms, keys strings.Builder
	for _, tm := range cfg.Terminals {
		fmt.Fprintf(&terms, "  - {id: %q, device_unique_id: %q}\n", tm.ID, tm.DeviceUniqueID)
	}
	for _, k := range cfg.API.Keys {
		fmt.Fprintf(&keys, "    - {name: %q, key: %q, scopes: [%s]}\n", k.Name, k.Key.Reveal(), strings.Join(k.EffectiveScopes(), ", "))
	}
	body := fmt.Sprintf(`listen: %q
data_dir: %q
mode: %s
api:
  keys:
%supstream:
  base_url: %q
  client_id: %q
  client_secret: %q
  username: %q
  password: %q
terminals:
%ssale_app: {name: x, version: "1"}
log: {format: json}
`, cfg.Listen, cfg.DataDir, cfg.Mode, keys.String(), cfg.Upstream.BaseURL, cfg.Upstream.ClientID,
		cfg.Upstream.ClientSecret.Reveal(), cfg.Upstream.Username, cfg.Upstream.Password.Reveal(), terms.String())
	return writeConfig(t, body)
}

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := testApp(noEnv, &out, &errOut).main(context.Background(), args)
	return out.String() + errOut.String(), err
}

func TestDoctorDiagnoses(t *testing.T) {
	e := startE2E(t, e2eOpts{})
	expect(t, e.pay("d1", `{"amount":"3.00","reference":"D1"}`), 201, "status", "approved")

	t.Run("healthy, daemon running", func(t *testing.T) {
		skipWhereACLsAreNotKept(t)
		out, err := runCLI(t, "doctor", "-c", configFile(t, e.cfg))
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, want := range []string{"[OK  ] config", "[OK  ] daemon: running", "[OK  ] permissions", "[OK  ] login", "verdict: healthy, running"} {
			if !strings.Contains(out, want) {
				t.Errorf("missing %q in\n%s", want, out)
			}
		}
	})
	t.Run("healthy, daemon stopped", func(t *testing.T) {
		skipWhereACLsAreNotKept(t)
		cfg := *e.cfg
		cfg.DataDir = privateDir(t)
		cfg.Listen = deadAddr(t)
		out, err := runCLI(t, "doctor", "-c", configFile(t, &cfg))
		if err == nil || !strings.Contains(out, "[OK  ] login: logged in") || !strings.Contains(out, "[FAIL] daemon: not running") ||
			!strings.Contains(out, "verdict: bridged is NOT RUNNING: no payment can be taken (otherwise no problem") {
			t.Fatalf("doctor with the daemon down: %v\n%s", err, out)
		}
	})

	broken := []struct {
		name, want string
		mutate     func(*config.Config) string // returns the config path
	}{
		{"invalid config", "[FAIL] config:", func(c *config.Config) string {
			return writeConfig(t, strings.Replace(readFile(t, configFile(t, c)), "mode: vuk509", "mode: vuk59", 1))
		}},
		{"world-readable config", "[FAIL] permissions: config ", func(c *config.Config) string {
			c.DataDir, c.Listen = privateDir(t), deadAddr(t)
			path := configFile(t, c)
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
			return path
		}},
		{"open data dir", "[FAIL] permissions: data_dir: ", func(c *config.Config) string {
			c.DataDir, c.Listen = t.TempDir(), deadAddr(t)
			if err := os.Chmod(c.DataDir, 0o777); err != nil {
				t.Fatal(err)
			}
			return configFile(t, c)
		}},
		{"placeholder key", "[FAIL] config: ", func(c *config.Config) string {
			c.DataDir, c.Listen = privateDir(t), deadAddr(t)
			c.API.Keys = []config.APIKey{{Name: "ecr", Key: config.NewSecret("change-me-to-a-random-key-of-32-chars-or-more")}}
			return configFile(t, c)
		}},
		{"data dir is a file", "[FAIL] data dir: ", func(c *config.Config) string {
			f := filepath.Join(t.TempDir(), "not-a-dir")
			os.WriteFile(f, nil, 0o600)
			c.DataDir, c.Listen = f, deadAddr(t)
			return configFile(t, c)
		}},
		{"iyzico unreachable", "[FAIL] upstream reachable: cannot connect", func(c *config.Config) string {
			c.DataDir, c.Listen, c.Upstream.BaseURL = privateDir(t), deadAddr(t), "http://"+deadAddr(t)
			return configFile(t, c)
		}},
		{"wrong password", "[FAIL] login:", func(c *config.Config) string {
			c.DataDir, c.Listen = privateDir(t), deadAddr(t)
			c.Upstream.Password = config.NewSecret("not-the-password")
			return configFile(t, c)
		}},
	}
	for _, tt := range broken {
		t.Run(tt.name, func(t *testing.T) {
			if strings.HasPrefix(tt.want, "[FAIL] permissions") {
				skipWhereACLsAreNotKept(t)
			}
			cfg := *e.cfg
			out, err := runCLI(t, "doctor", "-c", tt.mutate(&cfg))
			if err == nil {
				t.Fatalf("doctor passed a broken setup:\n%s", out)
			}
			if !strings.Contains(out, tt.want) || !strings.Contains(out, "fix: ") {
				t.Fatalf("want %q with a fix hint in\n%s", tt.want, out)
			}
			if strings.Contains(out, "not-the-password") || strings.Contains(out, "sim-secret") {
				t.Fatal("a secret in doctor's output")
			}
		})
	}
}

func TestTxVerbsAndExport(t *testing.T) {
	e := startE2E(t, e2eOpts{})
	ok := e.pay("x1", `{"amount":"10.00","reference":"EXP-1"}`)
	expect(t, ok, 201, "status", "approved")
	expect(t, e.pay("x2", `{"amount":"11.51","reference":"EXP-2"}`), 201, "status", "declined")
	path := configFile(t, e.cfg)

	out, err := runCLI(t, "tx", "list", "-c", path)
	if err != nil || !strings.Contains(out, "EXP-1") || !strings.Contains(out, "552879******0008") || !strings.Contains(out, "2 transaction(s)") {
		t.Fatalf("tx list: %v\n%s", err, out)
	}
	out, err = runCLI(t, "tx", "list", "--status", "declined", "--since", "1h", "-c", path)
	if err != nil || strings.Contains(out, "EXP-1") || !strings.Contains(out, "EXP-2") {
		t.Fatalf("tx list --status declined: %v\n%s", err, out)
	}
	out, err = runCLI(t, "tx", "show", "EXP-1", "-c", path)
	if err != nil || !strings.Contains(out, ok.str("id")) {
		t.Fatalf("tx show by reference: %v\n%s", err, out)
	}
	out, err = runCLI(t, "tx", "resolve", ok.str("id"), "-c", path)
	if err != nil || !strings.Contains(out, "approved") {
		t.Fatalf("tx resolve: %v\n%s", err, out)
	}
	csvPath := filepath.Join(t.TempDir(), "out.csv")
	if out, err := runCLI(t, "export", "-c", path, "-o", csvPath); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	rows, err := csv.NewReader(strings.NewReader(readFile(t, csvPath))).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][0] != "created_at" {
		t.Fatalf("csv: %v %v", err, rows)
	}

	// With the daemon stopped, the same verbs read the journal itself.
	e.stop()
	out, err = runCLI(t, "export", "--format", "jsonl", "-c", path)
	if err != nil || !strings.Contains(out, "reading the journal") {
		t.Fatalf("export from the journal: %v\n%s", err, out)
	}
	lines := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "{") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("jsonl line: %v", err)
			}
			lines++
		}
	}
	if lines != 2 {
		t.Fatalf("%d JSON lines from the journal\n%s", lines, out)
	}
	if out, err := runCLI(t, "tx", "resolve", ok.str("id"), "-c", path); err == nil || !strings.Contains(err.Error(), "start bridged") {
		t.Fatalf("resolve without a daemon: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "export", "--format", "xml", "-c", path); exitCode(err) != 2 {
		t.Fatalf("bad format: %v", err)
	}
}

func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	return string(b)
}
