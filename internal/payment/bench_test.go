package payment_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/store"
)

// BenchmarkPayLock measures the work the service-wide lock does on every
// money call: the idempotency check's journal read (a bbolt view) runs under
// it. Sales run on 1 and on 64 terminals at once, each terminal one after
// another, on the real journal (temp dir, fsync on) and an upstream that
// answers at once, so that the journal and the lock are all there is.
//
// lookup=journal is the daemon as built. lookup=free is the same daemon on a
// journal whose key lookup costs nothing (every key in the run is new, and
// the journal's Begin still refuses a taken key): it bounds what moving the
// read out of the service-wide lock (under the lane, say) could gain, since
// such a move still pays for the read, only not under the lock. Compare the
// two in one run (ratios, never absolute figures): docs/decisions.md records
// the figures and the decision taken on them.
func BenchmarkPayLock(b *testing.B) {
	for _, terminals := range []int{1, 64} {
		for _, lookup := range []string{"journal", "free"} {
			b.Run(fmt.Sprintf("terminals=%d/lookup=%s", terminals, lookup), func(b *testing.B) {
				benchPay(b, terminals, lookup == "free")
			})
		}
	}
}

// timedLookup is the journal, timing its key lookups (the read under the lock).
type timedLookup struct {
	*store.Store
	ns *atomic.Int64
}

func (t timedLookup) ByKey(ctx context.Context, client, key string) (*payment.Operation, error) {
	start := time.Now()
	op, err := t.Store.ByKey(ctx, client, key)
	t.ns.Add(int64(time.Since(start)))
	return op, err
}

// freeLookup is the journal with a key lookup that costs nothing.
type freeLookup struct{ *store.Store }

func (freeLookup) ByKey(context.Context, string, string) (*payment.Operation, error) {
	return nil, payment.ErrNotFound
}

// instantGateway approves every operation at once.
type instantGateway struct{}

func (instantGateway) Execute(_ context.Context, op *payment.Operation) payment.Outcome {
	out := approved()
	out.PaymentID = "pay-" + op.TransactionReferenceID
	return out
}

func (instantGateway) Query(context.Context, *payment.Operation) payment.Outcome {
	return payment.Outcome{Class: payment.NotFound}
}

func (instantGateway) EndOfDay(context.Context, *payment.Operation) (*payment.EndOfDayReport, payment.Outcome) {
	return &payment.EndOfDayReport{}, payment.Outcome{Class: payment.Approved}
}

func benchPay(b *testing.B, terminals int, free bool) {
	st, err := store.Open(b.TempDir(), store.Options{Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	var lookupNS atomic.Int64
	var j payment.Journal = timedLookup{st, &lookupNS}
	if free {
		j = freeLookup{st}
	}
	tcs := make([]payment.TerminalConfig, terminals)
	for i := range tcs {
		tcs[i] = payment.TerminalConfig{ID: fmt.Sprintf("lane-%d", i), DeviceUniqueID: fmt.Sprintf("DEV%d", i)}
	}
	svc, err := payment.New(payment.Options{Mode: payment.VUK509, Terminals: tcs, Journal: j, Gateway: instantGateway{},
		Logger: zerolog.Nop(), Location: time.UTC})
	if err != nil {
		b.Fatal(err)
	}
	if err := svc.Recover(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer func() { svc.Close(); st.Close() }()

	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for i := range terminals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lane := fmt.Sprintf("lane-%d", i)
			for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
				key := fmt.Sprintf("bench-%d", n)
				c := payment.Caller{Client: "ecr", IdempotencyKey: key, Wait: time.Minute}
				res, err := svc.Pay(context.Background(), c, payment.SaleRequest{Amount: "10.00", Reference: key, Terminal: lane})
				if err != nil || res.Op.State != payment.StateApproved || res.Replayed {
					b.Errorf("sale %s: %+v %v", key, res, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if !free {
		// The journal read each call makes under the service-wide lock.
		b.ReportMetric(float64(lookupNS.Load())/float64(b.N), "lookup-ns/op")
	}
}
