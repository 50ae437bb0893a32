package config

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// parsed is a config value parsed once, when the file is read: the text as
// the file wrote it (for messages and check-config) and its value, or why
// the text is none, kept for Validate to report at its key path with every
// other problem.
type parsed[T any] struct {
	text  string
	value T
	err   error
}

// String is the value as the file wrote it.
func (p parsed[T]) String() string { return p.text }

// MarshalYAML prints the value as the file wrote it (check-config).
func (p parsed[T]) MarshalYAML() (any, error) { return p.text, nil }

// MarshalText is the value as the file wrote it, for JSON and any other
// encoder (without it, JSON would show an amount or a level as {}).
func (p parsed[T]) MarshalText() ([]byte, error) { return []byte(p.text), nil }

// scalar is a YAML scalar's text; anything else is a type problem, which
// Parse reports with the other problems of the file.
func scalar(n *yaml.Node, want string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, want)}}
	}
	return n.Value, nil
}
