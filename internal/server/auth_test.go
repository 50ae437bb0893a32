package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"

	"github.com/bridgedpos/bridged/internal/apiauth"
	"github.com/bridgedpos/bridged/internal/apitype"
	"github.com/bridgedpos/bridged/internal/health"
	"github.com/bridgedpos/bridged/internal/payment"
)

// scopeStub serves the reads and a readiness report.
type scopeStub struct {
	stubService
}

func (scopeStub) List(context.Context, payment.Filter) ([]*payment.Operation, string, error) {
	return nil, "", nil
}
func (scopeStub) LastEndOfDay(context.Context, string) (*payment.EndOfDayResult, error) {
	return nil, payment.ErrNotFound
}
func (scopeStub) Get(context.Context, string) (*payment.Operation, error) {
	return nil, payment.ErrNotFound
}
func (scopeStub) ValidateSale(payment.Caller, payment.SaleRequest) error { return nil }

type nopMetrics struct{}

func (nopMetrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "bridged_up 1") })
}
func (nopMetrics) HTTPRequest(string, string, int, time.Duration) {}

var (
	keyECR = Key{Name: "ecr", Key: []byte(testKey), Scopes: []Scope{ScopePayments}}
	keyOps = Key{Name: "ops", Key: []byte(opsKey), Scopes: []Scope{ScopeRead, ScopeOperate}}
)

func scopedHandler(logs io.Writer, now func() time.Time) http.Handler {
	return New(Options{Logger: zerolog.New(logs), Keys: []Key{keyECR, keyOps}, Service: scopeStub{}, Metrics: nopMetrics{}, Now: now})
}

