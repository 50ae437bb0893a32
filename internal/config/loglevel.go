package config

import (
	"fmt"

	"github.com/rs/zerolog"
	"go.yaml.in/yaml/v3"
)

// LogLevel is log.level as the file writes it ("info"), parsed once, when
// the file is read. A text that is no level keeps its error for Validate.
type LogLevel struct {
	text  string
	level zerolog.Level
	err   error
}

// ParseLogLevel parses a level of the config.
func ParseLogLevel(s string) LogLevel {
	l, err := zerolog.ParseLevel(s)
	return LogLevel{text: s, level: l, err: err}
}

// Level is the parsed level, or why the text is none. An empty text is
// zerolog's NoLevel, as zerolog parses it; Validate refuses it.
func (l LogLevel) Level() (zerolog.Level, error) {
	if l.text == "" && l.err == nil {
		return zerolog.NoLevel, nil
	}
	return l.level, l.err
}

// String is the level as the file wrote it.
func (l LogLevel) String() string { return l.text }

// MarshalYAML prints the level as the file wrote it (check-config).
func (l LogLevel) MarshalYAML() (any, error) { return l.text, nil }

// UnmarshalYAML parses a scalar; a text that is no level is kept, with its
// error, for Validate.
func (l *LogLevel) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: a log level must be one of trace, debug, info, warn, error", n.Line)}}
	}
	*l = ParseLogLevel(n.Value)
	return nil
}
