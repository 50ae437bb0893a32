package secret

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"go.yaml.in/yaml/v3"
)

const value = "s3cr3t+value/=="

// TestValueNeverPrints covers every rendering a Value can meet: fmt verbs
// (alone and inside a struct), JSON, text, YAML and zerolog; each shows the
// mask, none the value.
func TestValueNeverPrints(t *testing.T) {
	s := New(value)
	holder := struct {
		Name   string
		Secret Value
		Ptr    *Value
	}{"id", s, &s}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%T"} {
		outs = append(outs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, &s), fmt.Sprintf(verb, holder))
	}
	js, err := json.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	txt, _ := s.MarshalText()
	y, err := yaml.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	log := zerolog.New(&logs)
	log.Info().Interface("holder", holder).Stringer("s", s).Interface("v", s).Msg("x")
	outs = append(outs, s.String(), s.GoString(), string(js), string(txt), string(y), logs.String())
	for _, out := range outs {
		if strings.Contains(out, value) || strings.Contains(out, "s3cr3t") {
			t.Fatalf("value leaked in %q", out)
		}
	}
	if string(js) != `{"Name":"id","Secret":"***","Ptr":"***"}` {
		t.Errorf("JSON = %s", js)
	}
	if got := fmt.Sprintf("%v|%#v", s, s); got != `***|secret.Value("***")` {
		t.Errorf("fmt = %q", got)
	}
	if !strings.Contains(logs.String(), `"s":"***"`) || !strings.Contains(logs.String(), `"v":"***"`) {
		t.Errorf("zerolog = %s", logs.String())
	}
	if s.Reveal() != value || s.Len() != len(value) || s.IsZero() || !(Value{}).IsZero() {
		t.Error("Reveal, Len or IsZero")
	}
	if (Value{}).String() != "" {
		t.Error("an empty secret shows a mask")
	}
}

func TestYAMLRoundTrip(t *testing.T) {
	var doc struct {
		S Value `yaml:"s"`
	}
	if err := yaml.Unmarshal([]byte("s: "+value+"\n"), &doc); err != nil || doc.S.Reveal() != value {
		t.Fatalf("read %v, %v", doc.S, err)
	}
	out, err := yaml.Marshal(doc)
	if err != nil || string(out) != "s: '***'\n" {
		t.Fatalf("wrote %q, %v", out, err)
	}
	err = yaml.Unmarshal([]byte("s:\n  nested: x\n"), &doc)
	if err == nil || !strings.Contains(err.Error(), "line 2: a secret must be a string") {
		t.Fatalf("a mapping was accepted: %v", err)
	}
}

func TestRedact(t *testing.T) {
	s := New(value)
	text := "raw " + value + " form client_secret=s3cr3t%2Bvalue%2F%3D%3D end"
	got := s.Redact(text)
	if got != "raw *** form client_secret=*** end" {
		t.Fatalf("Redact = %q", got)
	}
	// Shorter than 3 characters: ordinary text is left alone.
	if got := New("ab").Redact("abc ab"); got != "abc ab" {
		t.Fatalf("short value redacted: %q", got)
	}
	if got := (Value{}).Redact("text"); got != "text" {
		t.Fatalf("empty value redacted: %q", got)
	}
}
