package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestScriptUnclassifiedCode: .59 fails with a short code nobody documents
// ("99") and no errorGroup, in both APIs; nothing is charged and the query
// finds the failure recorded.
func TestScriptUnclassifiedCode(t *testing.T) {
	for _, group := range []bool{false, true} {
		h := newHarness(t, Config{GmuErrorGroup: group})
		status, got := h.post(PathPayment, sale509("u1", "10.59"))
		if status != http.StatusBadRequest || got["errorCode"] != CodeUnclassified || got["errorGroup"] != "" || got["status"] != "FAILURE" {
			t.Fatalf("509: %d %v", status, got)
		}
		status, got = h.post(PathGmuPayment, sale507("u2", "10.59", "CARD"))
		if _, has := got["errorGroup"]; status != http.StatusBadRequest || got["errorCode"] != CodeUnclassified || has {
			t.Fatalf("507 (GmuErrorGroup %v): %d %v", group, status, got)
		}
		if h.sim.TotalCharges() != 0 {
			t.Fatalf("charged: %v", h.sim.ChargesByReference())
		}
		status, q := h.post(PathQuery, query509(map[string]any{"deviceUniqueId": testDevice, "transactionReferenceId": "u1"}))
		if status != http.StatusOK || q["status"] != "FAILURE" || q["errorCode"] != CodeUnclassified || q["transactionReferenceId"] != "u1" {
			t.Fatalf("query: %d %v", status, q)
		}
	}
}

// TestScriptLateApproval: .60 is answered 380103 TIMEOUT_ERROR although the
// device approved: charged (or refunded) once, and a query shows the approval.
func TestScriptLateApproval(t *testing.T) {
	h := newHarness(t, Config{})
	status, got := h.post(PathPayment, sale509("late", "10.60"))
	wantFailure(t, status, got, http.StatusBadRequest, CodeTimeout, GroupTimeout)
	if n := h.sim.Charges("late"); n != 1 {
		t.Fatalf("charges %d, want 1: the device approved", n)
	}
	_, q := h.post(PathQuery, query509(map[string]any{"deviceUniqueId": testDevice, "transactionReferenceId": "late"}))
	if q["status"] != "SUCCESS" || str(t, q, "paymentId") == "" {
		t.Fatalf("query: %v", q)
	}

	// VUK 507: a sale and a refund.
	_, sale := h.post(PathGmuPayment, sale507("g-late", "20.60", "CARD"))
	if sale["errorCode"] != CodeTimeout || h.sim.Charges("g-late") != 1 {
		t.Fatalf("gmu sale: %v, charges %d", sale, h.sim.Charges("g-late"))
	}
	_, q = h.post(PathGmuQuery, map[string]any{"transactionReferenceId": "g-late"})
	if q["status"] != "success" {
		t.Fatalf("gmu query: %v", q)
	}
	_, sale = h.post(PathGmuPayment, sale507("g-sale", "50.00", "CARD", item("Tea", "20", 2, "10.30", "20.60"), item("Cake", "20", 1, "29.40", "29.40")))
	pid := str(t, sale, "paymentId")
	status, got = h.post(PathGmuRefund, refund507("g-refund", pid, todayInt, refundLine507(h.lineIDs("g-sale")[0], 2, "20.60")))
	wantFailure(t, status, got, http.StatusBadRequest, CodeTimeout, "")
	if n := h.sim.Refunds("g-refund"); n != 1 {
		t.Fatalf("refunds %d, want 1: the device refunded", n)
	}
	if n, sum := h.sim.RefundsOf("g-sale"); n != 1 || sum != "20.60" {
		t.Fatalf("refunds of the sale: %d %s", n, sum)
	}
}

// TestRefundCounters: refunds are counted under their own reference, and per
// payment whatever their reference, so a refund repeated under a new
// reference (or processed twice under one) shows.
func TestRefundCounters(t *testing.T) {
	h := newHarness(t, Config{DuplicateReferences: DuplicateCharge})
	_, sale := h.post(PathPayment, sale509("s", "100.00"))
	pid := str(t, sale, "paymentId")
	for _, ref := range []string{"r1", "r2", "r2"} {
		if status, got := h.post(PathRefund, refund509(ref, pid, today, "10.00")); status != http.StatusOK {
			t.Fatalf("%s: %d %v", ref, status, got)
		}
	}
	if h.sim.Refunds("r1") != 1 || h.sim.Refunds("r2") != 2 || h.sim.TotalRefunds() != 3 || h.sim.Refunds("s") != 0 {
		t.Fatalf("refunds r1 %d r2 %d total %d", h.sim.Refunds("r1"), h.sim.Refunds("r2"), h.sim.TotalRefunds())
	}
	if n, sum := h.sim.RefundsOf("s"); n != 3 || sum != "30.00" {
		t.Fatalf("refunds of the sale: %d %s", n, sum)
	}
	if n, _ := h.sim.RefundsOf("nope"); n != 0 {
		t.Fatal("refunds of an unknown sale")
	}
	h.post(PathRefund, refund509("r3", pid, today, "10.51")) // declined: not a refund
	if h.sim.TotalRefunds() != 3 {
		t.Fatalf("a declined refund was counted")
	}
	var one map[string]any
	if h.get("/_sim/refunds?reference=s", &one) != http.StatusOK || one["refunds"] != float64(0) ||
		one["refunds_of_payment"] != float64(3) || one["refunded_amount"] != "30.00" {
		t.Fatalf("/_sim/refunds?reference=s: %v", one)
	}
	var all map[string]any
	if h.get("/_sim/refunds", &all) != http.StatusOK || all["total"] != float64(3) {
		t.Fatalf("/_sim/refunds: %v", all)
	}
}

