package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// This file is the whole on-disk layout: every bucket, every key format and the
// schema version. Anything that changes a bucket or a key layout bumps
// schemaVersion and adds a migration below.

// schemaVersion is the layout this code reads and writes. A file with a higher
// version was written by a newer bridged and is refused.
const schemaVersion uint64 = 2

// Top-level buckets. Index keys join their parts with a NUL byte (sep), which
// is why every indexed string is refused when it contains one.
var (
	// meta: schema_version (uint64 BE), journal_head (seq uint64 BE || sha256),
	// created_at (RFC 3339, informational).
	bucketMeta = []byte("meta")
	// ops: op id -> record (codec.go): the current state of each operation.
	bucketOps = []byte("ops")
	// journal: seq (uint64 BE, from 1, no gaps) -> entry (chain.go), append-only.
	bucketJournal = []byte("journal")
	// idx_idempotency: client \0 key -> op id. Pruned by PruneKeys.
	bucketIdem = []byte("idx_idempotency")
	// idx_reference: reference \0 op id -> empty.
	bucketRef = []byte("idx_reference")
	// idx_terminal_day: terminal \0 business day \0 op id -> empty.
	bucketTerminalDay = []byte("idx_terminal_day")
	// idx_created: created-at (sortable uint64 BE) || op id -> kind \0 terminal.
	// The order of List (newest first) and of its cursor.
	bucketCreated = []byte("idx_created")
	// idx_open: op id -> empty, for every operation that is not final.
	bucketOpen = []byte("idx_open")
	// idx_parent: parent id \0 child op id -> empty (voids, refunds, post-auths, split steps).
	bucketParent = []byte("idx_parent")
	// tokens: "upstream" -> token record (token.go).
	bucketTokens = []byte("tokens")
	// eod_reports: op id (of the end_of_day operation) -> report record (report.go).
	bucketReports = []byte("eod_reports")
	// idx_payment_id: iyzico paymentId \0 op id -> empty, for every approved
	// operation that owns a paymentId (payment.Kind.OwnsPaymentID). Since v2.
	bucketPaymentID = []byte("idx_payment_id")
	// idx_attention: op id -> empty, for every operation that needs
	// attention beyond the reconciler's queue (payment.Operation.Attention:
	// a settlement still watched, a conflict not acknowledged). Since v2.
	bucketAttention = []byte("idx_attention")
)

// allBuckets is every bucket of the current schema, checked on open.
var allBuckets = [][]byte{
	bucketMeta, bucketOps, bucketJournal, bucketIdem, bucketRef, bucketTerminalDay,
	bucketCreated, bucketOpen, bucketParent, bucketTokens, bucketReports, bucketPaymentID, bucketAttention,
}

// Keys in the meta bucket.
var (
	metaSchemaVersion = []byte("schema_version")
	metaJournalHead   = []byte("journal_head")
	metaCreatedAt     = []byte("created_at")
)

// tokenKey is the one key of the tokens bucket.
var tokenKey = []byte("upstream")

const sep = "\x00"

// migration moves a file from version to version+1.
type migration struct {
	name  string
	apply func(tx *bolt.Tx) error
}

// migrations[v] upgrades version v to v+1; len(migrations) == schemaVersion.
var migrations = []migration{
	0: {name: "create buckets", apply: func(tx *bolt.Tx) error {
		for _, b := range v1Buckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return nil
	}},
	1: {name: "index paymentId; attention index", apply: func(tx *bolt.Tx) error {
		idx, err := tx.CreateBucketIfNotExists(bucketPaymentID)
		if err != nil {
			return fmt.Errorf("create bucket %s: %w", bucketPaymentID, err)
		}
		if _, err := tx.CreateBucketIfNotExists(bucketAttention); err != nil {
			return fmt.Errorf("create bucket %s: %w", bucketAttention, err)
		}
		return tx.Bucket(bucketOps).ForEach(func(k, v []byte) error {
			op, err := decodeOp(v)
			if err != nil {
				return err
			}
			if ownsPaymentID(op) {
				return idx.Put(paymentIDKey(op.PaymentID, op.ID), nil)
			}
			return nil
		})
	}},
}

// v1Buckets are the buckets of schema version 1, which migration 0 creates.
var v1Buckets = [][]byte{
	bucketMeta, bucketOps, bucketJournal, bucketIdem, bucketRef, bucketTerminalDay,
	bucketCreated, bucketOpen, bucketParent, bucketTokens, bucketReports,
}

