package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bridgedpos/bridged/internal/payment"
)

// writeLoad runs n writers, each journaling sales (Begin then Record
// approved) until stop is closed; acked gets every sale whose Record
// returned, which is what an ECR would have been told. The channel it
// returns is closed once 200 sales are acknowledged.
func writeLoad(t *testing.T, s *Store, n int, stop <-chan struct{}, acked *sync.Map) (*sync.WaitGroup, <-chan struct{}) {
	t.Helper()
	var wg sync.WaitGroup
	var seq, count atomic.Int64
	warm := make(chan struct{})
	for w := range n {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("load-%d-%d", w, seq.Add(1))
				op := dayOp(id, 24, 0)
				op.Terminal = fmt.Sprintf("lane-%02d", w)
				got, err := s.Begin(context.Background(), op)
				if err != nil {
					t.Errorf("Begin %s: %v", id, err)
					return
				}
				got.State = payment.StateApproved
				if err := s.Record(context.Background(), got); err != nil {
					t.Errorf("Record %s: %v", id, err)
					return
				}
				acked.Store(id, true)
				if count.Add(1) == 200 {
					close(warm)
				}
			}
		})
	}
	return &wg, warm
}

// TestBackupDuringLoad: a backup taken while 64 lanes journal sales restores
// into a journal that verifies with its archives and holds every sale
// acknowledged before the backup began.
func TestBackupDuringLoad(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{})
	shop(t, s)
	if _, _, err := s.Archive(ctx, "20261123"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var acked sync.Map
	wg, warm := writeLoad(t, s, 64, stop, &acked)
	<-warm // the load is running: the backup is taken during it
	var before []string
	acked.Range(func(k, _ any) bool { before = append(before, k.(string)); return true })
	var buf bytes.Buffer
	info, err := s.Backup(ctx, &buf)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if info.Archives != 1 || info.JournalBytes == 0 || info.Head == 0 {
		t.Errorf("backup %+v", info)
	}
	dir := filepath.Join(t.TempDir(), "restored")
	if err := Restore(bytes.NewReader(buf.Bytes()), dir); err != nil {
		t.Fatal(err)
	}
	if err := Restore(bytes.NewReader(buf.Bytes()), dir); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("Restore over a journal = %v", err)
	}
	r := openTest(t, dir, Options{})
	rep, err := r.VerifyArchives(ctx)
	if err != nil || rep.Archives != 1 || rep.Head < info.Head {
		t.Fatalf("the restored journal: %+v, %v", rep, err)
	}
	if err := r.Check(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range before {
		op, err := r.Get(ctx, id)
		if err != nil || op.State != payment.StateApproved {
			t.Fatalf("acknowledged sale %s in the restored journal: %+v, %v", id, op, err)
		}
	}
	t.Logf("backup of %d bytes during the load: head %d, %d sales acknowledged before it", buf.Len(), info.Head, len(before))
}

func TestRestoreRefusesStrangeFiles(t *testing.T) {
	var buf bytes.Buffer
	s := newTest(t)
	if _, err := s.Backup(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	if err := Restore(bytes.NewReader([]byte("not a tar at all, not at all")), t.TempDir()); err == nil {
		t.Error("Restore of garbage succeeded")
	}
	if err := Restore(bytes.NewReader(nil), t.TempDir()); err == nil {
		t.Error("Restore of nothing succeeded")
	}
}

// TestCompact: after old days are archived, compaction gives the free pages
// back, keeps every operation, archive and chain, and the writes queued
// behind it go on in the new file.
func TestCompact(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, Options{})
	for d := 1; d <= 12; d++ {
		for i := range 200 {
			op := mustBegin(t, s, dayOp(fmt.Sprintf("d%02d-%03d", d, i), d, i))
			op.State = payment.StateApproved
			if err := s.Record(ctx, op); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, _, err := s.Archive(ctx, "20261110"); err != nil {
		t.Fatal(err)
	}
	kept := listAll(t, s, payment.Filter{})
	before, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var acked sync.Map
	wg, warm := writeLoad(t, s, 8, stop, &acked)
	<-warm
	res, err := s.Compact(ctx)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("before %+v after %+v in %s", res.Before, res.After, res.Took)
	if before.FreeRatio() < 0.3 || res.After.FileBytes >= res.Before.FileBytes {
		t.Errorf("compaction of a file %.0f%% free: %d -> %d bytes", 100*before.FreeRatio(), res.Before.FileBytes, res.After.FileBytes)
	}
	for _, op := range kept {
		got, err := s.Get(ctx, op.ID)
		if err != nil || !reflect.DeepEqual(got, op) {
			t.Fatalf("%s after compaction: %v", op.ID, err)
		}
	}
	acked.Range(func(k, _ any) bool {
		if _, err := s.Get(ctx, k.(string)); err != nil {
			t.Errorf("sale %s written around the compaction: %v", k, err)
		}
		return true
	})
	if _, err := s.VerifyArchives(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Healthy(); err != nil {
		t.Fatal(err)
	}
}

func TestCompactCutShort(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	errStop := errors.New("stopped")
	s := openTest(t, dir, Options{Fault: func(p string) error {
		if p == "compaction" {
			return errStop
		}
		return nil
	}})
	mustBegin(t, s, sale("a"))
	if _, err := s.Compact(ctx); !errors.Is(err, errStop) {
		t.Fatalf("Compact = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName+compactingSuffix)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("copy left behind: %v", err)
	}
	mustBegin(t, s, sale("b"))
	_ = s.Close()
	// As a kill -9 would leave it: a copy beside the journal.
	if err := os.WriteFile(filepath.Join(dir, FileName+compactingSuffix), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir, Options{})
	if _, err := os.Stat(filepath.Join(dir, FileName+compactingSuffix)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("open left the copy: %v", err)
	}
	if n, err := s.VerifyChain(ctx); err != nil || n != 2 {
		t.Errorf("VerifyChain = %d, %v", n, err)
	}
}
