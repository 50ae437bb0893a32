//go:build contract

package main

// Contract tests of the API document internal/server/openapi.yaml against the
// running daemon. Every request below goes to the whole daemon and the iyzico
// simulator through e2e.call, in both modes; the request and the real response
// are then validated against the document the daemon serves at /openapi.yaml,
// with pb33f/libopenapi-validator (OpenAPI 3.1, JSON Schema 2020-12) in strict
// mode: a status, header, content type or field that the document does not
// declare, or one of another shape, fails the test. Requests are checked too:
// the document must accept what the server takes and refuse what the server
// refuses for its shape. openapi_routes_test.go matches the document's paths
// with the chi routes in every run.
//
// The validator and its dependencies take most of the CPU a cold
// `go test ./...` spends compiling (about three quarters on a fresh
// cache), so these tests build with the tag contract, which .ci/run sets:
//
//	go test -tags contract -run TestOpenAPIContract ./cmd/bridged/

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	vconfig "github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi-validator/strict"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"github.com/bridgedpos/bridged/internal/apitype"
	"github.com/bridgedpos/bridged/internal/payment"

	"github.com/bridgedpos/bridged/internal/config"
	"github.com/bridgedpos/bridged/internal/server"
	"github.com/bridgedpos/bridged/internal/simulator"
)

// apiContract validates exchanges with one daemon against the API document.
type apiContract struct {
	t       *testing.T
	e       *e2e
	v       validator.Validator
	event   *base.Schema
	problem *base.Schema
	ops     []*docOperation
}

// docOperation is one documented method and path, and what it answered.
type docOperation struct {
	method, path string
	re           *regexp.Regexp
	answered     map[int]bool
}

// docVerdict is what the document must say of a request.
type docVerdict int

const (
	// docAccepts: the request has the shape the document describes. The server
	// may still refuse it for what a schema cannot say (an unknown terminal,
	// an amount over the maximum, a missing idempotency key).
	docAccepts docVerdict = iota
	// docRefuses: the document refuses the request too; the server must answer 4xx.
	docRefuses
)

// newContract reads the document from the daemon (a key with the read
// scope) and builds a strict validator from it.
func newContract(t *testing.T, e *e2e) *apiContract {
	t.Helper()
	r := e.call("GET", "/openapi.yaml", "", "Authorization: Bearer "+e.ops)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/yaml" || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET /openapi.yaml: %d %q %q", r.status, r.header.Get("Content-Type"), r.header.Get("Cache-Control"))
	}
	if r.raw != string(server.OpenAPI()) {
		t.Fatal("GET /openapi.yaml is not the embedded document")
	}
	doc, err := libopenapi.NewDocument([]byte(r.raw))
	if err != nil {
		t.Fatalf("parse the document: %v", err)
	}
	if v := doc.GetSpecInfo().SpecFormat; v != "oas3_1" {
		t.Fatalf("the document is %s, want OpenAPI 3.1", v)
	}
	v, errs := validator.NewValidator(doc, vconfig.WithStrictMode(), vconfig.WithFormatAssertions())
	if len(errs) > 0 {
		t.Fatalf("build the validator: %v", errors.Join(errs...))
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		t.Fatalf("the document is not valid OpenAPI 3.1:\n%s", describeViolations(verrs))
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("build the model: %v", err)
	}
	c := &apiContract{t: t, e: e, v: v, ops: documentedOperations(&model.Model)}
	c.event, c.problem = component(t, &model.Model, "Event"), component(t, &model.Model, "Problem")
	c.check(docAccepts, "GET", "/openapi.yaml", "", []string{"Authorization: Bearer " + e.ops}, r)
	return c
}

func component(t *testing.T, m *v3.Document, name string) *base.Schema {
	t.Helper()
	proxy := m.Components.Schemas.GetOrZero(name)
	if proxy == nil || proxy.Schema() == nil {
		t.Fatalf("the document has no %s schema", name)
	}
	return proxy.Schema()
}

func documentedOperations(m *v3.Document) []*docOperation {
	var out []*docOperation
	for path, item := range m.Paths.PathItems.FromOldest() {
		pattern := regexp.MustCompile(`\\\{[^}]+\\\}`).ReplaceAllString(regexp.QuoteMeta(path), `[^/]+`)
		for method := range item.GetOperations().KeysFromOldest() {
			out = append(out, &docOperation{method: strings.ToUpper(method), path: path,
				re: regexp.MustCompile("^" + pattern + "$"), answered: map[int]bool{}})
		}
	}
	return out
}

// call sends a request with e2e.call and validates it and its answer.
func (c *apiContract) call(want docVerdict, method, path, body string, headers ...string) reply {
	c.t.Helper()
	r := c.e.call(method, path, body, headers...)
	c.check(want, method, path, body, headers, r)
	return r
}

// pay is e2e.pay, validated.
func (c *apiContract) pay(key, body string, headers ...string) reply {
	c.t.Helper()
	return c.call(docAccepts, "POST", "/v1/payments", body, append([]string{"Idempotency-Key: " + key}, headers...)...)
}

// sent rebuilds the request exactly as e2e.call sends it.
func (c *apiContract) sent(method, path, body string, headers []string) *http.Request {
	c.t.Helper()
	return c.e.request(method, path, body, headers...)
}

