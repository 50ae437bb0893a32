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
	"go.yaml.in/yaml/v3"
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

// TestExamplePlaceholdersAreRefused: the example config as shipped is refused,
// naming each value still to fill in and what belongs there; filled in, it is
// valid.
func TestExamplePlaceholdersAreRefused(t *testing.T) {
	path := filepath.Join("..", "..", "configs", "bridged.example.yaml")
	cfg, err := Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var ps *Problems
	if !errors.As(cfg.Validate(), &ps) {
		t.Fatal("the example config with its placeholders passed validation")
	}
	want := map[string]string{
		"api.keys[0].key":        "openssl rand -hex 32",
		"upstream.client_id":     "client id iyzico issued",
		"upstream.client_secret": "client secret iyzico issued",
		"upstream.username":      "merchant user iyzico issued",
		"upstream.password":      "password",
	}
	for _, p := range *ps {
		if hint, ok := want[p.Path]; ok && strings.Contains(p.Message, "placeholder") && strings.Contains(p.Message, hint) {
			delete(want, p.Path)
			continue
		}
		t.Errorf("unexpected problem: %s", p)
	}
	for path := range want {
		t.Errorf("no placeholder problem at %s in %v", path, ps)
	}
	if strings.Contains(ps.Error(), "your-client-secret") || strings.Contains(ps.Error(), "your-merchant-password") {
		t.Error("a secret's value is shown, even a placeholder's")
	}

	cfg.API.Keys[0].Key = NewSecret(strings.Repeat("0123456789abcdef", 4))
	cfg.Upstream.ClientID, cfg.Upstream.Username = "real-id", "real-user"
	cfg.Upstream.ClientSecret, cfg.Upstream.Password = NewSecret("real-secret"), NewSecret("real-password")
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the example, filled in: %v", err)
	}
	// A placeholder from the environment is refused the same way.
	cfg.ApplyEnv(func(k string) string {
		if k == EnvUpstreamPassword {
			return "your-merchant-password"
		}
		return ""
	})
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "upstream.password: is still the example's placeholder") {
		t.Fatalf("placeholder from the environment: %v", err)
	}
}

func TestKeyScopes(t *testing.T) {
	cfg, err := Parse([]byte(strings.Replace(validYAML, `keys: [{name: ecr, key: "0123456789abcdef0123456789abcdef"}]`,
		`keys: [{name: ecr, key: "0123456789abcdef0123456789abcdef"}, {name: ops, key: "`+strings.Repeat("o", 40)+`", scopes: [read, operate]}]`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ecr, ops := cfg.API.Keys[0], cfg.API.Keys[1]
	if !ecr.HasScope(ScopePayments) || ecr.HasScope(ScopeRead) || ecr.HasScope(ScopeOperate) {
		t.Errorf("a key without scopes has %v, want [payments]", ecr.EffectiveScopes())
	}
	if ops.HasScope(ScopePayments) || !ops.HasScope(ScopeRead) || !ops.HasScope(ScopeOperate) {
		t.Errorf("ops has %v", ops.EffectiveScopes())
	}
	for _, tt := range []struct {
		scopes []string
		path   string
	}{
		{[]string{"admin"}, "api.keys[1].scopes[0]"},
		{[]string{"read", "read"}, "api.keys[1].scopes[1]"},
	} {
		cfg.API.Keys[1].Scopes = tt.scopes
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tt.path+": ") {
			t.Errorf("scopes %v: %v", tt.scopes, err)
		}
	}
	cfg.API.Keys[1].Scopes = nil
	cfg.API.Keys[1].Name = "ops key"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "api.keys[1].name: ") {
		t.Errorf("a name with a space: %v", err)
	}

	env := map[string]string{EnvAPIKey: strings.Repeat("e", 40), EnvAPIKeyScopes: "read, operate"}
	cfg.API.Keys = cfg.API.Keys[:1]
	cfg.ApplyEnv(func(k string) string { return env[k] })
	if k := cfg.API.Keys[1]; k.Name != EnvAPIKeyName || !k.HasScope(ScopeOperate) || k.HasScope(ScopePayments) {
		t.Errorf("env key: %s %v", k.Name, k.EffectiveScopes())
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
	if cfg.API.DefaultWait != 185*time.Second || cfg.Upstream.CardTimeout != 180*time.Second || cfg.Log.Level.String() != "info" {
		t.Errorf("defaults not applied: %+v", cfg)
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
		{"bad max amount", func(c *Config) { c.Payments.MaxAmount = ParseAmount("1.001") }, "payments.max_amount"},
		{"bad log level", func(c *Config) { c.Log.Level = ParseLogLevel("loud") }, "log.level"},
		{"bad locale", func(c *Config) { c.Upstream.Locale = "TR" }, "upstream.locale"},
		{"placeholder key", func(c *Config) { c.API.Keys[0].Key = NewSecret("change-me-to-a-random-key-of-32-chars-or-more") }, "api.keys[0].key"},
		{"placeholder client id", func(c *Config) { c.Upstream.ClientID = "your-client-id" }, "upstream.client_id"},
		{"too few connections", func(c *Config) { c.API.MaxConnections = 4 }, "api.max_connections"},
		{"reserve above half", func(c *Config) { c.API.ReservedConnections = c.API.MaxConnections }, "api.reserved_connections"},
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

// TestParsedValuesEncodeAsWritten: an amount and a log level encode as the
// file wrote them, in YAML (check-config) and in JSON alike, never as {}.
func TestParsedValuesEncodeAsWritten(t *testing.T) {
	for _, v := range []any{ParseAmount("250.00"), ParseLogLevel("debug")} {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		y, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var back string
		if err := yaml.Unmarshal(y, &back); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprint(v); string(j) != `"`+want+`"` || back != want {
			t.Errorf("%v: JSON %s, YAML %q", v, j, y)
		}
	}
}
