package main

import (
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

	"github.com/bridgedpos/bridged/internal/config"
)

// apiClient is the operator verbs' door to a running daemon: the same local
// API the ECR uses, with a key from the config.
type apiClient struct {
	base string
	key  string
	http *http.Client
}

func newAPIClient(cfg *config.Config) *apiClient {
	host, port, _ := net.SplitHostPort(cfg.Listen)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	key := ""
	for _, k := range cfg.API.Keys {
		if key == "" || k.Name == config.EnvAPIKeyName {
			key = k.Key.Reveal()
		}
	}
	return &apiClient{base: "http://" + net.JoinHostPort(host, port), key: key, http: &http.Client{Timeout: 30 * time.Second}}
}

// errNotRunning means nothing answers on the configured listen address.
var errNotRunning = errors.New("bridged is not running (nothing answers on its listen address)")

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

// do sends a request and decodes a JSON answer into out (when not nil).
// Any status but 2xx is an *apiError.
func (c *apiClient) do(ctx context.Context, method, path string, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return 0, err
	}
	if strings.HasPrefix(path, "/v1/") {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var opErr *net.OpError
		if errors.As(err, &opErr) && opErr.Op == "dial" {
			return 0, errNotRunning
		}
		return 0, fmt.Errorf("ask bridged at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 && !(path == "/readyz" && resp.StatusCode == http.StatusServiceUnavailable) {
		var p struct{ Code, Detail string }
		_ = json.Unmarshal(body, &p)
		return resp.StatusCode, &apiError{Status: resp.StatusCode, Code: p.Code, Detail: p.Detail}
	}
	if out != nil {
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.UseNumber()
		if err := dec.Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("read bridged's answer: %w", err)
		}
	}
	return resp.StatusCode, nil
}

// txRecord is a payment as the API shows it; the CLI keeps it as JSON so
// that every field the daemon adds reaches the export unchanged.
type txRecord map[string]any

func (t txRecord) s(k string) string {
	switch v := t[k].(type) {
	case string:
		return v
	case nil:
		return ""
	case json.Number:
		return v.String()
	case bool:
		return fmt.Sprint(v)
	case map[string]any:
		b, _ := json.Marshal(v)
		return string(b)
	}
	return fmt.Sprint(t[k])
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
func (c *apiClient) list(ctx context.Context, q listQuery, max int, fn func(txRecord) error) error {
	cursor, seen := "", 0
	for {
		var page struct {
			Items      []txRecord `json:"items"`
			NextCursor string     `json:"next_cursor"`
		}
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