func (c *apiContract) check(want docVerdict, method, path, body string, headers []string, r reply) {
	c.t.Helper()
	what := fmt.Sprintf("%s %s -> %d", method, path, r.status)
	ok, errs := c.v.ValidateHttpRequestSync(c.sent(method, path, body, headers))
	switch {
	case want == docAccepts && !ok:
		c.t.Errorf("%s: the document refuses the request %s:\n%s", what, truncateBody(body), describeViolations(errs))
	case want == docRefuses && ok:
		c.t.Errorf("%s: the document accepts the request %s, which the test says it must refuse", what, truncateBody(body))
	case want == docRefuses && (r.status < 400 || r.status > 499):
		c.t.Errorf("%s: the server took a request the document refuses: %s", what, truncateBody(body))
	}
	c.checkResponse(what, c.sent(method, path, body, headers), r.status, r.header, r.raw)
}

func (c *apiContract) checkResponse(what string, req *http.Request, status int, header http.Header, raw string) {
	c.t.Helper()
	resp := &http.Response{StatusCode: status, Header: header, Body: io.NopCloser(strings.NewReader(raw)), Request: req}
	if ok, errs := c.v.ValidateHttpResponse(req, resp); !ok {
		c.t.Errorf("%s: the response contradicts the document:\n%s\nheaders: %v\nbody: %s", what, describeViolations(errs), header, truncateBody(raw))
	}
	// Strict mode does not look for undeclared members of a schema composed
	// with allOf, which every problem response is: check them against the
	// Problem schema itself.
	if header.Get("Content-Type") == "application/problem+json" {
		var body any
		if err := json.Unmarshal([]byte(raw), &body); err != nil {
			c.t.Errorf("%s: problem body is not JSON: %v", what, err)
		} else if res := strict.ValidateBody(c.problem, body, strict.DirectionResponse,
			vconfig.NewValidationOptions(vconfig.WithStrictMode()), 3.1); res != nil && !res.Valid {
			for _, u := range res.UndeclaredValues {
				c.t.Errorf("%s: problem member %s is not in the Problem schema: %s", what, u.Path, truncateBody(raw))
			}
		}
	}
	for _, op := range c.ops {
		if op.method == req.Method && op.re.MatchString(req.URL.Path) {
			op.answered[status] = true
		}
	}
}

// everyOperationAnswered fails for each documented operation this mode never called.
func (c *apiContract) everyOperationAnswered() {
	c.t.Helper()
	for _, op := range c.ops {
		if len(op.answered) == 0 {
			c.t.Errorf("%s %s was never exercised", op.method, op.path)
			continue
		}
		var st []int
		for s := range op.answered {
			st = append(st, s)
		}
		sort.Ints(st)
		c.t.Logf("%-6s %-34s answered %v", op.method, op.path, st)
	}
}

var sseEventName = regexp.MustCompile(`^(payment|void|refund|split_start|split_payment|split_complete|end_of_day)\.(pending|approved|declined|unknown)$`)

// events reads n events of /v1/events after lastID ("" from the start; query
// sends it as last_event_id instead of the header), validates the exchange
// and every event's data against the Event schema, and returns their ids.
func (c *apiContract) events(lastID string, query bool, n int) []string {
	c.t.Helper()
	path, headers := "/v1/events", []string{}
	switch {
	case lastID != "" && query:
		path += "?last_event_id=" + lastID
	case lastID != "":
		headers = append(headers, "Last-Event-ID: "+lastID)
	}
	req := c.sent("GET", path, "", headers)
	if ok, errs := c.v.ValidateHttpRequestSync(req); !ok {
		c.t.Errorf("GET %s: the document refuses the request:\n%s", path, describeViolations(errs))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(c.sent("GET", path, "", headers).WithContext(ctx))
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	var raw strings.Builder
	var ids []string
	var frame []string
	sc := bufio.NewScanner(resp.Body)
	for len(ids) < n && sc.Scan() {
		line := sc.Text()
		raw.WriteString(line + "\n")
		if line != "" {
			frame = append(frame, line)
			continue
		}
		if id := c.checkEvent(frame); id != "" {
			ids = append(ids, id)
		}
		frame = nil
	}
	if len(ids) < n {
		c.t.Fatalf("GET %s: %d of %d events before the stream ended (%v):\n%s", path, len(ids), n, sc.Err(), raw.String())
	}
	c.checkResponse(fmt.Sprintf("GET %s -> %d", path, resp.StatusCode), c.sent("GET", path, "", headers),
		resp.StatusCode, resp.Header, raw.String())
	if !strings.HasPrefix(raw.String(), "retry: 2000\n\n") {
		c.t.Errorf("the stream does not open with its retry: %q", raw.String())
	}
	return ids
}

// checkEvent validates one frame; it returns its id, or "" for a frame
// without one (retry, keep-alive).
func (c *apiContract) checkEvent(frame []string) string {
	c.t.Helper()
	f := map[string]string{}
	for _, l := range frame {
		k, v, _ := strings.Cut(l, ": ")
		f[k] = v
	}
	if f["id"] == "" {
		return ""
	}
	if !sseEventName.MatchString(f["event"]) {
		c.t.Errorf("event %s: name %q", f["id"], f["event"])
	}
	sv := schema_validation.NewSchemaValidator(vconfig.WithFormatAssertions())
	if ok, errs := sv.ValidateSchemaString(c.event, f["data"]); !ok {
		c.t.Errorf("event %s: data contradicts the Event schema:\n%s\n%s", f["id"], describeViolations(errs), f["data"])
	}
	var data apitype.Event
	if err := json.Unmarshal([]byte(f["data"]), &data); err != nil || strconv.FormatUint(data.Seq, 10) != f["id"] {
		c.t.Errorf("event %s: seq %d (%v)", f["id"], data.Seq, err)
	}
	// The name says the status after this change (data.state); data.payment
	// is the operation as it is now, which may have moved on.
	if kind, status, _ := strings.Cut(f["event"], "."); (status != string(payment.State(data.State).Status()) && !strings.HasPrefix(status, "conflict") && status != "settled") ||
		(kind != "payment" && kind != data.Payment.Type) {
		c.t.Errorf("event %s is named %q for a %s change to %s", f["id"], f["event"], data.Payment.Type, data.State)
	}
	return f["id"]
}

func describeViolations(errs []*verrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "  - %s: %s\n", e.Message, e.Reason)
		for _, s := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "      %s at %s (%s)\n", s.Reason, s.FieldPath, s.KeywordLocation)
		}
	}
	return b.String()
}

