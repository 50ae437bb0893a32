package main

// End-to-end tests of the local REST API over real HTTP: the whole daemon
// (runDaemon: store, upstream client, payment service, server) against the
// simulator, both on :0 ports.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/apiauth"
	"github.com/bridgedpos/bridged/internal/config"
	"github.com/bridgedpos/bridged/internal/simulator"
	"github.com/bridgedpos/bridged/internal/simulator/simtest"
)

type e2e struct {
	t      *testing.T
	base   string
	key    string // the ECR's key: scope payments
	ops    string // an operator's key: scopes read and operate
	sim    *simulator.Sim
	signed bool
	logs   *safeBuffer
	cfg    *config.Config
	stop   func()
}

type e2eOpts struct {
	// signed: every request with the ECR's key is signed (apiauth) instead
	// of carrying the key, and every answer's signature is checked.
	signed    bool
	mode      config.Mode
	sim       simulator.Config
	terminals int
	tweak     func(*config.Config)
	seams     seams
}

func startE2E(t *testing.T, o e2eOpts) *e2e {
	t.Helper()
	if o.mode == "" {
		o.mode = config.ModeVUK509
	}
	if o.terminals == 0 {
		o.terminals = 1
	}
	var devices []string
	for i := 0; i < o.terminals; i++ {
		devices = append(devices, fmt.Sprintf("DEV%03d", i+1))
	}
	o.sim.Devices = devices
	sim, srv := simtest.Start(t, o.sim)
	key, ops := strings.Repeat("k", 40), strings.Repeat("o", 40)
	cfg := demoConfig(privateDir(t), "127.0.0.1:0", o.mode, key, srv.URL)
	cfg.API.Keys = []config.APIKey{{Name: "ecr", Key: config.NewSecret(key)},
		{Name: "ops", Key: config.NewSecret(ops), Scopes: []string{config.ScopeRead, config.ScopeOperate}}}
	cfg.Terminals = nil
	for i, d := range devices {
		cfg.Terminals = append(cfg.Terminals, config.Terminal{ID: fmt.Sprintf("lane-%d", i+1), DeviceUniqueID: d})
	}
	cfg.Log.Format = "json"
	cfg.API.DefaultWait = 20 * time.Second
	if o.tweak != nil {
		o.tweak(cfg)
	}
	logs := &safeBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- runDaemonWith(ctx, cfg, logs, func(addr string) { ready <- addr }, o.seams) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("daemon did not start: %v", err)
	}
	cfg.Listen = addr
	e := &e2e{t: t, base: "http://" + addr, key: key, ops: ops, sim: sim, signed: o.signed, logs: logs, cfg: cfg}
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("daemon: %v", err)
			}
		})
	}
	t.Cleanup(e.stop)
	return e
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r reply) str(path ...string) string {
	var v any = r.body
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case bool:
		return fmt.Sprint(x)
	case json.Number:
		return x.String()
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// request builds an authenticated request; headers are "Name: value"
// strings, and an empty value removes that header.
func (e *e2e) request(method, path, body string, headers ...string) *http.Request {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		if v = strings.TrimSpace(v); v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	if e.signed && req.Header.Get("Authorization") == "Bearer "+e.key {
		p := apiauth.Sign("ecr", []byte(e.key), time.Now(), method, req.URL.RequestURI(), []byte(body))
		req.Header.Set("Authorization", p.Header())
	}
	return req
}

// noRedirect shows a redirect as the answer it is (the status page's login).
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// call sends a request; headers are "Name: value" strings.
func (e *e2e) call(method, path, body string, headers ...string) reply {
	e.t.Helper()
	req := e.request(method, path, body, headers...)
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if p, err := apiauth.Parse(req.Header.Get("Authorization")); err == nil && resp.StatusCode != 401 && resp.StatusCode != 413 && resp.StatusCode != 429 {
		// A signed request: the answer must be bridged's, for this request.
		if got := resp.Header.Get(apiauth.ResponseHeader); !apiauth.Equal(got, apiauth.ResponseSignature([]byte(e.key), resp.StatusCode, raw, p.Signature)) {
			e.t.Errorf("%s %s -> %d: Bridged-Signature %q does not sign the answer", method, path, resp.StatusCode, got)
		}
	}
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	_ = dec.Decode(&r.body)
	return r
}

func (e *e2e) pay(key, body string, headers ...string) reply {
	e.t.Helper()
	return e.call("POST", "/v1/payments", body, append([]string{"Idempotency-Key: " + key}, headers...)...)
}

func expect(t *testing.T, r reply, status int, kv ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if got := r.str(strings.Split(kv[i], ".")...); got != kv[i+1] {
			t.Fatalf("%s = %q, want %q in %s", kv[i], got, kv[i+1], r.raw)
		}
	}
}