// ErrSchemaTooNew is returned by Open for a file written by a newer bridged.
var ErrSchemaTooNew = errors.New("database schema is newer than this bridged")

// migrate brings the file to schemaVersion inside the caller's transaction,
// so a crash leaves either the old or the new layout, never a mix. It returns
// the version found.
func migrate(tx *bolt.Tx, path string, now time.Time) (uint64, error) {
	var from uint64
	if meta := tx.Bucket(bucketMeta); meta != nil {
		if v := meta.Get(metaSchemaVersion); v != nil {
			if len(v) != 8 {
				return 0, fmt.Errorf("%w: meta schema_version has %d bytes", ErrCorrupt, len(v))
			}
			from = binary.BigEndian.Uint64(v)
		}
	}
	if from > schemaVersion {
		return from, fmt.Errorf("%w: database %s has schema version %d, this bridged reads up to %d: upgrade bridged or restore a backup made by this version",
			ErrSchemaTooNew, path, from, schemaVersion)
	}
	if len(migrations) != int(schemaVersion) {
		return from, fmt.Errorf("store: %d migrations for schema version %d", len(migrations), schemaVersion)
	}
	for v := from; v < schemaVersion; v++ {
		if err := migrations[v].apply(tx); err != nil {
			return from, fmt.Errorf("migration %d->%d (%s): %w", v, v+1, migrations[v].name, err)
		}
	}
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			return from, fmt.Errorf("%w: bucket %s is missing", ErrCorrupt, name)
		}
	}
	if from != schemaVersion {
		meta := tx.Bucket(bucketMeta)
		if err := meta.Put(metaSchemaVersion, binary.BigEndian.AppendUint64(nil, schemaVersion)); err != nil {
			return from, err
		}
		if meta.Get(metaCreatedAt) == nil {
			if err := meta.Put(metaCreatedAt, []byte(now.UTC().Format(time.RFC3339Nano))); err != nil {
				return from, err
			}
		}
	}
	return from, nil
}

// Key layouts.

func idemKey(client, key string) []byte { return []byte(client + sep + key) }

func refKey(reference, id string) []byte { return []byte(reference + sep + id) }

func terminalDayPrefix(terminal, day string) []byte { return []byte(terminal + sep + day + sep) }

func terminalDayKey(terminal, day, id string) []byte {
	return []byte(terminal + sep + day + sep + id)
}

func parentPrefix(parent string) []byte { return []byte(parent + sep) }

func paymentIDPrefix(pid string) []byte { return []byte(pid + sep) }

func paymentIDKey(pid, id string) []byte { return []byte(pid + sep + id) }

func parentKey(parent, child string) []byte { return []byte(parent + sep + child) }

// createdKey sorts by creation time, then id. The sign bit is flipped so that
// the big-endian bytes of any int64 sort like the number.
func createdKey(t time.Time, id string) []byte {
	k := make([]byte, 8, 8+len(id))
	binary.BigEndian.PutUint64(k, uint64(t.UnixNano())^(1<<63))
	return append(k, id...)
}

func createdKeyTime(k []byte) (time.Time, bool) {
	if len(k) < 8 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(k)^(1<<63))).UTC(), true
}

// createdValue lets List filter by kind and terminal without decoding the record.
func createdValue(kind, terminal string) []byte { return []byte(kind + sep + terminal) }

func parseCreatedValue(v []byte) (kind, terminal string) {
	k, t, _ := strings.Cut(string(v), sep)
	return k, t
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq) }

// journalHead is meta's journal_head: the last sequence number and its hash.
type journalHead struct {
	seq  uint64
	hash [32]byte
}

func readHead(meta *bolt.Bucket) (journalHead, error) {
	v := meta.Get(metaJournalHead)
	if v == nil {
		return journalHead{}, nil
	}
	if len(v) != 8+32 {
		return journalHead{}, fmt.Errorf("%w: meta journal_head has %d bytes", ErrCorrupt, len(v))
	}
	var h journalHead
	h.seq = binary.BigEndian.Uint64(v)
	copy(h.hash[:], v[8:])
	return h, nil
}

func writeHead(meta *bolt.Bucket, h journalHead) error {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 40), h.seq)
	return meta.Put(metaJournalHead, append(v, h.hash[:]...))
}
