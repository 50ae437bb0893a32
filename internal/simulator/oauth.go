package simulator

import (
	"crypto/rand"
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The OAuth side (spec §2): /authorize trades user and client credentials for a
// single-use code; /token trades the code (or a refresh token) for an access
// token; /token/refresh is the English page's dedicated refresh path.

// authCode is an authorization code: single use, 10-minute life.
type authCode struct {
	user    string
	expires time.Time
	used    bool
}

// session is one login: the chain of tokens that descends from one code.
type session struct {
	user           string
	refresh        string
	refreshExpires time.Time // zero: no expiry
	revoked        bool
}

type accessToken struct {
	sess    *session
	expires time.Time
}

const scopeGateway = "iyzipayApiGateway"

// authorizeResponse is OAuthAuthorizeResponse.
type authorizeResponse struct {
	Code      string `json:"code"`
	IssuedAt  string `json:"issuedAt"`
	ExpiredAt string `json:"expiredAt"`
}

// authorizeError is OAuthAuthorizeErrorResponse.
type authorizeError struct {
	ErrorCode   string `json:"errorCode"`
	Description string `json:"description"`
}

// tokenResponse is OAuthTokenResponse.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
}

// tokenError is OAuthSimpleError.
type tokenError struct {
	Error string `json:"error"`
}

func (s *Sim) authorize(c *call) reply {
	s.obs.count(func(n *Counters) { n.Authorize++ })
	fields := []string{"scope", "client_id", "client_secret", "response_type", "username", "password", "request_timestamp"}
	form, problem := c.form(fields, fields)
	bad := func(status int, code, desc string) reply {
		s.obs.count(func(n *Counters) { n.OAuthFailures++ })
		return reply{status: status, errorCode: code, body: authorizeError{ErrorCode: code, Description: desc}}
	}
	switch {
	case problem != "":
		return bad(http.StatusBadRequest, "invalid_request", problem)
	case form.Get("scope") != scopeGateway:
		c.findings = append(c.findings, Finding{Field: "scope", Kind: FindingEnum, Detail: "must be " + scopeGateway})
		return bad(http.StatusBadRequest, "invalid_scope", "scope must be "+scopeGateway)
	case form.Get("response_type") != "code":
		c.findings = append(c.findings, Finding{Field: "response_type", Kind: FindingEnum, Detail: "must be code"})
		return bad(http.StatusBadRequest, "unsupported_response_type", "response_type must be code")
	case !isDigits(form.Get("request_timestamp")):
		// Seconds or milliseconds are both taken (spec §10 q5); no clock-skew check.
		c.findings = append(c.findings, Finding{Field: "request_timestamp", Kind: FindingValue, Detail: "must be a Unix timestamp"})
		return bad(http.StatusBadRequest, "invalid_request", "request_timestamp must be a Unix timestamp")
	case !equal(form.Get("client_id"), s.cfg.ClientID) || !equal(form.Get("client_secret"), s.cfg.ClientSecret):
		return bad(http.StatusUnauthorized, "invalid_client", "Client authentication failed")
	case !equal(form.Get("username"), s.cfg.Username) || !equal(form.Get("password"), s.cfg.Password):
		return bad(http.StatusUnauthorized, "access_denied", "Bad credentials")
	}
	now := s.now()
	code := s.obs.secret(rand.Text())
	s.mu.Lock()
	s.codes[code] = &authCode{user: s.cfg.Username, expires: now.Add(codeLife)}
	s.mu.Unlock()
	return ok(authorizeResponse{Code: code, IssuedAt: now.Format(time.RFC3339Nano), ExpiredAt: now.Add(codeLife).Format(time.RFC3339Nano)})
}

// token serves /token: the authorization-code grant answers 400 for a bad
// code; a refused refresh token answers 401 so that the client logs in again.
func (s *Sim) token(c *call) reply {
	if rep, failed := s.clientAuth(c); failed {
		return rep
	}
	form, problem := c.form([]string{"grant_type", "code", "refresh_token"}, []string{"grant_type"})
	if problem != "" {
		return s.tokenFail(http.StatusBadRequest, "invalid_request")
	}
	switch form.Get("grant_type") {
	case "authorization_code":
		if !c.present(form, "code") {
			return s.tokenFail(http.StatusBadRequest, "invalid_request")
		}
		return s.codeGrant(form.Get("code"))
	case "refresh_token":
		if !c.present(form, "refresh_token") {
			return s.tokenFail(http.StatusBadRequest, "invalid_request")
		}
		return s.refreshGrant(form.Get("refresh_token"), func(n *Counters) { n.TokenByRefresh++ })
	}
	c.findings = append(c.findings, Finding{Field: "grant_type", Kind: FindingEnum, Detail: "must be authorization_code or refresh_token"})
	return s.tokenFail(http.StatusBadRequest, "unsupported_grant_type")
}

// tokenRefresh serves /token/refresh, whose only documented failure is 401.
func (s *Sim) tokenRefresh(c *call) reply {
	if rep, failed := s.clientAuth(c); failed {
		return rep
	}
	fields := []string{"grant_type", "refresh_token"}
	form, problem := c.form(fields, fields)
	switch {
	case problem != "":
		return s.tokenFail(http.StatusUnauthorized, "invalid_request")
	case form.Get("grant_type") != "refresh_token":
		c.findings = append(c.findings, Finding{Field: "grant_type", Kind: FindingEnum, Detail: "must be refresh_token"})
		return s.tokenFail(http.StatusUnauthorized, "unsupported_grant_type")
	}
	return s.refreshGrant(form.Get("refresh_token"), func(n *Counters) { n.RefreshEndpoint++ })
}

