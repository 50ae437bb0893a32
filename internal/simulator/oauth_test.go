package simulator

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestAuthorize(t *testing.T) {
	without := func(k string) url.Values {
		v := authorizeForm()
		v.Del(k)
		return v
	}
	with := func(k, val string) url.Values {
		v := authorizeForm()
		v.Set(k, val)
		return v
	}
	tests := []struct {
		name       string
		form       url.Values
		wantStatus int
		wantCode   string // errorCode of the failure
	}{
		{"happy path", authorizeForm(), http.StatusOK, ""},
		{"missing scope", without("scope"), http.StatusBadRequest, "invalid_request"},
		{"missing client_id", without("client_id"), http.StatusBadRequest, "invalid_request"},
		{"missing client_secret", without("client_secret"), http.StatusBadRequest, "invalid_request"},
		{"missing response_type", without("response_type"), http.StatusBadRequest, "invalid_request"},
		{"missing username", without("username"), http.StatusBadRequest, "invalid_request"},
		{"missing password", without("password"), http.StatusBadRequest, "invalid_request"},
		{"missing request_timestamp", without("request_timestamp"), http.StatusBadRequest, "invalid_request"},
		{"wrong scope", with("scope", "other"), http.StatusBadRequest, "invalid_scope"},
		{"wrong response_type", with("response_type", "token"), http.StatusBadRequest, "unsupported_response_type"},
		{"timestamp not a number", with("request_timestamp", "2026-04-06"), http.StatusBadRequest, "invalid_request"},
		{"wrong client secret", with("client_secret", "nope"), http.StatusUnauthorized, "invalid_client"},
		{"wrong client id", with("client_id", "nope"), http.StatusUnauthorized, "invalid_client"},
		{"wrong password", with("password", "nope"), http.StatusUnauthorized, "access_denied"},
		{"wrong username", with("username", "nope"), http.StatusUnauthorized, "access_denied"},
	}
	h := newHarness(t, Config{})
	before := h.sim.Counters().Authorize
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, got := h.form(PathAuthorize, tt.form, false)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %v", status, tt.wantStatus, got)
			}
			if tt.wantCode != "" {
				if got["errorCode"] != tt.wantCode || str(t, got, "description") == "" {
					t.Fatalf("got %v, want errorCode %s with a description", got, tt.wantCode)
				}
				return
			}
			issued, err1 := time.Parse(time.RFC3339Nano, str(t, got, "issuedAt"))
			expires, err2 := time.Parse(time.RFC3339Nano, str(t, got, "expiredAt"))
			if err1 != nil || err2 != nil || expires.Sub(issued) != 10*time.Minute {
				t.Fatalf("issuedAt/expiredAt not 10 minutes apart in RFC 3339: %v", got)
			}
			if len(str(t, got, "code")) < 20 {
				t.Fatalf("code too short to be random: %v", got)
			}
		})
	}
	if n := h.sim.Counters().Authorize - before; n != len(tests) {
		t.Errorf("Counters().Authorize grew by %d, want %d (every call counts)", n, len(tests))
	}
}

