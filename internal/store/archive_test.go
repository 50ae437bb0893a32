package store

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bridgedpos/bridged/internal/payment"
)

// dayOp is a sale of business day d (a date in November 2026) at hh:mm.
func dayOp(id string, d, minute int) *payment.Operation {
	op := sale(id)
	op.BusinessDay = fmt.Sprintf("202611%02d", d)
	op.CreatedAt = time.Date(2026, 11, d, 10, 0, 0, 0, time.UTC).Add(time.Duration(minute) * time.Minute)
	return op
}

// shop journals four business days, 20-23 November, and returns the ids
// that the archive of the days before the 22nd must take, and those it
// must leave:
//
//	20th: sales a0..a5 approved; a0 refunded on the 21st (an effect across days)
//	21st: sales b0..b5; b0 is unknown (the 21st is not closed)
//	22nd, 23rd: sales; c0 is a refund of a1 that is still sending
func shop(t *testing.T, s *Store) (gone, kept []string) {
	t.Helper()
	ctx := context.Background()
	approve := func(op *payment.Operation, effects ...payment.Effect) {
		t.Helper()
		op.State = payment.StateApproved
		if op.Kind == payment.KindSale {
			op.PaymentID = "pay-" + op.ID
		}
		if err := s.Record(ctx, op, effects...); err != nil {
			t.Fatal(err)
		}
	}
	for d := 20; d <= 23; d++ {
		for i := range 6 {
			id := fmt.Sprintf("%c%d", 'a'+d-20, i)
			op := mustBegin(t, s, dayOp(id, d, i))
			switch {
			case d == 21 && i == 0:
				op.State = payment.StateUnknown
				if err := s.Record(ctx, op); err != nil {
					t.Fatal(err)
				}
			default:
				approve(op)
			}
			if d == 20 {
				gone = append(gone, id)
			} else {
				kept = append(kept, id)
			}
		}
		if d == 21 {
			r := refundOf("r-a0", "a0", 1000)
			r.BusinessDay, r.CreatedAt = "20261121", time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
			r = mustBegin(t, s, r)
			approve(r, payment.Effect{ID: "a0", Apply: addRefund(1000)})
			kept = append(kept, "r-a0")
		}
	}
	c := refundOf("c-r", "c1", 500)
	c.BusinessDay, c.CreatedAt = "20261122", time.Date(2026, 11, 22, 13, 0, 0, 0, time.UTC)
	mustBegin(t, s, c)
	kept = append(kept, "c-r")
	return gone, kept
}

func TestArchiveRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, Options{})
	gone, kept := shop(t, s)
	before := map[string]*payment.Operation{}
	for _, id := range append(append([]string{}, gone...), kept...) {
		op, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		before[id] = op
	}
	head := headSeq(t, s)

	done, held, err := s.Archive(ctx, "20261123")
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 1 || done[0].Day != "20261120" || done[0].File != "2026/11/20.jsonl.gz" || done[0].Operations != 6 {
		t.Fatalf("archived %+v", done)
	}
	// A day goes whole or not at all: the 21st waits for b0, the 22nd for
	// its refund c-r (and c1 for its child).
	if !strings.Contains(held["20261121"], "b0 is not final") || !strings.Contains(held["20261122"], "c-r is not final") || len(held) != 2 {
		t.Errorf("held %v, want the 21st for b0 and the 22nd for c-r", held)
	}
	for _, id := range gone {
		if _, err := s.Get(ctx, id); !errors.Is(err, payment.ErrNotFound) {
			t.Errorf("%s still in the journal: %v", id, err)
		}
		if _, err := s.ByKey(ctx, "ecr", "key-"+id); !errors.Is(err, payment.ErrNotFound) {
			t.Errorf("%s's key still in the journal: %v", id, err)
		}
	}
	for _, id := range kept {
		got, err := s.Get(ctx, id)
		if err != nil || !reflect.DeepEqual(got, before[id]) {
			t.Errorf("%s changed: %+v, %v", id, got, err)
		}
	}
	if headSeq(t, s) != head {
		t.Errorf("head moved from %d to %d", head, headSeq(t, s))
	}
	if n, err := s.VerifyChain(ctx); err != nil || n == 0 {
		t.Fatalf("VerifyChain after archiving = %d, %v", n, err)
	}
	rep, err := s.VerifyArchives(ctx)
	if err != nil {
		t.Fatalf("VerifyArchives = %v", err)
	}
	if rep.Archives != 1 || rep.Operations != 6 || rep.Head != head || uint64(rep.Entries+rep.Journal) != head {
		t.Errorf("report %+v (head %d)", rep, head)
	}
	// The archive reads back: every operation of the 20th as it was.
	a, err := readArchive(filepath.Join(dir, ArchiveDir, "2026", "11", "20.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range a.ops {
		op, err := decodeRecord(o.record)
		if err != nil || !reflect.DeepEqual(op, before[o.id]) {
			t.Errorf("archived %s = %+v, %v; want %+v", o.id, op, err, before[o.id])
		}
	}
	// a0's refund on the 21st wrote an entry for a0: it went with a0.
	if a.header.Entries != 13 {
		t.Errorf("the 20th's archive has %d entries, want 13 (2 per sale, 1 for a0's refund)", a.header.Entries)
	}
	// A child of an archived payment is refused as not found.
	if _, err := s.Begin(ctx, refundOf("late", "a1", 100)); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("Begin of a refund of an archived sale = %v", err)
	}
	if err := s.Healthy(); err != nil {
		t.Errorf("Healthy = %v", err)
	}
	// Events skip what is gone; the journal goes on; a second run has nothing to do.
	evs, err := s.Events(ctx, 0, 1000)
	if err != nil || len(evs) != rep.Journal {
		t.Errorf("Events = %d, %v; want the %d entries left", len(evs), err, rep.Journal)
	}
	mustBegin(t, s, dayOp("e0", 24, 0))
	if again, _, err := s.Archive(ctx, "20261123"); err != nil || len(again) != 0 {
		t.Errorf("second Archive = %v, %v", again, err)
	}
	if _, err := s.VerifyArchives(ctx); err != nil {
		t.Fatal(err)
	}
	// b0 settles: the 21st closes and goes at the next run.
	b0, _ := s.Get(ctx, "b0")
	b0.State = payment.StateDeclined
	if err := s.Record(ctx, b0); err != nil {
		t.Fatal(err)
	}
	if _, held, _ := s.Archive(ctx, "20261123"); !strings.Contains(held["20261121"], "last entry") {
		t.Errorf("held %v, want the 21st for b0's entry, the journal's last", held)
	}
	mustBegin(t, s, dayOp("e1", 24, 1))
	if more, _, err := s.Archive(ctx, "20261123"); err != nil || len(more) != 1 || more[0].Day != "20261121" {
		t.Fatalf("Archive after b0 settled = %+v, %v", more, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir, Options{})
	if rep, err := s.VerifyArchives(ctx); err != nil || rep.Archives != 2 {
		t.Fatalf("VerifyArchives after reopen = %+v, %v", rep, err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

// rewriteArchive replaces line n (1-based) of an archive by what change makes of it.
func rewriteArchive(t *testing.T, path string, n int, change func(string) string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for i := 1; sc.Scan(); i++ {
		line := sc.Text()
		if i == n {
			line = change(line)
		}
		fmt.Fprintln(zw, line)
	}
	_ = zw.Close()
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyArchivesCatchesChanges(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		want   string
	}{
		{"an operation line changed", func(t *testing.T, dir string) {
			rewriteArchive(t, filepath.Join(dir, ArchiveDir, "2026", "11", "20.jsonl.gz"), 15, func(l string) string {
				return strings.Replace(l, `"minor":14990`, `"minor":1499`, 1)
			})
		}, "sha256"},
		{"an entry line changed, file and listing both", func(t *testing.T, dir string) {
			path := filepath.Join(dir, ArchiveDir, "2026", "11", "20.jsonl.gz")
			rewriteArchive(t, path, 3, func(l string) string { return strings.Replace(l, `"state":"approved"`, `"state":"declined"`, 1) })
			relist(t, dir, "2026/11/20.jsonl.gz", path)
		}, "hash does not match"},
		{"a record changed, file and listing both", func(t *testing.T, dir string) {
			path := filepath.Join(dir, ArchiveDir, "2026", "11", "20.jsonl.gz")
			rewriteArchive(t, path, 15, func(l string) string { return strings.Replace(l, `"minor":14990`, `"minor":1499`, 1) })
			relist(t, dir, "2026/11/20.jsonl.gz", path)
		}, "record differs"},
		{"a day missing", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, ArchiveDir, "2026", "11", "20.jsonl.gz")); err != nil {
				t.Fatal(err)
			}
		}, "missing"},
		{"a day missing, listing and all", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, ArchiveDir, "2026", "11", "20.jsonl.gz")); err != nil {
				t.Fatal(err)
			}
			unlist(t, dir, "2026/11/20.jsonl.gz")
		}, "neither in the journal nor in an archive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			s := openTest(t, dir, Options{})
			shop(t, s)
			if _, _, err := s.Archive(ctx, "20261123"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.VerifyArchives(ctx); err != nil {
				t.Fatal(err)
			}
			_ = s.Close()
			tt.tamper(t, dir)
			s = openTest(t, dir, Options{})
			if _, err := s.VerifyChain(ctx); err != nil {
				t.Fatalf("the journal alone verifies: %v", err)
			}
			_, err := s.VerifyArchives(ctx)
			if !errors.Is(err, ErrChainBroken) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("VerifyArchives = %v; want a broken chain saying %q", err, tt.want)
			}
		})
	}
}

