package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/bridgedpos/bridged/internal/apitype"
	"github.com/bridgedpos/bridged/internal/payment"
)

// The fuzz targets of this file send arbitrary requests through the real
// handlers, over a Service that records what they decoded. They check the
// decoding against docs/api.md, written out independently below: a request
// reaches the service exactly when it is valid, with exactly the values it
// carries, and is otherwise refused with every problem listed by its path.

// recorder is a Service that records the last call a handler made. Money
// calls answer ErrNotFound (404) unless result is set.
type recorder struct {
	stubService
	mode   payment.Mode
	result *payment.Result

	called  string
	caller  payment.Caller
	sale    payment.SaleRequest
	adjust  payment.AdjustRequest
	split   payment.SplitPaymentRequest
	splitID string
	ref     string
	filter  payment.Filter
	limit   int
	after   uint64
	changed chan struct{}
}

func (r *recorder) reset() {
	*r = recorder{mode: r.mode, result: r.result, changed: r.changed}
}

func (r *recorder) money(name string, c payment.Caller) (*payment.Result, error) {
	r.called, r.caller = name, c
	if r.result != nil {
		return r.result, nil
	}
	return nil, payment.ErrNotFound
}

func (r *recorder) Mode() payment.Mode                                     { return r.mode }
func (r *recorder) ValidateSale(payment.Caller, payment.SaleRequest) error { return nil }
func (r *recorder) Pay(_ context.Context, c payment.Caller, s payment.SaleRequest) (*payment.Result, error) {
	r.sale = s
	return r.money("pay", c)
}
func (r *recorder) StartSplit(_ context.Context, c payment.Caller, s payment.SaleRequest) (*payment.Result, error) {
	r.sale = s
	return r.money("start split", c)
}
func (r *recorder) Void(_ context.Context, c payment.Caller, a payment.AdjustRequest) (*payment.Result, error) {
	r.adjust = a
	return r.money("void", c)
}
func (r *recorder) Refund(_ context.Context, c payment.Caller, a payment.AdjustRequest) (*payment.Result, error) {
	r.adjust = a
	return r.money("refund", c)
}
func (r *recorder) Cancel(_ context.Context, c payment.Caller, a payment.AdjustRequest) (*payment.Result, error) {
	r.adjust = a
	return r.money("cancel", c)
}
func (r *recorder) AddSplitPayment(_ context.Context, c payment.Caller, s payment.SplitPaymentRequest) (*payment.Result, error) {
	r.split = s
	return r.money("add split payment", c)
}
func (r *recorder) CompleteSplit(_ context.Context, c payment.Caller, id, ref string) (*payment.Result, error) {
	r.splitID, r.ref = id, ref
	return r.money("complete split", c)
}
func (r *recorder) EndOfDay(_ context.Context, c payment.Caller, terminal string, _ payment.EndOfDayOptions) (*payment.EndOfDayResult, error) {
	r.called, r.caller, r.ref = "end of day", c, terminal
	return nil, payment.ErrNotFound
}
func (r *recorder) Settle(_ context.Context, req payment.SettleRequest) (*payment.Operation, error) {
	r.called, r.ref = "settle", req.ID
	return nil, payment.ErrNotFound
}
func (r *recorder) AcknowledgeConflict(_ context.Context, req payment.AcknowledgeRequest) (*payment.Operation, error) {
	r.called, r.ref = "acknowledge conflict", req.ID
	return nil, payment.ErrNotFound
}
func (r *recorder) List(_ context.Context, f payment.Filter) ([]*payment.Operation, string, error) {
	r.called, r.filter = "list", f
	return nil, "", nil
}
func (r *recorder) EndOfDays(_ context.Context, terminal string, limit int) ([]*payment.EndOfDayResult, error) {
	r.called, r.ref, r.limit = "end of days", terminal, limit
	return nil, nil
}
func (r *recorder) Changed() <-chan struct{} { return r.changed }
func (r *recorder) Events(_ context.Context, after uint64, _ int) ([]payment.Event, error) {
	r.called, r.after = "events", after
	return nil, errors.New("end the stream") // the handler returns at once
}

