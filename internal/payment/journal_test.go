package payment_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/payment"
)

func endOfDay(t *testing.T, h *harness) *payment.Operation {
	t.Helper()
	h.gw.eod = func(*payment.Operation) (*payment.EndOfDayReport, payment.Outcome) {
		return &payment.EndOfDayReport{BatchNo: "1"}, payment.Outcome{Class: payment.Approved}
	}
	res, err := h.svc.EndOfDay(context.Background(), payment.Caller{Client: "ecr"}, "lane-1", payment.EndOfDayOptions{})
	if err != nil || res.Op.State != payment.StateApproved {
		t.Fatalf("end of day: %+v, %v", res, err)
	}
	return res.Op
}

// TestKeysExpireByEndsOfDay: an idempotency key is kept until the end of
// day after the next, whatever the wall clock says, and an unknown
// operation's key whatever the ends of day; after a restart too.
func TestKeysExpireByEndsOfDay(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, payment.VUK509)
	first, err := h.svc.Pay(ctx, caller("day1"), sale("10.00"))
	if err != nil {
		t.Fatal(err)
	}
	h.gw.set(func(*payment.Operation) payment.Outcome { return payment.Outcome{Class: payment.Unknown} })
	if _, err := h.svc.Pay(ctx, caller("day1-unknown"), sale("11.00")); err != nil {
		t.Fatal(err)
	}
	h.gw.set(func(op *payment.Operation) payment.Outcome { return ownPaymentID(op, approved()) })
	h.clock.Advance(72 * time.Hour) // days pass: the wall clock alone forgets nothing
	h.svc.PruneKeysNow(ctx)
	if r, err := h.svc.Pay(ctx, caller("day1"), sale("10.00")); err != nil || !r.Replayed || r.Op.ID != first.Op.ID {
		t.Fatalf("day1's key after 72 h and no end of day: %+v, %v", r, err)
	}
	// The unknown blocks the terminal; end of day resolves it first and is
	// refused while it stays unknown, so settle it as an operator would not:
	// run end of day with the unknown allowed.
	h.gw.eod = func(*payment.Operation) (*payment.EndOfDayReport, payment.Outcome) {
		return &payment.EndOfDayReport{BatchNo: "1"}, payment.Outcome{Class: payment.Approved}
	}
	if _, err := h.svc.EndOfDay(ctx, payment.Caller{Client: "ecr"}, "lane-1", payment.EndOfDayOptions{AllowUnknown: true}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Hour)
	if _, err := h.svc.EndOfDay(ctx, payment.Caller{Client: "ecr"}, "lane-1", payment.EndOfDayOptions{AllowUnknown: true}); err != nil {
		t.Fatal(err)
	}
	h.svc.PruneKeysNow(ctx)
	// day1's key is two ends of day old: forgotten; the same key is a new
	// operation. The unknown keeps its key.
	h.restart(payment.VUK509) // and the lanes learn their ends of day from the journal
	if _, err := h.st.ByKey(ctx, "ecr", "day1"); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("day1's key after two ends of day: %v", err)
	}
	if _, err := h.st.ByKey(ctx, "ecr", "day1-unknown"); err != nil {
		t.Errorf("the unknown's key was forgotten: %v", err)
	}
	// A key of the last batch stays after a restart and one more prune.
	h.clock.Advance(time.Hour)
	h.svc.PruneKeysNow(ctx)
	eodKeys, _, err := h.svc.List(ctx, payment.Filter{Kinds: []payment.Kind{payment.KindEndOfDay}})
	if err != nil || len(eodKeys) != 2 {
		t.Fatalf("ends of day: %d, %v", len(eodKeys), err)
	}
	if _, err := h.st.ByKey(ctx, "ecr", eodKeys[0].IdempotencyKey); err != nil {
		t.Errorf("the last end of day's key was forgotten: %v", err)
	}
}

// TestHoldTakesEveryTerminal: Hold waits for the terminal in use, refuses
// new operations while fn runs, and gives the terminals back.
func TestHoldTakesEveryTerminal(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, payment.VUK509, "lane-1", "lane-2")
	release, started := make(chan struct{}), make(chan struct{})
	blockUntil(h, release, started)
	done := make(chan error, 1)
	go func() {
		lane1 := sale("10.00")
		lane1.Terminal = "lane-1"
		_, err := h.svc.Pay(ctx, caller("in-flight"), lane1)
		done <- err
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("the sale to keep in flight: %v", err)
	}
	inside := make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- h.svc.Hold(ctx, func() error {
			close(inside)
			lane2 := sale("12.00")
			lane2.Terminal = "lane-2"
			if _, err := h.svc.Pay(ctx, caller("during"), lane2); !errors.Is(err, payment.ErrTerminalBusy) {
				t.Errorf("a sale while held = %v, want terminal busy", err)
			}
			return nil
		})
	}()
	select {
	case <-inside:
		t.Fatal("Hold ran while a sale was in flight")
	case err := <-held:
		t.Fatalf("Hold returned %v while a sale was in flight", err)
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	after := sale("13.00")
	after.Terminal = "lane-2"
	if _, err := h.svc.Pay(ctx, caller("after"), after); err != nil {
		t.Errorf("a sale after the hold: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := h.svc.Hold(cctx, func() error { return nil }); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Hold with a canceled context = %v", err)
	}
}

// TestArchivedPaymentIsNotFound: once a day is archived, a refund or void
// of one of its payments is refused as not found, and the service stays
// healthy (the journal refuses a child of a payment it no longer holds).
func TestArchivedPaymentIsNotFound(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, payment.VUK509)
	old, err := h.svc.Pay(ctx, caller("old"), sale("10.00"))
	if err != nil || old.Op.State != payment.StateApproved {
		t.Fatalf("old sale: %+v, %v", old, err)
	}
	h.clock.Advance(24 * time.Hour)
	if _, err := h.svc.Pay(ctx, caller("new"), sale("11.00")); err != nil {
		t.Fatal(err)
	}
	done, _, err := h.st.Archive(ctx, h.clock.Now().Format("20060102"))
	if err != nil || len(done) != 1 {
		t.Fatalf("archive: %+v, %v", done, err)
	}
	_, err = h.svc.Refund(ctx, caller("r"), payment.AdjustRequest{PaymentID: old.Op.ID, Amount: "1.00"})
	if !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("refund of an archived sale = %v, want not found", err)
	}
	if err := h.svc.Health(); err != nil {
		t.Fatalf("the service after the refusal: %v", err)
	}
	if _, err := h.svc.Pay(ctx, caller("after"), sale("12.00")); err != nil {
		t.Fatal(err)
	}
}
