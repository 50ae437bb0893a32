// Package apitype owns the wire shapes of bridged's local REST API: the JSON
// documents the server encodes (an operation, a list page with its cursor, a
// terminal, an end-of-day report, a split sale's cancellation, an event, the
// journal's compaction, /healthz and /readyz, the problem documents) and the
// request bodies the operator verbs send. The server builds them from the
// domain's types, the operator CLI and the bench decode into them, and a test
// holds every field against internal/server/openapi.yaml, both ways.
//
// It is a leaf: the standard library only, so that a client of the API needs
// neither the domain nor the server. Money stays a decimal string, exactly as
// the API shows it, never a float.
package apitype
