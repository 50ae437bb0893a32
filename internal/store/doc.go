// Package store owns the bbolt journal: the bucket schema and its version,
// migrations, record codecs, and the fail-closed rule (a write or fsync error stops
// new money operations; nothing falls back to memory). The file layout, the
// hash chain and the guarantees are described in docs/store.md; schema.go is
// the one place that declares buckets, key layouts and the schema version.
//
// It implements interfaces defined by payment. It must never import server,
// upstream, simulator, chi or net/http.
package store