func truncateBody(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}

// badRequestCase is a request the server refuses with 400 invalid_request naming field.
type badRequestCase struct {
	name, body string
	headers    []string
	doc        docVerdict
	field      string
}

func (c *apiContract) refuse(path string, tests []badRequestCase) {
	c.t.Helper()
	for _, tt := range tests {
		headers := append([]string{"Idempotency-Key: bad-" + tt.name}, tt.headers...)
		r := c.call(tt.doc, "POST", path, tt.body, headers...)
		if r.status != 400 || r.str("code") != "invalid_request" || !strings.Contains(r.str("errors"), `"field":"`+tt.field) {
			c.t.Errorf("%s: want 400 invalid_request for %s, got %d %s", tt.name, tt.field, r.status, r.raw)
		}
	}
}

// operations are the operations' endpoints, the scopes, and the answers
// every route shares.
func (c *apiContract) operations() {
	c.t.Helper()
	ops := "Authorization: Bearer " + c.e.ops
	login := c.call(docAccepts, "GET", "/", "", "Authorization: ", "Accept: text/html")
	if login.status != 401 || !strings.Contains(login.raw, `action="/login"`) {
		c.t.Errorf("GET / without a key, from a browser: %d %s", login.status, login.raw)
	}
	expect(c.t, c.call(docAccepts, "GET", "/", "", "Authorization: "), 401, "code", "unauthorized")
	expect(c.t, c.call(docAccepts, "GET", "/", "", ops), 200)
	expect(c.t, c.call(docAccepts, "GET", "/", ""), 403, "code", "forbidden_scope")
	form := []string{"Authorization: ", "Content-Type: application/x-www-form-urlencoded", "Origin: " + c.e.base}
	in := c.call(docAccepts, "POST", "/login", "key="+c.e.ops, append(form, "Accept: text/html")...)
	if in.status != 303 || !strings.Contains(in.header.Get("Set-Cookie"), "HttpOnly") {
		c.t.Errorf("POST /login: %d %v", in.status, in.header)
	}
	expect(c.t, c.call(docAccepts, "POST", "/login", "key="+c.e.ops, form...), 204)
	if r := c.call(docAccepts, "POST", "/login", "key="+c.e.key, append(form, "Accept: text/html")...); r.status != 403 {
		c.t.Errorf("POST /login with the ECR's key: %d", r.status)
	}
	expect(c.t, c.call(docAccepts, "POST", "/login", "key="+c.e.key, form...), 403, "code", "forbidden_scope")
	expect(c.t, c.call(docAccepts, "POST", "/login", "key=nope", form...), 401, "code", "unauthorized")
	expect(c.t, c.call(docAccepts, "POST", "/logout", "", "Authorization: ", "Origin: "+c.e.base, "Accept: text/html",
		"Cookie: "+strings.Split(in.header.Get("Set-Cookie"), ";")[0]), 303)
	expect(c.t, c.call(docAccepts, "POST", "/logout", "", "Authorization: ", "Origin: "+c.e.base), 204)
	expect(c.t, c.call(docAccepts, "GET", "/healthz", "", "Authorization: "), 200, "status", "ok")
	// Right after start the first iyzico login may still be running: 503 then.
	for _, auth := range []string{"Authorization: ", ops} {
		if r := c.call(docAccepts, "GET", "/readyz", "", auth, "X-Request-Id: contract-1"); r.status != 200 && r.status != 503 ||
			r.header.Get("X-Request-Id") != "contract-1" {
			c.t.Errorf("GET /readyz: %d %v %s", r.status, r.header, r.raw)
		}
	}
	expect(c.t, c.call(docAccepts, "GET", "/metrics", "", ops), 200)
	expect(c.t, c.call(docRefuses, "GET", "/metrics", "", "Authorization: "), 401, "code", "unauthorized")
	expect(c.t, c.call(docAccepts, "GET", "/metrics", ""), 403, "code", "forbidden_scope")
	expect(c.t, c.call(docAccepts, "GET", "/openapi.yaml", ""), 403, "code", "forbidden_scope")
	expect(c.t, c.call(docAccepts, "POST", "/v1/payments", `{"amount":"1.00"}`, ops, "Idempotency-Key: scope"), 403, "code", "forbidden_scope")
	expect(c.t, c.call(docAccepts, "GET", "/healthz", "", "Authorization: ", "Origin: http://evil.example"), 403, "code", "forbidden_origin")
	expect(c.t, c.call(docRefuses, "GET", "/v1/terminals", "", "Authorization: "), 401, "code", "unauthorized")
	expect(c.t, c.call(docAccepts, "GET", "/v1/terminals", "", "Authorization: Bearer "+strings.Repeat("w", 40)), 401, "code", "unauthorized")
	expect(c.t, c.call(docAccepts, "GET", "/v1/terminals", ""), 200)
	expect(c.t, c.call(docAccepts, "GET", "/v1/terminals/lane-1", ""), 200, "id", "lane-1", "state", "idle")
	expect(c.t, c.call(docAccepts, "GET", "/v1/terminals/lane-9", ""), 404, "code", "unknown_terminal")
	expect(c.t, c.call(docAccepts, "GET", "/v1/payments/op_nope", ""), 404, "code", "not_found")
	expect(c.t, c.call(docAccepts, "POST", "/v1/payments/op_nope/void", "", "Idempotency-Key: nope-v"), 404, "code", "not_found")
	expect(c.t, c.call(docAccepts, "POST", "/v1/payments/op_nope/refund", "", "Idempotency-Key: nope-r"), 404, "code", "not_found")
	expect(c.t, c.call(docAccepts, "POST", "/v1/payments/op_nope/cancel", "", "Idempotency-Key: nope-c"), 404, "code", "not_found")
	expect(c.t, c.call(docAccepts, "POST", "/v1/payments/op_nope/resolve", ""), 404, "code", "not_found")
	expect(c.t, c.call(docAccepts, "GET", "/v1/end-of-day/op_nope", ""), 404, "code", "not_found")
	expect(c.t, c.call(docAccepts, "POST", "/v1/terminals/lane-9/end-of-day", ""), 404, "code", "unknown_terminal")
	expect(c.t, c.call(docAccepts, "GET", "/v1/terminals/lane-9/end-of-day", ""), 404, "code", "unknown_terminal")
	expect(c.t, c.call(docRefuses, "GET", "/v1/terminals/lane-1/end-of-day?limit=0", ""), 400, "code", "invalid_request")
	expect(c.t, c.call(docRefuses, "POST", "/v1/terminals/lane-1/end-of-day", `{"force":true}`), 400, "code", "invalid_request")
	expect(c.t, c.call(docRefuses, "GET", "/v1/events", "", "Last-Event-ID: yesterday"), 400, "code", "invalid_request")
	for _, q := range []string{"bogus=1", "limit=0", "status=lost", "from=yesterday"} {
		expect(c.t, c.call(docRefuses, "GET", "/v1/payments?"+q, ""), 400, "code", "invalid_request")
	}
}

