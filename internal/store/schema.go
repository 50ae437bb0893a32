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
// schemaVersion and adds a migration (migrate.go).

// schemaVersion is the layout this code reads and writes. A file with a higher
// version was written by a newer bridged and is refused.
//
//	1  d63fd60 and before: records in JSON, kept in ops and again in every journal entry.
//	2  + idx_payment_id, idx_attention (migrated in place from 1).
//	3  the lean journal: each record once (binary, record.go), compact chained
//	   entries (the record's hash, not a copy), per-terminal marks, no unread
//	   index, archives (migrated by copy from 1 or 2, migrate.go).
const schemaVersion uint64 = 3

// Top-level buckets. Index keys join their parts with a NUL byte (sep), which
// is why every indexed string is refused when it contains one.
var (
	// meta: schema_version (uint64 BE), journal_head (seq uint64 BE || sha256),
	// created_at (RFC 3339, informational), migrated_from (text: the version
	// and chain head of the file this one was migrated from).
	bucketMeta = []byte("meta")
	// ops: op id -> op value (opvalue.go): the seqs of the operation's journal
	// entries, then its current record (record.go). Each record is here once.
	bucketOps = []byte("ops")
	// journal: seq (uint64 BE, from 1) -> compact entry (chain.go), append-only
	// but for archiving, which moves whole operations out with their entries.
	bucketJournal = []byte("journal")
	// journal_gaps: seq -> the hash of the entry before it, for every entry
	// whose predecessor was archived: the anchors that let the journal's
	// remaining entries verify without the archives.
	bucketGaps = []byte("journal_gaps")
	// idx_idempotency: client \0 key -> op id. Forgotten by PruneKeys.
	bucketIdem = []byte("idx_idempotency")
	// idx_reference: reference \0 op id -> empty.
	bucketRef = []byte("idx_reference")
	// idx_created: created-at (sortable uint64 BE) || op id -> kind \0 terminal.
	// The order of List (newest first) and of its cursor.
	bucketCreated = []byte("idx_created")
	// idx_open: op id -> empty, for every operation that is not final.
	bucketOpen = []byte("idx_open")
	// idx_parent: parent id \0 child op id -> empty (voids, refunds, post-auths, split steps).
	bucketParent = []byte("idx_parent")
	// idx_payment_id: iyzico paymentId \0 op id -> empty, for every approved
	// operation that owns a paymentId (payment.Kind.OwnsPaymentID).
	bucketPaymentID = []byte("idx_payment_id")
	// idx_attention: op id -> empty, for every operation that needs
	// attention beyond the reconciler's queue (payment.Operation.Attention).
	bucketAttention = []byte("idx_attention")
	// terminals: terminal -> marks (marks.go): its last approved end of day,
	// the latest end of day after it whose answer was lost, its latest
	// approved money operation, and how far its keys were pruned. What a
	// start needs, without reading the history.
	bucketTerminals = []byte("terminals")
	// archives: business day (YYYYMMDD) -> archive record (archive.go): the
	// file, its sha256 and what it holds.
	bucketArchives = []byte("archives")
	// tokens: "upstream" -> token record (token.go).
	bucketTokens = []byte("tokens")
)

// allBuckets is every bucket of the current schema, created for a new file
// and checked on open.
var allBuckets = [][]byte{
	bucketMeta, bucketOps, bucketJournal, bucketGaps, bucketIdem, bucketRef, bucketCreated, bucketOpen,
	bucketParent, bucketPaymentID, bucketAttention, bucketTerminals, bucketArchives, bucketTokens,
}

// fillPercent is how full bbolt fills a page when it splits one (its
// default is half). Keys that only grow (seqs, creation times) never go back
// to a page once it is split: those pages are packed full. The records
// (keyed by UUIDv7, which also grow) are split at 70 %: an intent grows by a
// third or so into its outcome a few writes later, in place, which fills the
// page instead of splitting it again. References, idempotency keys and
// paymentIds mostly grow too (receipt numbers, iyzico's ids), with a little
// disorder among the lanes. The setting is per transaction (bucket).
var fillPercent = map[string]float64{
	string(bucketJournal):   1.0,
	string(bucketCreated):   1.0,
	string(bucketOps):       0.7,
	string(bucketRef):       0.9,
	string(bucketIdem):      0.9,
	string(bucketPaymentID): 0.9,
}

// bucket returns a top-level bucket of a write transaction with its fill set.
func bucket(tx *bolt.Tx, name []byte) *bolt.Bucket {
	b := tx.Bucket(name)
	if b != nil && tx.Writable() {
		if f, ok := fillPercent[string(name)]; ok {
			b.FillPercent = f
		}
	}
	return b
}

// Keys in the meta bucket.
var (
	metaSchemaVersion = []byte("schema_version")
	metaJournalHead   = []byte("journal_head")
	metaCreatedAt     = []byte("created_at")
	metaMigratedFrom  = []byte("migrated_from")
)

// tokenKey is the one key of the tokens bucket.
var tokenKey = []byte("upstream")

const sep = "\x00"

// ErrSchemaTooNew is returned by Open for a file written by a newer bridged.
var ErrSchemaTooNew = errors.New("database schema is newer than this bridged")

// readVersion returns the schema version of a file (0: a new, empty file).
func readVersion(tx *bolt.Tx) (uint64, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0, nil
	}
	v := meta.Get(metaSchemaVersion)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: meta schema_version has %d bytes", ErrCorrupt, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// createSchema lays out a new file at the current version.
func createSchema(tx *bolt.Tx, now time.Time) error {
	for _, b := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	if err := meta.Put(metaSchemaVersion, binary.BigEndian.AppendUint64(nil, schemaVersion)); err != nil {
		return err
	}
	if meta.Get(metaCreatedAt) == nil {
		return meta.Put(metaCreatedAt, []byte(now.UTC().Format(time.RFC3339Nano)))
	}
	return nil
}

// checkSchema verifies that a file of the current version has every bucket.
func checkSchema(tx *bolt.Tx) error {
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("%w: bucket %s is missing", ErrCorrupt, name)
		}
	}
	return nil
}

// Key layouts.

func idemKey(client, key string) []byte { return []byte(client + sep + key) }

func refKey(reference, id string) []byte { return []byte(reference + sep + id) }

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

// createdKeyTime is the creation time a createdKey starts with.
func createdKeyTime(k []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(k)^(1<<63))).UTC()
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