func TestE2ESaleApprovedDeclinedReplayReuse(t *testing.T) {
	e := startE2E(t, e2eOpts{})
	r := e.pay("k1", `{"amount":"149.90","reference":"ECR-1"}`)
	expect(t, r, 201, "status", "approved", "safe_to_retry", "false", "amount", "149.90", "currency", "TRY",
		"card.last4", "0008", "terminal", "lane-1", "type", "sale", "error", "")
	if r.str("payment_id") == "" || r.header.Get("Location") != "/v1/payments/"+r.str("id") {
		t.Fatalf("payment id or Location missing: %v %s", r.header, r.raw)
	}
	if strings.Contains(r.raw, "5528790000000008") {
		t.Fatal("a full card number in a response")
	}

	// The ECR lost the answer and retries: the original answer, replayed.
	again := e.pay("k1", `{"amount":"149.90","reference":"ECR-1"}`)
	expect(t, again, 201, "id", r.str("id"), "status", "approved")
	if again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("replay not marked Idempotent-Replayed")
	}
	// The same key for another amount: refused.
	expect(t, e.pay("k1", `{"amount":"150.00","reference":"ECR-1"}`), 422, "code", "idempotency_key_reused")
	// A JSON number is accepted and parsed exactly.
	expect(t, e.pay("k-num", `{"amount":20.1,"reference":"ECR-N"}`), 201, "amount", "20.10", "status", "approved")
	// Declined by the bank: safe to retry with a new key.
	d := e.pay("k2", `{"amount":"10.51","reference":"ECR-2"}`)
	expect(t, d, 201, "status", "declined", "safe_to_retry", "true", "error.code", "10051", "error.group", "BANK_ERROR")
	// The reference serves as the key when there is no header.
	byRef := e.call("POST", "/v1/payments", `{"amount":"5.00","reference":"ECR-REF"}`)
	expect(t, byRef, 201, "status", "approved")
	expect(t, e.call("POST", "/v1/payments", `{"amount":"5.00","reference":"ECR-REF"}`), 201, "id", byRef.str("id"))
	expect(t, e.call("POST", "/v1/payments", `{"amount":"5.00"}`), 400, "code", "idempotency_key_required")

	// Read back: by id, by reference, by status.
	expect(t, e.call("GET", "/v1/payments/"+r.str("id"), ""), 200, "status", "approved", "reference", "ECR-1")
	list := e.call("GET", "/v1/payments?reference=ECR-2", "")
	expect(t, list, 200)
	if !strings.Contains(list.str("items"), d.str("id")) || strings.Contains(list.str("items"), r.str("id")) {
		t.Fatalf("list by reference: %s", list.raw)
	}
	declined := e.call("GET", "/v1/payments?status=declined", "")
	if n := strings.Count(declined.str("items"), `"status":"declined"`); n != 1 {
		t.Fatalf("%d declined in %s", n, declined.raw)
	}
	expect(t, e.call("GET", "/v1/payments/op_nope", ""), 404, "code", "not_found")

	if got := e.sim.Charges(r.str("transaction_reference_id")); got != 1 {
		t.Fatalf("%d charges for the sale", got)
	}
	if got := e.sim.TotalCharges(); got != 3 {
		t.Fatalf("%d charges in all, want 3", got)
	}
	for _, req := range e.sim.Requests() {
		if len(req.Findings) > 0 {
			t.Errorf("the simulator found problems in %s: %+v", req.Op, req.Findings)
		}
	}
}

