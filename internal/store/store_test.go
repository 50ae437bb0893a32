package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bridgedpos/bridged/internal/payment"
)

// testClock ticks one millisecond per call, so creation order is strict and known.
type testClock struct{ n atomic.Int64 }

var epoch = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func (c *testClock) Now() time.Time { return epoch.Add(time.Duration(c.n.Add(1)) * time.Millisecond) }

func openTest(t testing.TB, dir string, o Options) *Store {
	t.Helper()
	if o.Now == nil {
		o.Now = (&testClock{}).Now
	}
	s, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newTest(t testing.TB) *Store { return openTest(t, t.TempDir(), Options{}) }

// sale builds a minimal valid operation; the caller sets what the test is about.
func sale(id string) *payment.Operation {
	return &payment.Operation{
		ID: id, Kind: payment.KindSale, Client: "ecr", IdempotencyKey: "key-" + id,
		Fingerprint: "fp-" + id, Reference: "REF-" + id, Terminal: "lane-1",
		Amount: payment.NewMoney(14990, payment.TRY), Installment: 1,
		TransactionReferenceID: "trx-" + id, ConversationID: "conv-" + id,
		State: payment.StateSending, BusinessDay: "20261122",
	}
}

func mustBegin(t testing.TB, s *Store, op *payment.Operation) *payment.Operation {
	t.Helper()
	got, err := s.Begin(context.Background(), op)
	if err != nil {
		t.Fatalf("Begin %s: %v", op.ID, err)
	}
	return got
}

func headSeq(t testing.TB, s *Store) uint64 {
	t.Helper()
	seq, _, err := s.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

func TestOpenCreatesPrivateDirAndFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "bridged")
	s := openTest(t, dir, Options{})
	if want := filepath.Join(dir, FileName); s.Path() != want {
		t.Errorf("Path = %s, want %s", s.Path(), want)
	}
	if runtime.GOOS == "windows" {
		return
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, s.Path(): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s mode = %v, want %v", path, got, want)
		}
	}
}

