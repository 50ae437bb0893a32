package store

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bridgedpos/bridged/internal/payment"
)

// The fixtures are journals made by the older code itself
// (testdata/oldjournal/main.go): v1.db.gz by d63fd60 (schema 1), v2.db.gz
// by a06471f (schema 2), 700 operations each over 6 days and 6 terminals:
// sales approved, declined and unknown, refunds and voids with their
// payments' figures, ends of day with reports, a token, pruned keys.
func TestMigrateFixtures(t *testing.T) {
	for _, name := range []string{"v1.db.gz", "v2.db.gz"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			unzip(t, filepath.Join("testdata", name), filepath.Join(dir, FileName))
			checkMigration(t, dir)
		})
	}
}

// TestMigrateBigJournal migrates the journal in BRIDGED_MIGRATION_JOURNAL
// (a data dir of a v1 or v2 bridged; .ci/migration.sh makes one of 100,000
// operations with d63fd60's code) on a copy.
func TestMigrateBigJournal(t *testing.T) {
	src := os.Getenv("BRIDGED_MIGRATION_JOURNAL")
	if src == "" {
		t.Skip("BRIDGED_MIGRATION_JOURNAL is not set (.ci/migration.sh sets it)")
	}
	dir := t.TempDir()
	if err := copyFile(filepath.Join(src, FileName), filepath.Join(dir, FileName)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	st := checkMigration(t, dir)
	t.Logf("migrated %d operations (%d entries, %d keys) from schema %d in %s, checks included",
		st.ops, st.entries, st.keys, st.from, time.Since(start).Round(time.Millisecond))
}

type oldJournal struct {
	from               uint64
	ops, entries, keys int
	byID               map[string]*payment.Operation
	keysOf             map[string]string // client \0 key -> op id
	head               journalHead
	token              []byte
	sum                [32]byte
}

// readOld reads a v1 or v2 file with bbolt alone and the version 1 codec.
func readOld(t testing.TB, path string) oldJournal {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	o := oldJournal{byID: map[string]*payment.Operation{}, keysOf: map[string]string{}, sum: sha256.Sum256(raw)}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		if o.from, err = readVersion(tx); err != nil {
			return err
		}
		if o.head, err = readHead(tx.Bucket(bucketMeta)); err != nil {
			return err
		}
		o.entries = tx.Bucket(bucketJournal).Stats().KeyN
		o.token = bytes.Clone(tx.Bucket(bucketTokens).Get(tokenKey))
		if err := tx.Bucket(bucketOps).ForEach(func(k, v []byte) error {
			op, err := decodeOp(v)
			if err != nil {
				return err
			}
			o.byID[string(k)] = op
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bucketIdem).ForEach(func(k, v []byte) error {
			o.keysOf[string(k)] = string(v)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	o.ops, o.keys = len(o.byID), len(o.keysOf)
	return o
}

// checkMigration opens the old journal in dir, which migrates it, and checks
// that nothing was lost or changed: every operation field by field, every
// key, every index a reader uses, the terminals' marks against a walk of the
// history, the token, the chain (new, over every seq), and the backup.
func checkMigration(t *testing.T, dir string) oldJournal {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(dir, FileName)
	old := readOld(t, path)
	if old.from == 0 || old.from >= schemaVersion {
		t.Fatalf("fixture has schema %d", old.from)
	}
	opened := time.Now()
	s := openTest(t, dir, Options{})
	t.Logf("open with the migration from schema %d: %s", old.from, time.Since(opened).Round(time.Millisecond))
	if v := fileVersion(t, s); v != schemaVersion {
		t.Fatalf("version after open = %d", v)
	}
	// The old file is the backup, byte for byte.
	baks, _ := filepath.Glob(path + ".schema*.bak")
	if len(baks) != 1 {
		t.Fatalf("backups %v, want one", baks)
	}
	if raw, err := os.ReadFile(baks[0]); err != nil || sha256.Sum256(raw) != old.sum {
		t.Errorf("backup %s differs from the old file (%v)", baks[0], err)
	}
	if _, err := os.Stat(path + migratingSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the migration's copy is left behind: %v", err)
	}
	if n, err := s.VerifyChain(ctx); err != nil || uint64(n) != old.head.seq {
		t.Fatalf("VerifyChain = %d, %v; want %d entries", n, err, old.head.seq)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	var open []string
	for id, want := range old.byID {
		got, err := s.Get(ctx, id)
		if err != nil {
			t.Fatalf("Get %s: %v", id, err)
		}
		if !reflect.DeepEqual(got, utc(want)) {
			t.Fatalf("operation %s changed:\n got %+v\nwant %+v", id, got, want)
		}
		if !want.State.Final() {
			open = append(open, id)
		}
		if want.Reference != "" {
			l, _, err := s.List(ctx, payment.Filter{Reference: want.Reference})
			if err != nil || !containsID(l, id) {
				t.Fatalf("List by reference %s = %v, %v", want.Reference, ids(l), err)
			}
		}
		if ownsPaymentID(want) {
			o, err := s.ByPaymentID(ctx, want.PaymentID)
			if err != nil || !containsID(o, id) {
				t.Fatalf("ByPaymentID %s = %v, %v", want.PaymentID, ids(o), err)
			}
		}
		if want.ParentID != "" {
			l, _, err := s.List(ctx, payment.Filter{ParentID: want.ParentID})
			if err != nil || !containsID(l, id) {
				t.Fatalf("List children of %s = %v, %v", want.ParentID, ids(l), err)
			}
		}
	}
	for k, id := range old.keysOf {
		client, key, _ := strings.Cut(k, sep)
		got, err := s.ByKey(ctx, client, key)
		if err != nil || got.ID != id {
			t.Fatalf("ByKey %q = %v, %v; want %s", k, got, err, id)
		}
	}
	gotOpen, err := s.Open(ctx)
	if err != nil || len(gotOpen) != len(open) {
		t.Fatalf("Open = %d operations, %v; want %d", len(gotOpen), err, len(open))
	}
	// Every operation is listed, newest first, as before.
	all := listAll(t, s, payment.Filter{})
	if len(all) != old.ops {
		t.Fatalf("List walks %d operations, want %d", len(all), old.ops)
	}
	// The marks say what a walk of the whole history says.
	for terminal, want := range historyByWalk(all) {
		got, err := s.TerminalHistory(ctx, terminal)
		if err != nil {
			t.Fatal(err)
		}
		if idOf(got.LastEndOfDay) != idOf(want.LastEndOfDay) || idOf(got.MaybeClosed) != idOf(want.MaybeClosed) ||
			idOf(got.LastApproved) != idOf(want.LastApproved) {
			t.Fatalf("terminal %s: marks %s/%s/%s, the history says %s/%s/%s", terminal,
				idOf(got.LastEndOfDay), idOf(got.MaybeClosed), idOf(got.LastApproved),
				idOf(want.LastEndOfDay), idOf(want.MaybeClosed), idOf(want.LastApproved))
		}
	}
	if old.token != nil {
		tok, err := s.LoadToken(ctx)
		if err != nil || tok == nil || tok.AccessToken == "" {
			t.Fatalf("token after migration = %v, %v", tok, err)
		}
	}
	var mf []byte
	_ = s.view(ctx, func(tx *bolt.Tx) error {
		mf = bytes.Clone(tx.Bucket(bucketMeta).Get(metaMigratedFrom))
		return nil
	})
	if !strings.Contains(string(mf), "journal head seq") {
		t.Errorf("migrated_from = %q", mf)
	}
	// The journal goes on: a new operation, and an effect on a migrated one.
	op := sale("after-migration")
	mustBegin(t, s, op)
	op.State = payment.StateApproved
	if err := s.Record(ctx, op); err != nil {
		t.Fatal(err)
	}
	if n, err := s.VerifyChain(ctx); err != nil || uint64(n) != old.head.seq+2 {
		t.Fatalf("VerifyChain after new writes = %d, %v", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Opening again migrates nothing more.
	s = openTest(t, dir, Options{})
	if baks2, _ := filepath.Glob(path + ".schema*.bak"); len(baks2) != 1 {
		t.Errorf("a second open made another backup: %v", baks2)
	}
	if _, err := s.Get(ctx, "after-migration"); err != nil {
		t.Error(err)
	}
	return old
}

// historyByWalk is what Recover used to compute by listing each terminal's
// whole history: the oracle of the marks.
func historyByWalk(newestFirst []*payment.Operation) map[string]*payment.TerminalHistory {
	out := map[string]*payment.TerminalHistory{}
	for i := len(newestFirst) - 1; i >= 0; i-- { // oldest first
		op := newestFirst[i]
		if op.Terminal == "" {
			continue
		}
		h := out[op.Terminal]
		if h == nil {
			h = &payment.TerminalHistory{}
			out[op.Terminal] = h
		}
		switch {
		case op.Kind == payment.KindEndOfDay && op.State == payment.StateApproved:
			h.LastEndOfDay = op
			if h.MaybeClosed != nil && !h.MaybeClosed.CreatedAt.After(op.CreatedAt) {
				h.MaybeClosed = nil
			}
		case op.Kind == payment.KindEndOfDay && op.State.Final() && op.BatchMaybeClosed:
			h.MaybeClosed = op
		case op.Kind.MovesMoney() && op.State == payment.StateApproved:
			h.LastApproved = op
		}
	}
	return out
}

func idOf(op *payment.Operation) string {
	if op == nil {
		return "-"
	}
	return op.ID
}

func containsID(ops []*payment.Operation, id string) bool {
	for _, op := range ops {
		if op.ID == id {
			return true
		}
	}
	return false
}

func listAll(t testing.TB, s *Store, f payment.Filter) []*payment.Operation {
	t.Helper()
	f.Limit = MaxLimit
	var out []*payment.Operation
	for {
		page, next, err := s.List(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		f.Cursor = next
	}
}

func fileVersion(t testing.TB, s *Store) uint64 {
	t.Helper()
	var v uint64
	if err := s.view(context.Background(), func(tx *bolt.Tx) error {
		var err error
		v, err = readVersion(tx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

func unzip(t testing.TB, from, to string) {
	t.Helper()
	f, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestMigrationCutShort: a migration that fails halfway (a stop, a full
// disk) leaves the old file as it was; the next open removes the
// unfinished copy and migrates from the start.
func TestMigrationCutShort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	unzip(t, filepath.Join("testdata", "v1.db.gz"), path)
	before := readOld(t, path)
	errStop := errors.New("stopped")
	_, err := Open(dir, Options{Fault: func(p string) error {
		if p == "migration" {
			return errStop
		}
		return nil
	}})
	if !errors.Is(err, errStop) {
		t.Fatalf("Open with the migration failing halfway = %v", err)
	}
	if after := readOld(t, path); after.sum != before.sum {
		t.Fatal("the old file changed")
	}
	if baks, _ := filepath.Glob(path + ".schema*.bak"); len(baks) != 0 {
		t.Errorf("backup made by a failed migration: %v", baks)
	}
	// As a kill -9 would leave it: a half-written copy.
	if err := os.WriteFile(path+migratingSuffix, []byte("half a journal"), 0o600); err != nil {
		t.Fatal(err)
	}
	checkMigration(t, dir)
}

// TestMigrationRefusesBrokenChain: a v1 file whose chain is broken is not
// migrated (that would launder the tampering into a new chain); the file is
// left as it was.
func TestMigrationRefusesBrokenChain(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	unzip(t, filepath.Join("testdata", "v2.db.gz"), path)
	rawUpdate(t, dir, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJournal)
		v := bytes.Clone(b.Get(seqKey(7)))
		v[len(v)-5] ^= 1
		return b.Put(seqKey(7), v)
	})
	before := readOld(t, path)
	_, err := Open(dir, Options{})
	var ce *ChainError
	if !errors.As(err, &ce) || ce.Seq != 7 {
		t.Fatalf("Open of a tampered v2 file = %v, want a broken chain at 7", err)
	}
	if after := readOld(t, path); after.sum != before.sum {
		t.Error("the refused file changed")
	}
}
