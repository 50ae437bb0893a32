package server

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bridgedpos/bridged/internal/apiauth"
)

// Scope is what an API key may call (api.keys[].scopes).
type Scope string

// The scopes; configs/bridged.example.yaml and docs/api.md describe them.
const (
	// ScopePayments: money calls and the reads of /v1 (the ECR's key).
	ScopePayments Scope = "payments"
	// ScopeRead: the status page, /metrics, /openapi.yaml, detailed
	// readiness, and every read of /v1.
	ScopeRead Scope = "read"
	// ScopeOperate: operator actions (resolve, end of day, settling an
	// unknown outcome) and every read.
	ScopeOperate Scope = "operate"
)

// principal is who a request authenticated as.
type principal struct {
	name   string
	key    []byte
	scopes []Scope
	// signature is the request's own signature when it was signed; the
	// answer is then signed over it.
	signature string
}

func (p *principal) has(scopes ...Scope) bool {
	for _, want := range scopes {
		for _, s := range p.scopes {
			if s == want {
				return true
			}
		}
	}
	return false
}

func scopeList(scopes []Scope) string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = string(s)
	}
	return strings.Join(out, " or ")
}

// principalOf is the request's principal, nil when it presented no key.
func principalOf(r *http.Request) *principal {
	p, _ := r.Context().Value(ctxClient).(*principal)
	return p
}

// identify authenticates a request that carries an Authorization header, by
// Bearer key or by signature (internal/apiauth), and puts the principal in
// the context; a request without one goes on keyless and each route decides
// (see require). A header that does not authenticate is a 401 on every
// route, never a silent downgrade to keyless.
func (s *server) identify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			if conn := connOf(r); conn != nil && conn.reserved() {
				// The connection was let in on the reserve, which keeps room
				// for clients with a key.
				w.Header().Set("Connection", "close")
				w.Header().Set("Retry-After", "1")
				writeProblem(w, r, http.StatusServiceUnavailable, "over_capacity", "Too many connections",
					"bridged holds its last connections for clients with an API key; try again shortly")
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		var p *principal
		var name, reason string
		if apiauth.IsSigned(h) {
			var tooLarge bool
			p, name, reason, tooLarge = s.verifySigned(w, r)
			if tooLarge {
				writeProblem(w, r, http.StatusRequestEntityTooLarge, "payload_too_large", "Request body too large", "the body must be at most 64 KiB")
				return
			}
		} else if token, ok := bearer(h); ok {
			if p = s.matchKey([]byte(token)); p == nil {
				reason = "the Bearer key matches no key in api.keys"
			}
		} else {
			reason = "the Authorization scheme is neither Bearer nor " + apiauth.Scheme
		}
		if p == nil {
			s.authFailed(w, r, name, reason)
			return
		}
		if conn := connOf(r); conn != nil {
			conn.markKeyed()
		}
		ctx := context.WithValue(r.Context(), ctxClient, p)
		if p.signature == "" {
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		sw := &signingWriter{w: w, key: p.key, requestSignature: p.signature}
		next.ServeHTTP(sw, r.WithContext(ctx))
		sw.finish()
	})
}

