package payment_test

// Regression tests of the money paths other than a plain sale (issue 14):
// each failed on d63fd60 and passes now. They use only the service's API and
// the harness, so that they run against either.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/store"
)

// openSeamed is the harness's open with a store whose writes a test can
// fail or hold by name ("begin <id>", "record <id>", "update <id>").
func openSeamed(h *harness, mode payment.Mode, failWrite func(what string) error) {
	h.t.Helper()
	st, err := store.Open(h.dir, store.Options{Timeout: time.Second, Now: h.clock.Now, FailWrite: failWrite})
	if err != nil {
		h.t.Fatal(err)
	}
	svc, err := payment.New(payment.Options{Mode: mode, Terminals: []payment.TerminalConfig{{ID: "lane-1", DeviceUniqueID: "DEV0"}},
		Journal: st, Gateway: h.gw, Clock: h.clock, Logger: zerolog.Nop(), Location: time.UTC, Monotonic: h.clock.Mono})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := svc.Recover(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	h.st, h.svc = st, svc
	h.t.Cleanup(func() { svc.Close(); st.Close() })
}

func newSeamed(t *testing.T, failWrite func(what string) error) *harness {
	h := &harness{t: t, dir: t.TempDir(), gw: newFakeGateway(),
		clock: &fakeClock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}}
	openSeamed(h, payment.VUK509, failWrite)
	return h
}