// TestE2ETimeoutThenReconciled: the card takes longer than bridged's card
// timeout; the device still completes the charge. The ECR gets 202, then
// unknown, and the reconciler settles it approved; one charge.
func TestE2ETimeoutThenReconciled(t *testing.T) {
	e := startE2E(t, e2eOpts{
		sim:   simulator.Config{SlowCardWait: 3 * time.Second},
		tweak: func(c *config.Config) { c.Upstream.CardTimeout = 1500 * time.Millisecond },
	})
	r := e.pay("slow", `{"amount":"30.55","reference":"SLOW"}`, "Prefer: wait=1")
	expect(t, r, 202, "status", "pending")
	if r.header.Get("Location") == "" || r.header.Get("Retry-After") == "" {
		t.Fatalf("202 without Location or Retry-After: %v", r.header)
	}
	id := r.str("id")
	// Another sale on the terminal is refused while the outcome is unknown.
	u := e.call("GET", "/v1/payments/"+id, "", "Prefer: wait=5")
	if u.str("status") == "unknown" {
		expect(t, e.pay("other", `{"amount":"1.00","reference":"O"}`), 409, "code", "terminal_blocked")
	}
	final := u
	for i := 0; i < 10 && final.str("status") != "approved"; i++ {
		final = e.call("GET", "/v1/payments/"+id, "", "Prefer: wait=5")
	}
	expect(t, final, 200, "status", "approved", "resolution", "query")
	if n := e.sim.Charges(final.str("transaction_reference_id")); n != 1 {
		t.Fatalf("%d charges", n)
	}
	expect(t, e.pay("after", `{"amount":"2.00","reference":"A"}`), 201, "status", "approved")
}

func TestE2EDroppedResponseAndResolve(t *testing.T) {
	e := startE2E(t, e2eOpts{})
	e.sim.Inject(simulator.Fault{Op: simulator.OpPayment, Kind: simulator.FaultCommitThenDrop})
	r := e.pay("drop", `{"amount":"40.00","reference":"DROP"}`)
	// iyzico charged, the answer was lost: never "declined".
	if r.str("status") != "unknown" && r.str("status") != "approved" {
		t.Fatalf("after a dropped answer: %s", r.raw)
	}
	res := e.call("POST", "/v1/payments/"+r.str("id")+"/resolve", "")
	expect(t, res, 200, "status", "approved")
	expect(t, e.pay("drop", `{"amount":"40.00","reference":"DROP"}`), 201, "status", "approved", "id", r.str("id"))
	if e.sim.TotalCharges() != 1 {
		t.Fatalf("%d charges", e.sim.TotalCharges())
	}
}

func TestE2EJoinAndBusy(t *testing.T) {
	hold := make(chan struct{})
	waiting := make(chan struct{}, 4)
	e := startE2E(t, e2eOpts{sim: simulator.Config{OnCardWait: func(ctx context.Context, _ simulator.CardEvent) {
		waiting <- struct{}{}
		select {
		case <-hold:
		case <-ctx.Done():
		}
	}}})
	first := make(chan reply, 1)
	go func() { first <- e.pay("join", `{"amount":"60.00","reference":"J"}`) }()
	<-waiting // the customer is at the terminal
	second := make(chan reply, 1)
	go func() { second <- e.pay("join", `{"amount":"60.00","reference":"J"}`) }()
	busy := e.pay("busy", `{"amount":"61.00","reference":"B"}`)
	expect(t, busy, 409, "code", "terminal_busy")
	if busy.header.Get("Retry-After") == "" {
		t.Fatal("409 without Retry-After")
	}
	close(hold)
	a, b := <-first, <-second
	expect(t, a, 201, "status", "approved")
	expect(t, b, 201, "status", "approved", "id", a.str("id"))
	if b.header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("the joined retry is not marked as a replay")
	}
	if e.sim.TotalCharges() != 1 {
		t.Fatalf("%d charges for one key", e.sim.TotalCharges())
	}
	// respond-async answers at once.
	close(waiting)
}