func do(h http.Handler, method, target, body string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://127.0.0.1:8470"+target, strings.NewReader(body))
	req.RemoteAddr = "127.0.0.1:40000"
	for _, hv := range headers {
		k, v, _ := strings.Cut(hv, ": ")
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func problemCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var p apitype.Problem
	_ = json.Unmarshal(rec.Body.Bytes(), &p)
	return p.Code
}

// TestScopes: the ECR's key (payments) takes money and reads /v1, but not the
// operations' views; a read/operate key reads everything and takes no money;
// without a key only /healthz, the readiness summary and the login form answer.
func TestScopes(t *testing.T) {
	h := scopedHandler(io.Discard, nil)
	ecr, ops := "Authorization: Bearer "+testKey, "Authorization: Bearer "+opsKey
	tests := []struct {
		method, path, auth string
		code               int
		problem, detail    string
	}{
		{"GET", "/metrics", ecr, 403, "forbidden_scope", "scope read or operate"},
		{"GET", "/openapi.yaml", ecr, 403, "forbidden_scope", "scope read or operate"},
		{"GET", "/", ecr, 403, "forbidden_scope", "read or operate"},
		{"GET", "/metrics", "", 401, "unauthorized", ""},
		{"GET", "/openapi.yaml", "", 401, "unauthorized", ""},
		{"GET", "/v1/payments", "", 401, "unauthorized", ""},
		{"GET", "/metrics", ops, 200, "", ""},
		{"GET", "/openapi.yaml", ops, 200, "", ""},
		{"GET", "/", ops, 200, "", ""},
		{"GET", "/v1/payments", ecr, 200, "", ""},
		{"GET", "/v1/payments", ops, 200, "", ""},
		{"GET", "/v1/terminals", ops, 200, "", ""},
		{"POST", "/v1/payments", ops, 403, "forbidden_scope", "needs a key with the scope payments; key ops has read or operate"},
		{"POST", "/v1/payments/op_x/void", ops, 403, "forbidden_scope", "scope payments"},
		{"POST", "/v1/split-sales", ops, 403, "forbidden_scope", "scope payments"},
		{"GET", "/healthz", "", 200, "", ""},
		{"GET", "/readyz", "", 200, "", ""},
	}
	for _, tt := range tests {
		var headers []string
		if tt.auth != "" {
			headers = append(headers, tt.auth)
		}
		rec := do(h, tt.method, tt.path, "", headers...)
		if rec.Code != tt.code {
			t.Errorf("%s %s (%s): %d, want %d: %s", tt.method, tt.path, tt.auth, rec.Code, tt.code, rec.Body)
			continue
		}
		if tt.problem != "" && (problemCode(t, rec) != tt.problem || !strings.Contains(rec.Body.String(), tt.detail)) {
			t.Errorf("%s %s: %s, want %s naming %q", tt.method, tt.path, rec.Body, tt.problem, tt.detail)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s %s: Cache-Control %q", tt.method, tt.path, cc)
		}
	}
	// Without a key the status page is a login form for a browser, and a
	// problem document for any other client; neither shows anything of bridged.
	login := do(h, "GET", "/", "", "Accept: text/html,application/xhtml+xml")
	if login.Code != 401 || !strings.Contains(login.Body.String(), `action="/login"`) || strings.Contains(login.Body.String(), "lane-1") {
		t.Fatalf("keyless status page in a browser: %d %s", login.Code, login.Body)
	}
	if rec := do(h, "GET", "/", ""); rec.Code != 401 || problemCode(t, rec) != "unauthorized" || rec.Header().Get("WWW-Authenticate") == "" {
		t.Fatalf("keyless status page for a program: %d %s", rec.Code, rec.Body)
	}
}

// TestRequireOperate: the helper the coming operator routes use.
func TestRequireOperate(t *testing.T) {
	srv := &server{keys: []Key{keyECR, keyOps}, log: zerolog.Nop(), failures: &failureLimiter{burst: 1, every: time.Second},
		nonces: &nonceCache{}, clock: time.Now}
	r := chi.NewRouter()
	r.Use(srv.identify)
	r.With(srv.require(ScopeOperate)).Post("/v1/payments/{id}/settle", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"settled_by": principalOf(r).name})
	})
	if rec := do(r, "POST", "/v1/payments/op_1/settle", "", "Authorization: Bearer "+testKey); rec.Code != 403 ||
		problemCode(t, rec) != "forbidden_scope" || !strings.Contains(rec.Body.String(), "scope operate; key ecr has payments") {
		t.Fatalf("the ECR's key on an operator route: %d %s", rec.Code, rec.Body)
	}
	if rec := do(r, "POST", "/v1/payments/op_1/settle", "", "Authorization: Bearer "+opsKey); rec.Code != 200 || !strings.Contains(rec.Body.String(), "ops") {
		t.Fatalf("an operate key: %d %s", rec.Code, rec.Body)
	}
	if rec := do(r, "POST", "/v1/payments/op_1/settle", ""); rec.Code != 401 {
		t.Fatalf("no key: %d %s", rec.Code, rec.Body)
	}
}

// TestReadyzSaysNothingAboutPaymentsWithoutAKey.
func TestReadyzSaysNothingAboutPaymentsWithoutAKey(t *testing.T) {
	stub := richStub()
	h := New(Options{Logger: zerolog.Nop(), Keys: []Key{keyECR, keyOps}, Service: stub,
		Token: tokenFunc(func() health.Token { return health.Token{Valid: true, Expiry: time.Now().Add(time.Hour)} })})
	keyless := do(h, "GET", "/readyz", "").Body.String()
	for _, secret := range []string{"op_unknown", "op_pending", "DEV00", "expiry", "busy", "blocked", "detail"} {
		if strings.Contains(keyless, secret) {
			t.Errorf("keyless /readyz shows %q: %s", secret, keyless)
		}
	}
	if !strings.Contains(keyless, `"status":"degraded"`) || !strings.Contains(keyless, `{"id":"lane-2","status":"degraded"}`) {
		t.Errorf("keyless /readyz lacks the verdicts: %s", keyless)
	}
	full := do(h, "GET", "/readyz", "", "Authorization: Bearer "+testKey).Body.String()
	for _, want := range []string{"op_unknown", "DEV002", "expiry", "blocked"} {
		if !strings.Contains(full, want) {
			t.Errorf("/readyz with a key lacks %q: %s", want, full)
		}
	}
}

