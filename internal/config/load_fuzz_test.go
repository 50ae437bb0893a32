package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// FuzzLoad loads arbitrary YAML (and an arbitrary secret from the
// environment) as the daemon does, and checks that nothing an operator is
// shown — the error, Validate's problems, the masked configuration —
// contains a secret: client_secret, password or an API key.
//
// A secret's value may legitimately appear in the text when the same text
// is also somewhere else (mode: hunter22), or is part of the messages
// (password: required). So each input is loaded twice, the second time with
// every secret replaced by a canary of the same length; the secret leaked
// when the first text contains it and the second does not.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(validYAML), "")
	f.Add([]byte(validYAML), "env-secret-value-0123456789abcdef")
	f.Add([]byte("upstream: {client_secret: [s3cr3t-client-value]}\n"), "")
	f.Add([]byte("upstream:\n  password: p4ssw0rd-value\n  password: again\n"), "")
	f.Add([]byte("api:\n  keys:\n    - {name: a, key: short-secret-key}\n    - {name: a, key: short-secret-key}\n"), "")
	f.Add([]byte("mode: &m hunter22-secret\nupstream: {password: *m}\n"), "")
	f.Add([]byte("upstream: {client_secret: \"unterminated\n"), "")

	path := filepath.Join(f.TempDir(), "bridged.yaml")
	f.Fuzz(func(t *testing.T, doc []byte, envSecret string) {
		secrets := findSecrets(doc)
		shown := loadShown(t, path, doc, envSecret)

		canary := canaryChar(envSecret, secrets)
		doc2, checked := withCanaries(doc, secrets, canary)
		shown2 := loadShown(t, path, doc2, strings.Repeat(string(canary), len(envSecret)))

		check := func(what, s string) {
			if len(s) >= 4 && strings.Contains(shown, s) && !strings.Contains(shown2, s) {
				t.Fatalf("%s %q is shown to the operator:\n%s", what, s, shown)
			}
		}
		check("the secret from the environment", envSecret)
		for _, s := range checked {
			check("the secret at "+s.path, s.value)
		}
	})
}

// loadShown loads doc from path the way the daemon does and returns every
// text the operator is shown: Load's error, or Validate's problems and the
// configuration as check-config prints it.
func loadShown(t *testing.T, path string, doc []byte, envSecret string) string {
	t.Helper()
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		switch k {
		case EnvAPIKey, EnvUpstreamSecret, EnvUpstreamPassword:
			return envSecret
		}
		return ""
	}
	cfg, err := Load(path, getenv)
	if err != nil {
		if cfg != nil {
			t.Fatalf("Load returned a configuration with its error %v", err)
		}
		return err.Error()
	}
	var b strings.Builder
	if err := cfg.Validate(); err != nil {
		var ps *Problems
		if !errors.As(err, &ps) || len(*ps) == 0 {
			t.Fatalf("Validate: %v is not a list of problems", err)
		}
		b.WriteString(err.Error())
	}
	masked, err := cfg.Masked()
	if err != nil {
		t.Fatalf("Masked: %v", err)
	}
	js, _ := json.Marshal(cfg)
	fmt.Fprintf(&b, "\n%s\n%s\n%+v\n%#v", masked, js, cfg, cfg)
	return b.String()
}

// secret is the value of a secret key in the document.
type secret struct {
	path    string
	value   string
	start   int  // where the value's text starts in the document; -1 when it cannot be found exactly
	exposed bool // also reached (through an alias) at a key that is not a secret
}

// secretPaths are the keys whose values are Secrets.
var secretPaths = map[string]bool{"upstream.client_secret": true, "upstream.password": true, "api.keys[].key": true}