func TestE2EVoidRefundCancelEndOfDay509(t *testing.T) {
	e := startE2E(t, e2eOpts{})
	sale := func(key, amount string) string {
		r := e.pay(key, `{"amount":"`+amount+`","reference":"`+key+`"}`)
		expect(t, r, 201, "status", "approved")
		return r.str("id")
	}
	p1 := sale("s1", "100.00")
	v := e.call("POST", "/v1/payments/"+p1+"/void", `{"reason":"customer changed mind"}`, "Idempotency-Key: v1")
	expect(t, v, 201, "status", "approved", "type", "void", "parent_id", p1)
	expect(t, e.call("GET", "/v1/payments/"+p1, ""), 200, "voided", "true")
	expect(t, e.call("POST", "/v1/payments/"+p1+"/void", ``, "Idempotency-Key: v1b"), 409, "code", "not_voidable")

	p2 := sale("s2", "100.00")
	expect(t, e.call("POST", "/v1/payments/"+p2+"/refund", `{"amount":"30.00"}`, "Idempotency-Key: r1"), 201, "status", "approved", "amount", "30.00")
	expect(t, e.call("POST", "/v1/payments/"+p2+"/refund", `{"amount":"70.00"}`, "Idempotency-Key: r2"), 201, "status", "approved")
	expect(t, e.call("POST", "/v1/payments/"+p2+"/refund", `{"amount":"0.01"}`, "Idempotency-Key: r3"), 422, "code", "refund_exceeds")
	expect(t, e.call("GET", "/v1/payments/"+p2, ""), 200, "refunded_amount", "100.00")

	p3 := sale("s3", "25.00")
	expect(t, e.call("POST", "/v1/payments/"+p3+"/cancel", ``, "Idempotency-Key: c3"), 201, "type", "void", "status", "approved")
	p4 := sale("s4", "80.00")

	eod := e.call("POST", "/v1/terminals/lane-1/end-of-day", ``)
	// iyzico: 100 (p2) - 100 (refunds) + 80 (p4) = 80.00 over 4; p1 and p3 voided.
	expect(t, eod, 201, "status", "approved", "match", "true", "upstream.amount", "80.00", "upstream.count", "4",
		"journal.amount", "80.00", "journal.count", "4")
	expect(t, e.call("GET", "/v1/terminals/lane-1/end-of-day", ""), 200)
	expect(t, e.call("GET", "/v1/end-of-day/"+eod.str("id"), ""), 200, "match", "true")
	expect(t, e.call("GET", "/v1/terminals/lane-1", ""), 200, "state", "idle")

	// After end of day, cancel refunds instead of voiding.
	expect(t, e.call("POST", "/v1/payments/"+p4+"/cancel", ``, "Idempotency-Key: c4"), 201, "type", "refund", "amount", "80.00", "status", "approved")
	expect(t, e.call("POST", "/v1/split-sales", `{"amount":"1.00"}`, "Idempotency-Key: sp"), 409, "code", "mode_unsupported")
	expect(t, e.call("POST", "/v1/terminals/lane-9/end-of-day", ``), 404, "code", "unknown_terminal")
}

func TestE2EPreAuthPostAuth(t *testing.T) {
	e := startE2E(t, e2eOpts{})
	pre := e.pay("pre", `{"type":"pre_auth","amount":"200.00","reference":"PRE"}`)
	expect(t, pre, 201, "status", "approved", "type", "pre_auth")
	post := e.pay("post", `{"type":"post_auth","amount":"180.00","reference":"POST","payment_id":"`+pre.str("payment_id")+`"}`)
	expect(t, post, 201, "status", "approved", "type", "post_auth")
	if e.sim.TotalCharges() != 1 {
		t.Fatalf("%d charges (the pre-auth is a hold, the post-auth the charge)", e.sim.TotalCharges())
	}
}