func TestOpenLockedFailsFast(t *testing.T) {
	dir := t.TempDir()
	const timeout = 200 * time.Millisecond
	openTest(t, dir, Options{Timeout: timeout})

	start := time.Now()
	s2, err := Open(dir, Options{Timeout: timeout})
	elapsed := time.Since(start)
	if err == nil {
		_ = s2.Close()
		t.Fatal("second Open of a locked data dir succeeded")
	}
	if !errors.Is(err, bolt.ErrTimeout) {
		t.Errorf("error does not match bbolt ErrTimeout: %v", err)
	}
	var le *LockedError
	if !errors.As(err, &le) || le.Path != filepath.Join(dir, FileName) {
		t.Errorf("error is not a *LockedError for the file: %#v", err)
	}
	want := fmt.Sprintf("database %s is locked: another bridged process is using this data dir", filepath.Join(dir, FileName))
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	// bbolt polls the lock every 50 ms, so allow one poll beyond the timeout.
	if elapsed > timeout+150*time.Millisecond {
		t.Errorf("second Open took %v, timeout was %v", elapsed, timeout)
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := &testClock{}
	s := openTest(t, dir, Options{Now: clock.Now})

	a := sale("a")
	mustBegin(t, s, a)
	b := sale("b")
	b.Terminal = "lane-2"
	mustBegin(t, s, b)
	eod := &payment.Operation{ID: "eod", Kind: payment.KindEndOfDay, Terminal: "lane-1", State: payment.StateSending, BusinessDay: "20261122"}
	mustBegin(t, s, eod)
	a.State, a.Resolution, a.PaymentID = payment.StateApproved, payment.ResolvedDirect, "pay-a"
	if err := s.Record(ctx, a); err != nil {
		t.Fatal(err)
	}
	tok := testToken()
	if err := s.SaveToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	beforeOps, _, err := s.List(ctx, payment.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	seq, hash, _ := s.Head(ctx)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, dir, Options{Now: clock.Now})
	afterOps, _, err := s.List(ctx, payment.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if !equalOps(beforeOps, afterOps) {
		t.Errorf("operations changed across reopen:\n%v\n%v", beforeOps, afterOps)
	}
	got, err := s.ByKey(ctx, "ecr", "key-a")
	if err != nil || got.State != payment.StateApproved || got.PaymentID != "pay-a" {
		t.Errorf("ByKey after reopen = %+v, %v", got, err)
	}
	open, err := s.Open(ctx)
	if err != nil || len(open) != 2 || open[0].ID != "b" || open[1].ID != "eod" {
		t.Errorf("Open after reopen = %v, %v", ids(open), err)
	}
	if lt, err := s.LoadToken(ctx); err != nil || lt.AccessToken != tok.AccessToken || !lt.Expiry.Equal(tok.Expiry) {
		t.Errorf("LoadToken after reopen = %+v, %v", lt, err)
	}
	if seq2, hash2, _ := s.Head(ctx); seq2 != seq || hash2 != hash {
		t.Errorf("head moved across reopen: %d %s -> %d %s", seq, hash, seq2, hash2)
	}
	// The chain continues where it stopped.
	mustBegin(t, s, sale("c"))
	if n, err := s.VerifyChain(ctx); err != nil || n != int(seq)+1 {
		t.Errorf("VerifyChain after reopen = %d, %v; want %d, nil", n, err, seq+1)
	}
	if err := s.Check(ctx); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func TestSchemaVersion(t *testing.T) {
	readVersion := func(t *testing.T, path string) uint64 {
		t.Helper()
		db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var v uint64
		_ = db.View(func(tx *bolt.Tx) error {
			if b := tx.Bucket(bucketMeta); b != nil && len(b.Get(metaSchemaVersion)) == 8 {
				v = binary.BigEndian.Uint64(b.Get(metaSchemaVersion))
			}
			return nil
		})
		return v
	}
	setVersion := func(t *testing.T, path string, v uint64) {
		t.Helper()
		db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		err = db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists(bucketMeta)
			if err != nil {
				return err
			}
			return b.Put(metaSchemaVersion, binary.BigEndian.AppendUint64(nil, v))
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	t.Run("new file gets the current version", func(t *testing.T) {
		dir := t.TempDir()
		s := openTest(t, dir, Options{})
		_ = s.Close()
		if v := readVersion(t, filepath.Join(dir, FileName)); v != schemaVersion {
			t.Errorf("version = %d, want %d", v, schemaVersion)
		}
	})
	t.Run("empty bbolt file migrates from 0", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, FileName)
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = db.Close()
		s := openTest(t, dir, Options{})
		mustBegin(t, s, sale("a"))
		_ = s.Close()
		if v := readVersion(t, path); v != schemaVersion {
			t.Errorf("version = %d, want %d", v, schemaVersion)
		}
	})
	t.Run("newer file is refused", func(t *testing.T) {
		dir := t.TempDir()
		s := openTest(t, dir, Options{})
		mustBegin(t, s, sale("a"))
		_ = s.Close()
		path := filepath.Join(dir, FileName)
		setVersion(t, path, schemaVersion+1)

		s2, err := Open(dir, Options{})
		if err == nil {
			_ = s2.Close()
			t.Fatal("Open of a newer schema succeeded")
		}
		if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), fmt.Sprintf("schema version %d", schemaVersion+1)) {
			t.Errorf("error = %v", err)
		}
		// The refusal left the file as it was and unlocked.
		if v := readVersion(t, path); v != schemaVersion+1 {
			t.Errorf("version after refusal = %d", v)
		}
	})
}