func signedRequest(key Key, now time.Time, method, target, body string) *http.Request {
	req := httptest.NewRequest(method, "http://127.0.0.1:8470"+target, strings.NewReader(body))
	req.RemoteAddr = "127.0.0.1:40001"
	p := apiauth.Sign(key.Name, key.Key, now, method, target, []byte(body))
	req.Header.Set("Authorization", p.Header())
	return req
}

// TestSignedRequests: a signed request passes and its answer is signed over
// status, body and the request's signature; a tampered, stale, replayed or
// unknown-key request is refused; the key itself never travels.
func TestSignedRequests(t *testing.T) {
	now := time.Unix(1764000000, 0)
	var logs strings.Builder
	h := scopedHandler(&logs, func() time.Time { return now })

	req := signedRequest(keyOps, now, "GET", "/v1/payments?limit=5", "")
	if strings.Contains(fmt.Sprint(req.Header), opsKey) {
		t.Fatal("the key is in the request")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("signed GET: %d %s", rec.Code, rec.Body)
	}
	p, _ := apiauth.Parse(req.Header.Get("Authorization"))
	want := apiauth.ResponseSignature(keyOps.Key, 200, rec.Body.Bytes(), p.Signature)
	if got := rec.Header().Get(apiauth.ResponseHeader); got != want {
		t.Fatalf("Bridged-Signature %q, want %q", got, want)
	}

	// The same request again: a replay.
	again := httptest.NewRecorder()
	h.ServeHTTP(again, req.Clone(context.Background()))
	if again.Code != 401 || !strings.Contains(again.Body.String(), "replayed") || again.Header().Get(apiauth.ResponseHeader) != "" {
		t.Fatalf("replay: %d %s", again.Code, again.Body)
	}

	refused := []struct {
		name string
		req  func() *http.Request
		why  string
	}{
		{"other path", func() *http.Request {
			r := signedRequest(keyOps, now, "GET", "/v1/payments?limit=5", "")
			r.URL, _ = url.Parse("/v1/payments?limit=6")
			r.RequestURI = "/v1/payments?limit=6"
			return r
		}, "does not match"},
		{"other body", func() *http.Request {
			r := signedRequest(keyECR, now, "POST", "/v1/payments", `{"amount":"1.00"}`)
			r.Body = io.NopCloser(strings.NewReader(`{"amount":"9.00"}`))
			return r
		}, "does not match"},
		{"other key", func() *http.Request {
			r := signedRequest(Key{Name: "ops", Key: []byte(testKey)}, now, "GET", "/v1/terminals", "")
			return r
		}, "does not match"},
		{"unknown name", func() *http.Request {
			return signedRequest(Key{Name: "nobody", Key: []byte(testKey)}, now, "GET", "/v1/terminals", "")
		}, "names a key"},
		{"stale", func() *http.Request { return signedRequest(keyOps, now.Add(-time.Minute), "GET", "/v1/terminals", "") }, "away from this machine's clock"},
		{"future", func() *http.Request { return signedRequest(keyOps, now.Add(time.Minute), "GET", "/v1/terminals", "") }, "away from this machine's clock"},
		{"malformed", func() *http.Request {
			r := signedRequest(keyOps, now, "GET", "/v1/terminals", "")
			r.Header.Set("Authorization", apiauth.Scheme+" Key=ops")
			return r
		}, "malformed"},
	}
	for _, tt := range refused {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, tt.req())
		if rec.Code != 401 || !strings.Contains(rec.Body.String(), tt.why) || rec.Header().Get(apiauth.ResponseHeader) != "" {
			t.Errorf("%s: %d %s", tt.name, rec.Code, rec.Body)
		}
	}

	// A signed money call with a body reaches the handler with that body.
	money := httptest.NewRecorder()
	h.ServeHTTP(money, signedRequest(keyECR, now, "POST", "/v1/payments", `{"amount":true}`))
	if money.Code != 400 || !strings.Contains(money.Body.String(), `"field":"amount"`) || money.Header().Get(apiauth.ResponseHeader) == "" {
		t.Fatalf("signed POST with a body: %d %s\n%s", money.Code, money.Body, logs.String())
	}
	// A scope problem is answered, and signed, like any other answer.
	forbidden := httptest.NewRecorder()
	h.ServeHTTP(forbidden, signedRequest(keyECR, now, "GET", "/metrics", ""))
	if forbidden.Code != 403 || forbidden.Header().Get(apiauth.ResponseHeader) == "" {
		t.Fatalf("signed, forbidden: %d %v", forbidden.Code, forbidden.Header())
	}
	for _, k := range []string{testKey, opsKey} {
		if strings.Contains(logs.String(), k) {
			t.Fatal("a key in the log")
		}
	}
	if !strings.Contains(logs.String(), `"key_name":"nobody"`) {
		t.Errorf("a failed signature's key name is not logged: %s", logs.String())
	}
}