// relist lists an archive again with its file's current sha256, as someone
// who can rewrite both would.
func relist(t *testing.T, dir, name, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rawUpdate(t, dir, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketArchives)
		var l archiveListing
		if err := json.Unmarshal(b.Get([]byte(name)), &l); err != nil {
			return err
		}
		l.SHA256 = fmt.Sprintf("%x", sha256.Sum256(raw))
		v, _ := json.Marshal(l)
		return b.Put([]byte(name), v)
	})
}

func unlist(t *testing.T, dir, name string) {
	t.Helper()
	rawUpdate(t, dir, func(tx *bolt.Tx) error { return tx.Bucket(bucketArchives).Delete([]byte(name)) })
}

// TestArchiveCutShort: a stop after the file is written leaves it unlisted
// and the journal whole; a stop between two removal writes leaves the
// archive listed incomplete, and the next open finishes it.
func TestArchiveCutShort(t *testing.T) {
	ctx := context.Background()
	errStop := errors.New("stopped")
	for _, point := range []string{"archive_written", "archive_removing"} {
		t.Run(point, func(t *testing.T) {
			dir := t.TempDir()
			var stop bool
			s := openTest(t, dir, Options{ArchiveChunk: 2, Fault: func(p string) error {
				if stop && p == point {
					return errStop
				}
				return nil
			}})
			shop(t, s)
			stop = true
			if _, _, err := s.Archive(ctx, "20261121"); !errors.Is(err, errStop) {
				t.Fatalf("Archive = %v", err)
			}
			if _, err := s.VerifyChain(ctx); err != nil {
				t.Fatal(err)
			}
			// A child may be journaled again once the archive stopped.
			if _, err := s.Begin(ctx, refundOf("after-stop", "a5", 100)); point == "archive_written" && err != nil {
				t.Fatalf("Begin of a child after the archive stopped: %v", err)
			}
			_ = s.Close()
			s = openTest(t, dir, Options{})
			if point == "archive_written" {
				if rep, err := s.VerifyArchives(ctx); err != nil || rep.Archives != 0 || len(rep.Unlisted) != 1 {
					t.Fatalf("after a stop before the removal: %+v, %v", rep, err)
				}
				if err := s.Record(ctx, withState(t, s, "after-stop", payment.StateDeclined)); err != nil {
					t.Fatal(err)
				}
				done, _, err := s.Archive(ctx, "20261121")
				if err != nil || len(done) != 1 {
					t.Fatalf("Archive again = %+v, %v", done, err)
				}
			}
			rep, err := s.VerifyArchives(ctx)
			if err != nil || rep.Archives != 1 || len(rep.Unlisted) != 0 {
				t.Fatalf("VerifyArchives = %+v, %v", rep, err)
			}
			if _, err := s.Get(ctx, "a3"); !errors.Is(err, payment.ErrNotFound) {
				t.Errorf("a3 after the archive finished: %v", err)
			}
		})
	}
}

func withState(t *testing.T, s *Store, id string, st payment.State) *payment.Operation {
	t.Helper()
	op, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	op.State = st
	return op
}

// TestArchiveFreezes: while a day is archived, no child of its operations
// can be journaled (its effect could never be recorded).
func TestArchiveFreezes(t *testing.T) {
	ctx := context.Background()
	var s *Store
	var during error
	s = openTest(t, t.TempDir(), Options{Fault: func(p string) error {
		if p == "archive_written" {
			_, during = s.Begin(ctx, refundOf("during", "a2", 100))
		}
		return nil
	}})
	shop(t, s)
	if _, _, err := s.Archive(ctx, "20261121"); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(during, payment.ErrNotFound) || !strings.Contains(during.Error(), "being archived") {
		t.Errorf("Begin of a child during the archive = %v", during)
	}
	// A child of an operation of another day is not concerned.
	mustBegin(t, s, refundOf("other", "d2", 100))
	if err := s.Healthy(); err != nil {
		t.Error(err)
	}
}