func TestFailWrites(t *testing.T) {
	ctx := context.Background()
	errDisk := errors.New("fsync: input/output error")
	tests := []struct {
		name  string
		write func(s *Store) error
		// unchanged checks that nothing of the failed write is visible.
		unchanged func(t *testing.T, s *Store)
	}{
		{"begin", func(s *Store) error {
			_, err := s.Begin(ctx, sale("b"))
			return err
		}, func(t *testing.T, s *Store) {
			if _, err := s.Get(ctx, "b"); !errors.Is(err, payment.ErrNotFound) {
				t.Errorf("Get after failed Begin: %v", err)
			}
			if _, err := s.ByKey(ctx, "ecr", "key-b"); !errors.Is(err, payment.ErrNotFound) {
				t.Errorf("ByKey after failed Begin: %v", err)
			}
		}},
		{"record", func(s *Store) error {
			a := sale("a")
			a.State = payment.StateApproved
			return s.Record(ctx, a)
		}, func(t *testing.T, s *Store) {
			if got, _ := s.Get(ctx, "a"); got.State != payment.StateSending {
				t.Errorf("state after failed Record = %s", got.State)
			}
			if open, _ := s.Open(ctx); len(open) != 1 {
				t.Errorf("open after failed Record = %v", ids(open))
			}
		}},
		{"update", func(s *Store) error {
			_, err := s.Update(ctx, "a", func(op *payment.Operation) error { op.Queries = 9; return nil })
			return err
		}, func(t *testing.T, s *Store) {
			if got, _ := s.Get(ctx, "a"); got.Queries != 0 {
				t.Errorf("queries after failed Update = %d", got.Queries)
			}
		}},
		{"prune", func(s *Store) error {
			_, err := s.PruneKeys(ctx, "lane-1", epoch.Add(time.Hour))
			return err
		}, func(*testing.T, *Store) {}},
		{"token", func(s *Store) error { return s.SaveToken(ctx, testToken()) }, func(t *testing.T, s *Store) {
			if tok, err := s.LoadToken(ctx); tok != nil || err != nil {
				t.Errorf("token after failed save = %v, %v", tok, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fail atomic.Bool
			s := openTest(t, t.TempDir(), Options{FailWrites: func() error {
				if fail.Load() {
					return errDisk
				}
				return nil
			}})
			mustBegin(t, s, sale("a"))
			seq := headSeq(t, s)
			if err := s.Healthy(); err != nil {
				t.Fatalf("Healthy before failure: %v", err)
			}

			fail.Store(true)
			err := tt.write(s)
			if !errors.Is(err, errDisk) || !errors.Is(err, payment.ErrStorageFailure) {
				t.Fatalf("write error = %v, want the disk error as a storage failure", err)
			}
			tt.unchanged(t, s)
			if got := headSeq(t, s); got != seq {
				t.Errorf("journal head moved from %d to %d", seq, got)
			}
			if err := s.Healthy(); !errors.Is(err, errDisk) {
				t.Errorf("Healthy = %v, want the disk error", err)
			}

			// The first failure stays reported after the disk recovers.
			fail.Store(false)
			mustBegin(t, s, sale("c"))
			if err := s.Healthy(); !errors.Is(err, errDisk) {
				t.Errorf("Healthy after recovery = %v, want the first failure kept", err)
			}
			if _, err := s.VerifyChain(ctx); err != nil {
				t.Errorf("VerifyChain: %v", err)
			}
		})
	}
}

func TestFailWritesAtOpen(t *testing.T) {
	errDisk := errors.New("disk full")
	_, err := Open(t.TempDir(), Options{FailWrites: func() error { return errDisk }})
	if !errors.Is(err, errDisk) {
		t.Fatalf("Open with failing writes = %v", err)
	}
}

func TestRejectionsAreNotStorageFailures(t *testing.T) {
	ctx := context.Background()
	s := newTest(t)
	mustBegin(t, s, sale("a"))
	_, _ = s.Begin(ctx, sale("a"))
	_ = s.Record(ctx, sale("missing"))
	_, _ = s.Begin(ctx, &payment.Operation{})
	if err := s.Healthy(); err != nil {
		t.Errorf("Healthy after rejected writes = %v", err)
	}
}

func TestCheck(t *testing.T) {
	s := newTest(t)
	for i := range 50 {
		mustBegin(t, s, sale(fmt.Sprint(i)))
	}
	if err := s.Check(context.Background()); err != nil {
		t.Errorf("Check = %v", err)
	}
}

func TestContextCanceled(t *testing.T) {
	s := newTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Begin(ctx, sale("a")); !errors.Is(err, context.Canceled) {
		t.Errorf("Begin = %v", err)
	}
	if _, err := s.Get(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get = %v", err)
	}
	if err := s.Healthy(); err != nil {
		t.Errorf("a canceled context made the store unhealthy: %v", err)
	}
}

func ids(ops []*payment.Operation) []string {
	out := make([]string, len(ops))
	for i, op := range ops {
		out[i] = op.ID
	}
	return out
}

// TestFailWriteNamesTheWrite: the finer seam fails only the writes it names,
// so a test can fail an operation's own commit and not, say, a token save.
func TestFailWriteNamesTheWrite(t *testing.T) {
	ctx := context.Background()
	errDisk := errors.New("fsync: input/output error")
	var seen []string
	s := openTest(t, t.TempDir(), Options{FailWrite: func(what string) error {
		seen = append(seen, what)
		if what == "begin b" {
			return errDisk
		}
		return nil
	}})
	mustBegin(t, s, sale("a"))
	if _, err := s.Begin(ctx, sale("b")); !errors.Is(err, errDisk) || !errors.Is(err, payment.ErrStorageFailure) {
		t.Fatalf("Begin b = %v, want the disk error as a storage failure", err)
	}
	if _, err := s.Get(ctx, "b"); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("Get after the failed Begin: %v", err)
	}
	if _, err := s.Get(ctx, "a"); err != nil {
		t.Errorf("Get a: %v", err)
	}
	if !slices.Contains(seen, "begin a") || !slices.Contains(seen, "begin b") {
		t.Errorf("the seam was asked about %v, want begin a and begin b among them", seen)
	}
}
