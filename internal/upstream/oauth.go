package upstream

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bridgedpos/bridged/internal/secret"
	"golang.org/x/oauth2"
)

// OAuth paths (spec §2). The refresh grant goes to the token path, which both
// the Turkish and the English pages document; /in-store/oauth2/token/refresh
// appears on the English page only (spec §10 q4).
const (
	PathAuthorize = "/in-store/oauth2/authorize"
	PathToken     = "/in-store/oauth2/token"
)

// AuthorizeRequest is the form of POST /in-store/oauth2/authorize (spec §2.1).
// Its secrets stay masked in every rendering until Form reveals them.
type AuthorizeRequest struct {
	Scope            string // always "iyzipayApiGateway"
	ClientID         string
	ClientSecret     secret.Value
	ResponseType     string // always "code"
	Username         string
	Password         secret.Value
	RequestTimestamp string // Unix time in seconds (unit undocumented, spec §10 q5)
}

// Form encodes the request with the spec's field names: one of the two places
// (with basicCredentials) where the secrets are revealed, to go to iyzico.
func (r AuthorizeRequest) Form() url.Values {
	return url.Values{
		"scope":             {r.Scope},
		"client_id":         {r.ClientID},
		"client_secret":     {r.ClientSecret.Reveal()},
		"response_type":     {r.ResponseType},
		"username":          {r.Username},
		"password":          {r.Password.Reveal()},
		"request_timestamp": {r.RequestTimestamp},
	}
}

// String masks the secrets.
func (r AuthorizeRequest) String() string {
	return "AuthorizeRequest{scope=" + r.Scope + " client_id=" + r.ClientID + " client_secret=" + r.ClientSecret.String() +
		" response_type=" + r.ResponseType + " username=" + r.Username + " password=" + r.Password.String() +
		" request_timestamp=" + r.RequestTimestamp + "}"
}

// GoString masks the secrets for %#v.
func (r AuthorizeRequest) GoString() string { return r.String() }

// AuthorizeResponse is the 200 answer of /authorize: a short-lived, single-use code.
type AuthorizeResponse struct {
	Code      string `json:"code"`
	IssuedAt  string `json:"issuedAt"`
	ExpiredAt string `json:"expiredAt"`
}

// AuthorizeErrorResponse is the 401 answer of /authorize.
type AuthorizeErrorResponse struct {
	ErrorCode   Text   `json:"errorCode"`
	Description string `json:"description"`
	URI         string `json:"uri"`
}

// The token steps (spec §2.2, §2.3) are form posts to /in-store/oauth2/token
// with HTTP Basic client authentication: grant_type=authorization_code&code=…
// and grant_type=refresh_token&refresh_token=…. Their 200 answer becomes an
// oauth2.Token; a refusal carries iyzico's {"error": "…"}.
//
// The request is built here rather than by golang.org/x/oauth2: its
// AuthStyleInHeader URL-escapes the client id and secret before encoding them
// (RFC 6749 §2.3.1), while the spec says base64(client_id:client_secret), so a
// secret with "+", "/" or "=" would be refused.

// tokenAnswer is OAuthTokenResponse.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    Int    `json:"expires_in"`
}

// tokenRefusal is OAuthSimpleError.
type tokenRefusal struct {
	Error string `json:"error"`
}

// basicCredentials is base64(client_id:client_secret), the values as they
// are: the token steps' Basic credentials, built once and kept as a secret.
func basicCredentials(creds Credentials) secret.Value {
	return secret.New(base64.StdEncoding.EncodeToString([]byte(creds.ClientID + ":" + creds.ClientSecret.Reveal())))
}

// login runs the two-step login: authorize (credentials → code), then the
// authorization-code grant (code → token).
func (o *tokenOwner) login(ctx context.Context) (*oauth2.Token, *Error) {
	code, err := o.authorize(ctx)
	if err != nil {
		return nil, err
	}
	return o.grant(ctx, "token", url.Values{"grant_type": {"authorization_code"}, "code": {code}}, "")
}

// refresh runs the refresh-token grant.
func (o *tokenOwner) refresh(ctx context.Context, refreshToken string) (*oauth2.Token, *Error) {
	return o.grant(ctx, "refresh", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}, refreshToken)
}