func TestOpenAPIContract(t *testing.T) {
	t.Run("vuk509", testContract509)
	t.Run("vuk507", testContract507)
}

func testContract509(t *testing.T) {
	hold := make(chan struct{})
	var release sync.Once
	var broken atomic.Bool
	e := startE2E(t, e2eOpts{
		signed: true, // this mode's requests are signed; vuk507's carry the key
		sim: simulator.Config{OnCardWait: func(ctx context.Context, ev simulator.CardEvent) {
			if ev.Amount == "77.00" { // the customer takes their time: the terminal stays busy
				select {
				case <-hold:
				case <-ctx.Done():
				}
			}
		}},
		seams: seams{FailWrites: func() error {
			if broken.Load() {
				return errors.New("injected: no space left on device")
			}
			return nil
		}, Payment: func(o *payment.Options) {
			o.NotFoundGrace = time.Millisecond // an operator may settle an unknown at once
		}},
	})
	t.Cleanup(func() { release.Do(func() { close(hold) }) })
	c := newContract(t, e)
	c.operations()

	// Sales: approved, replayed, key reused, a JSON number, declined, the
	// reference as the key, and no key at all.
	p1 := c.pay("k1", `{"type":"sale","amount":"149.90","currency":"TRY","installment":1,"terminal":"lane-1","reference":"ECR-1"}`, "Prefer: wait=15")
	expect(t, p1, 201, "status", "approved", "safe_to_retry", "false")
	if p1.header.Get("Preference-Applied") != "wait=15" {
		t.Errorf("Preference-Applied: %q", p1.header.Get("Preference-Applied"))
	}
	replay := c.pay("k1", `{"type":"sale","amount":"149.90","currency":"TRY","installment":1,"terminal":"lane-1","reference":"ECR-1"}`)
	expect(t, replay, 201, "id", p1.str("id"))
	if replay.header.Get("Idempotent-Replayed") != "true" {
		t.Error("replay without Idempotent-Replayed")
	}
	expect(t, c.pay("k1", `{"amount":"150.00","reference":"ECR-1"}`), 422, "code", "idempotency_key_reused")
	expect(t, c.pay("k-num", `{"amount":20.1,"reference":"ECR-N"}`), 201, "amount", "20.10")
	expect(t, c.pay("k-dec", `{"amount":"10.51","reference":"ECR-D"}`), 201, "status", "declined", "safe_to_retry", "true", "error.code", "10051")
	expect(t, c.call(docAccepts, "POST", "/v1/payments", `{"amount":"5.00","reference":"ECR-REF"}`), 201, "status", "approved")
	expect(t, c.call(docAccepts, "POST", "/v1/payments", `{"amount":"5.00"}`), 400, "code", "idempotency_key_required")

	c.refuse("/v1/payments", []badRequestCase{
		{"amount wrong type", `{"amount":true}`, nil, docRefuses, "amount"},
		{"installment as string", `{"amount":"1.00","installment":"1"}`, nil, docRefuses, "installment"},
		{"negative", `{"amount":"-1.00"}`, nil, docRefuses, "amount"},
		{"three decimals", `{"amount":"1.001"}`, nil, docRefuses, "amount"},
		{"number with three decimals", `{"amount":1.001}`, nil, docRefuses, "amount"},
		{"leading zero", `{"amount":"01.00"}`, nil, docRefuses, "amount"},
		{"no amount", `{"reference":"X"}`, nil, docRefuses, "amount"},
		{"unknown field", `{"amount":"1.00","tip":"5.00"}`, nil, docRefuses, "tip"},
		{"bad type", `{"amount":"1.00","type":"refund"}`, nil, docRefuses, "type"},
		{"bad currency", `{"amount":"1.00","currency":"GBP"}`, nil, docRefuses, "currency"},
		{"installment 13", `{"amount":"1.00","installment":13}`, nil, docRefuses, "installment"},
		{"reference too long", `{"amount":"1.00","reference":"` + strings.Repeat("r", 129) + `"}`, nil, docRefuses, "reference"},
		{"not json", `amount=1`, nil, docRefuses, "body"},
		{"array body", `[1,2]`, nil, docRefuses, "body"},
		{"trailing data", `{"amount":"1.00"} {}`, nil, docRefuses, "body"},
		{"key too long", `{"amount":"1.00"}`, []string{"Idempotency-Key: " + strings.Repeat("i", 200)}, docRefuses, "Idempotency-Key"},
		// What a schema cannot say: the document takes these, the server does not.
		{"zero", `{"amount":"0.00"}`, nil, docAccepts, "amount"},
		{"exponent", `{"amount":1e2}`, nil, docAccepts, "amount"},
		{"over the maximum", `{"amount":"100000.01"}`, nil, docAccepts, "amount"},
		{"unknown terminal", `{"amount":"1.00","terminal":"lane-9"}`, nil, docAccepts, "terminal"},
		{"post_auth without payment_id", `{"type":"post_auth","amount":"1.00"}`, nil, docAccepts, "payment_id"},
		{"vuk507 fields in vuk509", `{"amount":"1.00","document_type":"1"}`, nil, docAccepts, "items"},
	})
	expect(t, c.call(docRefuses, "POST", "/v1/payments", `{"amount":"1.00","reference":"`+strings.Repeat("x", 70<<10)+`"}`, "Idempotency-Key: big"), 413, "code", "payload_too_large")
	expect(t, c.call(docRefuses, "POST", "/v1/payments", `{"amount":"1.00"}`, "Idempotency-Key: form", "Content-Type: application/x-www-form-urlencoded"), 415, "code", "unsupported_media_type")

	// Reading back: one, by reference, filtered, and page by page.
	expect(t, c.call(docAccepts, "GET", "/v1/payments/"+p1.str("id"), ""), 200, "status", "approved")
	expect(t, c.call(docAccepts, "GET", "/v1/payments/"+p1.str("id"), "", "Prefer: wait=5"), 200, "status", "approved")
	expect(t, c.call(docAccepts, "GET", "/v1/payments?reference=ECR-1", ""), 200)
	from := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	to := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	expect(t, c.call(docAccepts, "GET", "/v1/payments?status=declined&terminal=lane-1&type=sale&from="+from+"&to="+to+"&limit=10", ""), 200)
	page := c.call(docAccepts, "GET", "/v1/payments?limit=2", "")
	expect(t, page, 200)
	if page.str("next_cursor") == "" {
		t.Fatalf("no next_cursor: %s", page.raw)
	}
	expect(t, c.call(docAccepts, "GET", "/v1/payments?limit=2&cursor="+page.str("next_cursor"), ""), 200)
	expect(t, c.call(docAccepts, "GET", "/v1/payments?cursor=nonsense", ""), 400, "code", "invalid_request")

	// A customer slow at the terminal: 202 at once, the terminal busy, a
	// retry joining the running sale, a long poll.
	slow := c.pay("hold", `{"amount":"77.00","reference":"HOLD"}`, "Prefer: respond-async")
	expect(t, slow, 202, "status", "pending")
	busy := c.pay("busy", `{"amount":"1.00","reference":"BUSY"}`)
	expect(t, busy, 409, "code", "terminal_busy")
	joined := c.pay("hold", `{"amount":"77.00","reference":"HOLD"}`, "Prefer: respond-async")
	expect(t, joined, 202, "id", slow.str("id"))
	if joined.header.Get("Idempotent-Replayed") != "true" {
		t.Error("a joined retry without Idempotent-Replayed")
	}
	pending := c.call(docAccepts, "GET", "/v1/payments/"+slow.str("id"), "")
	expect(t, pending, 200, "status", "pending")
	if pending.header.Get("Retry-After") == "" {
		t.Error("a pending payment without Retry-After")
	}
	expect(t, c.call(docAccepts, "GET", "/v1/terminals/lane-1", ""), 200, "state", "busy")
	expect(t, c.call(docAccepts, "POST", "/v1/terminals/lane-1/end-of-day", ""), 409, "code", "terminal_busy")
	release.Do(func() { close(hold) })
	expect(t, c.call(docAccepts, "GET", "/v1/payments/"+slow.str("id"), "", "Prefer: wait=10"), 200, "status", "approved")

	// Void, refund, cancel, resolve.
	sale := func(key, amount string) string {
		t.Helper()
		r := c.pay(key, `{"amount":"`+amount+`","reference":"`+key+`"}`)
		expect(t, r, 201, "status", "approved")
		return r.str("id")
	}
	s1, s2, s3, s4 := sale("s1", "100.00"), sale("s2", "100.00"), sale("s3", "25.00"), sale("s4", "80.00")
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+s1+"/void", `{"reason":"customer changed mind","reference":"V1"}`, "Idempotency-Key: v1"),
		201, "type", "void", "status", "approved", "parent_id", s1)
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+s1+"/void", "", "Idempotency-Key: v1b"), 409, "code", "not_voidable")
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+s1+"/refund", "", "Idempotency-Key: r1v"), 409, "code", "not_refundable")
	expect(t, c.call(docRefuses, "POST", "/v1/payments/"+s1+"/void", `{"amount":"1.00"}`, "Idempotency-Key: v1c"), 400, "code", "invalid_request")
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+s2+"/refund", `{"amount":"30.00","reference":"R1","reason":"returned"}`, "Idempotency-Key: r1"), 201, "type", "refund", "amount", "30.00")
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+s2+"/refund", "", "Idempotency-Key: r2"), 201, "amount", "70.00")
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+s2+"/refund", `{"amount":"0.01"}`, "Idempotency-Key: r3"), 422, "code", "refund_exceeds")
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+s2+"/refund", `{"lines":[{"line_id":"1","amount":"1.00"}]}`, "Idempotency-Key: r4"), 400, "code", "invalid_request")
	expect(t, c.call(docAccepts, "GET", "/v1/payments/"+s2, ""), 200, "refunded_amount", "100.00")
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+s3+"/cancel", `{"reason":"wrong amount"}`, "Idempotency-Key: c3"), 201, "type", "void")
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+s3+"/resolve", ""), 200, "status", "approved")
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+s3+"/cancel", `{"reason":"again"}`, "Idempotency-Key: c3b"), 409, "code", "not_refundable")

	// Pre-auth and its capture.
	pre := c.pay("pre", `{"type":"pre_auth","amount":"200.00","reference":"PRE"}`)
	expect(t, pre, 201, "type", "pre_auth", "status", "approved")
	expect(t, c.pay("post", `{"type":"post_auth","amount":"180.00","reference":"POST","payment_id":"`+pre.str("payment_id")+`"}`), 201, "type", "post_auth")

	// Split sales do not exist in this mode.
	expect(t, c.call(docAccepts, "POST", "/v1/split-sales", `{"amount":"1.00"}`, "Idempotency-Key: sp"), 409, "code", "mode_unsupported")
	expect(t, c.call(docAccepts, "POST", "/v1/split-sales/"+s4+"/payments", `{"amount":"1.00"}`, "Idempotency-Key: sp-a"), 409, "code", "mode_unsupported")
	expect(t, c.call(docAccepts, "POST", "/v1/split-sales/"+s4+"/complete", "", "Idempotency-Key: sp-c"), 409, "code", "mode_unsupported")
	expect(t, c.call(docAccepts, "POST", "/v1/split-sales/"+s4+"/cancel", "", "Idempotency-Key: sp-x"), 409, "code", "mode_unsupported")

	// End of day, its reports, and a cancel that has become a refund.
	eod := c.call(docAccepts, "POST", "/v1/terminals/lane-1/end-of-day", "", "Idempotency-Key: eod-1")
	expect(t, eod, 201, "status", "approved", "match", "true")
	expect(t, c.call(docAccepts, "POST", "/v1/terminals/lane-1/end-of-day", "{}", "Idempotency-Key: eod-1"), 201, "id", eod.str("id"))
	expect(t, c.call(docAccepts, "GET", "/v1/terminals/lane-1/end-of-day?limit=5", ""), 200)
	expect(t, c.call(docAccepts, "GET", "/v1/end-of-day/"+eod.str("id"), ""), 200, "match", "true")
	expect(t, c.call(docAccepts, "GET", "/v1/payments/"+eod.str("id"), ""), 200, "type", "end_of_day")
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+s4+"/cancel", "", "Idempotency-Key: c4"), 201, "type", "refund", "amount", "80.00")
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+s4+"/void", "", "Idempotency-Key: v4"), 409, "code", "not_voidable")

	// iyzico charges but its answer is lost: unknown (or settled already),
	// the terminal blocked until bridged knows, resolve.
	e.sim.Inject(simulator.Fault{Op: simulator.OpPayment, Kind: simulator.FaultCommitThenDrop})
	lost := c.pay("drop", `{"amount":"40.00","reference":"DROP"}`)
	if lost.status != 202 && lost.status != 201 {
		t.Fatalf("after a dropped answer: %d %s", lost.status, lost.raw)
	}
	if next := c.pay("after-drop", `{"amount":"2.00","reference":"AD"}`); next.status != 201 {
		expect(t, next, 409, "code", "terminal_blocked")
	}
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+lost.str("id")+"/resolve", ""), 200, "status", "approved")

	// A device timeout that iyzico never settles: an operator settles it.
	stuck := c.pay("stuck", `{"amount":"10.52","reference":"STUCK"}`)
	expect(t, stuck, 202, "status", "unknown")
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+stuck.str("id")+"/resolve", ""), 200, "status", "unknown", "reason", "queried_timeout")
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+stuck.str("id")+"/settle", `{"outcome":"declined","evidence":"slip","by":"ecr"}`), 403, "code", "forbidden_scope")
	expect(t, c.call(docRefuses, "POST", "/v1/payments/"+stuck.str("id")+"/settle", `{"outcome":"maybe","by":"ayse"}`, c.operator()), 400, "code", "invalid_request")
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+stuck.str("id")+"/settle", `{"outcome":"declined","evidence":"the slip says cancelled","by":"ayse"}`, c.operator()),
		200, "status", "declined", "resolution", "operator", "settlement.by", "ayse")
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+stuck.str("id")+"/settle", `{"outcome":"declined","evidence":"again","by":"ayse"}`, c.operator()), 409, "code", "not_settleable")
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+stuck.str("id")+"/acknowledge-conflict", `{"by":"ayse","note":"none"}`, c.operator()), 409, "code", "not_settleable")

	// The event stream: from the start, resumed by header and by query.
	first := c.events("", false, 3)
	next := c.events(first[1], false, 2)
	if next[0] != first[2] {
		t.Errorf("resume after %s gave %v, want %s first", first[1], next, first[2])
	}
	if byQuery := c.events(first[1], true, 1); byQuery[0] != first[2] {
		t.Errorf("resume by query after %s gave %v", first[1], byQuery)
	}

	// The journal fails: bridged fails closed.
	broken.Store(true)
	expect(t, c.pay("fail", `{"amount":"3.00","reference":"FAIL"}`), 503, "code", "storage_failure")
	expect(t, c.call(docAccepts, "GET", "/readyz", "", "Authorization: "), 503, "status", "fail")

	c.journalUpkeep()
	c.everyOperationAnswered()
}

