package harness

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
)

// TestEdge checks the edge against Go's own HTTP/2 client, set up as
// bridged's upstream client is (a clone of the default transport): it
// speaks HTTP/2 over TLS, forwards requests and answers, and its faults do
// what they say, including the one that makes Go's client re-send a
// request that was already processed.
func TestEdge(t *testing.T) {
	var seen atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := seen.Add(1)
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Seen", strings.Repeat("I", int(n)))
		_, _ = w.Write(append([]byte(r.URL.Path+" "), bytes.Repeat(b, 4000)...)) // larger than a frame
	}))
	defer up.Close()
	e := StartEdge(t, up.URL, t.TempDir())
	pem, err := os.ReadFile(e.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	hc := &http.Client{Transport: tr}
	post := func(path string) (*http.Response, string, error) {
		resp, err := hc.Post(e.URL+path, "application/json", bytes.NewReader([]byte("x")))
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, string(b), err
	}

	resp, body, err := post("/v2/terminal-host/payment")
	if err != nil || resp.Proto != "HTTP/2.0" || resp.StatusCode != 200 || body != "/v2/terminal-host/payment "+strings.Repeat("x", 4000) {
		t.Fatalf("plain request: %v %v %q", resp, err, body[:min(len(body), 60)])
	}

	seen.Store(0)
	e.Inject(EdgeFault{Kind: EdgeResetAfterForward})
	resp, _, err = post("/v2/terminal-host/payment")
	if err != nil || seen.Load() != 2 || resp.Header.Get("X-Seen") != "II" {
		t.Fatalf("after a reset with PROTOCOL_ERROR behind the request, Go's client re-sends it: upstream saw %d, err %v", seen.Load(), err)
	}

	seen.Store(0)
	e.Inject(EdgeFault{Kind: EdgeRefuseStream})
	if _, _, err = post("/v2/terminal-host/payment"); err != nil || seen.Load() != 1 {
		t.Fatalf("a refused stream is re-sent and processed once: upstream saw %d, err %v", seen.Load(), err)
	}

	seen.Store(0)
	e.Inject(EdgeFault{Kind: EdgeResetAfterForward})
	if _, _, err = post("/v2/terminal-host/payment/query-transaction-status"); err != nil || seen.Load() != 1 {
		t.Fatalf("a fault without a path spares status queries: upstream saw %d, err %v", seen.Load(), err)
	}
	if a := e.Applied(); a[EdgeResetAfterForward] != 1 || a[EdgeRefuseStream] != 1 {
		t.Fatalf("applied %v", a)
	}
}
