package opscli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bridgedpos/bridged/internal/apiauth"
	"github.com/bridgedpos/bridged/internal/apitype"
	"github.com/bridgedpos/bridged/internal/config"
	"github.com/bridgedpos/bridged/internal/safetext"
)

// apiClient is the operator verbs' door to a running daemon: the same local
// API the ECR uses, with the keys of the config. Every request is signed
// (internal/apiauth), so the key never travels, and every answer must carry
// a valid Bridged-Signature: a program squatting on the port while bridged is
// down learns no key and cannot pass a made-up answer off as bridged's.
type apiClient struct {
	base string
	keys []config.APIKey // the env key first, then the config's order
	http *http.Client
	now  func() time.Time
}

func newAPIClient(cfg *config.Config) *apiClient {
	host, port, _ := net.SplitHostPort(cfg.Listen)
	if host == "" || host == "0.0.0.0" || host == "::" || strings.EqualFold(host, "localhost") {
		host = "127.0.0.1"
	}
	var keys []config.APIKey
	for _, k := range cfg.API.Keys {
		if k.Name == config.EnvAPIKeyName {
			keys = append([]config.APIKey{k}, keys...)
		} else {
			keys = append(keys, k)
		}
	}
	// A transport of its own: no proxy (bridged is on this machine), and no
	// idle connection shared with another client, whose daemon may have
	// stopped since (a POST on such a connection fails instead of dialing).
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	return &apiClient{base: "http://" + net.JoinHostPort(host, port), keys: keys, now: time.Now,
		http: &http.Client{Timeout: 30 * time.Second, Transport: tr,
			// bridged never redirects; a redirect would come from someone else.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// errNotRunning means nothing answers on the configured listen address.
var errNotRunning = errors.New("bridged is not running (nothing answers on its listen address)")

// errUntrusted is an answer that bridged did not sign for this request.
var errUntrusted = errors.New("the answer is not bridged's")

// apiError is a problem document from the daemon.
type apiError struct {
	Status int
	Code   string
	Detail string
}

func (e *apiError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Detail)
	}
	return fmt.Sprintf("HTTP %d %s", e.Status, e.Code)
}

// keyFor picks the key for a request: the one with the most fitting scope
// (read or operate to read, operate for operator actions, payments for money),
// or the first key when none fits (the daemon then says which scope is needed).
func (c *apiClient) keyFor(method, path string) (config.APIKey, error) {
	if len(c.keys) == 0 {
		return config.APIKey{}, errors.New("the config has no API key to sign with")
	}
	var prefer []string
	switch {
	case method == http.MethodGet && !strings.HasPrefix(path, "/v1/admin/"):
		prefer = []string{config.ScopeRead, config.ScopeOperate, config.ScopePayments}
	case strings.HasPrefix(path, "/v1/admin/") || strings.HasSuffix(path, "/settle") || strings.HasSuffix(path, "/acknowledge-conflict"):
		prefer = []string{config.ScopeOperate}
	case strings.HasSuffix(path, "/resolve") || strings.HasSuffix(path, "/end-of-day"):
		prefer = []string{config.ScopeOperate, config.ScopePayments}
	default:
		prefer = []string{config.ScopePayments}
	}
	for _, scope := range prefer {
		for _, k := range c.keys {
			if k.HasScope(scope) {
				return k, nil
			}
		}
	}
	return c.keys[0], nil
}

// do sends a request without a body; see send.
func (c *apiClient) do(ctx context.Context, method, path string, out any) (int, error) {
	return c.send(ctx, method, path, nil, out)
}

// send makes one signed request, with body as its JSON body when not nil,
// checks the answer's signature, and decodes a JSON answer into out (when
// not nil). Any status but 2xx is an *apiError (a 503 of /readyz is an
// answer). An answer without a valid signature is errUntrusted, whatever it
// says.
func (c *apiClient) send(ctx context.Context, method, path string, body []byte, out any) (int, error) {
	key, err := c.keyFor(method, path)
	if err != nil {
		return 0, err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	params := apiauth.Sign(key.Name, []byte(key.Key.Reveal()), c.now(), method, req.URL.RequestURI(), body)
	req.Header.Set("Authorization", params.Header())
	resp, err := c.http.Do(req)
	if err != nil {
		var opErr *net.OpError
		if errors.As(err, &opErr) && opErr.Op == "dial" {
			return 0, errNotRunning
		}
		return 0, fmt.Errorf("ask bridged at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	got := resp.Header.Get(apiauth.ResponseHeader)
	if got == "" || !apiauth.Equal(got, apiauth.ResponseSignature([]byte(key.Key.Reveal()), resp.StatusCode, raw, params.Signature)) {
		if got == "" && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusTooManyRequests) {
			// bridged signs no answer to a request it could not
			// authenticate: say what it said, marked as unsigned.
			var p apitype.Problem
			_ = json.Unmarshal(raw, &p)
			return resp.StatusCode, fmt.Errorf("the request was refused with an unsigned answer (HTTP %d %s: %s): check that key %s of the config is the daemon's",
				resp.StatusCode, safetext.Escape(p.Code), safetext.Escape(p.Detail), key.Name)
		}
		what := "is not signed"
		if got != "" {
			what = "carries a signature that does not match"
		}
		return resp.StatusCode, fmt.Errorf("%w: the answer from %s %s (HTTP %d); another program may hold bridged's port: "+
			"see who listens there (ss -ltnp on Linux, Get-NetTCPConnection -State Listen on Windows)", errUntrusted, c.base, what, resp.StatusCode)
	}
	if resp.StatusCode/100 != 2 && !(path == "/readyz" && resp.StatusCode == http.StatusServiceUnavailable) {
		var p apitype.Problem
		_ = json.Unmarshal(raw, &p)
		return resp.StatusCode, &apiError{Status: resp.StatusCode, Code: safetext.Escape(p.Code), Detail: safetext.Escape(p.Detail)}
	}
	if out != nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("read bridged's answer: %w", err)
		}
	}
	return resp.StatusCode, nil
}

// stream makes one signed request whose answer is streamed (a backup) into
// w. bridged signs a streamed answer's status, not its body, and the
// signature is checked before the first byte is written.
func (c *apiClient) stream(ctx context.Context, method, path string, w io.Writer) error {
	key, err := c.keyFor(method, path)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return err
	}
	params := apiauth.Sign(key.Name, []byte(key.Key.Reveal()), c.now(), method, req.URL.RequestURI(), nil)
	req.Header.Set("Authorization", params.Header())
	resp, err := (&http.Client{Transport: c.http.Transport}).Do(req) // no overall timeout: a journal may be big
	if err != nil {
		var opErr *net.OpError
		if errors.As(err, &opErr) && opErr.Op == "dial" {
			return errNotRunning
		}
		return fmt.Errorf("ask bridged at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if got := resp.Header.Get(apiauth.ResponseHeader); got == "" ||
			!apiauth.Equal(got, apiauth.ResponseSignature([]byte(key.Key.Reveal()), resp.StatusCode, raw, params.Signature)) {
			return fmt.Errorf("%w: HTTP %d from %s without bridged's signature", errUntrusted, resp.StatusCode, c.base)
		}
		var p apitype.Problem
		_ = json.Unmarshal(raw, &p)
		return &apiError{Status: resp.StatusCode, Code: safetext.Escape(p.Code), Detail: safetext.Escape(p.Detail)}
	}
	if got := resp.Header.Get(apiauth.ResponseHeader); got == "" ||
		!apiauth.Equal(got, apiauth.ResponseSignature([]byte(key.Key.Reveal()), resp.StatusCode, nil, params.Signature)) {
		return fmt.Errorf("%w: the stream from %s is not signed by bridged; another program may hold bridged's port", errUntrusted, c.base)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

// listQuery is a payments filter for the API.
type listQuery struct {
	Status, Terminal, Reference string
	From, To                    time.Time
	Limit                       int
}

func (q listQuery) values(cursor string) string {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("status", q.Status)
	set("terminal", q.Terminal)
	set("reference", q.Reference)
	set("cursor", cursor)
	if !q.From.IsZero() {
		v.Set("from", q.From.UTC().Format(time.RFC3339))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.UTC().Format(time.RFC3339))
	}
	if q.Limit > 0 {
		v.Set("limit", fmt.Sprint(q.Limit))
	}
	return v.Encode()
}

// list pages through GET /v1/payments, calling fn for each record, until
// max records (0: all) have been seen.
func (c *apiClient) list(ctx context.Context, q listQuery, max int, fn func(apitype.Payment) error) error {
	cursor, seen := "", 0
	for {
		var page apitype.PaymentList
		if _, err := c.do(ctx, http.MethodGet, "/v1/payments?"+q.values(cursor), &page); err != nil {
			return err
		}
		for _, it := range page.Items {
			if max > 0 && seen >= max {
				return nil
			}
			if err := fn(it); err != nil {
				return err
			}
			seen++
		}
		if page.NextCursor == "" {
			return nil
		}
		cursor = page.NextCursor
	}
}