// findSecrets lists the values at secret keys of the first document,
// following aliases and merge keys as the decoder does. A document that is
// not YAML is searched as text.
func findSecrets(doc []byte) []secret {
	var root yaml.Node
	if yaml.Unmarshal(doc, &root) != nil {
		return findSecretsInText(doc)
	}
	if len(root.Content) == 0 {
		return nil
	}
	paths := map[*yaml.Node]string{}
	exposed := map[*yaml.Node]bool{}
	budget := 100000 // aliases can make the tree exponential
	var walk func(n *yaml.Node, path string, depth int)
	walk = func(n *yaml.Node, path string, depth int) {
		if budget--; budget < 0 || depth > 100 || n == nil {
			return
		}
		switch n.Kind {
		case yaml.AliasNode:
			walk(n.Alias, path, depth+1)
		case yaml.ScalarNode:
			if secretPaths[path] {
				paths[n] = path
			} else {
				exposed[n] = true
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				exposed[k] = true
				if k.Value == "<<" {
					walk(v, path+"<<", depth+1) // merged into this mapping
					continue
				}
				walk(v, joinPath(strings.TrimSuffix(path, "<<"), k.Value), depth+1)
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				if strings.HasSuffix(path, "<<") {
					walk(c, path, depth+1) // a list of mappings to merge
				} else {
					walk(c, path+"[]", depth+1)
				}
			}
		default:
			for _, c := range n.Content {
				walk(c, path, depth+1)
			}
		}
	}
	walk(root.Content[0], "", 0)
	var out []secret
	for n, p := range paths {
		start, ok := sourceOf(doc, n)
		if !ok {
			start = -1
		}
		out = append(out, secret{path: p, value: n.Value, start: start, exposed: exposed[n]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start < out[j].start })
	return out
}

// secretKeyText finds a secret key and the start of its value in text that
// is not YAML.
var secretKeyText = regexp.MustCompile(`(client_secret|password|key)[ \t]*:[ \t]*`)

func findSecretsInText(doc []byte) []secret {
	var out []secret
	for _, m := range secretKeyText.FindAllSubmatchIndex(doc, -1) {
		start, end := m[1], m[1]
		switch {
		case start < len(doc) && (doc[start] == '"' || doc[start] == '\''):
			q := doc[start]
			start++
			end = start
			for end < len(doc) && doc[end] != q && doc[end] != '\\' && doc[end] != '\n' {
				end++
			}
		default:
			for end < len(doc) && !bytes.ContainsRune([]byte(" \t\r\n,{}[]#\"'"), rune(doc[end])) {
				end++
			}
		}
		out = append(out, secret{path: "text " + string(doc[m[2]:m[3]]), value: string(doc[start:end]), start: start})
	}
	return out
}

// canaryChar is a letter that occurs in no secret, so that no canary can
// contain one.
func canaryChar(env string, secrets []secret) rune {
	for _, c := range "qzjxkvwQZJXKVW" {
		used := strings.ContainsRune(env, c)
		for _, s := range secrets {
			used = used || strings.ContainsRune(s.value, c)
		}
		if !used {
			return c
		}
	}
	return 'q' // every candidate is in a secret: the comparison proves less, never too much
}

// withCanaries replaces the text of each secret it can find exactly by a
// canary of the same length, and returns the new document and the secrets
// replaced. An exposed secret stays, so that where it is exposed reads the
// same. When the document is YAML, the new one must be the same document
// with only those values changed, or nothing is replaced.
func withCanaries(doc []byte, secrets []secret, canary rune) ([]byte, []secret) {
	var todo []secret
	for _, s := range secrets {
		if s.start < 0 || s.exposed || s.value == "" || (len(todo) > 0 && s.start < todo[len(todo)-1].start+len(todo[len(todo)-1].value)) {
			continue
		}
		todo = append(todo, s)
	}
	if len(todo) == 0 {
		return doc, nil
	}
	out := append([]byte(nil), doc...)
	replaced := map[int]bool{}
	for _, s := range todo {
		copy(out[s.start:], strings.Repeat(string(canary), len(s.value))[:len(s.value)])
		replaced[s.start] = true
	}
	before := scalars(doc)
	if before == nil {
		return out, todo // not YAML: compared as text
	}
	after := scalars(out)
	if len(before) != len(after) {
		return doc, nil
	}
	for i := range before {
		want := before[i].Value
		if start, ok := sourceOf(doc, before[i]); ok && replaced[start] && before[i].Value != "" {
			want = strings.Repeat(string(canary), len(want))[:len(want)]
		}
		if after[i].Value != want || after[i].Kind != before[i].Kind {
			return doc, nil
		}
	}
	return out, todo
}

// sourceOf finds where a scalar's value starts in doc (yaml columns count
// runes, after a byte order mark), when the source text there is the value.
func sourceOf(doc []byte, n *yaml.Node) (int, bool) {
	if n.Kind != yaml.ScalarNode || n.Line < 1 || n.Column < 1 {
		return 0, false
	}
	lines := bytes.SplitAfter(doc, []byte("\n"))
	if n.Line > len(lines) {
		return 0, false
	}
	off := 0
	for _, l := range lines[:n.Line-1] {
		off += len(l)
	}
	line := lines[n.Line-1]
	if n.Line == 1 && bytes.HasPrefix(line, []byte("\ufeff")) {
		off += 3
		line = line[3:]
	}
	for col := 1; col < n.Column; col++ {
		_, size := utf8.DecodeRune(line)
		if size == 0 {
			return 0, false
		}
		off += size
		line = line[size:]
	}
	switch n.Style {
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		q := byte('"')
		if n.Style == yaml.SingleQuotedStyle {
			q = '\''
		}
		if off >= len(doc) || doc[off] != q {
			return 0, false
		}
		off++
		end := off + len(n.Value)
		if end >= len(doc) || string(doc[off:end]) != n.Value || doc[end] != q {
			return 0, false
		}
	case 0:
		end := off + len(n.Value)
		if end > len(doc) || string(doc[off:end]) != n.Value {
			return 0, false
		}
	default:
		return 0, false
	}
	return off, true
}

// scalars lists every scalar node of the first document in document order,
// each once (aliases are not followed).
func scalars(doc []byte) []*yaml.Node {
	var root yaml.Node
	if yaml.Unmarshal(doc, &root) != nil || len(root.Content) == 0 {
		return nil
	}
	var out []*yaml.Node
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode {
			out = append(out, n)
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root.Content[0])
	return out
}
