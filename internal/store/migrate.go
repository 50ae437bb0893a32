package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/bridgedpos/bridged/internal/payment"
	bolt "go.etcd.io/bbolt"
)

// Migration to schema v3, by copy. A v1 or v2 file keeps every record in
// ops and again, whole, in each of its journal entries; v3 keeps it once and
// chains compact entries over its hash. Rewriting a file that size in place,
// in one transaction, would hold it all in memory; so the migration
//
//  1. reads the old file (held open and locked) in one read transaction,
//     verifying its hash chain and that every record is the one its last
//     entry holds: a broken chain is refused, never laundered into a new one;
//  2. writes the v3 layout into bridged.db.migrating, in transactions of a
//     few thousand writes without fsync, then syncs it once: the same seqs
//     and entry times, each record re-encoded (record.go), a new chain over
//     compact entries, every index rebuilt from the records (the idempotency
//     keys copied as they are, pruned ones staying pruned), the terminals'
//     marks, the token; meta's migrated_from names the old chain's head;
//  3. keeps the old file as the backup (a hard link, or a copy where the
//     filesystem has none), bridged.db.schema<N>-<time>.bak, and renames the
//     new file over bridged.db, then syncs the directory.
//
// A stop anywhere before the rename leaves the old file in place, untouched
// (the next start removes the unfinished copy and migrates again); after it,
// the new one. Going back to the older bridged is restoring the backup.

const (
	migratingSuffix  = ".migrating"
	compactingSuffix = ".compacting"
)

// migrationBatch is how many writes a migration transaction holds.
const migrationBatch = 20_000

// migrationStats is what a migration did, for its log line and tests.
type migrationStats struct {
	From              uint64
	Ops, Entries      int
	Keys, Reports     int
	OldHead           journalHead
	NewHead           journalHead
	Backup            string
	Took              time.Duration
	MigratedFromValue string
}