func TestTokenGrants(t *testing.T) {
	h := newHarness(t, Config{})
	code := func() string {
		_, got := h.form(PathAuthorize, authorizeForm(), false)
		return got["code"].(string)
	}
	t.Run("code grant answers the token response", func(t *testing.T) {
		status, got := h.form(PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {code()}}, true)
		if status != http.StatusOK {
			t.Fatalf("status %d: %v", status, got)
		}
		if got["scope"] != "iyzipayApiGateway" || got["token_type"] != "Bearer" || num(t, got, "expires_in") != "7199" {
			t.Fatalf("token response %v", got)
		}
		if len(str(t, got, "access_token")) < 40 || len(str(t, got, "refresh_token")) < 40 {
			t.Fatalf("tokens too short to be random: %v", got)
		}
	})
	t.Run("a code is single use", func(t *testing.T) {
		c := code()
		form := url.Values{"grant_type": {"authorization_code"}, "code": {c}}
		if status, _ := h.form(PathToken, form, true); status != http.StatusOK {
			t.Fatalf("first use: %d", status)
		}
		status, got := h.form(PathToken, form, true)
		if status != http.StatusBadRequest || got["error"] != "invalid_grant" {
			t.Fatalf("second use: %d %v", status, got)
		}
	})
	t.Run("a code lives 10 minutes", func(t *testing.T) {
		c := code()
		h.clock.Advance(10 * time.Minute)
		status, got := h.form(PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {c}}, true)
		if status != http.StatusBadRequest || got["error"] != "invalid_grant" {
			t.Fatalf("expired code: %d %v", status, got)
		}
	})
	failures := []struct {
		name       string
		form       url.Values
		basic      bool
		wantStatus int
		wantError  string
	}{
		{"no client credentials", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, false, 401, "invalid_client"},
		{"unknown code", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, true, 400, "invalid_grant"},
		{"missing code", url.Values{"grant_type": {"authorization_code"}}, true, 400, "invalid_request"},
		{"missing grant_type", url.Values{"code": {"x"}}, true, 400, "invalid_request"},
		{"unknown grant_type", url.Values{"grant_type": {"password"}}, true, 400, "unsupported_grant_type"},
		{"unknown refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, true, 401, "invalid_grant"},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			status, got := h.form(PathToken, tt.form, tt.basic)
			if status != tt.wantStatus || got["error"] != tt.wantError {
				t.Fatalf("got %d %v, want %d %s", status, got, tt.wantStatus, tt.wantError)
			}
		})
	}
	t.Run("wrong client secret in Basic", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, h.srv.URL+PathToken, strings.NewReader("grant_type=authorization_code&code="+code()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("sim-client", "wrong")
		status, got := h.do(req)
		if status != http.StatusUnauthorized || got["error"] != "invalid_client" {
			t.Fatalf("got %d %v", status, got)
		}
	})
}

func TestRefresh(t *testing.T) {
	for _, path := range []string{PathToken, PathTokenRefresh} {
		for _, rotate := range []bool{false, true} {
			name := path
			if rotate {
				name += " rotating"
			}
			t.Run(name, func(t *testing.T) {
				h := newHarness(t, Config{RotateRefreshTokens: rotate})
				first := h.loginFull()
				oldRefresh := first["refresh_token"].(string)
				form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {oldRefresh}}
				status, got := h.form(path, form, true)
				if status != http.StatusOK {
					t.Fatalf("refresh: %d %v", status, got)
				}
				if got["access_token"] == first["access_token"] {
					t.Fatal("refresh answered the same access token")
				}
				if rotated := got["refresh_token"] != oldRefresh; rotated != rotate {
					t.Fatalf("refresh token rotated=%v, want %v", rotated, rotate)
				}
				if st, _ := h.postAs(got["access_token"].(string), PathEOD, eod509(testDevice)); st != http.StatusOK {
					t.Fatalf("refreshed token refused: %d", st)
				}
				status, _ = h.form(path, form, true) // the old refresh token again
				if want := map[bool]int{false: 200, true: 401}[rotate]; status != want {
					t.Fatalf("old refresh token: %d, want %d", status, want)
				}
				c := h.sim.Counters()
				onToken, onRefresh := c.TokenByRefresh, c.RefreshEndpoint
				if path == PathTokenRefresh {
					onToken, onRefresh = onRefresh, onToken
				}
				if c.TokenByCode != 2 || onToken < 1 || onRefresh != 0 {
					t.Fatalf("counters %+v", c)
				}
			})
		}
	}
	t.Run("token/refresh wants grant_type refresh_token", func(t *testing.T) {
		h := newHarness(t, Config{})
		status, got := h.form(PathTokenRefresh, url.Values{"grant_type": {"authorization_code"}, "refresh_token": {"x"}}, true)
		if status != http.StatusUnauthorized || got["error"] != "unsupported_grant_type" {
			t.Fatalf("got %d %v", status, got)
		}
	})
	t.Run("refresh token life", func(t *testing.T) {
		h := newHarness(t, Config{RefreshTokenTTL: time.Hour})
		tok := h.loginFull()
		h.clock.Advance(time.Hour)
		status, got := h.form(PathTokenRefresh, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}, true)
		if status != http.StatusUnauthorized || got["error"] != "invalid_grant" {
			t.Fatalf("got %d %v", status, got)
		}
	})
}

