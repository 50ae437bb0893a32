package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

const validYAML = `
listen: 127.0.0.1:8470
data_dir: /tmp/bridged
mode: vuk509
api:
  keys: [{name: ecr, key: "0123456789abcdef0123456789abcdef"}]
upstream:
  base_url: https://sandbox-api.iyzipay.com
  client_id: cid
  client_secret: "s3cr3t-client-value"
  username: user
  password: "p4ssw0rd-value"
terminals: [{id: lane-1, device_unique_id: PAV860047264}]
`

func TestExampleConfigIsValid(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "configs", "bridged.example.yaml"), func(string) string { return "" })
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func TestParseAppliesDefaults(t *testing.T) {
	cfg, err := Parse([]byte(validYAML))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.API.DefaultWait != 185*time.Second || cfg.Upstream.CardTimeout != 180*time.Second || cfg.Log.Level != "info" {
		t.Errorf("defaults not applied: %+v", cfg)
	}
	if got := cfg.EffectiveLocale(); got != "tr" {
		t.Errorf("EffectiveLocale = %q, want tr", got)
	}
}

func TestUnknownKeysReportedWithPaths(t *testing.T) {
	_, err := Parse([]byte(validYAML + "\nlisten_addr: x\napi2: {}\nlog: {levle: debug}\n"))
	var ps *Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want *Problems, got %v", err)
	}
	got := err.Error()
	for _, want := range []string{"listen_addr: unknown key", "api2: unknown key", "log.levle: unknown key"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

func TestUnknownKeyInsideList(t *testing.T) {
	_, err := Parse([]byte(strings.Replace(validYAML, "device_unique_id: PAV860047264", "device_unique_id: PAV860047264, devce: x", 1)))
	if err == nil || !strings.Contains(err.Error(), "terminals[0].devce: unknown key") {
		t.Fatalf("got %v", err)
	}
}

func TestWrongTypeIsAProblem(t *testing.T) {
	_, err := Parse([]byte(strings.Replace(validYAML, "mode: vuk509", "mode: vuk509\nallow_non_loopback: maybe", 1)))
	if err == nil || !strings.Contains(err.Error(), "maybe") {
		t.Fatalf("got %v", err)
	}
}

func TestValidateReportsEveryProblemWithItsPath(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		path   string
	}{
		{"bad listen", func(c *Config) { c.Listen = "nonsense" }, "listen"},
		{"non-loopback without opt-in", func(c *Config) { c.Listen = "0.0.0.0:8470" }, "listen"},
		{"unknown mode", func(c *Config) { c.Mode = "vuk999" }, "mode"},
		{"short api key", func(c *Config) { c.API.Keys[0].Key = NewSecret("short") }, "api.keys[0].key"},
		{"no api keys", func(c *Config) { c.API.Keys = nil }, "api.keys"},
		{"duplicate key names", func(c *Config) {
			c.API.Keys = append(c.API.Keys, APIKey{Name: "ecr", Key: NewSecret(strings.Repeat("z", 40))})
		}, "api.keys[1].name"},
		{"missing client secret", func(c *Config) { c.Upstream.ClientSecret = Secret{} }, "upstream.client_secret"},
		{"missing password", func(c *Config) { c.Upstream.Password = Secret{} }, "upstream.password"},
		{"http upstream off loopback", func(c *Config) { c.Upstream.BaseURL = "http://api.iyzipay.com" }, "upstream.base_url"},
		{"duplicate terminal ids", func(c *Config) {
			c.Terminals = append(c.Terminals, Terminal{ID: "lane-1", DeviceUniqueID: "OTHER"})
		}, "terminals[1].id"},
		{"duplicate device", func(c *Config) {
			c.Terminals = append(c.Terminals, Terminal{ID: "lane-2", DeviceUniqueID: "PAV860047264"})
		}, "terminals[1].device_unique_id"},
		{"bad terminal id", func(c *Config) { c.Terminals[0].ID = "lane 1/../" }, "terminals[0].id"},
		{"vuk507 without sale app", func(c *Config) { c.Mode = ModeVUK507 }, "sale_app.name"},
		{"bad max amount", func(c *Config) { c.Payments.MaxAmount = "1.001" }, "payments.max_amount"},
		{"bad log level", func(c *Config) { c.Log.Level = "loud" }, "log.level"},
		{"bad locale", func(c *Config) { c.Upstream.Locale = "TR" }, "upstream.locale"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(validYAML))
			if err != nil {
				t.Fatal(err)
			}
			tt.mutate(cfg)
			err = cfg.Validate()
			var ps *Problems
			if !errors.As(err, &ps) {
				t.Fatalf("want *Problems, got %v", err)
			}
			for _, p := range *ps {
				if p.Path == tt.path {
					return
				}
			}
			t.Errorf("no problem at %s in %v", tt.path, err)
		})
	}
}