// migrate replaces the open file of schema from by its v3 copy.
func (s *Store) migrate(from uint64) error {
	start := time.Now()
	s.log.Info().Str("path", s.path).Uint64("from", from).Uint64("to", schemaVersion).
		Msg("migrating the journal; the old file is kept as a backup")
	tmp := s.path + migratingSuffix
	st, err := migrateCopy(s.db, tmp, from, s.now(), s.hit)
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("store: migrate %s from schema %d to %d: %w", s.path, from, schemaVersion, err)
	}
	if err := s.db.Close(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("store: migrate: close the old file: %w", err)
	}
	st.Backup = fmt.Sprintf("%s.schema%d-%s.bak", s.path, from, s.now().UTC().Format("20060102T150405Z"))
	if err := keepAsBackup(s.path, st.Backup); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("store: migrate: keep the old file as %s: %w", st.Backup, err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("store: migrate: put the new file in place: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	db, err := s.openDB(s.path)
	if err != nil {
		return err
	}
	s.db = db
	st.Took = time.Since(start)
	s.log.Info().Str("path", s.path).Uint64("from", from).Uint64("to", schemaVersion).
		Int("operations", st.Ops).Int("entries", st.Entries).Str("backup", st.Backup).
		Str("old_head", fmt.Sprintf("%d %x", st.OldHead.seq, st.OldHead.hash)).
		Str("new_head", fmt.Sprintf("%d %x", st.NewHead.seq, st.NewHead.hash)).
		Dur("took", st.Took).Msg("journal schema migrated")
	return nil
}

// batcher writes into a bbolt file in transactions of migrationBatch writes.
type batcher struct {
	db   *bolt.DB
	puts []put
}

type put struct{ bucket, k, v []byte }

func (b *batcher) put(bucket, k, v []byte) error {
	b.puts = append(b.puts, put{bucket, k, v})
	if len(b.puts) >= migrationBatch {
		return b.flush()
	}
	return nil
}

func (b *batcher) flush() error {
	if len(b.puts) == 0 {
		return nil
	}
	err := b.db.Update(func(tx *bolt.Tx) error {
		for _, p := range b.puts {
			if err := bucket(tx, p.bucket).Put(p.k, p.v); err != nil {
				return err
			}
		}
		return nil
	})
	b.puts = b.puts[:0]
	return err
}

// migrateCopy writes the v3 layout of src (schema v1 or v2) into dstPath.
func migrateCopy(src *bolt.DB, dstPath string, from uint64, now time.Time, hit func(string) error) (migrationStats, error) {
	st := migrationStats{From: from}
	_ = os.Remove(dstPath)
	out, err := bolt.Open(dstPath, 0o600, &bolt.Options{Timeout: time.Second, NoSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return st, err
	}
	defer out.Close()
	if err := out.Update(func(tx *bolt.Tx) error { return createSchema(tx, now) }); err != nil {
		return st, err
	}
	err = src.View(func(stx *bolt.Tx) error {
		m := &migration{stx: stx, journal: stx.Bucket(bucketJournal), b: &batcher{db: out}, st: &st, hit: hit,
			seqs: map[string][]uint64{}, terminals: map[string]*marks{}}
		return m.run(from, now)
	})
	if err != nil {
		return st, err
	}
	if err := out.Sync(); err != nil {
		return st, err
	}
	return st, out.Close()
}

// migration is one copy in progress: the old file's read transaction, the
// new file's writes, and what the journal tells about the records.
type migration struct {
	stx     *bolt.Tx
	journal *bolt.Bucket // the old one
	b       *batcher
	st      *migrationStats
	hit     func(string) error

	seqs      map[string][]uint64 // each operation's entries, until its record is copied
	terminals map[string]*marks
}

// run copies everything, inside the old file's read transaction: the values
// read are valid until it ends, so the last flush happens here.
func (m *migration) run(from uint64, now time.Time) error {
	oldMeta := m.stx.Bucket(bucketMeta)
	oldHead, err := readHead(oldMeta)
	if err != nil {
		return err
	}
	m.st.OldHead = oldHead
	for _, name := range [][]byte{bucketOps, bucketJournal, bucketIdem, bucketTokens} {
		if m.stx.Bucket(name) == nil {
			return fmt.Errorf("%w: bucket %s is missing", ErrCorrupt, name)
		}
	}
	if m.st.NewHead, err = m.copyJournal(oldHead); err != nil {
		return err
	}
	if err := m.stx.Bucket(bucketOps).ForEach(m.copyRecord); err != nil {
		return err
	}
	for id, ss := range m.seqs {
		return &ChainError{Seq: ss[0], OpID: id, Reason: "operation in the journal is missing from the records"}
	}
	if err := m.copyKeys(); err != nil {
		return err
	}
	if err := m.copyTerminalsAndToken(); err != nil {
		return err
	}
	if r := m.stx.Bucket([]byte("eod_reports")); r != nil {
		m.st.Reports = r.Stats().KeyN // kept in the operations' records; the bucket itself was never read
	}
	if err := m.writeMeta(oldMeta, from, now); err != nil {
		return err
	}
	return m.b.flush()
}

// copyJournal copies the journal in seq order: the old chain verified, the
// new one built over the re-encoded records. It returns the new head.
func (m *migration) copyJournal(oldHead journalHead) (journalHead, error) {
	var prevOld, prevNew [32]byte
	c := m.journal.Cursor()
	expected := uint64(1)
	for k, v := c.First(); k != nil; k, v = c.Next() {
		e, err := checkV1Entry(k, v, expected, prevOld)
		if err != nil {
			return journalHead{}, err
		}
		op, err := decodeOp(e.record)
		if err != nil {
			return journalHead{}, fmt.Errorf("journal entry %d: %w", e.seq, err)
		}
		rec, err := encodeRecord(op)
		if err != nil {
			return journalHead{}, err
		}
		val, h := entryValue(prevNew, e.seq, e.at, e.opID, e.state, sha256.Sum256(rec))
		if err := m.b.put(bucketJournal, seqKey(e.seq), val); err != nil {
			return journalHead{}, err
		}
		m.seqs[e.opID] = append(m.seqs[e.opID], e.seq)
		prevOld, prevNew = e.hash, h
		if expected == oldHead.seq/2 {
			// Halfway: what is written so far reaches the new file.
			if err := m.b.flush(); err != nil {
				return journalHead{}, err
			}
			if err := m.hit("migration"); err != nil {
				return journalHead{}, err
			}
		}
		expected++
		m.st.Entries++
	}
	if oldHead.seq != expected-1 || oldHead.hash != prevOld {
		return journalHead{}, &ChainError{Seq: expected, Reason: fmt.Sprintf("journal ends at seq %d but its head says %d, or the head hash differs", expected-1, oldHead.seq)}
	}
	return journalHead{seq: oldHead.seq, hash: prevNew}, nil
}

// checkV1Entry reads the old entry at key k, which must be the one of seq
// expected, chained to prev.
func checkV1Entry(k, v []byte, expected uint64, prev [32]byte) (v1Entry, error) {
	if len(k) != 8 || binary.BigEndian.Uint64(k) != expected {
		return v1Entry{}, &ChainError{Seq: expected, Reason: fmt.Sprintf("entry missing or malformed key %x", k)}
	}
	e, err := parseV1Entry(v)
	switch {
	case err != nil:
		return e, &ChainError{Seq: expected, Reason: err.Error()}
	case e.seq != expected:
		return e, &ChainError{Seq: expected, OpID: e.opID, Reason: fmt.Sprintf("entry claims seq %d", e.seq)}
	case e.prev != prev:
		return e, &ChainError{Seq: expected, OpID: e.opID, Reason: "previous hash does not match the entry before"}
	case v1Hash(prev, e.body) != e.hash:
		return e, &ChainError{Seq: expected, OpID: e.opID, Reason: "hash does not match the entry's contents"}
	}
	return e, nil
}

// copyRecord copies one record, once, if it is the one its last journal
// entry holds, with its indexes and its terminal's marks.
func (m *migration) copyRecord(k, v []byte) error {
	id := string(k)
	ss := m.seqs[id]
	if len(ss) == 0 {
		return &ChainError{OpID: id, Reason: "operation has no journal entry"}
	}
	delete(m.seqs, id)
	last, err := parseV1Entry(m.journal.Get(seqKey(ss[len(ss)-1])))
	if err != nil {
		return err
	}
	if !bytes.Equal(last.record, v) {
		return &ChainError{Seq: last.seq, OpID: id, Reason: "operation record differs from its last journal entry"}
	}
	op, err := decodeOp(v)
	if err != nil {
		return fmt.Errorf("operation %s: %w", id, err)
	}
	if op.ID != id {
		return fmt.Errorf("%w: operation %s is stored under %s", ErrCorrupt, op.ID, id)
	}
	rec, err := encodeRecord(op)
	if err != nil {
		return err
	}
	if err := m.b.put(bucketOps, []byte(id), appendOpValue(nil, ss, rec)); err != nil {
		return err
	}
	for _, x := range migratedIndexes(op) {
		if err := m.b.put(x.bucket, x.k, x.v); err != nil {
			return err
		}
	}
	if op.Terminal != "" {
		t := m.terminals[op.Terminal]
		if t == nil {
			t = &marks{}
			m.terminals[op.Terminal] = t
		}
		t.advance(op)
	}
	m.st.Ops++
	return nil
}

// migratedIndexes is every index entry of op but its idempotency key (the
// keys are copied as they are).
func migratedIndexes(op *payment.Operation) []put {
	idx := []put{{bucketCreated, createdKey(op.CreatedAt, op.ID), createdValue(string(op.Kind), op.Terminal)}}
	if op.Reference != "" {
		idx = append(idx, put{bucketRef, refKey(op.Reference, op.ID), nil})
	}
	if op.ParentID != "" {
		idx = append(idx, put{bucketParent, parentKey(op.ParentID, op.ID), nil})
	}
	if !op.State.Final() {
		idx = append(idx, put{bucketOpen, []byte(op.ID), nil})
	}
	if ownsPaymentID(op) {
		idx = append(idx, put{bucketPaymentID, paymentIDKey(op.PaymentID, op.ID), nil})
	}
	if op.Attention() {
		idx = append(idx, put{bucketAttention, []byte(op.ID), nil})
	}
	return idx
}

// copyKeys copies the idempotency keys as they are: a key pruned or given
// back stays so.
func (m *migration) copyKeys() error {
	ops := m.stx.Bucket(bucketOps)
	return m.stx.Bucket(bucketIdem).ForEach(func(k, v []byte) error {
		if ops.Get(v) == nil {
			return fmt.Errorf("%w: idempotency key points to missing operation %s", ErrCorrupt, v)
		}
		m.st.Keys++
		return m.b.put(bucketIdem, k, v)
	})
}

// copyTerminalsAndToken writes the terminals' marks, rebuilt from the
// records, and copies the token.
func (m *migration) copyTerminalsAndToken() error {
	for t, mk := range m.terminals {
		if err := m.b.put(bucketTerminals, []byte(t), encodeMarks(*mk)); err != nil {
			return err
		}
	}
	if tok := m.stx.Bucket(bucketTokens).Get(tokenKey); tok != nil {
		if err := m.b.put(bucketTokens, tokenKey, tok); err != nil {
			return err
		}
	}
	return nil
}

// writeMeta writes meta's migrated_from, the old created_at and the new
// journal head.
func (m *migration) writeMeta(oldMeta *bolt.Bucket, from uint64, now time.Time) error {
	st := m.st
	st.MigratedFromValue = fmt.Sprintf("schema %d, journal head seq %d sha256 %s, migrated %s",
		from, st.OldHead.seq, hex.EncodeToString(st.OldHead.hash[:]), now.UTC().Format(time.RFC3339))
	if err := m.b.put(bucketMeta, metaMigratedFrom, []byte(st.MigratedFromValue)); err != nil {
		return err
	}
	if ca := oldMeta.Get(metaCreatedAt); ca != nil {
		if err := m.b.put(bucketMeta, metaCreatedAt, ca); err != nil {
			return err
		}
	}
	hv := binary.BigEndian.AppendUint64(nil, st.NewHead.seq)
	return m.b.put(bucketMeta, metaJournalHead, append(hv, st.NewHead.hash[:]...))
}

// keepAsBackup makes backup a second name of path (a hard link), or, where
// the filesystem has none, a synced copy.
func keepAsBackup(path, backup string) error {
	_ = os.Remove(backup) // a link left by a migration cut short
	if err := os.Link(path, backup); err == nil {
		return syncDir(filepath.Dir(backup))
	}
	return copyFile(path, backup)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		_ = out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return syncDir(filepath.Dir(to))
}

// syncDir makes a rename or a new file in dir durable. Windows has no
// directory fsync (NTFS journals the rename itself): it is skipped there.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
