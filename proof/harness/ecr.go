package harness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// ECR is a cash register's client of the local API: it sends money calls
// with an idempotency key, and every answer it gets is written to the
// capture (answers.jsonl) for the secret scan.
type ECR struct {
	Base    string // http://host:port
	Key     string
	HTTP    *http.Client
	Capture *Capture
	T       testing.TB
}

// NewECR is an ECR for the daemon at addr, with an HTTP timeout of timeout.
func NewECR(t testing.TB, addr, key string, capture *Capture, timeout time.Duration) *ECR {
	return &ECR{Base: "http://" + addr, Key: key, Capture: capture, T: t,
		HTTP: &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}}
}

// Answer is what the ECR got back: an HTTP answer, or Err when it got none
// (connection refused or cut, its own timeout).
type Answer struct {
	HTTP        int
	Status      string // the payment's status, or "" for a problem
	Code        string // a problem's code
	ID          string
	PaymentID   string `json:"payment_id"`
	SafeToRetry bool   `json:"safe_to_retry"`
	TxRef       string `json:"transaction_reference_id"`
	Replayed    bool
	Raw         []byte // the body
	Err         error
}

// Refused reports whether the answer is a refusal that asking again will
// not change (a 4xx other than a busy or blocked terminal).
func (a Answer) Refused() bool {
	return a.Err == nil && a.HTTP >= 400 && a.HTTP < 500 && a.Code != "terminal_busy" && a.Code != "terminal_blocked"
}

// Final reports whether the answer is a final payment status.
func (a Answer) Final() bool { return a.Status == "approved" || a.Status == "declined" }

func (a Answer) String() string {
	if a.Err != nil {
		return "no answer: " + a.Err.Error()
	}
	if a.Status == "" {
		return fmt.Sprintf("%d %s", a.HTTP, a.Code)
	}
	return fmt.Sprintf("%d %s", a.HTTP, a.Status)
}

// Do sends one call. key is the Idempotency-Key ("" for none); wait, when
// positive, is sent as Prefer: wait=N (seconds).
func (e *ECR) Do(method, path, key string, body any, wait int) Answer {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.T.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.Base+path, rd)
	if err != nil {
		e.T.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.Key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if wait > 0 {
		req.Header.Set("Prefer", "wait="+strconv.Itoa(wait))
	}
	start := time.Now()
	resp, err := e.HTTP.Do(req)
	if err != nil {
		e.record(method, path, key, 0, nil, err, start)
		return Answer{Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.record(method, path, key, resp.StatusCode, raw, err, start)
		return Answer{Err: err}
	}
	e.record(method, path, key, resp.StatusCode, raw, nil, start)
	a := Answer{HTTP: resp.StatusCode, Replayed: resp.Header.Get("Idempotent-Replayed") == "true", Raw: raw}
	var v struct {
		Status      json.RawMessage `json:"status"`
		Code        string          `json:"code"`
		ID          string          `json:"id"`
		PaymentID   string          `json:"payment_id"`
		SafeToRetry bool            `json:"safe_to_retry"`
		TxRef       string          `json:"transaction_reference_id"`
	}
	if json.Unmarshal(raw, &v) == nil {
		_ = json.Unmarshal(v.Status, &a.Status) // a number (problem) leaves it ""
		a.Code, a.ID, a.PaymentID, a.SafeToRetry, a.TxRef = v.Code, v.ID, v.PaymentID, v.SafeToRetry, v.TxRef
	}
	return a
}

func (e *ECR) record(method, path, key string, status int, body []byte, err error, start time.Time) {
	if e.Capture == nil {
		return
	}
	rec := map[string]any{"at": start.UTC().Format(time.RFC3339Nano), "method": method, "path": path,
		"key": key, "http": status, "ms": time.Since(start).Milliseconds()}
	if err != nil {
		rec["error"] = err.Error()
	}
	if json.Valid(body) {
		rec["body"] = json.RawMessage(body)
	} else if len(body) > 0 {
		rec["body_text"] = string(body)
	}
	b, _ := json.Marshal(rec)
	e.Capture.Append(e.T, "answers.jsonl", string(b))
}

// UntilFinal sends the same call with the same key, with Prefer: wait=wait,
// until the answer is final, gone is closed (the daemon died; nil never is),
// or budget is spent. Between answers that came at once (409 busy, 503, a
// refused connection) it pauses 200 ms, as an ECR would before trying again.
func (e *ECR) UntilFinal(path, key string, body map[string]any, wait int, budget time.Duration, gone <-chan struct{}) []Answer {
	var out []Answer
	for deadline := time.Now().Add(budget); time.Now().Before(deadline); {
		began := time.Now()
		a := e.Do("POST", path, key, body, wait)
		out = append(out, a)
		if a.Final() || a.Refused() {
			return out
		}
		pause := time.Duration(0)
		if time.Since(began) < 200*time.Millisecond {
			pause = 200 * time.Millisecond
		}
		select {
		case <-gone:
			return out
		case <-time.After(pause):
		}
	}
	return out
}
