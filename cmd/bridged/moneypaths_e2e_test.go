package main

// End-to-end regressions of the money paths other than a plain sale (issue
// 14), over real HTTP against the simulator. Each failed on d63fd60.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/bridgedpos/bridged/internal/config"
	"github.com/bridgedpos/bridged/internal/simulator"
)

// TestE2ERefundAndCancelRetriesReplay: the ECR lost the answer of a
// completed "refund what is left" or cancel and sends the identical request
// again: it gets the stored result, Idempotent-Replayed, not 422.
func TestE2ERefundAndCancelRetriesReplay(t *testing.T) {
	e := startE2E(t, e2eOpts{})
	s1 := e.pay("s1", `{"amount":"100.00","reference":"S1"}`)
	expect(t, s1, 201, "status", "approved")
	refund := e.call("POST", "/v1/payments/"+s1.str("id")+"/refund", `{"reference":"R1"}`, "Idempotency-Key: r1")
	expect(t, refund, 201, "status", "approved", "amount", "100.00")
	again := e.call("POST", "/v1/payments/"+s1.str("id")+"/refund", `{"reference":"R1"}`, "Idempotency-Key: r1")
	expect(t, again, 201, "id", refund.str("id"))
	if again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("the replayed refund is not marked Idempotent-Replayed")
	}

	s2 := e.pay("s2", `{"amount":"40.00","reference":"S2"}`)
	cancel := e.call("POST", "/v1/payments/"+s2.str("id")+"/cancel", "", "Idempotency-Key: c2")
	expect(t, cancel, 201, "type", "void", "status", "approved")
	expect(t, e.call("POST", "/v1/payments/"+s2.str("id")+"/cancel", "", "Idempotency-Key: c2"), 201, "id", cancel.str("id"))
	if n := e.sim.TotalRefunds(); n != 1 {
		t.Fatalf("%d refunds reached iyzico, want 1", n)
	}
}

// TestE2ELostEndOfDayAnswer: iyzico closed the batch but the answer was lost.
// bridged must treat the batch as possibly closed: a cancel of a sale from
// it becomes a refund (a void would be refused), and the next end of day
// matches, saying the boundary was real.
func TestE2ELostEndOfDayAnswer(t *testing.T) {
	e := startE2E(t, e2eOpts{})
	s1 := e.pay("s1", `{"amount":"150.00","reference":"S1"}`)
	expect(t, s1, 201, "status", "approved")
	e.sim.Inject(simulator.Fault{Op: simulator.OpEOD, Kind: simulator.FaultCommitThenDrop})
	eod1 := e.call("POST", "/v1/terminals/lane-1/end-of-day", "")
	expect(t, eod1, 201, "status", "declined", "error.code", "eod_unknown")
	expect(t, e.call("GET", "/v1/payments/"+eod1.str("id"), ""), 200, "batch_maybe_closed", "true")

	cancel := e.call("POST", "/v1/payments/"+s1.str("id")+"/cancel", "", "Idempotency-Key: c1")
	expect(t, cancel, 201, "type", "refund", "status", "approved", "amount", "150.00")
	expect(t, e.pay("s2", `{"amount":"50.00","reference":"S2"}`), 201, "status", "approved")
	eod2 := e.call("POST", "/v1/terminals/lane-1/end-of-day", "")
	expect(t, eod2, 201, "status", "approved", "match", "true", "journal.amount", "-100.00", "upstream.amount", "-100.00")
	if !strings.Contains(eod2.str("boundary"), "closed the batch") || !strings.Contains(eod2.str("unconfirmed_ends_of_day"), eod1.str("id")) {
		t.Fatalf("the report does not say the lost end of day closed the batch: %s", eod2.raw)
	}
}

// TestE2ECancelFallsBackToRefundWhenTheVoidIsRefused: end of day ran on the
// device itself, where bridged could not see it; the void is refused as
// after end of day, and the cancel goes on as a refund.
func TestE2ECancelFallsBackToRefundWhenTheVoidIsRefused(t *testing.T) {
	e := startE2E(t, e2eOpts{})
	s1 := e.pay("s1", `{"amount":"30.00","reference":"S1"}`)
	expect(t, s1, 201, "status", "approved")
	closeBatchBehindBridged(t, e)
	cancel := e.call("POST", "/v1/payments/"+s1.str("id")+"/cancel", "", "Idempotency-Key: c1")
	expect(t, cancel, 201, "type", "refund", "status", "approved", "amount", "30.00")
	expect(t, e.call("POST", "/v1/payments/"+s1.str("id")+"/cancel", "", "Idempotency-Key: c1"), 201, "id", cancel.str("id"))
	if n := e.sim.TotalRefunds(); n != 1 {
		t.Fatalf("%d refunds reached iyzico, want 1", n)
	}
}