// TestLineIDsAreNotPositions: VUK 507 line ids are unique in the Sim and not
// 1, 2, ...; a refund names a line by its id.
func TestLineIDsAreNotPositions(t *testing.T) {
	h := newHarness(t, Config{})
	lines := []map[string]any{item("Tea", "20", 2, "10.00", "20.00"), item("Cake", "20", 1, "30.00", "30.00")}
	_, a := h.post(PathGmuPayment, sale507("a", "50.00", "CARD", lines...))
	h.post(PathGmuPayment, sale507("b", "50.00", "CARD", lines...))
	ids := append(h.lineIDs("a"), h.lineIDs("b")...)
	seen := map[int]bool{}
	for i, id := range ids {
		if id == i%2+1 || seen[id] || id < 100000 {
			t.Fatalf("line ids %v: positional or repeated", ids)
		}
		seen[id] = true
	}
	// Line 2 of sale a, named by its id.
	status, got := h.post(PathGmuRefund, refund507("ra", str(t, a, "paymentId"), todayInt, refundLine507(ids[1], 1, "30.00")))
	if status != http.StatusOK || num(t, got, "price") != "30.00" {
		t.Fatalf("refund: %d %v", status, got)
	}
	// A line of another sale is no line of this one.
	status, got = h.post(PathGmuRefund, refund507("rb", str(t, a, "paymentId"), todayInt, refundLine507(ids[2], 1, "10.00")))
	wantFailure(t, status, got, http.StatusBadRequest, CodeValidation, "")
}

// TestOmitReturnedLines: with the switch, refundable-sale-info leaves fully
// returned lines out, so the remaining lines shift position.
func TestOmitReturnedLines(t *testing.T) {
	for _, omit := range []bool{false, true} {
		h := newHarness(t, Config{OmitReturnedLines: omit})
		_, sale := h.post(PathGmuPayment, sale507("s", "50.00", "CARD",
			item("Tea", "20", 2, "10.00", "20.00"), item("Cake", "20", 1, "30.00", "30.00")))
		ids := h.lineIDs("s")
		pid := str(t, sale, "paymentId")
		if status, got := h.post(PathGmuRefund, refund507("r1", pid, todayInt, refundLine507(ids[0], 2, "20.00"))); status != http.StatusOK {
			t.Fatalf("refund: %d %v", status, got)
		}
		left := h.lineIDs("s")
		want := []int{ids[0], ids[1]}
		if omit {
			want = []int{ids[1]}
		}
		if fmt.Sprint(left) != fmt.Sprint(want) {
			t.Fatalf("omit %v: lines %v, want %v", omit, left, want)
		}
		// The remaining line is still refunded by its id.
		if status, got := h.post(PathGmuRefund, refund507("r2", pid, todayInt, refundLine507(ids[1], 1, "30.00"))); status != http.StatusOK {
			t.Fatalf("refund: %d %v", status, got)
		}
		if omit && len(h.lineIDs("s")) != 0 {
			t.Fatal("a fully refunded sale still lists lines")
		}
	}
}

