package server

import (
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bridgedpos/bridged/internal/loopback"
)

// The status page lists payments, so it needs a key with the read or operate
// scope. A browser cannot sign requests or add a header, so the page offers a
// login form: the key is posted once, and the browser keeps only a session
// cookie (HttpOnly, SameSite=Strict) that this process alone knows, that
// expires, and that is honoured only from this machine (loopback). A client
// that sends a key itself (Authorization) sees the page without a session.

const (
	sessionCookie = "bridged_session"
	sessionIdle   = 30 * time.Minute
	sessionMax    = 12 * time.Hour
	maxSessions   = 1000
	maxLoginBody  = 4 << 10
)

//go:embed login.html
var loginHTML string

var loginTemplate = template.Must(template.New("login").Parse(loginHTML))

type session struct {
	name    string
	scopes  []Scope
	created time.Time
	seen    time.Time
}

// sessionStore holds the page's sessions in memory: a restart logs everyone out.
type sessionStore struct {
	mu sync.Mutex
	m  map[string]*session
}

func (st *sessionStore) create(p *principal, now time.Time) string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.m == nil {
		st.m = map[string]*session{}
	}
	if len(st.m) >= maxSessions {
		st.sweepLocked(now)
		for k := range st.m { // still full: drop any one
			if len(st.m) < maxSessions {
				break
			}
			delete(st.m, k)
		}
	}
	st.m[id] = &session{name: p.name, scopes: p.scopes, created: now, seen: now}
	return id
}

func (st *sessionStore) sweepLocked(now time.Time) {
	for k, s := range st.m {
		if s.expired(now) {
			delete(st.m, k)
		}
	}
}

func (s *session) expired(now time.Time) bool {
	return now.Sub(s.seen) > sessionIdle || now.Sub(s.created) > sessionMax
}

// lookup returns the session of id, refreshed, or nil.
func (st *sessionStore) lookup(id string, now time.Time) *session {
	st.mu.Lock()
	defer st.mu.Unlock()
	found := st.m[id] // 256 random bits: no timing can guess one
	if found == nil {
		return nil
	}
	if found.expired(now) {
		delete(st.m, id)
		return nil
	}
	found.seen = now
	return found
}

func (st *sessionStore) remove(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.m, id)
}

// pagePrincipal is who may see the status page: a key with read or operate
// in the request itself, or a live session from this machine.
func (s *server) pagePrincipal(r *http.Request) (p *principal, viaSession bool) {
	if p := principalOf(r); p != nil {
		return p, false
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || !loopback.Remote(r.RemoteAddr) {
		return nil, false
	}
	sess := s.sessions.lookup(c.Value, s.now())
	if sess == nil {
		return nil, false
	}
	return &principal{name: sess.name, scopes: sess.scopes}, true
}

// handleLogin checks the posted key: with read or operate, it opens a
// session and sends the browser to the page; otherwise the form again.
func (s *server) handleLogin(w http.ResponseWriter, r *http.Request) error {
	if !loopback.Remote(r.RemoteAddr) {
		return errLoginRemote
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return errLoginMediaType
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
	if err := r.ParseForm(); err != nil {
		s.writeLogin(w, r, http.StatusBadRequest, "The form could not be read.")
		return nil
	}
	key := strings.TrimSpace(r.PostForm.Get("key"))
	p := s.matchKey([]byte(key))
	switch {
	case p == nil:
		if !s.loginFailed(w, r, "the key of the status page's login matches no key in api.keys") {
			return nil
		}
		s.writeLogin(w, r, http.StatusUnauthorized, "That key is not one of bridged's API keys.")
		return nil
	case !p.has(ScopeRead, ScopeOperate):
		if !s.loginFailed(w, r, "the key "+p.name+" logged in to the status page lacks the read and operate scopes") {
			return nil
		}
		s.writeLogin(w, r, http.StatusForbidden, "Key "+p.name+" may not see the status page: it needs the read or operate scope.")
		return nil
	}
	id := s.sessions.create(p, s.now())
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", MaxAge: int(sessionMax / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode})
	s.log.Info().Str("key_name", p.name).Str("remote", remoteIP(r.RemoteAddr)).Msg("status page login")
	toPage(w, r)
	return nil
}

// toPage ends a login or logout: a browser goes to the page (303), any
// other client gets 204.
func toPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !acceptsHTML(r) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// acceptsHTML: a browser (its Accept names text/html). Other clients get
// problem documents, like everywhere else in the API.
func acceptsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// loginFailed counts a failed login like any failed key check; false when
// the answer (429) is already written.
func (s *server) loginFailed(w http.ResponseWriter, r *http.Request, reason string) bool {
	src := remoteIP(r.RemoteAddr)
	ok, _, suppressed := s.failures.fail(src, s.now())
	if !ok {
		if suppressed == 1 {
			s.log.Warn().Str("remote", src).Msg("too many failed key checks from this source: answering 429 and logging no more of them for now")
		}
		w.Header().Set("Retry-After", "5")
		s.writeLogin(w, r, http.StatusTooManyRequests, "Too many failed attempts: wait a few seconds.")
		return false
	}
	s.log.Warn().Str("remote", src).Str("path", r.URL.Path).Str("reason", reason).Str("request_id", requestIDOf(r)).Msg("API key check failed")
	return true
}

// handleLogout ends the session and clears the cookie.
func (s *server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.remove(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	toPage(w, r)
}

// writeLogin answers the login form to a browser, a problem document to
// any other client; neither shows anything of bridged's state.
func (s *server) writeLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if !acceptsHTML(r) {
		code, detail := "unauthorized", "the status page needs a key with the read or operate scope (Authorization), or a browser's login"
		switch status {
		case http.StatusBadRequest:
			code = "invalid_request"
		case http.StatusForbidden:
			code = "forbidden_scope"
		case http.StatusTooManyRequests:
			code = "too_many_failures"
		}
		if msg != "" {
			detail = msg
		}
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bridged"`)
		}
		writeProblem(w, r, status, code, http.StatusText(status), detail)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	setPageSecurityHeaders(h)
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="bridged"`)
	}
	w.WriteHeader(status)
	_ = loginTemplate.Execute(w, map[string]any{"Error": msg, "Hours": int(sessionMax / time.Hour), "IdleMinutes": int(sessionIdle / time.Minute)})
}

// setPageSecurityHeaders: no framing, no sniffing, no script, forms only to
// this origin, no referrer to any other site. (same-origin, not no-referrer:
// under no-referrer browsers post the page's own forms with Origin: null,
// which the origin guard must refuse.)
func setPageSecurityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
}