// closeBatchBehindBridged runs end of day on the device's own menu.
func closeBatchBehindBridged(t *testing.T, e *e2e) {
	t.Helper()
	if !e.sim.CloseBatchOnDevice(e.cfg.Terminals[0].DeviceUniqueID) {
		t.Fatal("no such device")
	}
}

// TestE2EVoidedSplitSaleLeavesTheBatch: voiding a completed split sale voids
// its parts with it (iyzico drops them from the batch).
func TestE2EVoidedSplitSaleLeavesTheBatch(t *testing.T) {
	e := startE2E(t, e2eOpts{mode: config.ModeVUK507})
	start := e.call("POST", "/v1/split-sales", `{"amount":"100.00","reference":"SP","document_type":"1","items":[{"name":"Coat","quantity":1,"unit_price":"100.00","total":"100.00","tax_group_code":"1"}]}`, "Idempotency-Key: sp")
	expect(t, start, 201, "status", "approved")
	for i, amt := range []string{"60.00", "40.00"} {
		expect(t, e.call("POST", "/v1/split-sales/"+start.str("id")+"/payments", `{"amount":"`+amt+`"}`, "Idempotency-Key: sp-"+string(rune('a'+i))), 201, "status", "approved")
	}
	done := e.call("POST", "/v1/split-sales/"+start.str("id")+"/complete", "", "Idempotency-Key: sp-c")
	expect(t, done, 201, "status", "approved")
	expect(t, e.call("POST", "/v1/payments/"+done.str("id")+"/void", "", "Idempotency-Key: sp-v"), 201, "status", "approved")
	expect(t, e.call("POST", "/v1/terminals/lane-1/end-of-day", ""), 201, "status", "approved", "match", "true", "upstream.amount", "0.00")
}

// saleWithLines is a VUK 507 card sale of 2 × 5.00 bread and 8.00 milk.
const saleWithLines = `{"amount":"18.00","reference":"L","document_type":"1","items":[` +
	`{"name":"Bread","quantity":2,"unit_price":"5.00","total":"10.00","tax_group_code":"1"},` +
	`{"name":"Milk","quantity":1,"unit_price":"8.00","total":"8.00","tax_group_code":"1"}]}`

// TestE2ECashRefundIsNotInTheCardBatch: a refund of a cash sale returns cash.
func TestE2ECashRefundIsNotInTheCardBatch(t *testing.T) {
	e := startE2E(t, e2eOpts{mode: config.ModeVUK507})
	cash := e.pay("cash", `{"amount":"12.00","reference":"C","payment_type":"CASH","document_type":"9","items":[{"name":"Water","quantity":4,"unit_price":"3.00","total":"12.00","tax_group_code":"1"}]}`)
	expect(t, cash, 201, "status", "approved")
	expect(t, e.pay("card", `{"amount":"30.00","reference":"K","document_type":"1","items":[{"name":"Soap","quantity":1,"unit_price":"30.00","total":"30.00","tax_group_code":"1"}]}`), 201, "status", "approved")
	expect(t, e.call("POST", "/v1/terminals/lane-1/end-of-day", ""), 201, "match", "true")
	expect(t, e.call("POST", "/v1/payments/"+cash.str("id")+"/refund", `{"lines":[{"line_id":"1","quantity":4,"amount":"12.00"}]}`, "Idempotency-Key: cr"), 201, "status", "approved")
	expect(t, e.pay("card2", `{"amount":"30.00","reference":"K2","document_type":"1","items":[{"name":"Soap","quantity":1,"unit_price":"30.00","total":"30.00","tax_group_code":"1"}]}`), 201, "status", "approved")
	expect(t, e.call("POST", "/v1/terminals/lane-1/end-of-day", ""), 201, "status", "approved", "match", "true", "journal.amount", "30.00", "upstream.amount", "30.00")
}

// TestE2ELineRefundBeyondWhatIsLeft: refunding more of a line than is left
// on it (while the payment as a whole has money left) is refused locally
// with 422 refund_exceeds naming the line, never sent to iyzico.
func TestE2ELineRefundBeyondWhatIsLeft(t *testing.T) {
	e := startE2E(t, e2eOpts{mode: config.ModeVUK507})
	s := e.pay("s", saleWithLines)
	expect(t, s, 201, "status", "approved")
	expect(t, e.call("POST", "/v1/terminals/lane-1/end-of-day", ""), 201, "match", "true")
	one := e.call("POST", "/v1/payments/"+s.str("id")+"/refund", `{"lines":[{"line_id":"1","quantity":1,"amount":"5.00"}]}`, "Idempotency-Key: r1")
	expect(t, one, 201, "status", "approved")
	refunds := len(e.sim.Requests())
	over := e.call("POST", "/v1/payments/"+s.str("id")+"/refund", `{"lines":[{"line_id":"1","quantity":2,"amount":"10.00"}]}`, "Idempotency-Key: r2")
	expect(t, over, 422, "code", "refund_exceeds")
	if !strings.Contains(over.str("detail"), "line 1") || len(e.sim.Requests()) != refunds {
		t.Fatalf("the refusal does not name the line, or reached iyzico: %s", over.raw)
	}
	expect(t, e.call("GET", "/v1/payments/"+s.str("id"), ""), 200, "refunded_amount", "5.00")
	// What is left of the line and the other line can still be refunded.
	expect(t, e.call("POST", "/v1/payments/"+s.str("id")+"/refund", `{"lines":[{"line_id":"1","quantity":1,"amount":"5.00"},{"line_id":"2","amount":"8.00"}]}`, "Idempotency-Key: r3"), 201, "status", "approved")
}

