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

// measureCommits times n single-key bbolt write transactions in a file in
// dir, with bbolt's defaults (fsync on, as the store opens its journal): the
// floor under every durable step bridged takes. A few commits first warm the
// file up and are not counted.
func measureCommits(ctx context.Context, dir string, n int) (dist, error) {
	path := filepath.Join(dir, "commit.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return dist{}, err
	}
	defer os.Remove(path)
	defer db.Close()
	bucket := []byte("bench")
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	}); err != nil {
		return dist{}, err
	}
	// About one journaled operation's record.
	val := make([]byte, 1024)
	for i := range val {
		val[i] = byte('a' + i%26)
	}
	warm := min(50, n/10)
	lat := make([]time.Duration, 0, n)
	for i := range warm + n {
		if err := ctx.Err(); err != nil {
			return dist{}, err
		}
		key := binary.BigEndian.AppendUint64(nil, uint64(i))
		t0 := time.Now()
		if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put(key, val) }); err != nil {
			return dist{}, err
		}
		if i >= warm {
			lat = append(lat, time.Since(t0))
		}
	}
	return summarize(lat), nil
}

// measureStoreWrites times n journal writes made one at a time through the
// store, as bridged makes them for one terminal: a sale's Begin (intent:
// the record, five index entries, a chained journal entry), then its Record
// (the approval). Each is one commit; their difference from a one-key commit
// is the pages they write.
func measureStoreWrites(ctx context.Context, dir string, n int) (dist, error) {
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		return dist{}, err
	}
	defer os.RemoveAll(dir)
	defer st.Close()
	ids := terminalIDs(1)
	p := newPlan(journalSpec{Records: n}, ids, deviceIDs(1), time.Now())
	warm := min(50, n/10)
	lat := make([]time.Duration, 0, n+1)
	for i := 0; len(lat) < n; i++ {
		t0 := time.Now()
		op, err := st.Begin(ctx, p.intent(i))
		if err != nil {
			return dist{}, err
		}
		t1 := time.Now()
		p.settle(op, i)
		if err := st.Record(ctx, op); err != nil {
			return dist{}, err
		}
		if 2*i >= warm {
			lat = append(lat, t1.Sub(t0), time.Since(t1))
		}
	}
	return summarize(lat), nil
}