// grant posts one token request. keep is the refresh token to keep when the
// answer names none (a refresh that does not rotate it).
func (o *tokenOwner) grant(ctx context.Context, step string, form url.Values, keep string) (*oauth2.Token, *Error) {
	start := time.Now()
	tctx, cancel := context.WithTimeout(ctx, o.cfg.LoginTimeout)
	defer cancel()
	var wrote atomic.Bool
	tctx = httptrace.WithClientTrace(tctx, &httptrace.ClientTrace{WroteHeaders: func() { wrote.Store(true) }})
	req, err := http.NewRequestWithContext(tctx, http.MethodPost, o.cfg.BaseURL+PathToken, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, &Error{Op: step, Class: NotSent, Reason: ReasonInvalidRequest, Err: o.safe(err)}
	}
	req.Header.Set("Authorization", "Basic "+o.basic.Reveal())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := o.http.Do(req)
	if err != nil {
		v := classifyTransport(err, wrote.Load())
		o.logOAuth(step, 0, NotSent, time.Since(start))
		return nil, &Error{Op: step, Class: NotSent, Reason: v.reason, Err: o.safe(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		o.logOAuth(step, resp.StatusCode, NotSent, time.Since(start))
		return nil, &Error{Op: step, Class: NotSent, Reason: ReasonConnectionLost, HTTPStatus: resp.StatusCode, Err: o.safe(err)}
	}
	if resp.StatusCode != http.StatusOK {
		// Only the status and iyzico's one-word error survive: the body is
		// never logged or quoted.
		var tr tokenRefusal
		_ = json.Unmarshal(body, &tr)
		e := &Error{Op: step, Class: NotSent, Reason: ReasonHTTPStatus, HTTPStatus: resp.StatusCode, Code: o.scrub(tr.Error)}
		if e.HTTPStatus == http.StatusBadRequest || e.HTTPStatus == http.StatusUnauthorized || e.HTTPStatus == http.StatusForbidden {
			e.Class, e.Reason = AuthFailed, ReasonCredentialsRejected
			e.Message = "iyzico refused the " + step + " request; check client_id and client_secret"
		}
		o.logOAuth(step, e.HTTPStatus, e.Class, time.Since(start))
		return nil, e
	}
	var ta tokenAnswer
	if json.Unmarshal(body, &ta) != nil || ta.AccessToken == "" {
		o.logOAuth(step, resp.StatusCode, NotSent, time.Since(start))
		return nil, &Error{Op: step, Class: NotSent, Reason: ReasonUnparseable, HTTPStatus: resp.StatusCode,
			Message: "the " + step + " answer carried no access_token"}
	}
	tok := &oauth2.Token{AccessToken: ta.AccessToken, TokenType: ta.TokenType, RefreshToken: ta.RefreshToken, ExpiresIn: int64(ta.ExpiresIn)}
	if tok.RefreshToken == "" {
		tok.RefreshToken = keep
	}
	o.setExpiry(tok)
	o.logOAuth(step, http.StatusOK, Approved, time.Since(start))
	return tok, nil
}

// setExpiry computes the expiry from expires_in on Config.Now.
func (o *tokenOwner) setExpiry(tok *oauth2.Token) {
	if tok.ExpiresIn > 0 {
		tok.Expiry = o.cfg.Now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	} else {
		tok.Expiry = time.Time{}
	}
}

// authorize posts the credentials and returns the single-use code.
func (o *tokenOwner) authorize(ctx context.Context) (string, *Error) {
	start := time.Now()
	const op = "authorize"
	creds := o.cfg.Credentials
	req := AuthorizeRequest{
		Scope:            "iyzipayApiGateway",
		ClientID:         creds.ClientID,
		ClientSecret:     creds.ClientSecret,
		ResponseType:     "code",
		Username:         creds.Username,
		Password:         creds.Password,
		RequestTimestamp: strconv.FormatInt(o.cfg.Now().Unix(), 10),
	}
	actx, cancel := context.WithTimeout(ctx, o.cfg.LoginTimeout)
	defer cancel()
	var wrote atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{WroteHeaders: func() { wrote.Store(true) }})
	hreq, err := http.NewRequestWithContext(actx, http.MethodPost, o.cfg.BaseURL+PathAuthorize, strings.NewReader(req.Form().Encode()))
	if err != nil {
		return "", &Error{Op: op, Class: NotSent, Reason: ReasonInvalidRequest, Err: o.safe(err)}
	}
	hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hreq.Header.Set("Accept", "application/json")
	resp, err := o.http.Do(hreq)
	if err != nil {
		v := classifyTransport(err, wrote.Load())
		o.logOAuth(op, 0, NotSent, time.Since(start))
		return "", &Error{Op: op, Class: NotSent, Reason: v.reason, Err: o.safe(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		o.logOAuth(op, resp.StatusCode, NotSent, time.Since(start))
		return "", &Error{Op: op, Class: NotSent, Reason: ReasonConnectionLost, HTTPStatus: resp.StatusCode, Err: o.safe(err)}
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		var ok AuthorizeResponse
		if json.Unmarshal(body, &ok) != nil || ok.Code == "" {
			o.logOAuth(op, resp.StatusCode, NotSent, time.Since(start))
			return "", &Error{Op: op, Class: NotSent, Reason: ReasonUnparseable, HTTPStatus: resp.StatusCode,
				Message: "the authorize answer carried no code"}
		}
		o.logOAuth(op, resp.StatusCode, Approved, time.Since(start))
		return ok.Code, nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusForbidden:
		var ae AuthorizeErrorResponse
		_ = json.Unmarshal(body, &ae)
		e := &Error{Op: op, Class: AuthFailed, Reason: ReasonCredentialsRejected, HTTPStatus: resp.StatusCode,
			Code:    o.scrub(string(ae.ErrorCode)),
			Message: "iyzico rejected the credentials; check client_id, client_secret, username and password"}
		if d := o.scrub(ae.Description); d != "" {
			e.Message += " (" + d + ")"
		}
		o.logOAuth(op, resp.StatusCode, AuthFailed, time.Since(start))
		return "", e
	default:
		o.logOAuth(op, resp.StatusCode, NotSent, time.Since(start))
		return "", &Error{Op: op, Class: NotSent, Reason: ReasonHTTPStatus, HTTPStatus: resp.StatusCode}
	}
}

func (o *tokenOwner) logOAuth(op string, status int, class Class, d time.Duration) {
	ev := o.log.Info()
	if class != Approved {
		ev = o.log.Warn()
	}
	ev.Str("op", op).Int("http_status", status).Str("class", class.String()).Dur("duration", d).Msg("upstream login step")
	reason := ReasonAnswered
	if status == 0 {
		reason = ReasonNotConnected
	}
	o.observe(CallRecord{Op: op, Class: class, HTTPStatus: status, Reason: reason, Duration: d})
}

// masked stands where scrub removed a secret or token.
const masked = secret.Masked

// jwtShape matches anything that looks like a JWT (or its first part): a
// base64url JSON header starts with "eyJ" ({"...). Such a text in an error
// message is a token, whoever's it is.
var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_\-]{4,}(?:\.[A-Za-z0-9_\-]*){0,2}`)

// scrub removes every secret the owner knows from s: the client secret and
// the password (as they are or query-escaped), the Basic credentials, the
// held tokens, the tokens sent on this call (a renewal may have replaced the
// held one meanwhile), and anything shaped like a JWT.
func (o *tokenOwner) scrub(s string, sent ...*oauth2.Token) string {
	if s == "" {
		return s
	}
	creds := o.cfg.Credentials
	s = o.basic.Redact(creds.Password.Redact(creds.ClientSecret.Redact(s)))
	var secrets []string
	if h := o.held.Load(); h != nil {
		secrets = append(secrets, h.tok.AccessToken, h.tok.RefreshToken)
	}
	for _, t := range sent {
		if t != nil {
			secrets = append(secrets, t.AccessToken, t.RefreshToken)
		}
	}
	for _, sec := range secrets {
		if len(sec) >= 3 {
			s = strings.ReplaceAll(s, sec, masked)
		}
	}
	return jwtShape.ReplaceAllString(s, masked)
}

// safe wraps err with a scrubbed text.
func (o *tokenOwner) safe(err error, sent ...*oauth2.Token) error {
	if err == nil {
		return nil
	}
	return &safeError{msg: o.scrub(err.Error(), sent...), err: err}
}