// TestCommitThenSessionTerminated: the operation runs and charges, then the
// answer is 380204 on HTTP 200 (or the status asked for).
func TestCommitThenSessionTerminated(t *testing.T) {
	for _, status := range []int{0, http.StatusUnauthorized} {
		h := newHarness(t, Config{})
		h.sim.Inject(Fault{Op: OpPayment, Kind: FaultCommitThenSessionTerminated, Status: status})
		got, body := h.post(PathPayment, sale509("c1", "10.00"))
		want := status
		if want == 0 {
			want = http.StatusOK
		}
		if got != want || body["errorCode"] != CodeSessionTerminated || body["errorGroup"] != GroupDevice || body["status"] != "FAILURE" {
			t.Fatalf("status %d: %d %v", status, got, body)
		}
		if h.sim.Charges("c1") != 1 {
			t.Fatalf("charges %d", h.sim.Charges("c1"))
		}
		_, q := h.post(PathQuery, query509(map[string]any{"deviceUniqueId": testDevice, "transactionReferenceId": "c1"}))
		if q["status"] != "SUCCESS" {
			t.Fatalf("query: %v", q)
		}
		reqs := h.requestsFor(OpPayment)
		if r := reqs[len(reqs)-1]; r.ErrorCode != CodeSessionTerminated || len(r.Faults) != 1 || r.Faults[0] != string(FaultCommitThenSessionTerminated) {
			t.Fatalf("record %+v", r)
		}
		// VUK 507 keeps its convention.
		h.sim.Inject(Fault{Op: OpGmuPayment, Kind: FaultCommitThenSessionTerminated})
		if got, body := h.post(PathGmuPayment, sale507("g1", "10.00", "CARD")); got != http.StatusOK || body["status"] != "failure" ||
			body["errorCode"] != CodeSessionTerminated || h.sim.Charges("g1") != 1 {
			t.Fatalf("gmu: %d %v", got, body)
		}
	}
	for _, bad := range []int{100, 500, 600} {
		if err := (Fault{Kind: FaultCommitThenSessionTerminated, Status: bad}).Validate(); err == nil {
			t.Errorf("status %d accepted", bad)
		}
	}
}

// TestCloseEndsCardWaits: by default a card wait ignores its client, but
// Close ends it (the operation is abandoned and the connection cut), so that
// the server in front can shut down.
func TestCloseEndsCardWaits(t *testing.T) {
	entered := make(chan struct{})
	h := newHarness(t, Config{OnCardWait: func(ctx context.Context, ev CardEvent) {
		close(entered)
		<-ctx.Done()
	}})
	done := make(chan error, 1)
	go func() {
		resp, err := h.srv.Client().Do(h.jsonRequest(context.Background(), h.token, PathPayment, sale509("w1", "10.00")))
		if err == nil {
			resp.Body.Close()
			err = errors.New("answered " + resp.Status)
		}
		done <- err
	}()
	<-entered
	h.sim.Close()
	select {
	case err := <-done:
		if err == nil || strings.HasPrefix(err.Error(), "answered") {
			t.Fatalf("client: %v", err)
		}
	case <-time.After(30 * time.Second): // a deadline, not a wait
		t.Fatal("Close did not end the card wait")
	}
	r := h.requestsFor(OpPayment)
	if len(r) != 1 || r[0].Outcome != OutcomeAbandoned || h.sim.Charges("w1") != 0 {
		t.Fatalf("records %+v, charges %d", r, h.sim.Charges("w1"))
	}
}

func TestConfigCancelReadings(t *testing.T) {
	if err := (Config{AbandonOnCancel: true, ContinueAfterCancel: true}).Validate(); err == nil {
		t.Fatal("both readings accepted")
	}
	for _, c := range []Config{{}, {AbandonOnCancel: true}, {ContinueAfterCancel: true}} {
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTokenRefusalsAre401OnCardOperations: 100310, 100311 and 380204 are
// answered HTTP 401 on every kind of call (even a VUK 509 void, whose other
// failures are 422): the one answer a client may resend.
func TestTokenRefusalsAre401OnCardOperations(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(h *harness) string
		code  string
	}{
		{"garbage", func(*harness) string { return "garbage" }, CodeInvalidToken},
		{"expired", func(h *harness) string { h.sim.ExpireTokens(); return h.token }, CodeTokenExpired},
		{"revoked", func(h *harness) string { h.sim.RevokeSessions(); return h.token }, CodeSessionTerminated},
	} {
		for _, call := range []struct {
			path string
			body func(h *harness) any
		}{
			{PathPayment, func(*harness) any { return sale509("p", "10.00") }},
			{PathVoid, func(*harness) any { return void509("v", "40000001", today) }},
			{PathGmuPayment, func(*harness) any { return sale507("g", "10.00", "CARD") }},
			{PathGmuRefund, func(*harness) any { return refund507("r", "40000001", todayInt, refundLine507(100000, 1, "1.00")) }},
		} {
			t.Run(tc.name+" "+call.path, func(t *testing.T) {
				h := newHarness(t, Config{})
				status, got := h.postAs(tc.spoil(h), call.path, call.body(h))
				if status != http.StatusUnauthorized || got["errorCode"] != tc.code {
					t.Fatalf("%d %v", status, got)
				}
				if raw, _ := json.Marshal(got); strings.Contains(string(raw), `"paymentId"`) {
					t.Fatalf("a token refusal carries payment data: %s", raw)
				}
			})
		}
	}
}