// TestE2EPreAuthRefundsBoundByTheCapture: an uncaptured pre-auth is not
// refundable, a capture cannot exceed its hold, and refunds of a captured
// pre-auth go against its post-auth, never both.
func TestE2EPreAuthRefundsBoundByTheCapture(t *testing.T) {
	e := startE2E(t, e2eOpts{})
	pre := e.pay("pre", `{"type":"pre_auth","amount":"100.00","reference":"PRE"}`)
	expect(t, pre, 201, "status", "approved")
	expect(t, e.call("POST", "/v1/payments/"+pre.str("id")+"/refund", `{"amount":"10.00"}`, "Idempotency-Key: pr"), 409, "code", "not_refundable")
	expect(t, e.pay("post-big", `{"type":"post_auth","amount":"120.00","reference":"POSTX","payment_id":"`+pre.str("payment_id")+`"}`), 409, "code", "not_capturable")
	post := e.pay("post", `{"type":"post_auth","amount":"80.00","reference":"POST","payment_id":"`+pre.str("payment_id")+`"}`)
	expect(t, post, 201, "status", "approved", "parent_id", pre.str("id"))
	expect(t, e.call("GET", "/v1/payments/"+pre.str("id"), ""), 200, "captured_by", post.str("id"))
	expect(t, e.pay("post-2", `{"type":"post_auth","amount":"10.00","reference":"POST2","payment_id":"`+pre.str("payment_id")+`"}`), 409, "code", "not_capturable")
	expect(t, e.call("POST", "/v1/payments/"+pre.str("id")+"/refund", "", "Idempotency-Key: pr2"), 409, "code", "not_refundable")
	expect(t, e.call("POST", "/v1/terminals/lane-1/end-of-day", ""), 201, "match", "true")
	expect(t, e.call("POST", "/v1/payments/"+post.str("id")+"/refund", "", "Idempotency-Key: po"), 201, "status", "approved", "amount", "80.00")
	expect(t, e.call("POST", "/v1/payments/"+post.str("id")+"/refund", `{"amount":"1.00"}`, "Idempotency-Key: po2"), 422, "code", "refund_exceeds")
	if n := e.sim.TotalRefunds(); n != 1 {
		t.Fatalf("%d refunds reached iyzico, want 1", n)
	}
}

// TestE2EAbandonedSplitSaleCancel: a split sale whose parts were charged and
// that was never completed gives its money back through bridged.
func TestE2EAbandonedSplitSaleCancel(t *testing.T) {
	e := startE2E(t, e2eOpts{mode: config.ModeVUK507})
	start := e.call("POST", "/v1/split-sales", `{"amount":"90.00","reference":"AB","document_type":"1","items":[{"name":"Boots","quantity":1,"unit_price":"90.00","total":"90.00","tax_group_code":"1"}]}`, "Idempotency-Key: ab")
	expect(t, start, 201, "status", "approved")
	var parts []reply
	for i, amt := range []string{"30.00", "20.00"} {
		p := e.call("POST", "/v1/split-sales/"+start.str("id")+"/payments", `{"amount":"`+amt+`"}`, "Idempotency-Key: ab-"+string(rune('a'+i)))
		expect(t, p, 201, "status", "approved")
		parts = append(parts, p)
	}
	c := e.call("POST", "/v1/split-sales/"+start.str("id")+"/cancel", `{"reference":"AB-X"}`, "Idempotency-Key: ab-x")
	expect(t, c, 201, "status", "cancelled", "split.closed", "true")
	for _, p := range parts {
		expect(t, e.call("GET", "/v1/payments/"+p.str("id"), ""), 200, "voided", "true")
	}
	// The same request again replays; no second void reaches iyzico.
	voids := 0
	for _, r := range e.sim.Requests() {
		if r.Op == simulator.OpGmuVoid {
			voids++
		}
	}
	again := e.call("POST", "/v1/split-sales/"+start.str("id")+"/cancel", `{"reference":"AB-X"}`, "Idempotency-Key: ab-x")
	expect(t, again, 201, "status", "cancelled")
	after := 0
	for _, r := range e.sim.Requests() {
		if r.Op == simulator.OpGmuVoid {
			after++
		}
	}
	if voids != 2 || after != 2 {
		t.Fatalf("voids sent: %d, after the replay %d (want 2 and 2)", voids, after)
	}
	expect(t, e.call("POST", "/v1/terminals/lane-1/end-of-day", ""), 201, "match", "true", "upstream.amount", "0.00")
}

