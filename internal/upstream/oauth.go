package upstream

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

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
// Its String masks the secrets.
type AuthorizeRequest struct {
	Scope            string // always "iyzipayApiGateway"
	ClientID         string
	ClientSecret     string
	ResponseType     string // always "code"
	Username         string
	Password         string
	RequestTimestamp string // Unix time in seconds (unit undocumented, spec §10 q5)
}

// Form encodes the request with the spec's field names.
func (r AuthorizeRequest) Form() url.Values {
	return url.Values{
		"scope":             {r.Scope},
		"client_id":         {r.ClientID},
		"client_secret":     {r.ClientSecret},
		"response_type":     {r.ResponseType},
		"username":          {r.Username},
		"password":          {r.Password},
		"request_timestamp": {r.RequestTimestamp},
	}
}

// String masks the secrets.
func (r AuthorizeRequest) String() string {
	return "AuthorizeRequest{scope=" + r.Scope + " client_id=" + r.ClientID + " client_secret=" + mask(r.ClientSecret) +
		" response_type=" + r.ResponseType + " username=" + r.Username + " password=" + mask(r.Password) +
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

// The token steps (spec §2.2, §2.3) are form posts with HTTP Basic client
// authentication that golang.org/x/oauth2 builds from oauthConfig:
// grant_type=authorization_code&code=… (Config.Exchange) and
// grant_type=refresh_token&refresh_token=… (Config.TokenSource). Their 200
// answer is an oauth2.Token; a refusal is an oauth2.RetrieveError carrying
// iyzico's {"error": "…"}.

func (c *Client) oauthConfig() *oauth2.Config {
	return &oauth2.Config{
		ClientID:     c.cfg.Credentials.ClientID,
		ClientSecret: c.cfg.Credentials.ClientSecret,
		Endpoint: oauth2.Endpoint{
			TokenURL:  c.cfg.BaseURL + PathToken,
			AuthStyle: oauth2.AuthStyleInHeader,
		},
	}
}

// login runs the two-step login: authorize (credentials → code), then the
// authorization-code grant (code → token).
func (c *Client) login(ctx context.Context) (*oauth2.Token, *Error) {
	code, err := c.authorize(ctx)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	tctx, cancel := context.WithTimeout(ctx, c.cfg.LoginTimeout)
	defer cancel()
	var wrote atomic.Bool
	tctx = c.oauthContext(tctx, &wrote)
	tok, rerr := c.oauthConfig().Exchange(tctx, code)
	if rerr != nil {
		e := c.tokenError("token", rerr, wrote.Load())
		c.logOAuth("token", e.HTTPStatus, e.Class, time.Since(start))
		return nil, e
	}
	c.setExpiry(tok)
	c.logOAuth("token", http.StatusOK, Approved, time.Since(start))
	return tok, nil
}

// refresh runs the refresh-token grant.
func (c *Client) refresh(ctx context.Context, refreshToken string) (*oauth2.Token, *Error) {
	start := time.Now()
	tctx, cancel := context.WithTimeout(ctx, c.cfg.LoginTimeout)
	defer cancel()
	var wrote atomic.Bool
	tctx = c.oauthContext(tctx, &wrote)
	// An empty access token makes the source refresh at once.
	tok, rerr := c.oauthConfig().TokenSource(tctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
	if rerr != nil {
		e := c.tokenError("refresh", rerr, wrote.Load())
		c.logOAuth("refresh", e.HTTPStatus, e.Class, time.Since(start))
		return nil, e
	}
	c.setExpiry(tok)
	c.logOAuth("refresh", http.StatusOK, Approved, time.Since(start))
	return tok, nil
}

// setExpiry recomputes the expiry on Config.Now: x/oauth2 uses the wall clock.
func (c *Client) setExpiry(tok *oauth2.Token) {
	if tok.ExpiresIn > 0 {
		tok.Expiry = c.cfg.Now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	} else {
		tok.Expiry = time.Time{}
	}
}

func (c *Client) oauthContext(ctx context.Context, wrote *atomic.Bool) context.Context {
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteHeaders: func() { wrote.Store(true) }})
	return context.WithValue(ctx, oauth2.HTTPClient, c.http)
}

// tokenError classifies a failed token or refresh request. Only the status
// and iyzico's one-word error survive: RetrieveError's own text can carry the
// whole answer body, which is never logged.
func (c *Client) tokenError(step string, err error, wrote bool) *Error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		e := &Error{Op: step, Class: NotSent, Reason: ReasonHTTPStatus, Code: c.scrub(re.ErrorCode)}
		if re.Response != nil {
			e.HTTPStatus = re.Response.StatusCode
		}
		if e.HTTPStatus == http.StatusBadRequest || e.HTTPStatus == http.StatusUnauthorized || e.HTTPStatus == http.StatusForbidden {
			e.Class, e.Reason = AuthFailed, ReasonCredentialsRejected
			e.Message = "iyzico refused the " + step + " request; check client_id and client_secret"
		}
		return e
	}
	v := classifyTransport(err, wrote)
	return &Error{Op: step, Class: NotSent, Reason: v.reason, Err: c.safe(err)}
}

