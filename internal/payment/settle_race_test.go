package payment_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/bridgedpos/bridged/internal/payment"
)

// staleOnce is the journal as a settlement read it a moment before the
// reconciler's answer was recorded: its first Get of id still says unknown.
type staleOnce struct {
	payment.Journal
	id   string
	read bool
}

func (j *staleOnce) Get(ctx context.Context, id string) (*payment.Operation, error) {
	op, err := j.Journal.Get(ctx, id)
	if err == nil && id == j.id && !j.read {
		j.read = true
		op.State = payment.StateUnknown
	}
	return op, err
}

// TestSettleRacingTheReconcilerSaysWhatIyzicoAnswered: an operator settles
// an unknown just as the reconciler records iyzico's answer (which also ends
// the operation's grace clock). The settlement is refused because the
// operation is final, and says so; it once said "unknown for 0s; iyzico may
// still answer", from a grace clock started afresh for an operation that was
// no longer unknown (the e2e test TestE2ESettlementRefusedWhileIyzicoCanAnswer
// met it one run in three under load).
func TestSettleRacingTheReconcilerSaysWhatIyzicoAnswered(t *testing.T) {
	h := newHarness(t, payment.VUK509)
	res, err := h.svc.Pay(context.Background(), caller("k1"), sale("149.90"))
	if err != nil || res.Op.State != payment.StateApproved {
		t.Fatalf("sale: %+v %v", res, err)
	}
	svc, err := payment.New(payment.Options{Mode: payment.VUK509, Terminals: []payment.TerminalConfig{{ID: "lane-1", DeviceUniqueID: "DEV0"}},
		Journal: &staleOnce{Journal: h.st, id: res.Op.ID}, Gateway: h.gw, Clock: h.clock, Logger: zerolog.Nop(), Location: time.UTC,
		MaxAmount: payment.NewMoney(10_000_000, payment.TRY), Monotonic: h.clock.Mono})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	_, err = svc.Settle(context.Background(), payment.SettleRequest{ID: res.Op.ID, Outcome: "declined", Evidence: "slip", By: "ayse"})
	var sr *payment.SettleRefusal
	if !errors.As(err, &sr) || !errors.Is(err, payment.ErrNotSettleable) {
		t.Fatalf("settle: %v, want a refusal", err)
	}
	if strings.Contains(sr.Reason, "may still answer") || !strings.Contains(sr.Reason, "approved") {
		t.Fatalf("the refusal says %q; want that the operation is approved", sr.Reason)
	}
}
