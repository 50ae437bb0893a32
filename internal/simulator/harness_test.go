package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testDevice and testDevice2 are the devices every harness knows.
const (
	testDevice  = "PAV860047264"
	testDevice2 = "P00134"
)

// fakeClock is the simulator clock of the tests: it moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 4, 6, 10, 0, 0, 0, time.FixedZone("TRT", 3*3600))}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// harness is one simulator behind a loopback httptest server, logged in.
type harness struct {
	t     *testing.T
	sim   *Sim
	srv   *httptest.Server
	clock *fakeClock
	cfg   Config // as given to New, defaults not applied
	token string
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, clock: newFakeClock()}
	if cfg.Now == nil {
		cfg.Now = h.clock.Now
	}
	if len(cfg.Devices) == 0 {
		cfg.Devices = []string{testDevice, testDevice2}
	}
	h.cfg = cfg
	h.sim = New(cfg)
	h.srv = httptest.NewServer(h.sim.Handler())
	t.Cleanup(h.srv.Close)
	t.Cleanup(h.sim.Close) // runs first: card waits that ignore their client end

	h.token = h.login()
	return h
}

// login runs authorize + token and returns the access token.
func (h *harness) login() string {
	h.t.Helper()
	tok := h.loginFull()
	return tok["access_token"].(string)
}

func (h *harness) loginFull() map[string]any {
	h.t.Helper()
	st, got := h.form(PathAuthorize, authorizeForm(), false)
	if st != http.StatusOK {
		h.t.Fatalf("authorize: %d %v", st, got)
	}
	st, tok := h.form(PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {got["code"].(string)}}, true)
	if st != http.StatusOK {
		h.t.Fatalf("token: %d %v", st, tok)
	}
	return tok
}

func authorizeForm() url.Values {
	return url.Values{
		"scope": {"iyzipayApiGateway"}, "client_id": {"sim-client"}, "client_secret": {"sim-secret"},
		"response_type": {"code"}, "username": {"sim-user"}, "password": {"sim-password"},
		"request_timestamp": {"1775458800000"},
	}
}

// form posts a form body, with the default client credentials as Basic auth when basic.
func (h *harness) form(path string, v url.Values, basic bool) (int, map[string]any) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+path, strings.NewReader(v.Encode()))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth("sim-client", "sim-secret")
	}
	return h.do(req)
}

// post sends a JSON body with the harness token.
func (h *harness) post(path string, body any) (int, map[string]any) {
	h.t.Helper()
	return h.postAs(h.token, path, body)
}

func (h *harness) postAs(token, path string, body any) (int, map[string]any) {
	h.t.Helper()
	req := h.jsonRequest(context.Background(), token, path, body)
	return h.do(req)
}

