package store

import (
	"context"
	"strconv"
	"testing"
)

// BenchmarkBegin measures the intent commit on the payment critical path: one
// bbolt Update with its fsync, five index writes and a chained journal entry.
func BenchmarkBegin(b *testing.B) {
	ctx := context.Background()
	s := newTest(b)
	op := sale("x")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id := strconv.Itoa(i)
		op.ID, op.IdempotencyKey, op.Reference = "op-"+id, "key-"+id, "REF-"+id
		if _, err := s.Begin(ctx, op); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkGet measures one decoded read.
func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	s := newTest(b)
	mustBegin(b, s, fullOpSending())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(ctx, "op-1"); err != nil {
			b.Fatal(err)
		}
	}
}
