package secret

import (
	"fmt"
	"net/url"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Masked is what every rendering of a set Value shows.
const Masked = "***"

// Value holds a credential. Its value is unexported so that no conversion,
// formatting verb, JSON or YAML encoder and no zerolog field can reveal it by
// accident; the one way out is Reveal.
type Value struct{ v string }

// New wraps a value.
func New(v string) Value { return Value{v: v} }

// Reveal returns the value. Call it only where the secret leaves the process
// for its intended recipient, or to compare it, never to log or print.
func (s Value) Reveal() string { return s.v }

// IsZero reports whether no value is set.
func (s Value) IsZero() bool { return s.v == "" }

// Len is the value's length, for validation messages that must not show it.
func (s Value) Len() int { return len(s.v) }

// Redact returns text with the value masked wherever it appears, as it is or
// query-escaped (a form body quoted back). A form shorter than 3 characters
// is left alone: masking it would garble ordinary text.
func (s Value) Redact(text string) string {
	for _, form := range []string{s.v, url.QueryEscape(s.v)} {
		if len(form) >= 3 {
			text = strings.ReplaceAll(text, form, Masked)
		}
	}
	return text
}

// String masks the value; fmt uses it for %v, %s, %q and %x.
func (s Value) String() string {
	if s.v == "" {
		return ""
	}
	return Masked
}

// GoString masks the value for %#v.
func (s Value) GoString() string { return `secret.Value("` + s.String() + `")` }

// Format masks the value for every verb, including %d and %T-adjacent uses
// that would otherwise print the struct's field.
func (s Value) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(s.String()))
}

// MarshalJSON masks the value.
func (s Value) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalText masks the value (used by encoders that prefer it, zerolog's Interface among them).
func (s Value) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalYAML masks the value, so the effective config can be printed.
func (s Value) MarshalYAML() (any, error) { return s.String(), nil }

// UnmarshalYAML reads a plain scalar (the config file is where secrets come from).
func (s *Value) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a secret must be a string", n.Line)
	}
	s.v = n.Value
	return nil
}