func (h *harness) jsonRequest(ctx context.Context, token, path string, body any) *http.Request {
	h.t.Helper()
	raw, ok := body.([]byte)
	if !ok {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			h.t.Fatal(err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.srv.URL+path, bytes.NewReader(raw))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

func (h *harness) do(req *http.Request) (int, map[string]any) {
	h.t.Helper()
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatalf("%s: %v", req.URL.Path, err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, decode(h.t, resp.Body)
}

func (h *harness) get(path string, out any) int {
	h.t.Helper()
	resp, err := h.srv.Client().Get(h.srv.URL + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			h.t.Fatalf("GET %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

func decode(t *testing.T, r io.Reader) map[string]any {
	t.Helper()
	raw, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("answer is not a JSON object: %q", raw)
	}
	return m
}

// Request bodies, valid unless a test spoils them.

func sale509(ref, price string) map[string]any {
	return map[string]any{
		"conversationId": "conv-" + ref, "locale": "tr", "deviceUniqueId": testDevice,
		"transactionReferenceId": ref, "price": json.Number(price), "currency": "TRY",
		"installment": 1, "salesType": "SALE",
	}
}

func query509(fields map[string]any) map[string]any {
	m := map[string]any{"conversationId": "conv-q", "locale": "tr"}
	for k, v := range fields {
		m[k] = v
	}
	return m
}

func void509(ref, paymentID, date string) map[string]any {
	return map[string]any{
		"conversationId": "conv-" + ref, "locale": "tr", "deviceUniqueId": testDevice,
		"transactionReferenceId": ref, "paymentId": paymentID, "paymentDate": date,
	}
}

func refund509(ref, paymentID, date, price string) map[string]any {
	m := void509(ref, paymentID, date)
	m["price"] = json.Number(price)
	return m
}

func eod509(dev string) map[string]any {
	return map[string]any{"conversationId": "conv-eod", "locale": "tr", "deviceUniqueId": dev}
}

// item is one VUK 507 sale line.
func item(name, taxGroup string, qty int, unit, total string) map[string]any {
	return map[string]any{
		"name": name, "unitCode": "C62", "taxGroupCode": taxGroup, "itemQuantity": qty,
		"unitPriceAmount": json.Number(unit), "grossPriceAmount": json.Number(total), "totalPriceAmount": json.Number(total),
	}
}

func sale507(ref, price, paymentType string, items ...map[string]any) map[string]any {
	if len(items) == 0 {
		items = []map[string]any{item("Item", "20", 1, price, price)}
	}
	return map[string]any{
		"locale": "TR", "conversationId": "conv-" + ref, "deviceUniqueId": testDevice2,
		"transactionReferenceId": ref, "price": json.Number(price), "paidPrice": json.Number(price),
		"paymentType": paymentType, "currency": "TRY", "installment": 1,
		"saleAppName": "MyPOS", "saleAppVersion": "1.0.0", "saleDocumentType": "1", "saleItems": items,
	}
}

func refundLine507(lineID int, qty int, amount string) map[string]any {
	m := item("Item", "20", qty, amount, amount)
	m["relatedSaleItemId"] = strconv.Itoa(lineID)
	m["returnAmount"] = json.Number(amount)
	return m
}

// lineIDs reads the ids refundable-sale-info gives the lines of the VUK 507
// sale ref, in its order.
func (h *harness) lineIDs(ref string) []int {
	h.t.Helper()
	status, info := h.post(PathGmuRefundableSaleInfo, map[string]any{"transactionReferenceId": ref})
	if status != http.StatusOK {
		h.t.Fatalf("refundable-sale-info %s: %d %v", ref, status, info)
	}
	var ids []int
	for _, it := range info["saleItems"].([]any) {
		n, err := it.(map[string]any)["id"].(json.Number).Int64()
		if err != nil {
			h.t.Fatalf("line id: %v in %v", err, info)
		}
		ids = append(ids, int(n))
	}
	return ids
}

func refund507(ref, paymentID string, date int64, lines ...map[string]any) map[string]any {
	return map[string]any{
		"deviceUniqueId": testDevice2, "paymentId": paymentID, "paymentDate": date,
		"transactionReferenceId": ref, "saleAppName": "MyPOS", "saleAppVersion": "1.0.0", "saleItems": lines,
	}
}

// str reads a string member of an answer, failing the test when it is not one.
func str(t *testing.T, m map[string]any, k string) string {
	t.Helper()
	s, ok := m[k].(string)
	if !ok {
		t.Fatalf("%s: want a string, got %#v in %v", k, m[k], m)
	}
	return s
}

// num reads a number member as its literal text.
func num(t *testing.T, m map[string]any, k string) string {
	t.Helper()
	n, ok := m[k].(json.Number)
	if !ok {
		t.Fatalf("%s: want a number, got %#v in %v", k, m[k], m)
	}
	return n.String()
}

// wantFailure checks an iyzico failure answer: HTTP status, errorCode and, for
// VUK 509, errorGroup and the exact TerminalFailureResponse members.
func wantFailure(t *testing.T, status int, got map[string]any, wantStatus int, code, group string) {
	t.Helper()
	if status != wantStatus || got["errorCode"] != code {
		t.Fatalf("got HTTP %d errorCode %v, want HTTP %d errorCode %s: %v", status, got["errorCode"], wantStatus, code, got)
	}
	switch got["status"] {
	case "FAILURE":
		if got["errorGroup"] != group {
			t.Fatalf("errorGroup %v, want %s", got["errorGroup"], group)
		}
		for _, k := range []string{"status", "errorCode", "errorMessage", "errorGroup", "systemTime", "consumerErrorMessage"} {
			if _, ok := got[k]; !ok {
				t.Fatalf("failure lacks %s: %v", k, got)
			}
		}
		if len(got) != 6 {
			t.Fatalf("TerminalFailureResponse has exactly 6 members, got %v", got)
		}
	case "failure":
		if _, has := got["errorGroup"]; has {
			t.Fatalf("VUK 507 failure carries errorGroup: %v", got)
		}
	default:
		t.Fatalf("status %v is not a failure: %v", got["status"], got)
	}
	if str(t, got, "errorMessage") == "" {
		t.Fatalf("empty errorMessage: %v", got)
	}
}

// requestsFor returns the observation records of one operation.
func (h *harness) requestsFor(op string) []Request {
	var out []Request
	for _, r := range h.sim.Requests() {
		if r.Op == op {
			out = append(out, r)
		}
	}
	return out
}
