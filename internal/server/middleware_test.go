package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/bridgedpos/bridged/internal/apitype"
	"github.com/bridgedpos/bridged/internal/payment"
)

const (
	testKey = "0123456789abcdef0123456789abcdef"
	opsKey  = "opsopsopsopsopsopsopsopsopsopsopsops"
)

// stubService answers the calls the middleware tests make; any other call
// panics through the nil embedded interface.
type stubService struct{ Service }

func (stubService) Mode() payment.Mode { return payment.VUK509 }
func (stubService) Terminals() []payment.TerminalState {
	return []payment.TerminalState{{ID: "lane-1", DeviceUniqueID: "PAV860047264", State: "idle"}}
}
func (stubService) Health() error                   { return nil }
func (stubService) Conflicts() []*payment.Operation { return nil }

func newTestHandler(logs *strings.Builder) http.Handler {
	return New(Options{
		Logger: zerolog.New(logs),
		Keys: []Key{{Name: "ecr", Key: []byte(testKey), Scopes: []Scope{ScopePayments}},
			{Name: "backoffice", Key: []byte(strings.Repeat("b", 32)), Scopes: []Scope{ScopeRead}}},
		AllowedHosts:   []string{"pos-pc.local"},
		AllowedOrigins: []string{"http://127.0.0.1:9000"},
		Service:        stubService{},
	})
}

func TestGuards(t *testing.T) {
	tests := []struct {
		name     string
		host     string
		headers  map[string]string
		wantCode int
		wantProb string
	}{
		{"loopback ok", "127.0.0.1:8470", map[string]string{"Authorization": "Bearer " + testKey}, 200, ""},
		{"localhost ok", "localhost:8470", map[string]string{"Authorization": "Bearer " + testKey}, 200, ""},
		{"ipv6 loopback ok", "[::1]:8470", map[string]string{"Authorization": "Bearer " + testKey}, 200, ""},
		{"configured host ok", "pos-pc.local:8470", map[string]string{"Authorization": "Bearer " + testKey}, 200, ""},
		{"second key ok", "127.0.0.1", map[string]string{"Authorization": "Bearer " + strings.Repeat("b", 32)}, 200, ""},
		{"rebinding host", "evil.example:8470", map[string]string{"Authorization": "Bearer " + testKey}, 403, "forbidden_host"},
		{"foreign origin", "127.0.0.1:8470", map[string]string{"Authorization": "Bearer " + testKey, "Origin": "http://evil.example"}, 403, "forbidden_origin"},
		{"null origin", "127.0.0.1:8470", map[string]string{"Authorization": "Bearer " + testKey, "Origin": "null"}, 403, "forbidden_origin"},
		{"allowed origin", "127.0.0.1:8470", map[string]string{"Authorization": "Bearer " + testKey, "Origin": "http://127.0.0.1:9000"}, 200, ""},
		{"port that is not a number", "localhost:8470.evil.example", map[string]string{"Authorization": "Bearer " + testKey}, 403, "forbidden_host"},
		{"empty port", "localhost:", map[string]string{"Authorization": "Bearer " + testKey}, 403, "forbidden_host"},
		{"same-site fetch without origin", "127.0.0.1:8470", map[string]string{"Authorization": "Bearer " + testKey, "Sec-Fetch-Site": "same-site"}, 403, "forbidden_origin"},
		{"same-site fetch from an allowed origin", "127.0.0.1:8470", map[string]string{"Authorization": "Bearer " + testKey, "Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:9000"}, 200, ""},
		{"cross-site fetch", "127.0.0.1:8470", map[string]string{"Authorization": "Bearer " + testKey, "Sec-Fetch-Site": "cross-site"}, 403, "forbidden_origin"},
		{"missing key", "127.0.0.1:8470", nil, 401, "unauthorized"},
		{"wrong key", "127.0.0.1:8470", map[string]string{"Authorization": "Bearer " + strings.Repeat("x", 32)}, 401, "unauthorized"},
		{"prefix of key", "127.0.0.1:8470", map[string]string{"Authorization": "Bearer " + testKey[:31]}, 401, "unauthorized"},
		{"basic scheme", "127.0.0.1:8470", map[string]string{"Authorization": "Basic " + testKey}, 401, "unauthorized"},
	}
	var logs strings.Builder
	h := newTestHandler(&logs)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/v1/terminals", nil)
			req.Host = tt.host
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantCode, rec.Body)
			}
			if rec.Header().Get("Access-Control-Allow-Origin") != "" {
				t.Error("a CORS header was sent")
			}
			if rec.Header().Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
			if tt.wantProb == "" {
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type %q", ct)
			}
			var p apitype.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			if p.Code != tt.wantProb || p.Status != tt.wantCode {
				t.Errorf("problem %+v", p)
			}
		})
	}
	if strings.Contains(logs.String(), testKey) {
		t.Error("an API key reached the log")
	}
}

func TestHealthzNeedsNoKey(t *testing.T) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/healthz", nil)
	req.Host = "127.0.0.1:8470"
	newTestHandler(&strings.Builder{}).ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
}

func TestRequestIDEchoedWhenWellFormed(t *testing.T) {
	h := newTestHandler(&strings.Builder{})
	for id, keep := range map[string]bool{"ecr-123.A_b": true, "bad id with spaces": false, strings.Repeat("a", 65): false} {
		req := httptest.NewRequest("GET", "/healthz", nil)
		req.Host = "127.0.0.1"
		req.Header.Set("X-Request-Id", id)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if got := rec.Header().Get("X-Request-Id"); (got == id) != keep || got == "" {
			t.Errorf("request id %q -> %q", id, got)
		}
	}
}

func TestUnknownRouteIsProblem(t *testing.T) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/nope", nil)
	req.Host = "127.0.0.1"
	newTestHandler(&strings.Builder{}).ServeHTTP(rec, req)
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), `"code":"not_found"`) {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// TestRequestIDsNeverLookLikeACardNumber: a generated id always holds a
// hex letter, so no answer or log line carries sixteen decimal digits that
// a card scanner (proof/scan: 13-19 digits passing Luhn) would flag.
func TestRequestIDsNeverLookLikeACardNumber(t *testing.T) {
	for range 100000 {
		id := newRequestID()
		if len(id) != 16 || !strings.ContainsAny(id, "abcdef") || strings.Trim(id, "0123456789abcdef") != "" {
			t.Fatalf("request id %q", id)
		}
	}
}