// TestSignedEventStream: a streamed answer is signed over its status and no
// body, in its header, before the first event.
func TestSignedEventStream(t *testing.T) {
	now := time.Now()
	w := &signingWriter{w: httptest.NewRecorder(), key: keyECR.Key, requestSignature: "abc"}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(200)
	fmt.Fprint(w, "retry: 2000\n\n")
	w.Flush()
	fmt.Fprint(w, "id: 1\n\n")
	w.finish()
	rec := w.w.(*httptest.ResponseRecorder)
	if rec.Body.String() != "retry: 2000\n\nid: 1\n\n" {
		t.Fatalf("body %q", rec.Body)
	}
	if got, want := rec.Header().Get(apiauth.ResponseHeader), apiauth.ResponseSignature(keyECR.Key, 200, nil, "abc"); got != want {
		t.Fatalf("stream signature %q, want %q", got, want)
	}
	_ = now
}

// TestFailedKeyChecksAreThrottledAndLogged: each source gets a burst of
// failures, then 429 with Retry-After and one log line; the right key from
// the same source still passes; no log line holds the offered key.
func TestFailedKeyChecksAreThrottledAndLogged(t *testing.T) {
	now := time.Unix(1764000000, 0)
	var logs strings.Builder
	h := scopedHandler(&logs, func() time.Time { return now })
	wrong := "Authorization: Bearer guess-" + strings.Repeat("g", 40)
	codes := map[int]int{}
	for i := 0; i < 50; i++ {
		rec := do(h, "GET", "/v1/terminals", "", wrong)
		codes[rec.Code]++
		if rec.Code == 429 && rec.Header().Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
	if codes[401] != 20 || codes[429] != 30 {
		t.Fatalf("answers %v, want 20×401 then 30×429", codes)
	}
	if rec := do(h, "GET", "/v1/terminals", "", "Authorization: Bearer "+testKey); rec.Code != 200 {
		t.Fatalf("the right key from a throttled source: %d", rec.Code)
	}
	// Another source is not affected.
	req := httptest.NewRequest("GET", "http://127.0.0.1:8470/v1/terminals", nil)
	req.RemoteAddr = "127.0.0.2:1"
	req.Header.Set("Authorization", strings.TrimPrefix(wrong, "Authorization: "))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Fatalf("another source: %d", rec.Code)
	}
	// After a while the source may fail again, and the log counts what it throttled.
	now = now.Add(5 * time.Second)
	if rec := do(h, "GET", "/v1/terminals", "", wrong); rec.Code != 401 {
		t.Fatalf("after the refill: %d", rec.Code)
	}
	l := logs.String()
	if n := strings.Count(l, "API key check failed"); n != 22 {
		t.Errorf("%d failure lines, want 22 (20, another source, one after the refill)", n)
	}
	if strings.Count(l, "too many failed key checks") != 1 || !strings.Contains(l, `"throttled_before":30`) {
		t.Errorf("throttling not logged once with its count:\n%s", l)
	}
	if strings.Contains(l, "guess-") || strings.Contains(l, testKey) {
		t.Error("an offered key in the log")
	}
}

