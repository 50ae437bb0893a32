package store

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bridgedpos/bridged/internal/payment"
)

// chainFixture journals 3 operations and 2 state changes: 5 entries.
//
//	1 begin a   2 begin b   3 record a (approved)   4 begin c   5 record b (unknown)
func chainFixture(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	s := openTest(t, dir, Options{})
	a := mustBegin(t, s, sale("a"))
	b := mustBegin(t, s, sale("b"))
	a.State = payment.StateApproved
	if err := s.Record(ctx, a); err != nil {
		t.Fatal(err)
	}
	mustBegin(t, s, sale("c"))
	b.State = payment.StateUnknown
	if err := s.Record(ctx, b); err != nil {
		t.Fatal(err)
	}
	if n, err := s.VerifyChain(ctx); err != nil || n != 5 {
		t.Fatalf("VerifyChain on a clean journal = %d, %v", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// rawUpdate changes the file behind the store's back, as an attacker would.
func rawUpdate(t *testing.T, dir string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyChainDetectsTampering(t *testing.T) {
	// rewrite replaces the value at seq with what change makes of a copy.
	rewrite := func(seq uint64, change func(v []byte) []byte) func(tx *bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketJournal)
			v := append([]byte(nil), b.Get(seqKey(seq))...)
			return b.Put(seqKey(seq), change(v))
		}
	}
	// approvedToDeclined edits the state an entry names.
	approvedToDeclined := func(v []byte) []byte {
		e, _, err := parseEntry(3, v)
		if err != nil {
			panic(err)
		}
		nv, _ := entryValue([32]byte{}, 3, e.at, e.opID, payment.StateDeclined, e.recSum)
		copy(nv[1:33], v[1:33]) // keep the stored hash
		return nv
	}
	// rehash recomputes entry 3's hash from entry 2's, as a forger would.
	rehash := func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJournal)
		prev, _, _ := parseEntry(2, b.Get(seqKey(2)))
		e, _, _ := parseEntry(3, b.Get(seqKey(3)))
		nv, _ := entryValue(prev.hash, 3, e.at, e.opID, payment.StateDeclined, e.recSum)
		return b.Put(seqKey(3), nv)
	}
	tests := []struct {
		name    string
		tamper  func(tx *bolt.Tx) error
		wantSeq uint64
		wantN   int
	}{
		{"flip a byte in entry 2", rewrite(2, func(v []byte) []byte { v[len(v)-3] ^= 1; return v }), 2, 1},
		{"rewrite the state of entry 3", rewrite(3, approvedToDeclined), 3, 2},
		{"rewrite entry 3 and its hash", rehash, 4, 3},
		{"change the time of entry 1", rewrite(1, func(v []byte) []byte { v[33+7]++; return v }), 1, 0},
		{"delete entry 4", func(tx *bolt.Tx) error { return tx.Bucket(bucketJournal).Delete(seqKey(4)) }, 4, 3},
		{"delete the last entry", func(tx *bolt.Tx) error { return tx.Bucket(bucketJournal).Delete(seqKey(5)) }, 5, 4},
		{"truncate the value", rewrite(2, func(v []byte) []byte { return v[:10] }), 2, 1},
		{"rewrite a current record", func(tx *bolt.Tx) error {
			ops := tx.Bucket(bucketOps)
			op, val, _ := decodeValue(ops.Get([]byte("a")))
			op.State = payment.StateDeclined
			rec, _ := encodeOp(op)
			return ops.Put([]byte("a"), appendOpValue(nil, val.seqs, rec))
		}, 3, 5},
		{"delete a current record", func(tx *bolt.Tx) error { return tx.Bucket(bucketOps).Delete([]byte("c")) }, 4, 3},
		{"drop an entry from an operation's list", func(tx *bolt.Tx) error {
			ops := tx.Bucket(bucketOps)
			val, _ := parseOpValue(ops.Get([]byte("b")))
			return ops.Put([]byte("b"), appendOpValue(nil, val.seqs[1:], val.record))
		}, 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			chainFixture(t, dir)
			rawUpdate(t, dir, tt.tamper)

			s := openTest(t, dir, Options{})
			n, err := s.VerifyChain(context.Background())
			var ce *ChainError
			if !errors.Is(err, ErrChainBroken) || !errors.As(err, &ce) {
				t.Fatalf("VerifyChain = %d, %v; want a broken chain", n, err)
			}
			if ce.Seq != tt.wantSeq || n != tt.wantN {
				t.Errorf("broken at seq %d after %d entries (%v); want seq %d after %d", ce.Seq, n, err, tt.wantSeq, tt.wantN)
			}
		})
	}
}

func TestEvents(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	chainFixture(t, dir)
	s := openTest(t, dir, Options{})

	all, err := s.Events(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	type ev struct {
		seq   uint64
		id    string
		state payment.State
	}
	var got []ev
	for _, e := range all {
		got = append(got, ev{e.Seq, e.OpID, e.State})
		if e.Op == nil || e.Op.ID != e.OpID || e.At.IsZero() {
			t.Errorf("event %d: op %+v at %v", e.Seq, e.Op, e.At)
		}
	}
	want := []ev{
		{1, "a", payment.StateSending}, {2, "b", payment.StateSending}, {3, "a", payment.StateApproved},
		{4, "c", payment.StateSending}, {5, "b", payment.StateUnknown},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	for i := 1; i < len(all); i++ {
		if all[i].At.Before(all[i-1].At) {
			t.Errorf("event %d is older than event %d", all[i].Seq, all[i-1].Seq)
		}
	}

	// Resume after a Last-Event-ID.
	page, err := s.Events(ctx, 2, 2)
	if err != nil || len(page) != 2 || page[0].Seq != 3 || page[1].Seq != 4 {
		t.Errorf("Events(2, 2) = %v, %v", page, err)
	}
	if page, err := s.Events(ctx, 5, 10); err != nil || len(page) != 0 {
		t.Errorf("Events after the head = %v, %v", page, err)
	}
	if page, err := s.Events(ctx, ^uint64(0), 10); err != nil || len(page) != 0 {
		t.Errorf("Events after max seq = %v, %v", page, err)
	}
}

func TestVerifyChainEmpty(t *testing.T) {
	s := newTest(t)
	if n, err := s.VerifyChain(context.Background()); n != 0 || err != nil {
		t.Errorf("VerifyChain on an empty journal = %d, %v", n, err)
	}
	if seq, hash, err := s.Head(context.Background()); seq != 0 || hash != "" || err != nil {
		t.Errorf("Head = %d %q %v", seq, hash, err)
	}
}
