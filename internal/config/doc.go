// Package config owns bridged's configuration: the YAML schema, defaults,
// environment overrides, and Validate, which reports every problem at once with
// its key path. Secrets are a type that never prints its value.
//
// It must never import another bridged package except payment (for money limits).
package config
