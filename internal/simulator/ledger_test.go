package simulator

import (
	"net/http"
	"strconv"
	"testing"
)

func TestLedger(t *testing.T) {
	h := newHarness(t, Config{})
	if st, got := h.post(PathPayment, sale509("s1", "100.00")); st != http.StatusOK {
		t.Fatalf("sale: %d %v", st, got)
	}
	_, sale := h.post(PathQuery, query509(map[string]any{"transactionReferenceId": "s1"}))
	pid, date := str(t, sale, "paymentId"), str(t, sale, "paymentDate")
	h.post(PathRefund, refund509("r1", pid, date, "30.00"))
	h.post(PathRefund, refund509("r2", pid, date, "20.00"))
	h.post(PathRefund, refund509("r3", pid, date, "60.00")) // 380112: more than is left, not an operation
	h.post(PathPayment, sale509("s2", "10.51"))             // declined by the bank

	l := h.sim.Ledger()
	p, ok := l.Payment(pid)
	if !ok || p.AmountMinor != 10000 || p.RefundedMinor != 5000 || p.Refunds != 2 || p.Voided || !p.Charged() || p.Reference != "s1" {
		t.Fatalf("payment %+v", p)
	}
	if op, ok := l.Op("r1"); !ok || op.Kind != "refund" || !op.Approved || op.AmountMinor != 3000 || op.PaymentID != pid {
		t.Errorf("refund r1 %+v", op)
	}
	if _, ok := l.Op("r3"); ok {
		t.Errorf("a refusal before the device is no operation")
	}
	if op, ok := l.Op("s2"); !ok || op.Approved || op.ErrorCode != "10051" || op.PaymentID != "" {
		t.Errorf("declined sale %+v", op)
	}
	if len(l.Ops) != 4 || len(l.Payments) != 1 {
		t.Errorf("ledger %+v", l)
	}

	h.post(PathGmuPayment, sale507("g1", "30.00", "CARD", item("Bread", "1", 2, "5.00", "10.00"), item("Cheese", "1", 1, "20.00", "20.00")))
	ids := h.lineIDs("g1")
	_, gs := h.post(PathGmuQuery, map[string]any{"deviceUniqueId": testDevice2, "transactionReferenceId": "g1", "locale": "TR", "conversationId": "q"})
	gpid := str(t, gs, "paymentId")
	date507, err := strconv.ParseInt(num(t, gs, "paymentDate"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	h.post(PathGmuRefund, refund507("g1r", gpid, date507, refundLine507(ids[0], 1, "5.00")))
	g, ok := h.sim.Ledger().Payment(gpid)
	if !ok || g.API != "vuk507" || len(g.Lines) != 2 || g.Lines[0].ReturnedQuantity != 1 || g.Lines[0].ReturnedMinor != 500 || g.RefundedMinor != 500 {
		t.Fatalf("VUK 507 payment %+v", g)
	}
}
