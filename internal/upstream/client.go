package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"
	"golang.org/x/oauth2"
)

// Client is bridged's only door to the iyzico Terminal API. Its methods are
// safe for concurrent use; Run must be running for them to get a token.
type Client struct {
	cfg  Config
	http *http.Client
	log  zerolog.Logger
	tok  *tokenOwner // the OAuth2 token: login, refresh, the held token, its health

	callMu sync.Mutex
	calls  callStatus
}

// New builds a client. tokens may be nil (a MemoryTokenStore is used, so every
// start logs in).
func New(cfg Config, tokens TokenStore) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if tokens == nil {
		tokens = NewMemoryTokenStore(nil)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Shorter than common load-balancer keep-alives, so that a request is
	// rarely written to a connection the server is closing (which would
	// make its outcome Unknown).
	tr.IdleConnTimeout = 30 * time.Second
	// One kept connection per terminal that may be waiting on iyzico at once
	// (net/http keeps 2 per host by default): otherwise concurrent lanes open
	// a new TCP and TLS connection on a sale's path (docs/benchmarks.md).
	tr.MaxIdleConnsPerHost = 64
	var rt http.RoundTripper = tr
	if cfg.WrapTransport != nil {
		rt = cfg.WrapTransport(rt)
	}
	hc := &http.Client{Transport: rt}
	if cfg.HTTPClient != nil {
		cp := *cfg.HTTPClient
		hc = &cp
	}
	// A 307/308 would make net/http send the POST again: a possible second
	// charge. Redirects are answered as they are, and classified.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &Client{cfg: cfg, http: hc, log: cfg.Logger.With().Str("component", "upstream").Logger()}
	c.tok = newTokenOwner(cfg, hc, tokens, c.log, c.observe)
	return c, nil
}

// operation describes one terminal-host endpoint.
type operation struct {
	name string // as logged, e.g. "payment", "gmu.void"
	path string
	kind kind
}

// gmu reports whether the operation is VUK 507 (its answers follow the GMU
// conventions: success/failure, errorCode "0", no errorGroup).
func (op *operation) gmu() bool { return strings.HasPrefix(op.path, "/v2/terminal-host/gmu/") }

func (c *Client) timeout(op *operation) time.Duration {
	switch op.kind {
	case kindCard:
		return c.cfg.CardTimeout
	case kindEOD:
		return c.cfg.EODTimeout
	}
	return c.cfg.QueryTimeout
}

// meta is what a call logs about its request (the allow-list), plus the
// paymentId a query asks for, which its answer must repeat.
type meta struct {
	device, ref, conv string
	pid               string // queries only; never logged
}

// answer is the outcome of one HTTP exchange.
type answer struct {
	verdict
	status int
	body   []byte
	env    *Envelope
	echo   echo
	err    error
}

// request is a typed request: it shows its head and can check itself before
// it is sent.
type request interface {
	head() head
	validate() *Error
}

// Head is what every terminal-host request starts with, embedded in each of
// them: the conversation id and the locale, filled in when empty (a new UUID;
// Config.Locale, in lower case for VUK 509 and upper case for VUK 507), the
// device, and the request's own transactionReferenceId, which the answer must
// repeat. Each is sent only when set; a request that needs one refuses its
// absence before anything is sent (validate.go).
type Head struct {
	ConversationID         string `json:"conversationId,omitempty"`
	Locale                 string `json:"locale,omitempty"`
	DeviceUniqueID         string `json:"deviceUniqueId,omitempty"`
	TransactionReferenceID string `json:"transactionReferenceId,omitempty"`
}

// head shows the request's head to send.
func (h *Head) head() head {
	return head{&h.ConversationID, &h.Locale, meta{device: h.DeviceUniqueID, ref: h.TransactionReferenceID}}
}

// head is a request's Head as a call uses it: the conversation id and locale
// the client fills in, and what the call logs about the request (meta; its
// conv is set once the id is filled in).
type head struct {
	conv, locale *string
	meta
}

// asking adds the paymentId a query asks for.
func (h head) asking(pid string) head {
	h.pid = pid
	return h
}

// fill gives the request a conversation id (a new one when empty) and its
// VUK's locale, and returns what the call logs about it.
func (h head) fill(c *Client, op *operation) meta {
	*h.conv = conversation(*h.conv)
	*h.locale = c.locale(op, *h.locale)
	h.meta.conv = *h.conv
	return h.meta
}

// locale is the request's locale, else Config.Locale: in upper case for
// VUK 507, in lower case for VUK 509.
func (c *Client) locale(op *operation, l string) string {
	if l == "" {
		l = c.cfg.Locale
	}
	if op.gmu() {
		return strings.ToUpper(l)
	}
	return strings.ToLower(l)
}

// send fills the request's head, refuses a request that fails its own checks
// (nothing reaches iyzico) and otherwise makes the call.
func send[R any](ctx context.Context, c *Client, op *operation, r request) (*R, error) {
	m := r.head().fill(c, op)
	if e := r.validate(); e != nil {
		return nil, c.refuse(op, e, m)
	}
	return call[R](ctx, c, op, m, r)
}