func TestValidateListsThreeMistakesAtOnce(t *testing.T) {
	cfg, err := Parse([]byte(validYAML))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = "0.0.0.0:8470"
	cfg.Mode = "vuk508"
	cfg.Terminals = append(cfg.Terminals, cfg.Terminals[0])
	var ps *Problems
	if !errors.As(cfg.Validate(), &ps) {
		t.Fatal("want problems")
	}
	paths := map[string]bool{}
	for _, p := range *ps {
		paths[p.Path] = true
	}
	for _, want := range []string{"listen", "mode", "terminals[1].id"} {
		if !paths[want] {
			t.Errorf("missing %s in %v", want, ps)
		}
	}
}

func TestEnvOverridesSecrets(t *testing.T) {
	env := map[string]string{
		EnvUpstreamSecret:   "from-env-secret",
		EnvUpstreamPassword: "from-env-password",
		EnvAPIKey:           strings.Repeat("k", 40),
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(path, []byte(validYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Upstream.ClientSecret.Reveal() != "from-env-secret" || cfg.Upstream.Password.Reveal() != "from-env-password" {
		t.Error("env did not override the secrets")
	}
	if n := len(cfg.API.Keys); n != 2 || cfg.API.Keys[1].Name != EnvAPIKeyName {
		t.Errorf("env key not added: %d keys", n)
	}
}

// TestSecretsNeverPrint covers every way a secret could leave through
// formatting: fmt verbs, JSON, YAML (the check-config output), zerolog.
func TestSecretsNeverPrint(t *testing.T) {
	cfg, err := Parse([]byte(validYAML))
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{"s3cr3t-client-value", "p4ssw0rd-value", "0123456789abcdef0123456789abcdef"}
	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		outputs = append(outputs, fmt.Sprintf(verb, cfg), fmt.Sprintf(verb, *cfg))
	}
	js, _ := json.Marshal(cfg)
	outputs = append(outputs, string(js))
	y, err := cfg.Masked()
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(y))
	var logBuf strings.Builder
	log := zerolog.New(&logBuf)
	log.Info().Interface("config", cfg).Msg("x")
	log.Info().Stringer("secret", cfg.Upstream.ClientSecret).Msg("x")
	outputs = append(outputs, logBuf.String())
	for _, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Fatalf("secret %q leaked in %q", s, out)
			}
		}
	}
	if !strings.Contains(string(y), "client_secret: '***'") {
		t.Errorf("masked YAML does not show ***:\n%s", y)
	}
}

// TestLoadReportsParseAndValidateProblemsTogether: an unknown key does not
// hide the other mistakes of the file.
func TestLoadReportsParseAndValidateProblemsTogether(t *testing.T) {
	body := strings.Replace(validYAML, "listen: 127.0.0.1:8470", "listen: 0.0.0.0:8470\nlisten_port: 1", 1)
	body = strings.Replace(body, "mode: vuk509", "mode: vuk59", 1)
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, nil)
	for _, want := range []string{"listen_port: unknown key", "listen: ", "mode: "} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}

func TestJournalRetainDays(t *testing.T) {
	cfg, err := Parse([]byte(validYAML))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Journal.RetainDays != DefaultRetainDays {
		t.Errorf("default retain_days = %d", cfg.Journal.RetainDays)
	}
	for _, tt := range []struct {
		days int
		ok   bool
	}{{0, true}, {7, true}, {400, true}, {36500, true}, {6, false}, {-1, false}, {36501, false}} {
		cfg, err := Parse([]byte(validYAML + fmt.Sprintf("journal: {retain_days: %d}\n", tt.days)))
		if err != nil {
			t.Fatal(err)
		}
		err = cfg.Validate()
		var ps *Problems
		switch {
		case tt.ok && err != nil:
			t.Errorf("retain_days %d: %v", tt.days, err)
		case !tt.ok && (!errors.As(err, &ps) || len(*ps) != 1 || (*ps)[0].Path != "journal.retain_days"):
			t.Errorf("retain_days %d: %v, want one problem at journal.retain_days", tt.days, err)
		}
	}
}
