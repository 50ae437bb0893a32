package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Env names the variables that override or add to the file. Every secret can
// come from the environment instead of the file.
const (
	EnvAPIKey           = "BRIDGED_API_KEY"
	EnvAPIKeyScopes     = "BRIDGED_API_KEY_SCOPES" // comma-separated scopes of that key; default payments
	EnvUpstreamClientID = "BRIDGED_UPSTREAM_CLIENT_ID"
	EnvUpstreamSecret   = "BRIDGED_UPSTREAM_CLIENT_SECRET"
	EnvUpstreamUsername = "BRIDGED_UPSTREAM_USERNAME"
	EnvUpstreamPassword = "BRIDGED_UPSTREAM_PASSWORD"
	EnvUpstreamBaseURL  = "BRIDGED_UPSTREAM_BASE_URL"
	EnvAPIKeyName       = "env" // the name given to the key from BRIDGED_API_KEY
	maxConfigFileBytes  = 1 << 20
)

// Load reads the YAML file at path over Defaults, strictly (unknown keys and
// wrong types are problems), then applies the environment. It does not
// Validate: callers do, so that every problem is reported together.
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(data) > maxConfigFileBytes {
		return nil, fmt.Errorf("read config %s: larger than %d bytes", path, maxConfigFileBytes)
	}
	cfg, err := Parse(data)
	var probs *Problems
	if errors.As(err, &probs) && cfg != nil {
		// Unknown keys and wrong types: report them together with what
		// Validate finds in the rest, so one pass fixes the whole file.
		cfg.ApplyEnv(getenv)
		var vp *Problems
		if errors.As(cfg.Validate(), &vp) {
			*probs = append(*probs, *vp...)
		}
		return nil, fmt.Errorf("config %s: %w", path, probs)
	}
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	cfg.ApplyEnv(getenv)
	return cfg, nil
}

// Parse decodes YAML over Defaults. Every unknown key and every type error is
// reported with its key path in one *Problems error; the configuration decoded
// from the rest of the file is returned with it.
func Parse(data []byte) (*Config, error) {
	cfg := Defaults()
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	if len(root.Content) == 0 {
		return &cfg, nil // an empty file is all defaults; Validate says what is missing
	}
	var probs Problems
	unknownKeys(root.Content[0], reflect.TypeOf(cfg), "", &probs)

	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, fmt.Errorf("not valid YAML: %w", err)
		}
		for _, msg := range te.Errors {
			if strings.Contains(msg, "not found in type") {
				continue // already reported by unknownKeys, with its path
			}
			probs.add("", msg)
		}
	}
	if len(probs) > 0 {
		// The rest of the file is decoded; Load validates it too.
		return &cfg, &probs
	}
	return &cfg, nil
}

// unknownKeys walks a mapping node against the struct type it decodes into and
// records each key that has no field, with its full path (api.keys[0].nmae).
func unknownKeys(n *yaml.Node, t reflect.Type, path string, probs *Problems) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(selfDecoding) {
		return // a value that decodes itself (Amount) reports its own type problem
	}
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			f, ok := fieldByTag(t, key.Value)
			p := joinPath(path, key.Value)
			if !ok {
				probs.add(p, fmt.Sprintf("unknown key (line %d)", key.Line))
				continue
			}
			unknownKeys(val, f.Type, p, probs)
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, item := range n.Content {
			unknownKeys(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), probs)
		}
	}
}

var selfDecoding = reflect.TypeFor[yaml.Unmarshaler]()

func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func joinPath(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

// ApplyEnv overrides secrets and credentials from the environment, and adds
// the API key from BRIDGED_API_KEY under the name "env".
func (c *Config) ApplyEnv(getenv func(string) string) {
	if getenv == nil {
		return
	}
	if v := getenv(EnvUpstreamClientID); v != "" {
		c.Upstream.ClientID = v
	}
	if v := getenv(EnvUpstreamSecret); v != "" {
		c.Upstream.ClientSecret = NewSecret(v)
	}
	if v := getenv(EnvUpstreamUsername); v != "" {
		c.Upstream.Username = v
	}
	if v := getenv(EnvUpstreamPassword); v != "" {
		c.Upstream.Password = NewSecret(v)
	}
	if v := getenv(EnvUpstreamBaseURL); v != "" {
		c.Upstream.BaseURL = v
	}
	if v := getenv(EnvAPIKey); v != "" {
		k := APIKey{Name: EnvAPIKeyName, Key: NewSecret(v)}
		for _, s := range strings.Split(getenv(EnvAPIKeyScopes), ",") {
			if s = strings.TrimSpace(s); s != "" {
				k.Scopes = append(k.Scopes, s)
			}
		}
		c.API.Keys = append(c.API.Keys, k)
	}
}

// Masked renders the configuration as YAML with every secret shown as ***.
func (c *Config) Masked() ([]byte, error) {
	return yaml.Marshal(c)
}
