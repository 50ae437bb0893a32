package server

import (
	"context"
	"time"

	"github.com/bridgedpos/bridged/internal/loopback"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"strings"
)

type ctxKey int

const (
	ctxRequestID ctxKey = iota
	ctxClient
	ctxPreference
)

// requestID gives every request an id, echoed in X-Request-Id. A well-formed
// id from the client is kept so the ECR can correlate its own logs.
func (s *server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxRequestID, id)))
	})
}

// newRequestID is 16 random hex digits, never all decimal: sixteen decimal
// digits look like a card number (one in ten passes Luhn), and bridged's
// logs and answers must never carry anything a card scanner flags. About
// one draw in 1,900 is all decimal and is drawn again.
func newRequestID() string {
	for {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		if strings.ContainsAny(id, "abcdef") {
			return id
		}
	}
}

// measure records every request by its route pattern and status.
func (s *server) measure(next http.Handler) http.Handler {
	if s.metrics == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route := ""
		if rc := chi.RouteContext(r.Context()); rc != nil {
			route = rc.RoutePattern()
		}
		s.metrics.HTTPRequest(route, r.Method, ww.Status(), time.Since(start))
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func (s *server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error().Interface("panic", v).Str("path", r.URL.Path).Msg("handler panicked")
				writeProblem(w, r, http.StatusInternalServerError, "internal_error", "Internal error", "bridged failed to handle the request; see its log")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// guardHostOrigin refuses a foreign Host (DNS rebinding: a web page that makes
// evil.example resolve to 127.0.0.1) and any browser Origin not allowed, so no
// web page can drive a payment. No CORS header is ever sent.
func (s *server) guardHostOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hostAllowed(r.Host) {
			writeProblem(w, r, http.StatusForbidden, "forbidden_host", "Host not allowed",
				"the Host header must name this machine's loopback address or a configured api.allowed_hosts name")
			return
		}
		if o, ok := r.Header["Origin"]; ok && (len(o) != 1 || !(s.origin[o[0]] || sameOrigin(o[0], r.Host))) {
			writeProblem(w, r, http.StatusForbidden, "forbidden_origin", "Origin not allowed",
				"requests from web pages are refused; configure api.allowed_origins to allow one")
			return
		}
		// A browser that says where a request comes from: another site is always
		// refused, the same site (another port of this machine) only with an
		// allowed Origin, which browsers send with every such POST anyway.
		switch sfs := r.Header.Get("Sec-Fetch-Site"); {
		case sfs == "cross-site", sfs == "same-site" && r.Header.Get("Origin") == "":
			writeProblem(w, r, http.StatusForbidden, "forbidden_origin", "Cross-site request refused",
				"requests from web pages are refused")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sameOrigin: a form of bridged's own status page posts with the page's
// origin, http://<the Host it was loaded from>. The Host passed the guard,
// so that origin is this machine's bridged.
func sameOrigin(origin, host string) bool {
	return host != "" && strings.EqualFold(origin, "http://"+host)
}

func (s *server) hostAllowed(hostport string) bool {
	host := hostport
	if h, port, err := net.SplitHostPort(hostport); err == nil {
		// SplitHostPort takes any port text: "localhost:80.evil.example" must
		// not pass as localhost.
		if !validPort(port) {
			return false
		}
		host = h
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	return loopback.Host(host) || s.hosts[host]
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func requestIDOf(r *http.Request) string {
	s, _ := r.Context().Value(ctxRequestID).(string)
	return s
}

func hostSet(hosts []string) map[string]bool {
	m := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		m[strings.ToLower(h)] = true
	}
	return m
}

func stringSet(v []string) map[string]bool {
	m := make(map[string]bool, len(v))
	for _, s := range v {
		m[s] = true
	}
	return m
}