// TestConcurrentResolutionsApplyOnce: an unknown refund of 30.00 is queried
// by the API's resolve while the reconciler's pass comes by too. Both would
// hear "approved"; the refund must count once on its payment (not 60.00),
// and the remaining 70.00 stays refundable.
func TestConcurrentResolutionsApplyOnce(t *testing.T) {
	h := newHarness(t, payment.VUK509)
	ctx := context.Background()
	s, err := h.svc.Pay(ctx, caller("s"), sale("100.00"))
	if err != nil || s.Op.State != payment.StateApproved {
		t.Fatalf("sale: %+v %v", s, err)
	}
	h.gw.set(func(*payment.Operation) payment.Outcome { return payment.Outcome{Class: payment.Unknown} })
	r, err := h.svc.Refund(ctx, caller("r"), payment.AdjustRequest{PaymentID: s.Op.ID, Amount: "30.00", Reference: "R"})
	if err != nil || r.Op.State != payment.StateUnknown {
		t.Fatalf("refund: %+v %v", r, err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	var queries atomic.Int32
	h.gw.setQuery(func(op *payment.Operation) payment.Outcome {
		if queries.Add(1) == 1 {
			close(entered)
			<-release
		}
		return payment.Outcome{Class: payment.Approved, PaymentID: op.PaymentID}
	})
	h.clock.Advance(time.Hour) // the reconciler's next query is due
	first := make(chan error, 1)
	go func() { _, err := h.svc.Resolve(ctx, r.Op.ID); first <- err }()
	<-entered
	h.svc.ReconcileDue(ctx) // the reconciler comes by while the first query runs
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	p, _ := h.svc.Get(ctx, s.Op.ID)
	if p.RefundedAmount().Decimal() != "30.00" {
		t.Fatalf("one approved refund of 30.00 counts %s on the payment (%d queries)", p.RefundedAmount().Decimal(), queries.Load())
	}
	h.gw.set(func(*payment.Operation) payment.Outcome { return approved() })
	if rest, err := h.svc.Refund(ctx, caller("r2"), payment.AdjustRequest{PaymentID: s.Op.ID, Amount: "70.00", Reference: "R2"}); err != nil || rest.Op.State != payment.StateApproved {
		t.Fatalf("refund of the remaining 70.00: %+v %v", rest, err)
	}
}

// TestRefundEffectSurvivesAFailedWrite: a refund's approval and its effect
// on the payment are one commit. When the payment's update was a second
// commit, a failed fsync (or a kill) between them left the payment
// refundable again after a restart, and a second full refund went upstream.
func TestRefundEffectSurvivesAFailedWrite(t *testing.T) {
	var failed atomic.Bool
	h := newSeamed(t, func(what string) error {
		if len(what) > 7 && what[:7] == "update " && failed.CompareAndSwap(false, true) {
			return errors.New("fsync: input/output error")
		}
		return nil
	})
	ctx := context.Background()
	s, err := h.svc.Pay(ctx, caller("s"), sale("100.00"))
	if err != nil || s.Op.State != payment.StateApproved {
		t.Fatalf("sale: %+v %v", s, err)
	}
	r, err := h.svc.Refund(ctx, caller("r"), payment.AdjustRequest{PaymentID: s.Op.ID, Reference: "R"})
	if err != nil || r.Op.State != payment.StateApproved {
		t.Fatalf("refund: %+v %v", r, err)
	}
	h.restart(payment.VUK509)
	p, _ := h.svc.Get(ctx, s.Op.ID)
	_, err = h.svc.Refund(ctx, caller("r-again"), payment.AdjustRequest{PaymentID: s.Op.ID, Reference: "R-AGAIN"})
	sends := 0
	h.gw.mu.Lock()
	for ref, n := range h.gw.sends {
		if ref != s.Op.TransactionReferenceID {
			sends += n
		}
	}
	h.gw.mu.Unlock()
	if p.RefundedAmount().Decimal() != "100.00" || sends != 1 || !errors.Is(err, payment.ErrNotRefundable) {
		t.Fatalf("after restart: refunded %s, refunds sent upstream %d, second full refund: %v", p.RefundedAmount().Decimal(), sends, err)
	}
}

// queuedCtx tells when the store first waits on its Done channel: the
// caller's intent is queued behind another commit (store/commit.go).
type queuedCtx struct {
	context.Context
	once   sync.Once
	queued chan struct{}
}

func (c *queuedCtx) Done() <-chan struct{} {
	c.once.Do(func() { close(c.queued) })
	return c.Context.Done()
}

// TestHangUpIsNotAStorageFailure: lane 2's outcome is being fsynced (a slow
// disk); lane 1's intent queues behind it, and the ECR on lane 1 gives up.
// Nothing was written for lane 1 and the store is healthy: bridged must not
// go into fail-closed mode, and every lane must go on.
func TestHangUpIsNotAStorageFailure(t *testing.T) {
	inCommit, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h := &harness{t: t, dir: t.TempDir(), gw: newFakeGateway(),
		clock: &fakeClock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}}
	st, err := store.Open(h.dir, store.Options{Timeout: time.Second, Now: h.clock.Now, FailWrite: func(what string) error {
		if len(what) > 7 && what[:7] == "record " {
			once.Do(func() { close(inCommit); <-release })
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := payment.New(payment.Options{Mode: payment.VUK509, Journal: st, Gateway: h.gw, Clock: h.clock,
		Logger: zerolog.Nop(), Location: time.UTC, Terminals: []payment.TerminalConfig{{ID: "lane-1", DeviceUniqueID: "DEV0"}, {ID: "lane-2", DeviceUniqueID: "DEV1"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(); st.Close() })
	lane := func(amount, terminal string) payment.SaleRequest {
		r := sale(amount)
		r.Terminal = terminal
		return r
	}
	slow := make(chan error, 1)
	go func() { _, err := svc.Pay(context.Background(), caller("slow"), lane("20.00", "lane-2")); slow <- err }()
	<-inCommit // lane 2's outcome commit is under way and held

	base, cancel := context.WithCancel(context.Background())
	ctx := &queuedCtx{Context: base, queued: make(chan struct{})}
	gone := make(chan error, 1)
	go func() { _, err := svc.Pay(ctx, caller("gone"), lane("10.00", "lane-1")); gone <- err }()
	<-ctx.queued // lane 1's intent waits for the next commit
	cancel()     // the ECR hangs up
	if err := <-gone; err == nil {
		t.Fatal("a hung-up sale went through")
	}
	close(release)
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	if err := svc.Health(); err != nil {
		t.Fatalf("a hang-up made the service unhealthy: %v", err)
	}
	for i, term := range []string{"lane-1", "lane-2"} {
		if res, err := svc.Pay(context.Background(), caller(fmt.Sprintf("next-%d", i)), lane("11.00", term)); err != nil || res.Op.State != payment.StateApproved {
			t.Fatalf("the next sale on %s after a hang-up: %+v %v", term, res, err)
		}
	}
}

// TestQueryFoundVoidedStandsVoided: a status query that finds the sale
// approved and voided since (cancelHostReference) records it voided, so end
// of day does not count it.
func TestQueryFoundVoidedStandsVoided(t *testing.T) {
	h := newHarness(t, payment.VUK509)
	ctx := context.Background()
	h.gw.set(func(*payment.Operation) payment.Outcome { return payment.Outcome{Class: payment.Unknown} })
	res, err := h.svc.Pay(ctx, caller("k"), sale("20.00"))
	if err != nil {
		t.Fatal(err)
	}
	h.gw.setQuery(func(*payment.Operation) payment.Outcome {
		out := approved()
		out.Voided = true
		return out
	})
	op, err := h.svc.Resolve(ctx, res.Op.ID)
	if err != nil || op.State != payment.StateApproved || !op.Voided {
		t.Fatalf("after a query that found it voided: %+v %v", op, err)
	}
}

// TestCloseNeverRacesAStartingOperation: Close must wait for an operation
// that passed its shutdown check and is committing its intent; none may
// reach the gateway after Close returned.
func TestCloseNeverRacesAStartingOperation(t *testing.T) {
	entered, closing := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h := newSeamed(t, func(what string) error {
		if len(what) > 6 && what[:6] == "begin " {
			once.Do(func() { close(entered); <-closing })
		}
		return nil
	})
	var closed atomic.Bool
	var late atomic.Int32
	h.gw.set(func(*payment.Operation) payment.Outcome {
		if closed.Load() {
			late.Add(1)
		}
		return approved()
	})
	done := make(chan error, 1)
	go func() { _, err := h.svc.Pay(context.Background(), caller("k"), sale("10.00")); done <- err }()
	<-entered
	close(closing)
	h.svc.Close()
	closed.Store(true)
	<-done
	if n := late.Load(); n != 0 {
		t.Fatalf("%d operation(s) reached the gateway after Close returned", n)
	}
}

// TestEveryLaneKeepsGoingAfterManyHangUps runs the hang-up against a busy
// journal: many callers give up while other lanes commit.
func TestEveryLaneKeepsGoingAfterManyHangUps(t *testing.T) {
	h := newHarness(t, payment.VUK509, "lane-1", "lane-2")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			if i%2 == 0 {
				cancel()
			}
			defer cancel()
			r := sale(fmt.Sprintf("%d.00", 10+i))
			r.Terminal = []string{"lane-1", "lane-2"}[i%2]
			_, _ = h.svc.Pay(ctx, caller(fmt.Sprintf("k%d", i)), r)
		}()
	}
	wg.Wait()
	if err := h.svc.Health(); err != nil {
		t.Fatalf("hang-ups made the service unhealthy: %v", err)
	}
}

// TestGraceHoldsAcrossClockJumpsAndRestarts: "not found" is believed only
// after the grace period has really passed, measured on a monotonic clock:
// an NTP correction that sets the wall clock forward an hour, or a restart,
// never shortens it.
func TestGraceHoldsAcrossClockJumpsAndRestarts(t *testing.T) {
	h := newHarness(t, payment.VUK509)
	ctx := context.Background()
	h.gw.set(func(*payment.Operation) payment.Outcome { return payment.Outcome{Class: payment.Unknown} })
	res, err := h.svc.Pay(ctx, caller("k"), sale("10.00"))
	if err != nil {
		t.Fatal(err)
	}
	state := func() payment.State {
		op, _ := h.svc.Get(ctx, res.Op.ID)
		return op.State
	}
	h.clock.Jump(time.Hour) // the wall clock is set forward; no time passed
	h.svc.ReconcileDue(ctx)
	if s := state(); s != payment.StateUnknown {
		t.Fatalf("a clock jump of an hour shortened the grace: %s", s)
	}
	h.clock.Advance(4 * time.Minute)
	h.restart(payment.VUK509)
	h.clock.Advance(2 * time.Minute) // 6 minutes since the send, 2 since the start
	h.svc.ReconcileDue(ctx)
	if s := state(); s != payment.StateUnknown {
		t.Fatalf("a restart shortened the grace: %s", s)
	}
	h.clock.Advance(4 * time.Minute)
	h.svc.ReconcileDue(ctx)
	if s := state(); s != payment.StateDeclined {
		t.Fatalf("past the grace on every clock: %s", s)
	}
}

// TestNotFoundNeedsAControl: a "not found" is believed only when iyzico
// still finds a transaction of the same terminal that it approved.
func TestNotFoundNeedsAControl(t *testing.T) {
	h := newHarness(t, payment.VUK509)
	ctx := context.Background()
	known, err := h.svc.Pay(ctx, caller("known"), sale("5.00"))
	if err != nil || known.Op.State != payment.StateApproved {
		t.Fatalf("%+v %v", known, err)
	}
	h.gw.set(func(*payment.Operation) payment.Outcome { return payment.Outcome{Class: payment.Unknown} })
	res, err := h.svc.Pay(ctx, caller("lost"), sale("10.00"))
	if err != nil {
		t.Fatal(err)
	}
	controlFound := false
	h.gw.setQuery(func(op *payment.Operation) payment.Outcome {
		if op.ID == known.Op.ID && controlFound {
			return approved()
		}
		return payment.Outcome{Class: payment.NotFound}
	})
	h.clock.Advance(time.Hour)
	h.svc.ReconcileDue(ctx)
	if op, _ := h.svc.Get(ctx, res.Op.ID); op.State != payment.StateUnknown {
		t.Fatalf("not found believed though iyzico did not find a known sale either: %s", op.State)
	}
	controlFound = true
	h.clock.Advance(time.Hour)
	op, _ := h.svc.Resolve(ctx, res.Op.ID)
	if op.State != payment.StateDeclined || op.Resolution != payment.ResolvedNotFound {
		t.Fatalf("with the control found: %s %s", op.State, op.Resolution)
	}
}

// TestUnnamedQueryAnswerMustMatchTheOperation: a status query's "approved"
// that does not repeat the queried reference is believed only when what it
// says matches the operation (its amount; its device when it names one).
func TestUnnamedQueryAnswerMustMatchTheOperation(t *testing.T) {
	h := newHarness(t, payment.VUK509)
	ctx := context.Background()
	h.gw.set(func(*payment.Operation) payment.Outcome { return payment.Outcome{Class: payment.Unknown} })
	res, err := h.svc.Pay(ctx, caller("k"), sale("20.00"))
	if err != nil {
		t.Fatal(err)
	}
	other := payment.NewMoney(9900, payment.TRY)
	h.gw.setQuery(func(*payment.Operation) payment.Outcome {
		out := unnamedAnswer(approved())
		out.Amount = &other // about another transaction
		return out
	})
	if op, _ := h.svc.Resolve(ctx, res.Op.ID); op.State != payment.StateUnknown || op.Reason != payment.ReasonUnnamedAnswer {
		t.Fatalf("an answer naming no reference, for 99.00, settled a sale of 20.00: %s %s", op.State, op.Reason)
	}
	same := payment.NewMoney(2000, payment.TRY)
	h.gw.setQuery(func(*payment.Operation) payment.Outcome {
		out := unnamedAnswer(approved())
		out.Amount = &same
		return out
	})
	if op, _ := h.svc.Resolve(ctx, res.Op.ID); op.State != payment.StateApproved {
		t.Fatalf("an answer naming no reference but matching the sale: %s", op.State)
	}
}