const fuzzDefaultWait = 7 * time.Second

func newRecorderHandler(rec *recorder) http.Handler {
	rec.changed = make(chan struct{})
	return New(Options{Logger: zerolog.Nop(), Keys: []Key{{Name: "ecr", Key: []byte(testKey)}}, Service: rec,
		DefaultWait: fuzzDefaultWait})
}

// serve sends one authenticated request from the loopback.
func serve(h http.Handler, method, target string, body []byte, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.Host = "127.0.0.1:8470"
	req.Header.Set("Authorization", "Bearer "+testKey)
	for k, vs := range header {
		req.Header[k] = vs
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// A schema is the set of fields of one JSON object body (docs/api.md).
type schema map[string]fieldSpec

type fieldSpec struct {
	kind int // one of the field kinds below
	sub  schema
}

const (
	fString  = iota // a JSON string
	fInteger        // a whole JSON number that fits 32 bits
	fAmount         // a decimal string or a JSON number, kept as written
	fObject         // a JSON object of sub
	fArray          // a JSON array of objects of sub
)

var (
	itemSchema  = schema{"name": {kind: fString}, "quantity": {kind: fInteger}, "unit_price": {kind: fAmount}, "total": {kind: fAmount}, "unit_code": {kind: fString}, "tax_group_code": {kind: fString}}
	buyerSchema = schema{"customer_type": {kind: fInteger}, "first_name": {kind: fString}, "middle_name": {kind: fString}, "family_name": {kind: fString},
		"company_name": {kind: fString}, "tax_office_code": {kind: fString}, "tax_number": {kind: fString}, "country": {kind: fString}, "city": {kind: fString}, "district": {kind: fString}}
	saleSchema = schema{"type": {kind: fString}, "amount": {kind: fAmount}, "currency": {kind: fString}, "installment": {kind: fInteger},
		"terminal": {kind: fString}, "reference": {kind: fString}, "payment_id": {kind: fString}, "payment_type": {kind: fString},
		"document_type": {kind: fString}, "items": {kind: fArray, sub: itemSchema}, "buyer": {kind: fObject, sub: buyerSchema}}
	voidSchema   = schema{"reference": {kind: fString}, "reason": {kind: fString}}
	refundSchema = schema{"reference": {kind: fString}, "reason": {kind: fString}, "amount": {kind: fAmount},
		"lines": {kind: fArray, sub: schema{"line_id": {kind: fString}, "quantity": {kind: fInteger}, "amount": {kind: fAmount}}}}
	splitPaymentSchema  = schema{"amount": {kind: fAmount}, "installment": {kind: fInteger}, "reference": {kind: fString}}
	splitCompleteSchema = schema{"reference": {kind: fString}}
	endOfDaySchema      = schema{}
)

// bodyRoute is one endpoint that decodes a JSON body, and how to read back
// what it decoded.
type bodyRoute struct {
	path    string
	mode    payment.Mode
	schema  schema
	call    string
	decoded func(r *recorder) map[string]string // by field path, as the oracle names them
}

var bodyRoutes = []bodyRoute{
	{"/v1/payments", payment.VUK509, saleSchema, "pay", saleDecoded},
	{"/v1/split-sales", payment.VUK507, saleSchema, "start split", saleDecoded},
	{"/v1/payments/op_1/void", payment.VUK509, voidSchema, "void", adjustDecoded},
	{"/v1/payments/op_1/refund", payment.VUK509, refundSchema, "refund", adjustDecoded},
	{"/v1/payments/op_1/cancel", payment.VUK509, voidSchema, "cancel", adjustDecoded},
	{"/v1/split-sales/op_1/payments", payment.VUK507, splitPaymentSchema, "add split payment", func(r *recorder) map[string]string {
		return map[string]string{"@id": r.split.SplitID, "amount": r.split.Amount, "installment": strconv.Itoa(r.split.Installment), "reference": r.split.Reference}
	}},
	{"/v1/split-sales/op_1/complete", payment.VUK507, splitCompleteSchema, "complete split", func(r *recorder) map[string]string {
		return map[string]string{"@id": r.splitID, "reference": r.ref}
	}},
	{"/v1/terminals/lane-1/end-of-day", payment.VUK509, endOfDaySchema, "end of day", func(r *recorder) map[string]string {
		return map[string]string{"@id": r.ref}
	}},
}

func saleDecoded(r *recorder) map[string]string {
	s := r.sale
	m := map[string]string{"type": string(s.Type), "amount": s.Amount, "currency": s.Currency, "installment": strconv.Itoa(s.Installment),
		"terminal": s.Terminal, "reference": s.Reference, "payment_id": s.PaymentID, "payment_type": s.PaymentType,
		"document_type": s.DocumentType, "@items": strconv.Itoa(len(s.Items))}
	for i, it := range s.Items {
		p := fmt.Sprintf("items[%d].", i)
		m[p+"name"], m[p+"quantity"], m[p+"unit_price"] = it.Name, strconv.Itoa(it.Quantity), it.UnitPrice
		m[p+"total"], m[p+"unit_code"], m[p+"tax_group_code"] = it.Total, it.UnitCode, it.TaxGroupCode
	}
	if b := s.Buyer; b != nil {
		m["buyer.customer_type"], m["buyer.first_name"], m["buyer.middle_name"] = strconv.Itoa(b.CustomerType), b.FirstName, b.MiddleName
		m["buyer.family_name"], m["buyer.company_name"], m["buyer.tax_office_code"] = b.FamilyName, b.CompanyName, b.TaxOfficeCode
		m["buyer.tax_number"], m["buyer.country"], m["buyer.city"], m["buyer.district"] = b.TaxNumber, b.Country, b.City, b.District
	}
	return m
}

func adjustDecoded(r *recorder) map[string]string {
	a := r.adjust
	m := map[string]string{"@id": a.PaymentID, "reference": a.Reference, "reason": a.Reason, "amount": a.Amount, "@lines": strconv.Itoa(len(a.Lines))}
	for i, l := range a.Lines {
		p := fmt.Sprintf("lines[%d].", i)
		m[p+"line_id"], m[p+"quantity"], m[p+"amount"] = l.LineID, strconv.Itoa(l.Quantity), l.Amount
	}
	return m
}

// FuzzRequestBody sends an arbitrary body (and Content-Type) to every
// endpoint that decodes one: sales, VUK 507 sale lines and buyers, voids,
// refunds and refund lines, cancels, split-sale steps and end of day.
func FuzzRequestBody(f *testing.F) {
	f.Add(uint8(0), []byte(`{"amount":"149.90","reference":"ECR-000123"}`), "application/json")
	f.Add(uint8(0), []byte(`{"amount":149.900,"installment":3,"terminal":"lane-1","currency":"TRY"}`), "")
	f.Add(uint8(1), []byte(`{"amount":"30.00","document_type":"1","items":[{"name":"Tea","quantity":2,"unit_price":"10.00","total":"20.00","tax_group_code":"20"},{"name":"Cake","quantity":1,"unit_price":10,"total":10,"tax_group_code":"20"}],"buyer":{"customer_type":1,"first_name":"Ayşe"}}`), "application/json; charset=utf-8")
	f.Add(uint8(3), []byte(`{"lines":[{"line_id":"2","quantity":1,"amount":"20.00"}],"reason":"returned"}`), "application/json")
	f.Add(uint8(2), []byte(``), "")
	f.Add(uint8(5), []byte(`{"amount":"60.00","installment":1}`), "application/merge-patch+json")
	f.Add(uint8(0), []byte(`{"amount":1e2,"installment":1.5,"items":{},"buyer":[],"extra":null,"Amount":"1"}`), "application/json")
	f.Add(uint8(7), []byte(`{"terminal":"lane-1"}`), "text/plain")

	rec := &recorder{}
	h := newRecorderHandler(rec)
	f.Fuzz(func(t *testing.T, route uint8, body []byte, contentType string) {
		rt := bodyRoutes[int(route)%len(bodyRoutes)]
		rec.mode = rt.mode
		rec.reset()
		header := http.Header{}
		if contentType != "" {
			header.Set("Content-Type", contentType)
		}
		w := serve(h, http.MethodPost, rt.path, body, header)

		wantStatus, wantFields, values := expectBody(rt.schema, body, contentType)
		if wantStatus == 0 {
			// Valid: the service is called with exactly what the body says.
			if rec.called != rt.call || w.Code != http.StatusNotFound {
				t.Fatalf("%s %q: a valid body got %d %s and called %q", rt.path, body, w.Code, w.Body, rec.called)
			}
			got := rt.decoded(rec)
			if id := got["@id"]; id != "op_1" && id != "lane-1" && id != "" {
				t.Fatalf("%s: the id from the path was decoded as %q", rt.path, id)
			}
			for path, want := range values {
				if got[path] != want {
					t.Fatalf("%s %q: %s decoded as %q, want %q", rt.path, body, path, got[path], want)
				}
			}
			return
		}
		if rec.called != "" {
			t.Fatalf("%s %q (Content-Type %q): an invalid body reached the service (%s)", rt.path, body, contentType, rec.called)
		}
		if w.Code != wantStatus {
			t.Fatalf("%s %q (Content-Type %q): status %d %s, want %d (problems at %v)", rt.path, body, contentType, w.Code, w.Body, wantStatus, wantFields)
		}
		got := problemFields(t, w)
		if wantStatus == http.StatusBadRequest && strings.Join(got, " ") != strings.Join(wantFields, " ") {
			t.Fatalf("%s %q: problems at %v, want %v\n%s", rt.path, body, got, wantFields, w.Body)
		}
	})
}

// expectBody is docs/api.md's rules for a body: the status it must be
// refused with (0 when valid), the fields of its problems (sorted), and,
// when valid, every value it carries by field path.
func expectBody(s schema, body []byte, contentType string) (int, []string, map[string]string) {
	if contentType != "" {
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil || (mt != "application/json" && mt != "application/merge-patch+json") {
			return http.StatusUnsupportedMediaType, nil, nil
		}
	}
	if len(body) > maxBody {
		return http.StatusRequestEntityTooLarge, nil, nil
	}
	// Only JSON's own whitespace makes an empty body: an empty object.
	if len(bytes.Trim(body, " \t\r\n")) == 0 {
		body = []byte("{}")
	}
	var fields map[string]json.RawMessage
	if !json.Valid(body) || json.Unmarshal(body, &fields) != nil || fields == nil {
		return http.StatusBadRequest, []string{"body"}, nil
	}
	var problems []string
	values := map[string]string{}
	checkObject(s, "", fields, &problems, values)
	if len(problems) > 0 {
		sort.Strings(problems)
		return http.StatusBadRequest, problems, nil
	}
	return 0, nil, values
}

var wholeNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

func checkObject(s schema, path string, fields map[string]json.RawMessage, problems *[]string, values map[string]string) {
	at := func(name string) string {
		if path == "" {
			return name
		}
		return path + "." + name
	}
	for name, raw := range fields {
		spec, known := s[name]
		if !known {
			*problems = append(*problems, at(name))
			continue
		}
		v := bytes.TrimSpace(raw)
		if string(v) == "null" {
			continue
		}
		switch spec.kind {
		case fString:
			var str string
			if v[0] != '"' || json.Unmarshal(v, &str) != nil {
				*problems = append(*problems, at(name))
				continue
			}
			values[at(name)] = str
		case fInteger:
			n, err := strconv.ParseInt(string(v), 10, 32)
			if !wholeNumber.Match(v) || err != nil {
				*problems = append(*problems, at(name))
				continue
			}
			values[at(name)] = strconv.FormatInt(n, 10)
		case fAmount:
			switch {
			case v[0] == '"':
				var str string
				_ = json.Unmarshal(v, &str)
				values[at(name)] = str
			case v[0] == '-' || v[0] >= '0' && v[0] <= '9':
				values[at(name)] = string(v) // the number as written, never through float64
			default:
				*problems = append(*problems, at(name))
			}
		case fObject:
			var sub map[string]json.RawMessage
			if v[0] != '{' || json.Unmarshal(v, &sub) != nil {
				*problems = append(*problems, at(name))
				continue
			}
			checkObject(spec.sub, at(name), sub, problems, values)
		case fArray:
			var items []json.RawMessage
			if v[0] != '[' || json.Unmarshal(v, &items) != nil {
				*problems = append(*problems, at(name))
				continue
			}
			values["@"+at(name)] = strconv.Itoa(len(items))
			for i, item := range items {
				elem := fmt.Sprintf("%s[%d]", at(name), i)
				var sub map[string]json.RawMessage
				if it := bytes.TrimSpace(item); len(it) == 0 || it[0] != '{' || json.Unmarshal(it, &sub) != nil {
					*problems = append(*problems, elem)
					continue
				}
				checkObject(spec.sub, elem, sub, problems, values)
			}
		}
	}
}

// problemFields reads a problem document and returns its errors' fields,
// sorted; it checks the document's shape on the way.
func problemFields(t *testing.T, w *httptest.ResponseRecorder) []string {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d with Content-Type %q", w.Code, ct)
	}
	var p apitype.ValidationProblem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem document %q: %v", w.Body, err)
	}
	if p.Status != w.Code || p.Code == "" || p.Title == "" {
		t.Fatalf("problem document %+v for status %d", p.Problem, w.Code)
	}
	var fields []string
	for _, e := range p.Errors {
		if e.Message == "" {
			t.Fatalf("problem without a message: %+v", p.Errors)
		}
		fields = append(fields, e.Field)
	}
	sort.Strings(fields)
	return fields
}