// call sends one terminal-host request and returns its typed answer and, when
// the class is not Approved, an *Error. At most one resend happens: when
// iyzico answered HTTP 401 (it refused the token, or ended the session) —
// the one answer given before any device is involved. A token error in any
// other answer may have followed a device action: it is Unknown, never
// resent, and the token is dropped so that the next call logs in again.
func call[R any](ctx context.Context, c *Client, op *operation, m meta, body any) (*R, error) {
	start := time.Now()
	raw, err := json.Marshal(body)
	if err != nil {
		e := &Error{Op: op.name, Class: NotSent, Reason: ReasonInvalidRequest, Err: errors.Join(ErrInvalidRequest, err)}
		c.logCall(op, m, e, time.Since(start))
		return nil, e
	}
	minLife := c.timeout(op)
	tok, terr := c.tok.token(ctx, minLife)
	if terr != nil {
		e := tokenFailure(op, terr)
		c.logCall(op, m, e, time.Since(start))
		return nil, e
	}
	sent := []*oauth2.Token{tok}
	a := c.send(ctx, op, m, tok, raw, false)
	resent := false
	if a.auth.resend() {
		c.logAttempt(op, m, &a)
		tok2, terr := c.tok.replace(ctx, tok, a.auth == authRelogin, minLife)
		if terr != nil {
			// The first answer was a 401: nothing reached a device.
			e := tokenFailure(op, terr)
			c.logCall(op, m, e, time.Since(start))
			return nil, e
		}
		sent = append(sent, tok2)
		tok = tok2
		a = c.send(ctx, op, m, tok2, raw, true)
		resent = true
		if a.auth.resend() {
			// A fresh token was refused with 401 too: sending again would not
			// help. For a read-only call nothing happened. For a card call the
			// copy's refusal proves nothing about the first attempt, were its
			// 401 not what a 401 claims (a charge then a 401): a status query
			// settles it, as for any other refusal after the resend.
			a.class = AuthFailed
			if op.kind == kindCard {
				a.class, a.reason = Unknown, ReasonRefusedAfterResend
			}
		}
	}
	if a.auth == authDrop {
		c.tok.drop(tok)
	}
	if a.reason == ReasonReferenceMismatch {
		c.log.Warn().Str("op", op.name).Str("device", m.device).Str("transactionReferenceId", m.ref).
			Str("answer_transactionReferenceId", string(a.echo.Ref)).Msg("iyzico answered about another transaction; outcome unknown")
	}

	out := decodeAnswer[R](c, op, &a)
	if a.class != Approved {
		e := c.failure(op, &a, resent, sent)
		c.logCall(op, m, e, time.Since(start))
		return out, e
	}
	c.logOK(op, m, a.status, resent, time.Since(start))
	return out, nil
}

// decodeAnswer reads the typed answer when the envelope read. A field of an
// unexpected type is ignored (and logged); an answer that does not read as
// a whole is nil, and an approval without its details (paymentId, ...) is
// not usable evidence: Unknown.
func decodeAnswer[R any](c *Client, op *operation, a *answer) *R {
	if a.env == nil {
		return nil
	}
	out := new(R)
	derr := json.Unmarshal(a.body, out)
	if derr == nil {
		return out
	}
	var te *json.UnmarshalTypeError
	if errors.As(derr, &te) {
		c.log.Warn().Str("op", op.name).Str("field", te.Field).Msg("answer field of unexpected type ignored")
		return out
	}
	if a.class == Approved {
		a.class, a.reason = Unknown, ReasonUnparseable
	}
	return nil
}

// failure is the *Error of an answer that is not Approved, iyzico's texts
// scrubbed of the tokens sent.
func (c *Client) failure(op *operation, a *answer, resent bool, sent []*oauth2.Token) *Error {
	e := &Error{Op: op.name, Class: a.class, Reason: a.reason, HTTPStatus: a.status, Resent: resent, Err: a.err}
	if a.env != nil {
		e.Code = c.tok.scrub(string(a.env.ErrorCode), sent...)
		e.Group = c.tok.scrub(a.env.ErrorGroup, sent...)
		e.Message = c.tok.scrub(a.env.ErrorMessage, sent...)
		e.ConsumerMessage = c.tok.scrub(a.env.ConsumerErrorMessage, sent...)
	}
	return e
}

func tokenFailure(op *operation, terr *Error) *Error {
	return &Error{Op: op.name, Class: terr.Class, Reason: terr.Reason, HTTPStatus: terr.HTTPStatus,
		Code: terr.Code, Message: terr.Message, Err: terr}
}

