package config

import (
	"github.com/rs/zerolog"
	"go.yaml.in/yaml/v3"
)

// LogLevel is log.level as the file writes it ("info"), parsed once, when
// the file is read.
type LogLevel struct{ parsed[zerolog.Level] }

// ParseLogLevel parses a level of the config.
func ParseLogLevel(s string) LogLevel {
	l, err := zerolog.ParseLevel(s)
	return LogLevel{parsed[zerolog.Level]{text: s, value: l, err: err}}
}

// Level is the parsed level, or why the text is none. An empty text is
// zerolog's NoLevel, as zerolog parses it; Validate refuses it.
func (l LogLevel) Level() (zerolog.Level, error) {
	if l.text == "" && l.err == nil {
		return zerolog.NoLevel, nil
	}
	return l.value, l.err
}

// UnmarshalYAML parses a scalar.
func (l *LogLevel) UnmarshalYAML(n *yaml.Node) error {
	s, err := scalar(n, "a log level must be one of trace, debug, info, warn, error")
	if err == nil {
		*l = ParseLogLevel(s)
	}
	return err
}