// FuzzRequestHeaders sends a payment with arbitrary Idempotency-Key, Prefer
// and X-Request-Id headers.
func FuzzRequestHeaders(f *testing.F) {
	f.Add("ECR-000123", "wait=60", "ecr-123.A_b")
	f.Add(`"ECR-000123"`, "respond-async", "")
	f.Add(" \"spaced\" ", "wait=5, respond-async", "bad id")
	f.Add("", "wait=9223372037", "")
	f.Add("käse", `wait="30"`, strings.Repeat("a", 65))

	rec := &recorder{result: &payment.Result{Final: true, Op: &payment.Operation{ID: "op_1", Kind: payment.KindSale,
		State: payment.StateApproved, Amount: payment.NewMoney(14990, payment.TRY), Terminal: "lane-1"}}}
	h := newRecorderHandler(rec)
	validID := regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	f.Fuzz(func(t *testing.T, key, prefer, requestID string) {
		rec.reset()
		header := http.Header{}
		for name, v := range map[string]string{"Idempotency-Key": key, "Prefer": prefer, "X-Request-Id": requestID} {
			if v != "" {
				header[name] = []string{v}
			}
		}
		w := serve(h, http.MethodPost, "/v1/payments", []byte(`{"amount":"149.90"}`), header)
		if w.Code != http.StatusCreated || rec.called != "pay" {
			t.Fatalf("status %d %s, called %q", w.Code, w.Body, rec.called)
		}

		// Idempotency-Key: a bare value or a structured-field string; HTTP
		// trims only spaces and tabs around a header value.
		want := strings.Trim(key, " \t")
		if len(want) >= 2 && want[0] == '"' && want[len(want)-1] == '"' {
			want = want[1 : len(want)-1]
		}
		if rec.caller.IdempotencyKey != want {
			t.Fatalf("Idempotency-Key %q decoded as %q, want %q", key, rec.caller.IdempotencyKey, want)
		}

		// Prefer: the wait applied is bounded, and what Preference-Applied says.
		wait, applied := rec.caller.Wait, w.Header().Get("Preference-Applied")
		if wait < 0 || wait > maxWait {
			t.Fatalf("Prefer %q: wait %v, out of 0..%v", prefer, wait, maxWait)
		}
		switch {
		case applied == "":
			if wait != fuzzDefaultWait {
				t.Fatalf("Prefer %q: wait %v without a preference applied", prefer, wait)
			}
		case applied == "respond-async":
			if wait != 0 || !strings.Contains(strings.ToLower(prefer), "respond-async") {
				t.Fatalf("Prefer %q: %s with wait %v", prefer, applied, wait)
			}
		case strings.HasPrefix(applied, "wait="):
			n, err := strconv.Atoi(strings.TrimPrefix(applied, "wait="))
			if err != nil || n < 0 || time.Duration(n)*time.Second != wait || !strings.Contains(strings.ToLower(prefer), "wait") {
				t.Fatalf("Prefer %q: Preference-Applied %q with wait %v", prefer, applied, wait)
			}
		default:
			t.Fatalf("Prefer %q: Preference-Applied %q", prefer, applied)
		}

		// X-Request-Id: echoed when it is safe to, otherwise a fresh one.
		got := w.Header().Get("X-Request-Id")
		if !validID.MatchString(got) || (validID.MatchString(requestID) != (got == requestID)) {
			t.Fatalf("X-Request-Id %q answered as %q", requestID, got)
		}
	})
}