// TestE2EBusyTerminalIs409AndTheKeyComesBack: iyzico's 380201 (the device
// is busy) reaches the ECR as the documented 409 terminal_busy, and the
// same request with the same key goes through once the device is free.
func TestE2EBusyTerminalIs409AndTheKeyComesBack(t *testing.T) {
	e := startE2E(t, e2eOpts{})
	e.sim.Inject(simulator.Fault{Op: simulator.OpPayment, Kind: simulator.FaultDeviceBusy})
	busy := e.pay("k", `{"amount":"25.00","reference":"B"}`)
	expect(t, busy, 409, "code", "terminal_busy")
	if busy.header.Get("Retry-After") == "" {
		t.Fatal("terminal_busy without Retry-After")
	}
	expect(t, e.pay("k", `{"amount":"25.00","reference":"B"}`), 201, "status", "approved")
	if n := e.sim.TotalCharges(); n != 1 {
		t.Fatalf("%d charges, want 1", n)
	}
}

// TestE2EEndOfDayReplayComesFirst: the same end of day asked again (same
// key) answers its stored report at once, even while an unknown on the
// terminal cannot be settled.
func TestE2EEndOfDayReplayComesFirst(t *testing.T) {
	e := startE2E(t, e2eOpts{})
	eod := e.call("POST", "/v1/terminals/lane-1/end-of-day", "", "Idempotency-Key: eod-1")
	expect(t, eod, 201, "status", "approved")
	e.sim.Inject(simulator.Fault{Op: simulator.OpPayment, Kind: simulator.FaultCommitThenDrop})
	e.sim.Inject(simulator.Fault{Op: simulator.OpQuery, Kind: simulator.FaultHTTPStatus, Status: 503, Probability: 1})
	expect(t, e.pay("lost", `{"amount":"9.00","reference":"L"}`), 202, "status", "unknown")
	again := e.call("POST", "/v1/terminals/lane-1/end-of-day", "", "Idempotency-Key: eod-1")
	expect(t, again, 201, "id", eod.str("id"))
	if again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("the replayed end of day is not marked Idempotent-Replayed")
	}
}

// TestE2EQueryAnswerMustBeAboutTheSale: iyzico's query answers that do not
// name the queried reference (as the spec's GMU examples) and carry one and
// the same paymentId must not settle three different unknown sales.
func TestE2EQueryAnswerMustBeAboutTheSale(t *testing.T) {
	anon := func(next http.RoundTripper) http.RoundTripper {
		return roundTripper(func(req *http.Request) (*http.Response, error) {
			resp, err := next.RoundTrip(req)
			if err != nil || req.URL.Path != simulator.PathQuery {
				return resp, err
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var m map[string]any
			if json.Unmarshal(raw, &m) == nil && m["status"] == "SUCCESS" {
				delete(m, "transactionReferenceId")
				m["paymentId"] = "P-1"
				raw, _ = json.Marshal(m)
			}
			resp.Body = io.NopCloser(bytes.NewReader(raw))
			resp.ContentLength = int64(len(raw))
			resp.Header.Del("Content-Length")
			return resp, nil
		})
	}
	e := startE2E(t, e2eOpts{seams: seams{Transport: anon}})
	var ids []string
	for i := range 3 {
		e.sim.Inject(simulator.Fault{Op: simulator.OpPayment, Kind: simulator.FaultCommitThenDrop})
		r := e.pay("u"+string(rune('a'+i)), `{"amount":"20.00","reference":"U`+string(rune('A'+i))+`"}`)
		if r.status == 409 && r.str("code") == "terminal_blocked" {
			e.sim.ClearFaults()
			break // the previous sale stayed unknown: not settled by that answer
		}
		if r.status != 202 && r.status != 201 {
			t.Fatalf("sale %d: %s", i, r.raw)
		}
		ids = append(ids, r.str("id"))
		e.call("POST", "/v1/payments/"+r.str("id")+"/resolve", "")
	}
	approvedWithP1 := 0
	for _, id := range ids {
		r := e.call("GET", "/v1/payments/"+id, "")
		if r.str("status") == "approved" && r.str("payment_id") == "P-1" {
			approvedWithP1++
		}
	}
	if approvedWithP1 > 1 {
		t.Fatalf("%d different sales settled approved with the same paymentId P-1", approvedWithP1)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