// clientAuth checks HTTP Basic client credentials.
func (s *Sim) clientAuth(c *call) (reply, bool) {
	id, secret, ok := c.r.BasicAuth()
	if !ok {
		c.findings = append(c.findings, Finding{Field: "Authorization", Kind: FindingHeader, Detail: "HTTP Basic client credentials required"})
	}
	if !ok || !equal(id, s.cfg.ClientID) || !equal(secret, s.cfg.ClientSecret) {
		return s.tokenFail(http.StatusUnauthorized, "invalid_client"), true
	}
	return reply{}, false
}

func (s *Sim) codeGrant(code string) reply {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ac := s.codes[code]
	if ac == nil || ac.used || !now.Before(ac.expires) {
		return s.tokenFail(http.StatusBadRequest, "invalid_grant")
	}
	ac.used = true
	sess := &session{user: ac.user, refresh: s.obs.secret(rand.Text() + rand.Text())}
	if s.cfg.RefreshTokenTTL > 0 {
		sess.refreshExpires = now.Add(s.cfg.RefreshTokenTTL)
	}
	s.refresh[sess.refresh] = sess
	s.obs.count(func(n *Counters) { n.TokenByCode++ })
	return ok(s.issueLocked(sess, now))
}

func (s *Sim) refreshGrant(token string, count func(*Counters)) reply {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.refresh[token]
	if sess == nil || sess.revoked || (!sess.refreshExpires.IsZero() && !now.Before(sess.refreshExpires)) {
		return s.tokenFail(http.StatusUnauthorized, "invalid_grant")
	}
	if s.cfg.RotateRefreshTokens {
		delete(s.refresh, sess.refresh)
		sess.refresh = s.obs.secret(rand.Text() + rand.Text())
		s.refresh[sess.refresh] = sess
	}
	s.obs.count(count)
	return ok(s.issueLocked(sess, now))
}

// issueLocked mints an access token for sess. Earlier access tokens of the
// session stay valid until they expire, as signed JWTs would.
func (s *Sim) issueLocked(sess *session, now time.Time) tokenResponse {
	tok := s.obs.secret(rand.Text() + rand.Text())
	s.access[tok] = &accessToken{sess: sess, expires: now.Add(s.cfg.TokenTTL)}
	return tokenResponse{
		AccessToken: tok, RefreshToken: sess.refresh, Scope: scopeGateway,
		TokenType: "Bearer", ExpiresIn: int64(s.cfg.TokenTTL / time.Second),
	}
}

func (s *Sim) tokenFail(status int, code string) reply {
	s.obs.count(func(n *Counters) { n.OAuthFailures++ })
	return reply{status: status, errorCode: code, body: tokenError{Error: code}}
}

// authenticate checks the bearer token of a terminal-host call. A revoked
// session wins over expiry: 380204 tells the client that only a new login helps.
func (s *Sim) authenticate(c *call) *apiError {
	scheme, tok, _ := strings.Cut(c.r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return errInvalidToken()
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.access[tok]
	switch {
	case at == nil:
		return errInvalidToken()
	case at.sess.revoked:
		return errSessionTerminated()
	case !now.Before(at.expires):
		return errTokenExpired()
	}
	c.user = at.sess.user
	return nil
}

// ExpireTokens expires every access token issued so far: the next service call
// with any of them gets 100311. Refresh tokens keep working.
func (s *Sim) ExpireTokens() {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, at := range s.access {
		if now.Before(at.expires) {
			at.expires = now
		}
	}
}

// RevokeSessions ends every session: service calls with their access tokens get
// 380204 and their refresh tokens get 401, so the client must log in again.
func (s *Sim) RevokeSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sess := range s.refresh {
		sess.revoked = true
	}
}

// form parses a form-urlencoded body. Fields outside known are recorded as
// unknown (never with their values: some are secrets); fields in required must
// be present once and non-empty. problem describes the first fatal finding.
func (c *call) form(known, required []string) (url.Values, string) {
	var problem string
	note := func(f Finding) {
		c.findings = append(c.findings, f)
		if problem == "" && f.Fatal() {
			problem = f.String()
		}
	}
	if mt, _, _ := strings.Cut(c.r.Header.Get("Content-Type"), ";"); !strings.EqualFold(strings.TrimSpace(mt), "application/x-www-form-urlencoded") {
		note(Finding{Field: "Content-Type", Kind: FindingHeader, Detail: "must be application/x-www-form-urlencoded"})
	}
	for k := range c.r.URL.Query() {
		note(Finding{Field: "?" + k, Kind: FindingUnknownField, Detail: "sent in the URL query string; ignored"})
	}
	form, err := url.ParseQuery(string(c.raw))
	if err != nil {
		note(Finding{Field: "(body)", Kind: FindingMalformed, Detail: "not a form-urlencoded body"})
		return url.Values{}, problem
	}
	var keys []string
	for k := range form {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(known, k) {
			note(Finding{Field: k, Kind: FindingUnknownField, Detail: "not in iyzico's schema; ignored"})
		} else if len(form[k]) > 1 {
			note(Finding{Field: k, Kind: FindingValue, Detail: "given more than once"})
		}
	}
	for _, k := range required {
		if !c.present(form, k) && problem == "" {
			problem = k + ": required"
		}
	}
	return form, problem
}

// present reports whether a form field is there and non-empty, recording a
// finding when it is not.
func (c *call) present(form url.Values, k string) bool {
	if form.Get(k) != "" {
		return true
	}
	c.findings = append(c.findings, Finding{Field: k, Kind: FindingMissing, Detail: "required"})
	return false
}

// equal compares credentials in constant time.
func equal(got, want string) bool { return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1 }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