// queryRoutes are the endpoints that read the query string (and, for the
// event stream, Last-Event-ID).
var queryRoutes = []string{"/v1/payments", "/v1/terminals/lane-1/end-of-day", "/v1/events"}

// FuzzQuery sends arbitrary list filters, end-of-day limits and event ids.
func FuzzQuery(f *testing.F) {
	f.Add(uint8(0), "status=approved&terminal=lane-1&reference=ECR-1&type=sale&from=2026-11-23T10:00:00Z&to=2026-11-24T00:00:00%2B03:00&limit=50&cursor=abc", "")
	f.Add(uint8(0), "limit=0&limit=5&colour=red&from=yesterday", "")
	f.Add(uint8(1), "limit=1000", "")
	f.Add(uint8(2), "last_event_id=42", "")
	f.Add(uint8(2), "", "18446744073709551616")

	rec := &recorder{}
	h := newRecorderHandler(rec)
	f.Fuzz(func(t *testing.T, route uint8, rawQuery, lastEventID string) {
		rec.reset()
		path := queryRoutes[int(route)%len(queryRoutes)]
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.URL.RawQuery = rawQuery
		req.Host = "127.0.0.1:8470"
		req.Header.Set("Authorization", "Bearer "+testKey)
		if lastEventID != "" {
			req.Header["Last-Event-Id"] = []string{lastEventID}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		q := req.URL.Query()

		switch path {
		case "/v1/payments":
			want, wantFields := expectFilter(q)
			if wantFields != nil {
				if rec.called != "" || w.Code != http.StatusBadRequest {
					t.Fatalf("?%s: status %d, called %q; want 400", rawQuery, w.Code, rec.called)
				}
				if got := problemFields(t, w); strings.Join(got, " ") != strings.Join(wantFields, " ") {
					t.Fatalf("?%s: problems at %v, want %v", rawQuery, got, wantFields)
				}
				return
			}
			if rec.called != "list" || w.Code != http.StatusOK {
				t.Fatalf("?%s: status %d %s, called %q", rawQuery, w.Code, w.Body, rec.called)
			}
			if got := fmt.Sprintf("%+v", rec.filter); got != fmt.Sprintf("%+v", want) {
				t.Fatalf("?%s: filter %s, want %s", rawQuery, got, fmt.Sprintf("%+v", want))
			}
		case "/v1/terminals/lane-1/end-of-day":
			limit, ok := 30, true
			if v := q.Get("limit"); v != "" {
				n, err := strconv.Atoi(v)
				limit, ok = n, err == nil && n >= 1 && n <= 1000
			}
			if !ok {
				if rec.called != "" || w.Code != http.StatusBadRequest {
					t.Fatalf("?%s: status %d, called %q; want 400", rawQuery, w.Code, rec.called)
				}
				return
			}
			if rec.called != "end of days" || rec.limit != limit || rec.ref != "lane-1" || w.Code != http.StatusOK {
				t.Fatalf("?%s: status %d, called %q with limit %d; want %d", rawQuery, w.Code, rec.called, rec.limit, limit)
			}
		default:
			id := lastEventID
			if id == "" {
				id = q.Get("last_event_id")
			}
			after, err := strconv.ParseUint(id, 10, 64)
			if id != "" && err != nil {
				if rec.called != "" || w.Code != http.StatusBadRequest {
					t.Fatalf("Last-Event-ID %q: status %d, called %q; want 400", id, w.Code, rec.called)
				}
				return
			}
			if rec.called != "events" || rec.after != after || w.Code != http.StatusOK {
				t.Fatalf("Last-Event-ID %q: status %d, called %q after %d; want after %d", id, w.Code, rec.called, rec.after, after)
			}
		}
	})
}

// expectFilter is docs/api.md's list query: status, terminal, reference,
// type, cursor, from and to (RFC 3339) and limit (1-1000), each once, and
// nothing else. It returns the filter, or the fields of the problems.
func expectFilter(q url.Values) (payment.Filter, []string) {
	var problems []string
	known := map[string]bool{"status": true, "terminal": true, "reference": true, "cursor": true, "from": true, "to": true, "limit": true, "type": true}
	for k, vs := range q {
		if !known[k] {
			problems = append(problems, k)
		} else if len(vs) > 1 {
			problems = append(problems, k)
		}
	}
	f := payment.Filter{Status: payment.Status(q.Get("status")), Terminal: q.Get("terminal"), Reference: q.Get("reference"), Cursor: q.Get("cursor")}
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				problems = append(problems, name)
			}
			*dst = t
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			problems = append(problems, "limit")
		}
		f.Limit = n
	}
	if v := q.Get("type"); v != "" {
		f.Kinds = []payment.Kind{payment.Kind(v)}
	}
	if problems != nil {
		for i, p := range problems {
			problems[i] = asJSON(p)
		}
		sort.Strings(problems)
		return f, problems
	}
	return f, nil
}

