// Package config owns bridged's configuration: the YAML schema, defaults,
// environment overrides, and Validate, which reports every problem at once with
// its key path. Values are typed when the file is read (the mode and currency
// as payment's types, payments.max_amount as an exact Amount, log.level as
// zerolog's, durations as time.Duration), so that no later layer parses a
// config string again; each section validates itself with paths relative to
// it, and Validate composes them under the section's key. Secrets are a type
// that never prints its value.
//
// It must never import another bridged package except payment (for the mode
// and money types) and loopback.
package config