// authorize posts the credentials and returns the single-use code.
func (c *Client) authorize(ctx context.Context) (string, *Error) {
	start := time.Now()
	const op = "authorize"
	creds := c.cfg.Credentials
	req := AuthorizeRequest{
		Scope:            "iyzipayApiGateway",
		ClientID:         creds.ClientID,
		ClientSecret:     creds.ClientSecret,
		ResponseType:     "code",
		Username:         creds.Username,
		Password:         creds.Password,
		RequestTimestamp: strconv.FormatInt(c.cfg.Now().Unix(), 10),
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.LoginTimeout)
	defer cancel()
	var wrote atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{WroteHeaders: func() { wrote.Store(true) }})
	hreq, err := http.NewRequestWithContext(actx, http.MethodPost, c.cfg.BaseURL+PathAuthorize, strings.NewReader(req.Form().Encode()))
	if err != nil {
		return "", &Error{Op: op, Class: NotSent, Reason: ReasonInvalidRequest, Err: c.safe(err)}
	}
	hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hreq.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(hreq)
	if err != nil {
		v := classifyTransport(err, wrote.Load())
		c.logOAuth(op, 0, NotSent, time.Since(start))
		return "", &Error{Op: op, Class: NotSent, Reason: v.reason, Err: c.safe(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		c.logOAuth(op, resp.StatusCode, NotSent, time.Since(start))
		return "", &Error{Op: op, Class: NotSent, Reason: ReasonConnectionLost, HTTPStatus: resp.StatusCode, Err: c.safe(err)}
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		var ok AuthorizeResponse
		if json.Unmarshal(body, &ok) != nil || ok.Code == "" {
			c.logOAuth(op, resp.StatusCode, NotSent, time.Since(start))
			return "", &Error{Op: op, Class: NotSent, Reason: ReasonUnparseable, HTTPStatus: resp.StatusCode,
				Message: "the authorize answer carried no code"}
		}
		c.logOAuth(op, resp.StatusCode, Approved, time.Since(start))
		return ok.Code, nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusForbidden:
		var ae AuthorizeErrorResponse
		_ = json.Unmarshal(body, &ae)
		e := &Error{Op: op, Class: AuthFailed, Reason: ReasonCredentialsRejected, HTTPStatus: resp.StatusCode,
			Code:    c.scrub(string(ae.ErrorCode)),
			Message: "iyzico rejected the credentials; check client_id, client_secret, username and password"}
		if d := c.scrub(ae.Description); d != "" {
			e.Message += " (" + d + ")"
		}
		c.logOAuth(op, resp.StatusCode, AuthFailed, time.Since(start))
		return "", e
	default:
		c.logOAuth(op, resp.StatusCode, NotSent, time.Since(start))
		return "", &Error{Op: op, Class: NotSent, Reason: ReasonHTTPStatus, HTTPStatus: resp.StatusCode}
	}
}

func (c *Client) logOAuth(op string, status int, class Class, d time.Duration) {
	ev := c.log.Info()
	if class != Approved {
		ev = c.log.Warn()
	}
	ev.Str("op", op).Int("http_status", status).Str("class", class.String()).Dur("duration", d).Msg("upstream login step")
	reason := ReasonAnswered
	if status == 0 {
		reason = ReasonNotConnected
	}
	c.observe(CallRecord{Op: op, Class: class, HTTPStatus: status, Reason: reason, Duration: d})
}

// scrub removes every secret this client knows from s: the client secret, the
// password, the Basic credentials and the held tokens.
func (c *Client) scrub(s string) string {
	if s == "" {
		return s
	}
	creds := c.cfg.Credentials
	secrets := []string{creds.ClientSecret, creds.Password,
		base64.StdEncoding.EncodeToString([]byte(creds.ClientID + ":" + creds.ClientSecret)),
		url.QueryEscape(creds.ClientSecret), url.QueryEscape(creds.Password)}
	if h := c.held.Load(); h != nil {
		secrets = append(secrets, h.tok.AccessToken, h.tok.RefreshToken)
	}
	for _, sec := range secrets {
		if len(sec) >= 3 {
			s = strings.ReplaceAll(s, sec, masked)
		}
	}
	return s
}

// safe wraps err with a scrubbed text.
func (c *Client) safe(err error) error {
	if err == nil {
		return nil
	}
	return &safeError{msg: c.scrub(err.Error()), err: err}
}
