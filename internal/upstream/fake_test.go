package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/secret"
	"github.com/rs/zerolog"
)

// fake is a scripted iyzico: real OAuth (authorize → code → token, refresh),
// and terminal-host paths answered by a per-test handler. It counts what the
// token tests need and records every service request.
type fake struct {
	t   testing.TB
	srv *httptest.Server

	mu          sync.Mutex
	clientID    string
	secret      string
	user        string
	password    string
	expiresIn   int // seconds; 0 → no expires_in
	n           int // token serial
	valid       map[string]bool
	refreshes   map[string]bool
	authorizes  int
	codeGrants  int
	refreshHits int
	service     int
	bodies      [][]byte
	paths       []string
	auths       []string // Authorization headers seen on service calls (test-only)
	handler     func(w http.ResponseWriter, r *http.Request, body []byte, n int)
	onRefresh   chan struct{}
	refreshGate chan struct{} // when set, refreshes wait for it
	// refreshEntered, when set, is told (without blocking) that a refresh
	// reached the token endpoint, before it waits for refreshGate.
	refreshEntered chan struct{}
}

const (
	testClientID = "client-id-1"
	testSecret   = "S3cr3t-client-secret-value"
	testUser     = "merchant-user"
	testPassword = "P@ssw0rd-very-secret"
	testDevice   = "PAV860047264"
)

func newFake(t testing.TB) *fake {
	t.Helper()
	f := &fake{t: t, clientID: testClientID, secret: testSecret, user: testUser, password: testPassword,
		expiresIn: 7199, valid: map[string]bool{}, refreshes: map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	switch r.URL.Path {
	case PathAuthorize:
		f.authorize(w, r, body)
	case PathToken:
		f.token(w, r, body)
	default:
		f.mu.Lock()
		f.service++
		n := f.service
		f.bodies = append(f.bodies, body)
		f.paths = append(f.paths, r.URL.Path)
		f.auths = append(f.auths, r.Header.Get("Authorization"))
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		ok := f.valid[tok]
		h := f.handler
		f.mu.Unlock()
		if !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"status": "FAILURE", "errorCode": "100310", "errorGroup": "SYSTEM_ERROR", "errorMessage": "Invalid token!"})
			return
		}
		if h == nil {
			writeJSON(w, 200, map[string]any{"status": "SUCCESS", "errorCode": "", "paymentId": "p-1", "price": 149.9, "currency": "TRY"})
			return
		}
		h(w, r, body, n)
	}
}

func (f *fake) authorize(w http.ResponseWriter, r *http.Request, body []byte) {
	q, _ := parseForm(body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.authorizes++
	if q.Get("client_id") != f.clientID || q.Get("client_secret") != f.secret || q.Get("username") != f.user ||
		q.Get("password") != f.password || q.Get("scope") != "iyzipayApiGateway" || q.Get("response_type") != "code" ||
		q.Get("request_timestamp") == "" {
		// A careless server echoes what it got: the client must not repeat it.
		writeJSON(w, http.StatusUnauthorized, map[string]any{"errorCode": "invalid_client",
			"description": "Bad credentials for " + q.Get("username") + " / " + q.Get("password")})
		return
	}
	writeJSON(w, 200, map[string]any{"code": "code-" + fmt.Sprint(f.authorizes), "issuedAt": "x", "expiredAt": "y"})
}

func (f *fake) token(w http.ResponseWriter, r *http.Request, body []byte) {
	q, _ := parseForm(body)
	id, secret, ok := r.BasicAuth()
	f.mu.Lock()
	if !ok || id != f.clientID || secret != f.secret {
		f.mu.Unlock()
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client"})
		return
	}
	switch q.Get("grant_type") {
	case "authorization_code":
		if !strings.HasPrefix(q.Get("code"), "code-") {
			f.mu.Unlock()
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_grant"})
			return
		}
		f.codeGrants++
	case "refresh_token":
		if !f.refreshes[q.Get("refresh_token")] {
			f.mu.Unlock()
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_grant"})
			return
		}
		f.refreshHits++
		gate, note, entered := f.refreshGate, f.onRefresh, f.refreshEntered
		f.mu.Unlock()
		if entered != nil {
			select {
			case entered <- struct{}{}:
			default:
			}
		}
		if gate != nil {
			<-gate
		}
		if note != nil {
			note <- struct{}{}
		}
		f.mu.Lock()
	default:
		f.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unsupported_grant_type"})
		return
	}
	f.n++
	at, rt := fmt.Sprintf("access-token-%d-xyz", f.n), fmt.Sprintf("refresh-token-%d-xyz", f.n)
	f.valid[at], f.refreshes[rt] = true, true
	resp := map[string]any{"access_token": at, "refresh_token": rt, "scope": "iyzipayApiGateway", "token_type": "Bearer"}
	if f.expiresIn > 0 {
		resp["expires_in"] = f.expiresIn
	}
	f.mu.Unlock()
	writeJSON(w, 200, resp)
}

// revoke makes every issued access token invalid (as an expiry on the server would).
func (f *fake) revoke() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.valid = map[string]bool{}
}

func (f *fake) set(h func(w http.ResponseWriter, r *http.Request, body []byte, n int)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handler = h
}

type fakeCounts struct{ authorizes, codeGrants, refreshes, service int }

func (f *fake) counts() fakeCounts {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fakeCounts{f.authorizes, f.codeGrants, f.refreshHits, f.service}
}

func (f *fake) lastBody() map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bodies) == 0 {
		f.t.Fatal("no service request")
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(f.bodies[len(f.bodies)-1]))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		f.t.Fatalf("request body is not JSON: %v", err)
	}
	return m
}

func parseForm(b []byte) (interface{ Get(string) string }, error) {
	r := &http.Request{Method: "POST", Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, Body: io.NopCloser(bytes.NewReader(b))}
	err := r.ParseForm()
	return r.PostForm, err
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// syncBuffer is a log sink safe for the concurrent writes of a test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// clock is an injectable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 4, 6, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type harness struct {
	c     *Client
	logs  *syncBuffer
	store *MemoryTokenStore
}

// start builds a client against baseURL, runs its token owner until the test
// ends, and waits for nothing: calls queue for the token themselves.
func start(t testing.TB, baseURL string, mod func(*Config)) *harness {
	t.Helper()
	logs := &syncBuffer{}
	cfg := Config{
		BaseURL:      baseURL,
		Credentials:  Credentials{ClientID: testClientID, ClientSecret: secret.New(testSecret), Username: testUser, Password: secret.New(testPassword)},
		CardTimeout:  5 * time.Second,
		QueryTimeout: 5 * time.Second,
		EODTimeout:   5 * time.Second,
		LoginTimeout: 5 * time.Second,
		Logger:       zerolog.New(logs),
	}
	if mod != nil {
		mod(&cfg)
	}
	store := NewMemoryTokenStore(nil)
	c, err := New(cfg, store)
	if err != nil {
		t.Fatal(err)
	}
	runTokenOwner(t, c)
	return &harness{c: c, logs: logs, store: store}
}

func runTokenOwner(t testing.TB, c *Client) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}
