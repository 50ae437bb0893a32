package payment_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/payment"
)

// The service lock's work for idempotency (submit.go, docs/decisions.md "the
// service lock"): one key decided, claimed and started by one call at a time.
// These tests fail when the decision and the claim run outside it.

// atOnce runs fn from n goroutines released together, and waits for them.
func atOnce(n int, fn func(i int)) {
	begin := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			fn(i)
		}()
	}
	close(begin)
	wg.Wait()
}

// TestOneKeyOnTwoTerminalsRunsOnce sends one key from two terminals at once,
// many times over: one operation runs and is sent once; every call on its
// terminal gets it (joined or replayed), every call on the other terminal is
// a different request under the same key and is refused. Never two sends,
// never terminal_busy for a call that should have joined.
func TestOneKeyOnTwoTerminalsRunsOnce(t *testing.T) {
	h := newHarness(t, payment.VUK509, "lane-1", "lane-2")
	const rounds, callers = 40, 8
	for r := range rounds {
		key := fmt.Sprintf("both-%d", r)
		type answer struct {
			lane string
			res  *payment.Result
			err  error
		}
		answers := make(chan answer, 2*callers)
		atOnce(2*callers, func(i int) {
			lane := []string{"lane-1", "lane-2"}[i%2]
			res, err := h.svc.Pay(context.Background(), caller(key), payment.SaleRequest{Amount: "10.00", Reference: key, Terminal: lane})
			answers <- answer{lane, res, err}
		})
		close(answers)
		ran, ids := "", map[string]bool{}
		for a := range answers {
			switch {
			case a.err == nil:
				if a.res.Op.State != payment.StateApproved || (ran != "" && a.lane != ran) {
					t.Fatalf("round %d: %s got %+v while %q ran it", r, a.lane, a.res.Op, ran)
				}
				ran = a.lane
				ids[a.res.Op.ID] = true
			case errors.Is(a.err, payment.ErrIdempotencyKeyReused):
			default:
				t.Fatalf("round %d: a call on %s failed: %v", r, a.lane, a.err)
			}
		}
		if len(ids) != 1 {
			t.Fatalf("round %d: %d operations for one key", r, len(ids))
		}
	}
	if n := h.gw.totalSends(); n != rounds {
		t.Fatalf("%d upstream calls for %d keys", n, rounds)
	}
}

// TestKeyOnBusyTerminalIsToldBusy sends one key many times at once to a
// terminal that another operation holds: every call is told terminal_busy.
// The first call claims the key and gives it back when the terminal refuses
// it; a call that joined that claim would find nothing journaled and answer
// storage_failure. The lock keeps the claim unseen until the terminal is taken.
func TestKeyOnBusyTerminalIsToldBusy(t *testing.T) {
	h := newHarness(t, payment.VUK509)
	release, started := make(chan struct{}), make(chan struct{})
	blockUntil(h, release, started)
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free) // before the harness's: a failed test must not leave Close waiting on the gateway
	holder := make(chan error, 1)
	go func() {
		_, err := h.svc.Pay(context.Background(), caller("holder"), sale("99.00"))
		holder <- err
	}()
	<-started
	const rounds, callers = 10, 100
	for r := range rounds {
		key := fmt.Sprintf("refused-%d", r)
		errs := make(chan error, callers)
		atOnce(callers, func(int) {
			c := caller(key)
			c.Wait = time.Second
			_, err := h.svc.Pay(context.Background(), c, sale("10.00"))
			errs <- err
		})
		close(errs)
		for err := range errs {
			if !errors.Is(err, payment.ErrTerminalBusy) {
				t.Fatalf("round %d: a call on the busy terminal: %v, want terminal_busy", r, err)
			}
		}
	}
	free()
	if err := <-holder; err != nil {
		t.Fatal(err)
	}
	if n := h.gw.totalSends(); n != 1 {
		t.Fatalf("%d upstream calls, want 1", n)
	}
}

// TestRetriesOfADoneKeyReplay retries a finished sale's key many times at
// once: every call gets it, replayed. A call that decides while another's
// claim of the key is being given back (the journal holds the key) must not
// join that claim: it would wait for an operation that never runs.
func TestRetriesOfADoneKeyReplay(t *testing.T) {
	h := newHarness(t, payment.VUK509)
	const rounds, callers = 10, 100
	type answer struct {
		res *payment.Result
		err error
	}
	for r := range rounds {
		key := fmt.Sprintf("done-%d", r)
		first, err := h.svc.Pay(context.Background(), caller(key), sale("10.00"))
		if err != nil {
			t.Fatal(err)
		}
		answers := make(chan answer, callers)
		atOnce(callers, func(int) {
			c := caller(key)
			c.Wait = time.Second
			res, err := h.svc.Pay(context.Background(), c, sale("10.00"))
			answers <- answer{res, err}
		})
		close(answers)
		for a := range answers {
			if a.err != nil || !a.res.Replayed || a.res.Op.ID != first.Op.ID {
				t.Fatalf("round %d: a retry of a done key: %+v %v", r, a.res, a.err)
			}
		}
	}
	if n := h.gw.totalSends(); n != rounds {
		t.Fatalf("%d upstream calls, want %d", n, rounds)
	}
}