func TestE2EVUK507(t *testing.T) {
	e := startE2E(t, e2eOpts{mode: config.ModeVUK507})
	body := `{"amount":"30.00","reference":"G1","document_type":"1","items":[
		{"name":"Bread","quantity":2,"unit_price":"5.00","total":"10.00","tax_group_code":"1"},
		{"name":"Cheese","quantity":1,"unit_price":"20.00","total":"20.00","tax_group_code":"1"}]}`
	s := e.pay("g1", body)
	expect(t, s, 201, "status", "approved", "payment_type", "CARD", "document_type", "1")
	if !strings.Contains(s.str("items"), `"line_id":"2"`) {
		t.Fatalf("lines: %s", s.raw)
	}
	// End of day first, so the line refund is a refund, not a void.
	expect(t, e.call("POST", "/v1/terminals/lane-1/end-of-day", ``), 201, "status", "approved", "match", "true", "upstream.amount", "30.00")
	ref := e.call("POST", "/v1/payments/"+s.str("id")+"/refund", `{"lines":[{"line_id":"2","amount":"20.00"}]}`, "Idempotency-Key: gr1")
	expect(t, ref, 201, "status", "approved", "amount", "20.00")
	expect(t, e.call("POST", "/v1/payments/"+s.str("id")+"/refund", `{"amount":"1.00"}`, "Idempotency-Key: gr2"), 400, "code", "invalid_request")
	cash := e.pay("cash", `{"amount":"12.00","reference":"C","payment_type":"CASH","document_type":"9","items":[{"name":"Water","quantity":4,"unit_price":"3.00","total":"12.00","tax_group_code":"1"}]}`)
	expect(t, cash, 201, "status", "approved", "payment_type", "CASH")

	// A split sale paid with two cards.
	start := e.call("POST", "/v1/split-sales", `{"amount":"100.00","reference":"SPLIT","document_type":"1","items":[{"name":"Jacket","quantity":1,"unit_price":"100.00","total":"100.00","tax_group_code":"1"}]}`, "Idempotency-Key: sp1")
	expect(t, start, 201, "status", "approved", "type", "split_start")
	sid := start.str("id")
	expect(t, e.call("POST", "/v1/split-sales/"+sid+"/payments", `{"amount":"60.00"}`, "Idempotency-Key: sp1-a"), 201, "status", "approved", "type", "split_payment")
	expect(t, e.call("POST", "/v1/split-sales/"+sid+"/complete", ``, "Idempotency-Key: sp1-early"), 409, "code", "split_sale_unpaid")
	expect(t, e.call("POST", "/v1/split-sales/"+sid+"/payments", `{"amount":"40.00"}`, "Idempotency-Key: sp1-b"), 201, "status", "approved")
	expect(t, e.call("POST", "/v1/split-sales/"+sid+"/complete", ``, "Idempotency-Key: sp1-c"), 201, "status", "approved", "type", "split_complete", "amount", "100.00")

	eod := e.call("POST", "/v1/terminals/lane-1/end-of-day", ``)
	// This batch: the line refund (-20.00) and the two card parts (+100.00); cash is not in it.
	expect(t, eod, 201, "status", "approved", "match", "true", "upstream.amount", "80.00", "journal.amount", "80.00")
	expect(t, e.pay("pre", `{"type":"pre_auth","amount":"1.00","reference":"P","document_type":"1","items":[{"name":"x","quantity":1,"unit_price":"1.00","total":"1.00","tax_group_code":"1"}]}`), 409, "code", "mode_unsupported")
	for _, req := range e.sim.Requests() {
		if len(req.Findings) > 0 {
			t.Errorf("the simulator found problems in %s: %+v", req.Op, req.Findings)
		}
	}
}

func TestE2EEventsResume(t *testing.T) {
	e := startE2E(t, e2eOpts{})
	expect(t, e.pay("e1", `{"amount":"1.00","reference":"E1"}`), 201)
	read := func(lastID string, n int) []string {
		req, _ := http.NewRequest("GET", e.base+"/v1/events", nil)
		req.Header.Set("Authorization", "Bearer "+e.key)
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		resp, err := http.DefaultClient.Do(req.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("content type %q", ct)
		}
		var ids []string
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() && len(ids) < n {
			if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
				ids = append(ids, id)
			}
		}
		return ids
	}
	first := read("", 2) // journaled (sending), approved
	if len(first) != 2 {
		t.Fatalf("events: %v", first)
	}
	// A live event arrives on an open stream, and resume skips what was seen.
	go func() { e.pay("e2", `{"amount":"2.00","reference":"E2"}`) }()
	next := read(first[1], 2)
	if len(next) != 2 || next[0] <= first[1] {
		t.Fatalf("resume after %s gave %v", first[1], next)
	}
}

