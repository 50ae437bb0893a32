package store

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/bridgedpos/bridged/internal/payment"
)

// approvedSale journals a sale and records it approved with paymentID.
func approvedSale(t *testing.T, s *Store, id, paymentID string) *payment.Operation {
	t.Helper()
	op := mustBegin(t, s, sale(id))
	op.State, op.PaymentID = payment.StateApproved, paymentID
	if err := s.Record(context.Background(), op); err != nil {
		t.Fatalf("record %s approved: %v", id, err)
	}
	return op
}

func refundOf(id, parent string, minor int64) *payment.Operation {
	op := sale(id)
	op.Kind, op.ParentID, op.Amount = payment.KindRefund, parent, payment.NewMoney(minor, payment.TRY)
	return op
}

func addRefund(minor int64) func(*payment.Operation) error {
	return func(p *payment.Operation) error { p.RefundedMinor += minor; return nil }
}

// TestRecordCommitsTheParentWithTheChild: a refund's approval and its effect
// on the payment are one commit: a failed fsync loses both, never one.
func TestRecordCommitsTheParentWithTheChild(t *testing.T) {
	ctx := context.Background()
	errDisk := errors.New("fsync: input/output error")
	var fail bool
	var mu sync.Mutex
	s := openTest(t, t.TempDir(), Options{FailWrite: func(what string) error {
		mu.Lock()
		defer mu.Unlock()
		if fail && what == "record r" {
			return errDisk
		}
		return nil
	}})
	approvedSale(t, s, "p", "pay-p")
	r := mustBegin(t, s, refundOf("r", "p", 3000))
	seq := headSeq(t, s)

	r.State = payment.StateApproved
	mu.Lock()
	fail = true
	mu.Unlock()
	if err := s.Record(ctx, r, payment.Effect{ID: "p", Apply: addRefund(3000)}); !errors.Is(err, errDisk) {
		t.Fatalf("Record with a failing fsync = %v", err)
	}
	p, _ := s.Get(ctx, "p")
	child, _ := s.Get(ctx, "r")
	if p.RefundedMinor != 0 || child.State != payment.StateSending || headSeq(t, s) != seq {
		t.Fatalf("a failed commit wrote half: parent refunded %d, child %s, seq %d -> %d", p.RefundedMinor, child.State, seq, headSeq(t, s))
	}

	s2 := openTest(t, t.TempDir(), Options{})
	approvedSale(t, s2, "p", "pay-p")
	r2 := mustBegin(t, s2, refundOf("r", "p", 3000))
	seq = headSeq(t, s2)
	r2.State = payment.StateApproved
	if err := s2.Record(ctx, r2, payment.Effect{ID: "p", Apply: addRefund(3000)}); err != nil {
		t.Fatal(err)
	}
	p, _ = s2.Get(ctx, "p")
	if p.RefundedMinor != 3000 || headSeq(t, s2) != seq+2 {
		t.Fatalf("parent refunded %d, journal grew by %d entries (want 3000 and 2)", p.RefundedMinor, headSeq(t, s2)-seq)
	}
}

// TestRecordAppliesAnEffectOnce: two resolutions of one unknown refund, each
// with an "approved" answer, race to record it: one wins, the other is told
// the stored state, and the payment is refunded once.
func TestRecordAppliesAnEffectOnce(t *testing.T) {
	ctx := context.Background()
	s := newTest(t)
	approvedSale(t, s, "p", "pay-p")
	r := mustBegin(t, s, refundOf("r", "p", 3000))
	r.State = payment.StateUnknown
	if err := s.Record(ctx, r); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := r.Clone()
			c.State, c.Resolution = payment.StateApproved, payment.ResolvedByQuery
			errs[i] = s.Record(ctx, c, payment.Effect{ID: "p", Apply: addRefund(3000)})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, payment.ErrAlreadyFinal):
			t.Fatalf("Record = %v", err)
		}
	}
	p, _ := s.Get(ctx, "p")
	if won != 1 || p.RefundedMinor != 3000 {
		t.Fatalf("%d of 8 resolutions recorded; payment refunded %d (want 1 and 3000)", won, p.RefundedMinor)
	}
}

// TestPaymentIDOwnedOnce: an approval whose paymentId another operation owns
// is refused (one of the answers is about another transaction); a post-auth
// shares its own pre-auth's.
func TestPaymentIDOwnedOnce(t *testing.T) {
	ctx := context.Background()
	s := newTest(t)
	approvedSale(t, s, "a", "P-1")
	b := mustBegin(t, s, sale("b"))
	seq := headSeq(t, s)
	b.State, b.PaymentID = payment.StateApproved, "P-1"
	var pc *payment.PaymentIDConflictError
	if err := s.Record(ctx, b); !errors.As(err, &pc) || len(pc.Owners) != 1 || pc.Owners[0] != "a" {
		t.Fatalf("second owner of P-1: %v", err)
	}
	if got, _ := s.Get(ctx, "b"); got.State != payment.StateSending || headSeq(t, s) != seq {
		t.Fatal("a refused approval wrote")
	}
	if err := s.Healthy(); err != nil {
		t.Fatalf("a refusal made the store unhealthy: %v", err)
	}

	pre := sale("pre")
	pre.Kind = payment.KindPreAuth
	mustBegin(t, s, pre)
	pre.State, pre.PaymentID = payment.StateApproved, "P-2"
	if err := s.Record(ctx, pre); err != nil {
		t.Fatal(err)
	}
	post := sale("post")
	post.Kind, post.ParentID, post.PaymentID = payment.KindPostAuth, "pre", "P-2"
	mustBegin(t, s, post)
	post.State = payment.StateApproved
	if err := s.Record(ctx, post); err != nil {
		t.Fatalf("post-auth under its pre-auth's paymentId: %v", err)
	}
	owners, err := s.ByPaymentID(ctx, "P-2")
	if err != nil || len(owners) != 2 || owners[0].ID != "pre" || owners[1].ID != "post" {
		t.Fatalf("ByPaymentID(P-2) = %v, %v", ids(owners), err)
	}
	// A refund names its payment's paymentId without owning it.
	r := refundOf("r", "a", 100)
	r.PaymentID = "P-1"
	mustBegin(t, s, r)
	r.State = payment.StateApproved
	if err := s.Record(ctx, r); err != nil {
		t.Fatalf("refund naming P-1: %v", err)
	}
}

// TestRecordReleasesTheKey: a busy terminal moved nothing; the key is given
// back in the commit that records it, so the same request can come again.
func TestRecordReleasesTheKey(t *testing.T) {
	ctx := context.Background()
	s := newTest(t)
	op := mustBegin(t, s, sale("a"))
	op.State, op.SafeToRetry, op.KeyReleased = payment.StateDeclined, true, true
	if err := s.Record(ctx, op); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ByKey(ctx, "ecr", "key-a"); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("ByKey after release = %v", err)
	}
	again := sale("a2")
	again.IdempotencyKey = "key-a"
	if _, err := s.Begin(ctx, again); err != nil {
		t.Fatalf("Begin with the released key: %v", err)
	}
}