// require lets a request through when it authenticated with a key that has
// one of scopes: 401 without a key, 403 forbidden_scope with another key. It
// is the one place a route states who may call it:
//
//	r.With(s.require(ScopeOperate)).Post("/payments/{id}/settle", s.handleSettle)
func (s *server) require(scopes ...Scope) func(http.Handler) http.Handler {
	need := scopeList(scopes)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := principalOf(r)
			if p == nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="bridged"`)
				writeProblem(w, r, http.StatusUnauthorized, "unauthorized", "API key required",
					"send Authorization: Bearer <key>, or sign the request ("+apiauth.Scheme+"), with a key from api.keys that has the scope "+need)
				return
			}
			if !p.has(scopes...) {
				writeProblem(w, r, http.StatusForbidden, "forbidden_scope", "Scope "+need+" required",
					"this call needs a key with the scope "+need+"; key "+p.name+" has "+scopeList(p.scopes)+" (api.keys[].scopes)")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// matchKey compares token in constant time against every configured key,
// whatever matched first, so that timing says nothing about which one.
func (s *server) matchKey(token []byte) *principal {
	var found *principal
	for i := range s.keys {
		k := &s.keys[i]
		if subtle.ConstantTimeCompare(token, k.Key) == 1 {
			found = &principal{name: k.Name, key: k.Key, scopes: k.Scopes}
		}
	}
	return found
}

// verifySigned checks a signed request: the key it names, the timestamp's
// window, the body's hash, the signature, and that the nonce is new. It
// reads the body (at most maxBody) and puts it back for the handler; a
// longer body is tooLarge, whatever the signature.
func (s *server) verifySigned(w http.ResponseWriter, r *http.Request) (p *principal, name, reason string, tooLarge bool) {
	params, err := apiauth.Parse(r.Header.Get("Authorization"))
	if err != nil {
		return nil, "", "malformed " + apiauth.Scheme + " header: " + err.Error(), false
	}
	var key *Key
	for i := range s.keys {
		if s.keys[i].Name == params.Key {
			key = &s.keys[i]
		}
	}
	if key == nil {
		return nil, params.Key, "the signature names a key that api.keys does not have", false
	}
	now := s.now()
	if skew := now.Sub(time.Unix(params.Timestamp, 0)); skew > apiauth.Window || skew < -apiauth.Window {
		return nil, params.Key, "the Timestamp is " + skew.Round(time.Second).String() + " away from this machine's clock (at most " +
			apiauth.Window.String() + " is accepted)", false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, params.Key, "", true
		}
		return nil, params.Key, "the body could not be read", false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	want := apiauth.MAC(key.Key, apiauth.StringToSign(params.Timestamp, params.Nonce, r.Method, requestTarget(r), apiauth.BodyHash(body)))
	if !apiauth.Equal(want, params.Signature) {
		return nil, params.Key, "the signature does not match the request (method, path and query, body, Timestamp, Nonce) under that key", false
	}
	if !s.nonces.add(params.Key+"\x00"+params.Nonce, now) {
		return nil, params.Key, "the Nonce was used before: a replayed request", false
	}
	return &principal{name: key.Name, key: key.Key, scopes: key.Scopes, signature: params.Signature}, params.Key, "", false
}

// authFailed answers a request whose key did not check out: 401, or 429 once
// its source has failed too often. Each failure is logged with its reason,
// the source and the key's name when the request named one, never with the
// key or signature offered; a throttled source is logged once, then counted.
func (s *server) authFailed(w http.ResponseWriter, r *http.Request, name, reason string) {
	src := remoteIP(r.RemoteAddr)
	ok, wait, suppressed := s.failures.fail(src, s.now())
	if !ok {
		if suppressed == 1 {
			s.log.Warn().Str("remote", src).Str("path", r.URL.Path).Str("request_id", requestIDOf(r)).
				Msg("too many failed key checks from this source: answering 429 and logging no more of them for now")
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
		writeProblem(w, r, http.StatusTooManyRequests, "too_many_failures", "Too many failed key checks",
			"this source sent too many requests with a key that does not check out; wait Retry-After seconds")
		return
	}
	ev := s.log.Warn().Str("remote", src).Str("path", r.URL.Path).Str("reason", reason).Str("request_id", requestIDOf(r))
	if name != "" {
		ev = ev.Str("key_name", name)
	}
	if suppressed > 0 {
		ev = ev.Int("throttled_before", suppressed)
	}
	ev.Msg("API key check failed")
	if apiauth.IsSigned(r.Header.Get("Authorization")) {
		w.Header().Set("WWW-Authenticate", apiauth.Scheme+` realm="bridged"`)
	} else {
		w.Header().Set("WWW-Authenticate", `Bearer realm="bridged", error="invalid_token"`)
	}
	writeProblem(w, r, http.StatusUnauthorized, "unauthorized", "API key not valid", reason)
}

// requestTarget is the path and query as the request line sent them.
func requestTarget(r *http.Request) string {
	if strings.HasPrefix(r.RequestURI, "/") {
		return r.RequestURI
	}
	return r.URL.RequestURI() // an absolute-form request line
}

func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// signingWriter holds an answer to a signed request until it is complete,
// then sends it with its Bridged-Signature. A handler that flushes (the event
// stream) makes it send the header at once, signed over the empty body.
type signingWriter struct {
	w                http.ResponseWriter
	key              []byte
	requestSignature string
	status           int
	buf              bytes.Buffer
	streaming        bool
}

func (sw *signingWriter) Header() http.Header { return sw.w.Header() }

func (sw *signingWriter) WriteHeader(code int) {
	if sw.status == 0 {
		sw.status = code
	}
}

func (sw *signingWriter) Write(b []byte) (int, error) {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	if sw.streaming {
		return sw.w.Write(b)
	}
	return sw.buf.Write(b)
}

// Flush starts streaming: the signature covers the status and no body.
func (sw *signingWriter) Flush() {
	if !sw.streaming {
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		sw.streaming = true
		sw.w.Header().Set(apiauth.ResponseHeader, apiauth.ResponseSignature(sw.key, sw.status, nil, sw.requestSignature))
		sw.w.WriteHeader(sw.status)
		if sw.buf.Len() > 0 {
			_, _ = sw.w.Write(sw.buf.Bytes())
			sw.buf.Reset()
		}
	}
	if f, ok := sw.w.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection (write deadlines).
func (sw *signingWriter) Unwrap() http.ResponseWriter { return sw.w }

func (sw *signingWriter) finish() {
	if sw.streaming {
		return
	}
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	sw.w.Header().Set(apiauth.ResponseHeader, apiauth.ResponseSignature(sw.key, sw.status, sw.buf.Bytes(), sw.requestSignature))
	sw.w.WriteHeader(sw.status)
	_, _ = sw.w.Write(sw.buf.Bytes())
}

// nonceCache remembers the nonces of signed requests for twice the window,
// so that none is accepted twice while its timestamp is still valid. Only a
// request whose signature checked out adds to it.
type nonceCache struct {
	mu        sync.Mutex
	seen      map[string]time.Time // nonce -> when it may be forgotten
	lastSweep time.Time
}

func (c *nonceCache) add(nonce string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]time.Time{}
	}
	if len(c.seen) > 1024 && now.Sub(c.lastSweep) > time.Second {
		for k, until := range c.seen {
			if now.After(until) {
				delete(c.seen, k)
			}
		}
		c.lastSweep = now
	}
	if until, ok := c.seen[nonce]; ok && !now.After(until) {
		return false
	}
	c.seen[nonce] = now.Add(2 * apiauth.Window)
	return true
}

// failureLimiter allows each source a burst of failed key checks, refilled
// at a steady rate; beyond it the failures are answered 429 and not logged
// one by one. A correct key is never refused: every local program shares the
// loopback address, and a throttle that refused the ECR's own key would let
// any of them lock the till out.
type failureLimiter struct {
	mu      sync.Mutex
	sources map[string]*failureBucket
	burst   float64
	every   time.Duration // one more failure allowed per this interval
}

type failureBucket struct {
	tokens     float64
	last       time.Time
	suppressed int
}

const maxFailureSources = 10000

// fail records a failure from src. ok: answer 401 and log it (suppressed is
// how many were throttled since the last logged one); otherwise answer 429
// after wait (suppressed counts this one).
func (l *failureLimiter) fail(src string, now time.Time) (ok bool, wait time.Duration, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sources == nil {
		l.sources = map[string]*failureBucket{}
	}
	b := l.sources[src]
	if b == nil {
		if len(l.sources) >= maxFailureSources {
			for k, v := range l.sources {
				if now.Sub(v.last) > 10*time.Minute {
					delete(l.sources, k)
				}
			}
		}
		b = &failureBucket{tokens: l.burst, last: now}
		l.sources[src] = b
	}
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.last))/float64(l.every))
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		suppressed, b.suppressed = b.suppressed, 0
		return true, 0, suppressed
	}
	b.suppressed++
	return false, time.Duration((1 - b.tokens) * float64(l.every)), b.suppressed
}
