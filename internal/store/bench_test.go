package store

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/payment"
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
	mustBegin(b, s, sale("op-0"))
	mustBegin(b, s, fullOpSending())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(ctx, "op-1"); err != nil {
			b.Fatal(err)
		}
	}
}

// benchSale is a sale as the service journals it: two lines, then a card and
// an approval when it settles.
func benchSale(n int64) *payment.Operation {
	id := strconv.FormatInt(n, 10)
	op := sale(id)
	op.Lines = []payment.SaleLine{
		{ID: "l1", Name: "Çay", Quantity: 2, UnitPrice: payment.NewMoney(500, payment.TRY), Total: payment.NewMoney(1000, payment.TRY), TaxGroupCode: "KDV20"},
		{ID: "l2", Name: "Simit", Quantity: 1, UnitPrice: payment.NewMoney(13990, payment.TRY), Total: payment.NewMoney(13990, payment.TRY), TaxGroupCode: "KDV10"},
	}
	return op
}

// appendOne is one journaled payment: the intent (Begin) and its outcome
// (Record), two durable commits when alone.
func appendOne(ctx context.Context, s *Store, n int64) error {
	op, err := s.Begin(ctx, benchSale(n))
	if err != nil {
		return err
	}
	op.State, op.Resolution, op.PaymentID, op.AuthCode = payment.StateApproved, payment.ResolvedDirect, "pay-"+op.ID, "A1B2"
	op.Card = &payment.Card{BIN: "552879", Last4: "0008", Type: "CREDIT_CARD"}
	return s.Record(ctx, op)
}

// BenchmarkJournalAppend measures one payment's journal writes (Begin and
// Record) from a single writer, fsync on, in the test's temp dir.
func BenchmarkJournalAppend(b *testing.B) {
	ctx := context.Background()
	var commits atomic.Int64
	s := openTest(b, b.TempDir(), Options{Now: time.Now, OnCommit: func(time.Duration) { commits.Add(1) }})
	commits.Store(0)
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		n++
		if err := appendOne(ctx, s, n); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(commits.Load())/float64(b.N), "commits/op")
}

// BenchmarkJournalAppendParallel is BenchmarkJournalAppend with many lanes
// writing at once. commits/op shows how many fsyncs one payment costs: 2
// without group commit, less when concurrent writes share a commit.
func BenchmarkJournalAppendParallel(b *testing.B) {
	for _, writers := range []int{8, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			ctx := context.Background()
			var commits atomic.Int64
			s := openTest(b, b.TempDir(), Options{Now: time.Now, OnCommit: func(time.Duration) { commits.Add(1) }})
			commits.Store(0)
			var next atomic.Int64
			b.SetParallelism(max(1, writers/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := appendOne(ctx, s, next.Add(1)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(commits.Load())/float64(b.N), "commits/op")
		})
	}
}