// asJSON is s as it reads after a trip through JSON: invalid UTF-8 becomes U+FFFD.
func asJSON(s string) string {
	b, _ := json.Marshal(s)
	_ = json.Unmarshal(b, &s)
	return s
}

// TestSplitCallsInVUK509AreRefusedBeforeTheirBody: in a mode without split
// sales, every split call is 409 mode_unsupported, a malformed body
// included, and the service is never asked.
func TestSplitCallsInVUK509AreRefusedBeforeTheirBody(t *testing.T) {
	rec := &recorder{mode: payment.VUK509}
	h := newRecorderHandler(rec)
	for _, path := range []string{"/v1/split-sales", "/v1/split-sales/sp_1/payments", "/v1/split-sales/sp_1/complete", "/v1/split-sales/sp_1/cancel"} {
		for _, body := range []string{`{"amount":"1.00"}`, `{`, `{"unknown_field":1}`} {
			rec.reset()
			w := serve(h, http.MethodPost, path, []byte(body), http.Header{"Idempotency-Key": {"k1"}, "Content-Type": {"application/json"}})
			if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), `"code":"mode_unsupported"`) || rec.called != "" {
				t.Errorf("POST %s %s: %d %s (service asked: %q)", path, body, w.Code, w.Body.String(), rec.called)
			}
		}
	}
}