func TestServiceAuthentication(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(h *harness) string // returns the token to send
		path      string
		body      map[string]any
		wantCode  string
		wantGroup string
	}{
		{"no Authorization header", func(h *harness) string { return "" }, PathEOD, eod509(testDevice), CodeInvalidToken, GroupSystem},
		{"garbage token", func(h *harness) string { return "garbage" }, PathEOD, eod509(testDevice), CodeInvalidToken, GroupSystem},
		{"expired by its life", func(h *harness) string {
			h.clock.Advance(7199 * time.Second)
			return h.token
		}, PathEOD, eod509(testDevice), CodeTokenExpired, GroupSystem},
		{"expired by ExpireTokens", func(h *harness) string {
			h.sim.ExpireTokens()
			return h.token
		}, PathEOD, eod509(testDevice), CodeTokenExpired, GroupSystem},
		{"session revoked", func(h *harness) string {
			h.sim.RevokeSessions()
			return h.token
		}, PathEOD, eod509(testDevice), CodeSessionTerminated, GroupDevice},
		{"VUK 507 expired", func(h *harness) string {
			h.sim.ExpireTokens()
			return h.token
		}, PathGmuEOD, map[string]any{"deviceUniqueId": testDevice2}, CodeTokenExpired, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			status, got := h.postAs(tt.setup(h), tt.path, tt.body)
			wantFailure(t, status, got, http.StatusUnauthorized, tt.wantCode, tt.wantGroup)
			if h.sim.Counters().TokenRejections != 1 {
				t.Fatalf("counters %+v", h.sim.Counters())
			}
		})
	}
	t.Run("expired token: refresh works, a new token is accepted", func(t *testing.T) {
		h := newHarness(t, Config{})
		tok := h.loginFull()
		h.sim.ExpireTokens()
		_, got := h.form(PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}, true)
		if st, body := h.postAs(got["access_token"].(string), PathEOD, eod509(testDevice)); st != http.StatusOK {
			t.Fatalf("%d %v", st, body)
		}
	})
	t.Run("revoked session: refresh is 401, a new login works", func(t *testing.T) {
		h := newHarness(t, Config{})
		tok := h.loginFull()
		h.sim.RevokeSessions()
		for _, path := range []string{PathToken, PathTokenRefresh} {
			st, got := h.form(path, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}, true)
			if st != http.StatusUnauthorized || got["error"] != "invalid_grant" {
				t.Fatalf("%s: %d %v", path, st, got)
			}
		}
		if st, body := h.postAs(h.login(), PathEOD, eod509(testDevice)); st != http.StatusOK {
			t.Fatalf("%d %v", st, body)
		}
	})
}

// TestNoSecretsObserved proves that the observation log never holds a
// credential, a token or a code, whatever was sent.
func TestNoSecretsObserved(t *testing.T) {
	h := newHarness(t, Config{})
	form := authorizeForm()
	form.Set("extra_secret", "S3CRET-extra")
	_, got := h.form(PathAuthorize, form, false)
	code := got["code"].(string)
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+PathToken, strings.NewReader("grant_type=authorization_code&code="+code))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("sim-client", "sim-secret")
	_, tok := h.do(req)
	access := tok["access_token"].(string)
	h.postAs(access, PathPayment, sale509("r1", "10.00"))
	h.form(PathTokenRefresh, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}, true)

	raw, err := json.Marshal(h.sim.Requests())
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"S3CRET", "sim-secret", "sim-password", code, access, tok["refresh_token"].(string)} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("observation log holds a secret (%.8s...): %s", secret, raw)
		}
	}
	var sawUnknown bool
	for _, f := range h.sim.Findings() {
		sawUnknown = sawUnknown || (f.Field == "extra_secret" && f.Kind == FindingUnknownField)
	}
	if !sawUnknown {
		t.Error("unknown form field not reported as a finding")
	}
}