// send performs one POST with its own deadline and classifies the result.
// resent marks the one resend after a 401.
func (c *Client) send(ctx context.Context, op *operation, m meta, tok *oauth2.Token, raw []byte, resent bool) answer {
	ctx, cancel := context.WithTimeout(ctx, c.timeout(op))
	defer cancel()
	// Once any byte may have been handed to the connection, the request may
	// have reached iyzico; before that, nothing can have. Every write is
	// counted: a second one would be a copy sent by a layer below bridged.
	var writes atomic.Int32
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteHeaders: func() { writes.Add(1) }})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BaseURL+op.path, bytes.NewReader(raw))
	if err != nil {
		return answer{verdict: verdict{class: NotSent, reason: ReasonInvalidRequest}, err: c.tok.safe(err, tok)}
	}
	// Without GetBody no layer of net/http can rewind the body and send the
	// request again once it was written: Go's HTTP/2 client would otherwise
	// resend it after a stream reset with PROTOCOL_ERROR (golang/go#47635),
	// REFUSED_STREAM or GOAWAY, behind bridged's back. A request that was
	// never written may still be retried on another connection (HTTP/2's
	// errClientConnUnusable, HTTP/1's nothing-written rule), which is safe.
	// bridged's own single resend (after a 401) is the only other.
	req.GetBody = nil
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{verdict: classifyTransport(err, writes.Load() > 0), err: c.tok.safe(err, tok)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		// The status line arrived but the body did not: the request was
		// certainly received, its result is not known.
		v := classifyTransport(err, true)
		if resp.StatusCode == http.StatusUnauthorized {
			v = verdict{class: NotSent, reason: ReasonUnauthorized, auth: authRefresh}
		}
		return answer{verdict: v, status: resp.StatusCode, err: c.tok.safe(err, tok)}
	}
	a := answer{status: resp.StatusCode, body: body}
	if int64(len(body)) <= maxAnswerBytes {
		var env Envelope
		err := json.Unmarshal(body, &env)
		var te *json.UnmarshalTypeError
		if (err == nil || errors.As(err, &te)) && env.Status != "" && statusIsString(body) {
			a.env = &env
			a.echo.unreadable = json.Unmarshal(body, &a.echo) != nil
		}
	}
	a.verdict = classifyAnswer(exchange{kind: op.kind, gmu: op.gmu(), status: resp.StatusCode, env: a.env,
		echo: a.echo, ref: m.ref, pid: m.pid, resent: resent})
	if writes.Load() > 1 && op.kind == kindCard {
		// The request went out more than once: the answer may be about either
		// copy (a "reference already used" refusal of the second after the
		// first was charged), and nothing may be resent. Only a status query
		// settles it.
		a.verdict = verdict{class: Unknown, reason: ReasonWrittenTwice}
	}
	return a
}

// statusIsString reports whether the status member that decides the answer
// is a string. encoding/json reads the last member named status (in any
// case), but when that one has another type it keeps an earlier string:
// {"status":"SUCCESS","status":5} must not read as a success.
func statusIsString(body []byte) bool {
	var s struct {
		Status json.RawMessage `json:"status"`
	}
	return json.Unmarshal(body, &s) == nil && len(s.Status) > 0 && s.Status[0] == '"'
}

func (c *Client) logCall(op *operation, m meta, e *Error, d time.Duration) {
	ev := c.log.Info()
	if e.Class == Unknown || e.Class == AuthFailed {
		ev = c.log.Warn()
	}
	ev.Str("op", op.name).Str("device", m.device).Str("transactionReferenceId", m.ref).
		Str("conversationId", m.conv).Int("http_status", e.HTTPStatus).
		Str("errorCode", e.Code).Str("errorGroup", e.Group).Str("reason", string(e.Reason)).
		Bool("resent", e.Resent).Dur("duration", d).Str("class", e.Class.String()).Msg("upstream call")
	c.observe(CallRecord{Op: op.name, Device: m.device, Class: e.Class, HTTPStatus: e.HTTPStatus, Code: e.Code, Group: e.Group, Reason: e.Reason, Duration: d})
}

func (c *Client) logOK(op *operation, m meta, status int, resent bool, d time.Duration) {
	c.log.Info().Str("op", op.name).Str("device", m.device).Str("transactionReferenceId", m.ref).
		Str("conversationId", m.conv).Int("http_status", status).Bool("resent", resent).
		Dur("duration", d).Str("class", Approved.String()).Msg("upstream call")
	c.observe(CallRecord{Op: op.name, Device: m.device, Class: Approved, HTTPStatus: status, Reason: ReasonAnswered, Duration: d})
}

// logAttempt records the first attempt of a call that is about to be resent.
func (c *Client) logAttempt(op *operation, m meta, a *answer) {
	ev := c.log.Info().Str("op", op.name).Str("device", m.device).Str("transactionReferenceId", m.ref).
		Str("conversationId", m.conv).Int("http_status", a.status).Str("reason", string(a.reason)).
		Str("class", a.class.String())
	if a.env != nil {
		ev = ev.Str("errorCode", string(a.env.ErrorCode)).Str("errorGroup", a.env.ErrorGroup)
	}
	ev.Msg("upstream refused the token (HTTP 401); renewing and sending once more")
}

// conversation returns id, or a fresh one when id is empty.
func conversation(id string) string {
	if id != "" {
		return id
	}
	return uuid.NewString()
}