// TestStatusPageLogin: the login form opens a session kept only in a cookie
// that is HttpOnly, SameSite=Strict, honoured from loopback only; a payments
// key cannot log in; logging out ends it.
func TestStatusPageLogin(t *testing.T) {
	h := scopedHandler(io.Discard, nil)
	post := func(key string, headers ...string) *httptest.ResponseRecorder {
		return do(h, "POST", "/login", url.Values{"key": {key}}.Encode(),
			append([]string{"Content-Type: application/x-www-form-urlencoded", "Origin: http://127.0.0.1:8470", "Sec-Fetch-Site: same-origin",
				"Accept: text/html,application/xhtml+xml"}, headers...)...)
	}
	if rec := post(testKey); rec.Code != 403 || rec.Header().Get("Set-Cookie") != "" || !strings.Contains(rec.Body.String(), "needs the read or operate scope") {
		t.Fatalf("login with the ECR's key: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	if rec := post("nope-" + opsKey); rec.Code != 401 || rec.Header().Get("Set-Cookie") != "" {
		t.Fatalf("login with a wrong key: %d", rec.Code)
	}
	rec := post(opsKey)
	if rec.Code != 303 || rec.Header().Get("Location") != "/" {
		t.Fatalf("login: %d %v", rec.Code, rec.Header())
	}
	cookie := rec.Header().Get("Set-Cookie")
	for _, want := range []string{"bridged_session=", "HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(cookie, opsKey) {
		t.Fatal("the key in the cookie")
	}
	session := strings.Split(cookie, ";")[0]
	// A program posting the form gets 204 and the cookie, no redirect.
	if rec := do(h, "POST", "/login", "key="+opsKey, "Content-Type: application/x-www-form-urlencoded"); rec.Code != 204 ||
		!strings.Contains(rec.Header().Get("Set-Cookie"), "HttpOnly") {
		t.Fatalf("login by a program: %d %v", rec.Code, rec.Header())
	}
	if rec := do(h, "POST", "/login", "key="+testKey, "Content-Type: application/x-www-form-urlencoded"); rec.Code != 403 || problemCode(t, rec) != "forbidden_scope" {
		t.Fatalf("login by a program with the ECR's key: %d %s", rec.Code, rec.Body)
	}
	page := do(h, "GET", "/", "", "Cookie: "+session)
	if page.Code != 200 || !strings.Contains(page.Body.String(), `id="overall"`) || !strings.Contains(page.Body.String(), `action="/logout"`) {
		t.Fatalf("page with the session: %d %s", page.Code, page.Body)
	}
	// Not from another machine, even with the cookie.
	req := httptest.NewRequest("GET", "http://127.0.0.1:8470/", nil)
	req.RemoteAddr = "192.168.1.20:5000"
	req.Header.Set("Cookie", session)
	remote := httptest.NewRecorder()
	h.ServeHTTP(remote, req)
	if remote.Code != 403 {
		t.Fatalf("session from another machine: %d", remote.Code)
	}
	// Not from another site's page.
	if rec := post(opsKey, "Origin: http://evil.example", "Sec-Fetch-Site: cross-site"); rec.Code != 403 || problemCode(t, rec) != "forbidden_origin" {
		t.Fatalf("cross-site login: %d %s", rec.Code, rec.Body)
	}
	// Log out: the session is gone.
	out := do(h, "POST", "/logout", "", "Cookie: "+session, "Origin: http://127.0.0.1:8470", "Accept: text/html")
	if out.Code != 303 || !strings.Contains(out.Header().Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("logout: %d %v", out.Code, out.Header())
	}
	if page := do(h, "GET", "/", "", "Cookie: "+session, "Accept: text/html"); page.Code != 401 || strings.Contains(page.Body.String(), `id="overall"`) {
		t.Fatalf("page after logout: %d", page.Code)
	}
}

// TestConnectionLimits: keyless connections beyond Max-Reserved push out the
// oldest idle keyless ones; a client with a key still gets through; an idle
// keyless connection is closed after KeylessIdle, a keyed one is not.
func TestConnectionLimits(t *testing.T) {
	lim := ConnLimits{Max: 16, Reserved: 4, KeylessIdle: 300 * time.Millisecond}
	srv := NewHTTP(scopedHandler(io.Discard, nil), lim, zerolog.Nop())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	addr := ln.Addr().String()

	get := func(c net.Conn, path, auth string) (int, error) {
		req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\n"
		if auth != "" {
			req += "Authorization: " + auth + "\r\n"
		}
		if _, err := io.WriteString(c, req+"\r\n"); err != nil {
			return 0, err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	// A keyed connection, idle through the flood.
	keyed, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer keyed.Close()
	if code, err := get(keyed, "/v1/terminals", "Bearer "+testKey); err != nil || code != 200 {
		t.Fatalf("keyed: %d %v", code, err)
	}
	var flood []net.Conn
	defer func() {
		for _, c := range flood {
			c.Close()
		}
	}()
	for i := 0; i < 60; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		flood = append(flood, c)
		_, _ = get(c, "/healthz", "")
		if st := srv.Stats(); st.Open > lim.Max || st.Keyless > lim.Max-lim.Reserved {
			t.Fatalf("after %d keyless connections: %+v", i+1, st)
		}
	}
	// (A connection whose answer was read before net/http marked it idle
	// cannot go yet; the next one then comes in on the reserve.)
	if st := srv.Stats(); st.Evicted < 60-lim.Max {
		t.Fatalf("stats %+v: the oldest keyless connections were not closed", st)
	}
	// One goes for each newcomer, not every idle one at once.
	if st := srv.Stats(); st.Evicted > 60-(lim.Max-lim.Reserved) {
		t.Fatalf("stats %+v: more keyless connections closed than the newcomers needed", st)
	}
	// A new connection with a key is served during the flood.
	fresh, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if code, err := get(fresh, "/v1/terminals", "Bearer "+testKey); err != nil || code != 200 {
		t.Fatalf("a keyed request during the flood: %d %v", code, err)
	}
	// The idle keyless connections go after KeylessIdle; the keyed one stays.
	deadline := time.Now().Add(10 * time.Second) // a hang guard, not a timing assertion
	for srv.Stats().Keyless > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("keyless connections still open: %+v", srv.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, err := get(keyed, "/v1/terminals", "Bearer "+testKey); err != nil || code != 200 {
		t.Fatalf("the keyed connection after the keyless ones went: %d %v", code, err)
	}
}

// TestOneNewcomerClosesOneIdleConnection: at the keyless limit, a new
// connection closes the oldest idle keyless one, and only that one.
func TestOneNewcomerClosesOneIdleConnection(t *testing.T) {
	lim := ConnLimits{Max: 16, Reserved: 4, KeylessIdle: time.Minute}
	srv := NewHTTP(scopedHandler(io.Discard, nil), lim, zerolog.Nop())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	healthz := func(c net.Conn) {
		t.Helper()
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	for i := 0; i < lim.Max-lim.Reserved; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		healthz(c)
	}
	// Wait until net/http reports every one idle (readiness, with a hang guard).
	deadline := time.Now().Add(10 * time.Second)
	for {
		srv.conns.mu.Lock()
		idle := srv.conns.idle.Len()
		srv.conns.mu.Unlock()
		if idle == lim.Max-lim.Reserved {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d connections idle", idle, lim.Max-lim.Reserved)
		}
		time.Sleep(5 * time.Millisecond)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conns = append(conns, c)
	healthz(c)
	if st := srv.Stats(); st.Evicted != 1 || st.Open != lim.Max-lim.Reserved {
		t.Fatalf("after one newcomer: %+v, want one closed and %d open", st, lim.Max-lim.Reserved)
	}
}