func testContract507(t *testing.T) {
	e := startE2E(t, e2eOpts{mode: config.ModeVUK507})
	c := newContract(t, e)
	c.operations()

	s := c.pay("g1", `{"amount":"30.00","reference":"G1","payment_type":"CARD","document_type":"1",
		"buyer":{"customer_type":1,"first_name":"Ayşe","family_name":"Yılmaz","tax_number":"11111111111","city":"İstanbul","district":"Kadıköy","country":"Türkiye"},
		"items":[{"name":"Bread","quantity":2,"unit_price":"5.00","total":"10.00","unit_code":"C62","tax_group_code":"1"},
		{"name":"Cheese","quantity":1,"unit_price":20,"total":20.00,"tax_group_code":"1"}]}`)
	expect(t, s, 201, "status", "approved", "payment_type", "CARD", "document_type", "1")
	cash := c.pay("cash", `{"amount":"12.00","reference":"C","payment_type":"CASH","document_type":"9","items":[{"name":"Water","quantity":4,"unit_price":"3.00","total":"12.00","tax_group_code":"1"}]}`)
	expect(t, cash, 201, "status", "approved", "payment_type", "CASH")
	expect(t, c.call(docAccepts, "GET", "/v1/payments/"+s.str("id"), ""), 200, "buyer.customer_type", "1")

	c.refuse("/v1/payments", []badRequestCase{
		{"no items", `{"amount":"1.00","document_type":"1"}`, nil, docAccepts, "items"},
		{"no document type", `{"amount":"1.00","items":[{"name":"x","quantity":1,"unit_price":"1.00","total":"1.00","tax_group_code":"1"}]}`, nil, docAccepts, "document_type"},
		{"totals differ", `{"amount":"2.00","document_type":"1","items":[{"name":"x","quantity":2,"unit_price":"1.00","total":"1.00","tax_group_code":"1"}]}`, nil, docAccepts, "items[0].total"},
		{"bad document type", `{"amount":"1.00","document_type":"2","items":[{"name":"x","quantity":1,"unit_price":"1.00","total":"1.00","tax_group_code":"1"}]}`, nil, docRefuses, "document_type"},
		{"no tax group", `{"amount":"1.00","document_type":"1","items":[{"name":"x","quantity":1,"unit_price":"1.00","total":"1.00"}]}`, nil, docRefuses, "items[0].tax_group_code"},
		{"unknown line field", `{"amount":"1.00","document_type":"1","items":[{"name":"x","quantity":1,"unit_price":"1.00","total":"1.00","tax_group_code":"1","vat":"18"}]}`, nil, docRefuses, "items[0].vat"},
		{"bad buyer", `{"amount":"1.00","document_type":"1","buyer":{"customer_type":3},"items":[{"name":"x","quantity":1,"unit_price":"1.00","total":"1.00","tax_group_code":"1"}]}`, nil, docRefuses, "buyer.customer_type"},
	})
	expect(t, c.pay("pre", `{"type":"pre_auth","amount":"1.00","reference":"P","document_type":"1","items":[{"name":"x","quantity":1,"unit_price":"1.00","total":"1.00","tax_group_code":"1"}]}`), 409, "code", "mode_unsupported")

	// End of day first, so the line refund is a refund, not a void.
	expect(t, c.call(docAccepts, "POST", "/v1/terminals/lane-1/end-of-day", ""), 201, "status", "approved", "match", "true")
	ref := c.call(docAccepts, "POST", "/v1/payments/"+s.str("id")+"/refund", `{"lines":[{"line_id":"2","quantity":1,"amount":"20.00"}],"reference":"G1-R"}`, "Idempotency-Key: gr1")
	expect(t, ref, 201, "status", "approved", "amount", "20.00")
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+s.str("id")+"/refund", `{"amount":"1.00"}`, "Idempotency-Key: gr2"), 400, "code", "invalid_request")
	expect(t, c.call(docRefuses, "POST", "/v1/payments/"+s.str("id")+"/refund", `{"lines":[{"amount":"1.00"}]}`, "Idempotency-Key: gr3"), 400, "code", "invalid_request")
	// Cancel after a line refund refunds every item left of every line.
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+s.str("id")+"/cancel", "", "Idempotency-Key: gc"), 201, "type", "refund", "amount", "10.00")
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+s.str("id")+"/cancel", "", "Idempotency-Key: gc2"), 409, "code", "not_refundable")
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+cash.str("id")+"/void", "", "Idempotency-Key: cv"), 409, "code", "not_voidable")
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+cash.str("id")+"/settle", `{"outcome":"approved","evidence":"slip","by":"ayse"}`, c.operator()), 409, "code", "not_settleable")
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+cash.str("id")+"/acknowledge-conflict", `{"by":"ayse","note":"n"}`, c.operator()), 409, "code", "not_settleable")
	expect(t, c.call(docAccepts, "POST", "/v1/payments/"+s.str("id")+"/resolve", ""), 200)

	// A split sale paid with two cards.
	start := c.call(docAccepts, "POST", "/v1/split-sales", `{"amount":"100.00","reference":"SPLIT","document_type":"1","items":[{"name":"Jacket","quantity":1,"unit_price":"100.00","total":"100.00","tax_group_code":"1"}]}`, "Idempotency-Key: sp1")
	expect(t, start, 201, "status", "approved", "type", "split_start")
	sid := start.str("id")
	expect(t, c.call(docRefuses, "POST", "/v1/split-sales", `{"amount":"1.00","items":"none"}`, "Idempotency-Key: sp0"), 400, "code", "invalid_request")
	expect(t, c.call(docAccepts, "POST", "/v1/split-sales/"+sid+"/payments", `{"amount":"60.00","installment":1,"reference":"SPLIT-A"}`, "Idempotency-Key: sp1-a"), 201, "type", "split_payment")
	expect(t, c.call(docAccepts, "POST", "/v1/split-sales/"+sid+"/payments", `{"amount":"60.00"}`, "Idempotency-Key: sp1-x"), 422, "code", "amount_out_of_range")
	expect(t, c.call(docRefuses, "POST", "/v1/split-sales/"+sid+"/payments", `{"amount":"1.00","tip":"1"}`, "Idempotency-Key: sp1-y"), 400, "code", "invalid_request")
	expect(t, c.call(docAccepts, "POST", "/v1/split-sales/"+sid+"/complete", "", "Idempotency-Key: sp1-early"), 409, "code", "split_sale_unpaid")
	expect(t, c.call(docAccepts, "POST", "/v1/split-sales/"+sid+"/payments", `{"amount":"40.00"}`, "Idempotency-Key: sp1-b"), 201, "status", "approved")
	expect(t, c.call(docAccepts, "POST", "/v1/split-sales/"+sid+"/payments", `{"amount":"1.00"}`, "Idempotency-Key: sp1-paid"), 409, "code", "split_sale_paid")
	expect(t, c.call(docRefuses, "POST", "/v1/split-sales/"+sid+"/complete", `{"amount":"1.00"}`, "Idempotency-Key: sp1-z"), 400, "code", "invalid_request")
	expect(t, c.call(docAccepts, "POST", "/v1/split-sales/"+sid+"/complete", `{"reference":"SPLIT-C"}`, "Idempotency-Key: sp1-c"), 201, "type", "split_complete", "amount", "100.00")
	expect(t, c.call(docAccepts, "POST", "/v1/split-sales/"+cash.str("id")+"/payments", `{"amount":"1.00"}`, "Idempotency-Key: sp2-a"), 404, "code", "not_found")
	expect(t, c.call(docAccepts, "POST", "/v1/split-sales/op_nope/complete", "", "Idempotency-Key: sp2-c"), 404, "code", "not_found")

	// A split sale abandoned after one card: cancel gives its money back.
	ab := c.call(docAccepts, "POST", "/v1/split-sales", `{"amount":"50.00","reference":"ABANDON","document_type":"1","items":[{"name":"Hat","quantity":1,"unit_price":"50.00","total":"50.00","tax_group_code":"1"}]}`, "Idempotency-Key: ab1")
	expect(t, ab, 201, "type", "split_start")
	expect(t, c.call(docAccepts, "POST", "/v1/split-sales/"+ab.str("id")+"/payments", `{"amount":"20.00","reference":"ABANDON-A"}`, "Idempotency-Key: ab1-a"), 201, "status", "approved")
	expect(t, c.call(docAccepts, "POST", "/v1/split-sales/"+ab.str("id")+"/cancel", `{"reference":"ABANDON-X"}`, "Idempotency-Key: ab1-x"), 201, "status", "cancelled", "split.closed", "true")
	expect(t, c.call(docAccepts, "POST", "/v1/split-sales/"+ab.str("id")+"/cancel", `{"reference":"ABANDON-X"}`, "Idempotency-Key: ab1-x"), 201, "status", "cancelled")
	expect(t, c.call(docAccepts, "POST", "/v1/split-sales/"+ab.str("id")+"/payments", `{"amount":"1.00"}`, "Idempotency-Key: ab1-b"), 409, "code", "split_sale_closed")
	expect(t, c.call(docAccepts, "POST", "/v1/split-sales/"+sid+"/cancel", "", "Idempotency-Key: sp1-x"), 409, "code", "split_sale_closed")

	eod := c.call(docAccepts, "POST", "/v1/terminals/lane-1/end-of-day", "")
	expect(t, eod, 201, "status", "approved", "match", "true", "upstream.amount", "70.00")
	expect(t, c.call(docAccepts, "GET", "/v1/terminals/lane-1/end-of-day", ""), 200)
	expect(t, c.call(docAccepts, "GET", "/v1/end-of-day/"+eod.str("id"), ""), 200)
	expect(t, c.call(docAccepts, "GET", "/v1/payments?type=split_payment", ""), 200)

	ids := c.events("", false, 4)
	c.events(ids[3], true, 1)

	c.journalUpkeep()
	c.everyOperationAnswered()
}
