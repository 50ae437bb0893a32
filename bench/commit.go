package main

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bridgedpos/bridged/internal/store"
)

// commitFigures is a commit measurement: its latencies and the CPU time
// this process spent per commit (the write, the fsyncs, bbolt's work).
type commitFigures struct {
	dist
	CPU time.Duration `json:"cpu_ns"`
}

// measureCommits times n single-key bbolt write transactions in a file in
// dir, with bbolt's defaults (fsync on, as the store opens its journal): the
// floor under every durable step bridged takes. A few commits first warm the
// file up and are not counted. With noFreelistSync the file is opened as etcd
// opens its own: no freelist written at commit, the map freelist.
func measureCommits(ctx context.Context, dir string, n int, noFreelistSync bool) (commitFigures, error) {
	path := filepath.Join(dir, "commit.db")
	opts := &bolt.Options{Timeout: time.Second}
	if noFreelistSync {
		opts.NoFreelistSync, opts.FreelistType = true, bolt.FreelistMapType
	}
	db, err := bolt.Open(path, 0o600, opts)
	if err != nil {
		return commitFigures{}, err
	}
	defer os.Remove(path)
	defer db.Close()
	bucket := []byte("bench")
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	}); err != nil {
		return commitFigures{}, err
	}
	// About one journaled operation's record.
	val := make([]byte, 1024)
	for i := range val {
		val[i] = byte('a' + i%26)
	}
	warm := min(50, n/10)
	lat := make([]time.Duration, 0, n)
	var cpu0 time.Duration
	for i := range warm + n {
		if err := ctx.Err(); err != nil {
			return commitFigures{}, err
		}
		if i == warm {
			cpu0, _ = ownCPU()
		}
		key := binary.BigEndian.AppendUint64(nil, uint64(i))
		t0 := time.Now()
		if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put(key, val) }); err != nil {
			return commitFigures{}, err
		}
		if i >= warm {
			lat = append(lat, time.Since(t0))
		}
	}
	f := commitFigures{dist: summarize(lat)}
	if cpu1, ok := ownCPU(); ok {
		f.CPU = (cpu1 - cpu0) / time.Duration(n)
	}
	return f, nil
}

// measureStoreWrites times n journal writes made one at a time through the
// store, as bridged makes them for one terminal: a sale's Begin (intent:
// the record, its index entries, a chained journal entry), then its Record
// (the approval). Each is one commit; their difference from a one-key commit
// is the pages they write.
func measureStoreWrites(ctx context.Context, dir string, n int, noFreelistSync bool) (commitFigures, error) {
	st, err := store.Open(dir, store.Options{NoFreelistSync: noFreelistSync})
	if err != nil {
		return commitFigures{}, err
	}
	defer os.RemoveAll(dir)
	defer st.Close()
	ids := terminalIDs(1)
	p := newPlan(journalSpec{Records: n}, ids, deviceIDs(1), time.Now())
	warm := min(50, n/10)
	lat := make([]time.Duration, 0, n+1)
	var cpu0 time.Duration
	for i := 0; len(lat) < n; i++ {
		if 2*i == warm || (i == 0 && warm == 0) {
			cpu0, _ = ownCPU()
		}
		op := p.intent(i)
		t0 := time.Now()
		got, err := st.Begin(ctx, op)
		if err != nil {
			return commitFigures{}, err
		}
		t1 := time.Now()
		p.settle(got, i)
		if err := st.Record(ctx, got); err != nil {
			return commitFigures{}, err
		}
		if 2*i >= warm {
			lat = append(lat, t1.Sub(t0), time.Since(t1))
		}
	}
	f := commitFigures{dist: summarize(lat)}
	if cpu1, ok := ownCPU(); ok {
		// The CPU of building each operation is in it too; it is small
		// next to a commit's.
		f.CPU = (cpu1 - cpu0) / time.Duration(len(lat))
	}
	return f, nil
}

// measureFreelistRebuild opens a copy of the journal at path as etcd would
// run it (NoFreelistSync): once a commit left no freelist in the file, every
// open rebuilds it by walking every page. It returns that open's time, and
// the time with the freelist read from the file, both with the copy's pages
// cached (warm) and, where the OS can drop them, evicted (cold).
func measureFreelistRebuild(path, work string) (freelistFigures, error) {
	var f freelistFigures
	cp := filepath.Join(work, "freelist-copy.db")
	defer os.Remove(cp)
	if err := copyPath(path, cp); err != nil {
		return f, err
	}
	fi, err := os.Stat(cp)
	if err != nil {
		return f, err
	}
	f.FileBytes = fi.Size()
	open := func(nfs bool) (time.Duration, error) {
		t0 := time.Now()
		db, err := bolt.Open(cp, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: nfs, FreelistType: bolt.FreelistMapType})
		d := time.Since(t0)
		if err != nil {
			return 0, err
		}
		return d, db.Close()
	}
	if f.SyncedWarm, err = open(false); err != nil {
		return f, err
	}
	if err := evict(cp); err == nil {
		f.SyncedCold, _ = open(false)
	}
	// One commit with NoFreelistSync leaves the file without a freelist.
	db, err := bolt.Open(cp, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return f, err
	}
	err = db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists([]byte("bench")); return err })
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return f, err
	}
	if f.RebuildWarm, err = open(true); err != nil {
		return f, err
	}
	if err := evict(cp); err == nil {
		f.RebuildCold, _ = open(true)
	}
	return f, nil
}

// freelistFigures are measureFreelistRebuild's.
type freelistFigures struct {
	FileBytes   int64         `json:"file_bytes"`
	SyncedWarm  time.Duration `json:"synced_warm_ns"`
	SyncedCold  time.Duration `json:"synced_cold_ns,omitempty"`
	RebuildWarm time.Duration `json:"rebuild_warm_ns"`
	RebuildCold time.Duration `json:"rebuild_cold_ns,omitempty"`
}

func copyPath(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := out.ReadFrom(in); err != nil {
		_ = out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
