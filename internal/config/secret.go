package config

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

const masked = "***"

// Secret holds a credential. Its value is unexported so that no conversion,
// formatting verb, JSON or YAML encoder and no zerolog field can reveal it by
// accident; the one way out is Reveal, called where the value is sent upstream.
type Secret struct{ v string }

// NewSecret wraps a value.
func NewSecret(v string) Secret { return Secret{v: v} }

// Reveal returns the value. Call it only where the secret leaves the process
// for its intended recipient, never to log or print.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether no value is set.
func (s Secret) IsZero() bool { return s.v == "" }

// Len is the value's length, for validation messages that must not show it.
func (s Secret) Len() int { return len(s.v) }

// String masks the value; fmt uses it for %v, %s, %q and %x.
func (s Secret) String() string {
	if s.v == "" {
		return ""
	}
	return masked
}

// GoString masks the value for %#v.
func (s Secret) GoString() string { return `config.Secret("` + s.String() + `")` }

// Format masks the value for every verb, including %d and %T-adjacent uses
// that would otherwise print the struct's field.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(s.String()))
}

// MarshalJSON masks the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalText masks the value (used by encoders that prefer it, zerolog's Interface among them).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalYAML masks the value, so the effective config can be printed.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// UnmarshalYAML reads a plain scalar.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a secret must be a string", n.Line)
	}
	s.v = n.Value
	return nil
}