// TestE2EBadInput: every bad request is a clear problem response, and
// neither the journal nor iyzico sees anything.
func TestE2EBadInput(t *testing.T) {
	e := startE2E(t, e2eOpts{terminals: 2})
	big := `{"amount":"1.00","reference":"` + strings.Repeat("x", 1<<20) + `"}`
	tests := []struct {
		name    string
		body    string
		headers []string
		status  int
		code    string
		field   string
	}{
		{"amount wrong type", `{"amount":true,"terminal":"lane-1"}`, nil, 400, "invalid_request", "amount"},
		{"installment as string", `{"amount":"1.00","terminal":"lane-1","installment":"1"}`, nil, 400, "invalid_request", "installment"},
		{"negative", `{"amount":"-1.00","terminal":"lane-1"}`, nil, 400, "invalid_request", "amount"},
		{"zero", `{"amount":"0.00","terminal":"lane-1"}`, nil, 400, "invalid_request", "amount"},
		{"three decimals", `{"amount":"1.001","terminal":"lane-1"}`, nil, 400, "invalid_request", "amount"},
		{"number with three decimals", `{"amount":1.001,"terminal":"lane-1"}`, nil, 400, "invalid_request", "amount"},
		{"exponent", `{"amount":1e2,"terminal":"lane-1"}`, nil, 400, "invalid_request", "amount"},
		{"absurd", `{"amount":"99999999999999999999.00","terminal":"lane-1"}`, nil, 400, "invalid_request", "amount"},
		{"over the maximum", `{"amount":"100000.01","terminal":"lane-1"}`, nil, 400, "invalid_request", "amount"},
		{"unknown terminal", `{"amount":"1.00","terminal":"lane-9"}`, nil, 400, "invalid_request", "terminal"},
		{"no terminal with two configured", `{"amount":"1.00"}`, nil, 400, "invalid_request", "terminal"},
		{"unknown field", `{"amount":"1.00","terminal":"lane-1","tip":"5.00"}`, nil, 400, "invalid_request", "tip"},
		{"card number field", `{"amount":"1.00","terminal":"lane-1","card_number":"4111111111111111"}`, nil, 400, "invalid_request", "card_number"},
		{"trailing data", `{"amount":"1.00","terminal":"lane-1"} {}`, nil, 400, "invalid_request", "body"},
		{"not json", `amount=1`, nil, 400, "invalid_request", "body"},
		{"array body", `[1,2]`, nil, 400, "invalid_request", "body"},
		{"1 MB body", big, nil, 413, "payload_too_large", ""},
		{"form content type", `{"amount":"1.00","terminal":"lane-1"}`, []string{"Content-Type: application/x-www-form-urlencoded"}, 415, "unsupported_media_type", ""},
		{"missing key", `{"amount":"1.00","terminal":"lane-1"}`, []string{"Authorization: "}, 401, "unauthorized", ""},
		{"wrong key", `{"amount":"1.00","terminal":"lane-1"}`, []string{"Authorization: Bearer " + strings.Repeat("w", 40)}, 401, "unauthorized", ""},
		{"short key", `{"amount":"1.00","terminal":"lane-1"}`, []string{"Authorization: Bearer kkk"}, 401, "unauthorized", ""},
		{"foreign origin", `{"amount":"1.00","terminal":"lane-1"}`, []string{"Origin: http://evil.example"}, 403, "forbidden_origin", ""},
		{"key too long", `{"amount":"1.00","terminal":"lane-1"}`, []string{"Idempotency-Key: " + strings.Repeat("i", 200)}, 400, "invalid_request", "Idempotency-Key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.pay("bad-"+tt.name, tt.body, tt.headers...)
			expect(t, r, tt.status, "code", tt.code)
			if r.header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("content type %q", r.header.Get("Content-Type"))
			}
			if tt.field != "" && !strings.Contains(r.str("errors"), `"field":"`+tt.field) {
				t.Errorf("no problem for %s in %s", tt.field, r.raw)
			}
		})
	}
	// Several problems are listed together.
	multi := e.pay("multi", `{"amount":"-1","terminal":"lane-9","installment":"x","extra":1}`)
	for _, f := range []string{"amount", "terminal", "installment", "extra"} {
		if !strings.Contains(multi.str("errors"), `"field":"`+f+`"`) {
			t.Errorf("%s missing from %s", f, multi.raw)
		}
	}
	// A foreign Host (DNS rebinding) is refused before anything else.
	req, _ := http.NewRequest("POST", e.base+"/v1/payments", strings.NewReader(`{"amount":"1.00"}`))
	req.Host = "evil.example:8470"
	req.Header.Set("Authorization", "Bearer "+e.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("foreign Host: %d", resp.StatusCode)
	}

	list := e.call("GET", "/v1/payments", "")
	if list.str("items") != "[]" {
		t.Fatalf("bad input reached the journal: %s", list.raw)
	}
	for _, req := range e.sim.Requests() {
		if req.Op != simulator.OpAuthorize && req.Op != simulator.OpToken {
			t.Fatalf("bad input reached iyzico: %s", req.Op)
		}
	}
}
