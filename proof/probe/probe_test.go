// Package probe attacks the running bridged process the way a hostile web
// page, a confused program on the same PC or a careless installer would:
// DNS-rebinding Host values, foreign and null Origins, cross-site fetches,
// missing, wrong and short keys, slowloris connections, oversized headers
// and bodies, path tricks, and a non-loopback listen address. None of them
// may move money or write to the journal; a payment must still go through
// while hundreds of idle connections are held open.
package probe

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/simulator"
	"github.com/bridgedpos/bridged/internal/simulator/simtest"
	"github.com/bridgedpos/bridged/proof/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

const device = "PAV860047264"

type probeRun struct {
	t       *testing.T
	addr    string
	sim     *simulator.Sim
	ecr     *harness.ECR
	probes  atomic.Int64
	refused atomic.Int64

	honestSale, slowSale time.Duration
}

func TestProbes(t *testing.T) {
	bin := harness.Binary(t, "")
	sim, srv := simtest.Start(t, simulator.Config{Devices: []string{device}})
	capture := harness.NewCapture(t, "probe")
	capture.Secret(harness.DefaultKey, "sim-secret", "sim-password")
	defer func() { capture.Secret(sim.IssuedSecrets()...) }()
	dir := t.TempDir()
	cfg := harness.WriteConfig(t, dir, harness.Config{UpstreamURL: srv.URL,
		Terminals: []harness.Terminal{{ID: "lane-1", Device: device}}})
	d, err := harness.Start(t, bin, cfg, nil, capture, "daemon.log")
	if err != nil {
		t.Fatal(err)
	}
	p := &probeRun{t: t, addr: d.Addr, sim: sim, ecr: harness.NewECR(t, d.Addr, harness.DefaultKey, capture, 10*time.Second)}

	// One honest sale first: the journal holds one operation and iyzico one charge.
	start := time.Now()
	if a := p.ecr.Do("POST", "/v1/payments", "PROBE-OK-1", map[string]any{"amount": "10.00", "reference": "PROBE-OK-1"}, 5); a.Status != "approved" {
		t.Fatalf("the honest sale: %v", a)
	}
	p.honestSale = time.Since(start)
	p.unchanged(t, 1)

	t.Run("host", p.host)
	t.Run("origin", p.origin)
	t.Run("keys", p.keys)
	t.Run("oversized", p.oversized)
	t.Run("paths", p.paths)
	t.Run("slowloris", p.slowloris)
	p.unchanged(t, 2) // the slowloris test's sale is the second

	var refusedListens, listens int
	t.Run("non_loopback", func(t *testing.T) { refusedListens, listens = nonLoopback(t, bin, srv.URL, capture) })
	harness.Summary(t, fmt.Sprintf("probes: %d hostile requests, %d refused, the journal and iyzico unchanged by them (%d operations, %d charges: the 2 honest sales); "+
		"a sale beside %d slow connections took %v (%v alone); non-loopback listen refused %d/%d without the opt-in",
		p.probes.Load(), p.refused.Load(), p.operations(t), sim.TotalCharges(), slowConns, p.slowSale.Round(time.Millisecond), p.honestSale.Round(time.Millisecond),
		refusedListens, listens))
}

// operations counts the operations in the journal.
func (p *probeRun) operations(t *testing.T) int {
	a := p.ecr.Do("GET", "/v1/payments?limit=1000", "", nil, 0)
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if a.HTTP != 200 || json.Unmarshal(a.Raw, &list) != nil {
		t.Fatalf("list: %v", a)
	}
	return len(list.Items)
}

// unchanged checks that the journal holds exactly n operations and iyzico n charges.
func (p *probeRun) unchanged(t *testing.T, n int) {
	t.Helper()
	if ops := p.operations(t); ops != n || p.sim.TotalCharges() != n {
		t.Fatalf("the journal holds %d operations and iyzico %d charges; want %d of each", ops, p.sim.TotalCharges(), n)
	}
}

// raw sends bytes as they are on a new connection and returns the status
// code of the answer (0 when the connection closed without one).
func (p *probeRun) raw(t *testing.T, req string) int {
	t.Helper()
	p.probes.Add(1)
	conn, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		p.refused.Add(1) // cut before the request was read
		return 0
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		p.refused.Add(1)
		return 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, secret := range []string{harness.DefaultKey, "sim-secret", "sim-password"} {
		if bytes.Contains(body, []byte(secret)) {
			t.Errorf("the answer to a probe repeats a secret")
		}
	}
	if resp.StatusCode >= 400 {
		p.refused.Add(1)
	}
	return resp.StatusCode
}

// sale is a raw sale request with the given Host, extra headers and key.
func sale(path, host, key, extra string) string {
	body := `{"amount":"10.00","reference":"PROBE-BAD"}`
	auth := ""
	if key != "" {
		auth = "Authorization: Bearer " + key + "\r\n"
	}
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\n%sIdempotency-Key: PROBE-BAD\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		path, host, auth, extra, len(body), body)
}

func (p *probeRun) expect(t *testing.T, name, req string, want ...int) {
	t.Helper()
	got := p.raw(t, req)
	for _, w := range want {
		if got == w {
			return
		}
	}
	t.Errorf("%s: answered %d, want one of %v", name, got, want)
}

func (p *probeRun) host(t *testing.T) {
	_, port, _ := net.SplitHostPort(p.addr)
	for _, h := range []string{"evil.example", "evil.example:" + port, "127.0.0.1.evil.example", "localhost.evil.example",
		"127.0.0.1@evil.example", "0.0.0.0:" + port, "10.0.0.5:" + port, "localhost:" + port + ".evil.example", "localhost:",
		"2130706433:" + port, "127.1:" + port} {
		p.expect(t, "Host "+h, sale("/v1/payments", h, harness.DefaultKey, ""), 403, 400)
	}
	// An empty Host header is refused too.
	p.expect(t, "empty Host", sale("/v1/payments", "", harness.DefaultKey, ""), 403, 400)
	p.unchanged(t, 1)
}

func (p *probeRun) origin(t *testing.T) {
	for name, h := range map[string]string{
		"foreign Origin":           "Origin: https://evil.example\r\n",
		"null Origin":              "Origin: null\r\n",
		"loopback-looking Origin":  "Origin: http://127.0.0.1.evil.example\r\n",
		"cross-site fetch":         "Sec-Fetch-Site: cross-site\r\n",
		"same-site fetch":          "Sec-Fetch-Site: same-site\r\n",
		"cross-site and no Origin": "Sec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: no-cors\r\n",
	} {
		p.expect(t, name, sale("/v1/payments", p.addr, harness.DefaultKey, h), 403)
	}
	p.unchanged(t, 1)
}

func (p *probeRun) keys(t *testing.T) {
	key := harness.DefaultKey
	for name, k := range map[string]string{
		"missing key":         "",
		"wrong key":           strings.Repeat("w", 40),
		"short key":           "kkkk",
		"key prefix":          key[:39],
		"key plus a byte":     key + "k",
		"key in another case": strings.ToUpper(key),
	} {
		p.expect(t, name, sale("/v1/payments", p.addr, k, ""), 401)
	}
	// Other schemes and places for the key.
	p.expect(t, "Basic auth", strings.Replace(sale("/v1/payments", p.addr, "", ""), "Idempotency-Key",
		"Authorization: Basic "+key+"\r\nIdempotency-Key", 1), 401)
	p.expect(t, "key in the query", sale("/v1/payments?key="+key, p.addr, "", ""), 401)
	p.expect(t, "key in the query (access_token)", sale("/v1/payments?access_token="+key, p.addr, "", ""), 401)
	p.unchanged(t, 1)
}

func (p *probeRun) oversized(t *testing.T) {
	big := strings.Repeat("a", 64<<10)
	p.expect(t, "64 KiB header", sale("/v1/payments", p.addr, harness.DefaultKey, "X-Big: "+big+"\r\n"), 431, 400)
	many := strings.Repeat("X-Many: 1\r\n", 3000)
	p.expect(t, "3000 headers", sale("/v1/payments", p.addr, harness.DefaultKey, many), 431, 400)
	body := `{"amount":"10.00","reference":"PROBE-BIG","pad":"` + strings.Repeat("x", 2<<20) + `"}`
	req := fmt.Sprintf("POST /v1/payments HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nIdempotency-Key: PROBE-BIG\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		p.addr, harness.DefaultKey, len(body), body)
	p.expect(t, "2 MiB body", req, 413, 0) // the daemon may close before reading it all
	chunked := fmt.Sprintf("POST /v1/payments HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nIdempotency-Key: PROBE-CHUNK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n%x\r\n%s\r\n0\r\n\r\n",
		p.addr, harness.DefaultKey, len(body), body)
	p.expect(t, "2 MiB chunked body", chunked, 413, 0)
	p.unchanged(t, 1)
}

func (p *probeRun) paths(t *testing.T) {
	// Without a key, no spelling of a money path may reach a handler.
	for _, path := range []string{"/v1/../v1/payments", "//v1/payments", "/v1/payments/", "/v1/%2e%2e/v1/payments",
		"/V1/PAYMENTS", "/v1/payments;x=1", "/v1/payments%00", "/healthz/../v1/payments", "/v1/./payments",
		"/v1/payments%2f", "/%76%31/payments", "/v1/payments?x=/healthz", "/livez/..%2fv1/payments"} {
		p.expect(t, "no key "+path, sale(path, p.addr, "", ""), 401, 404, 400, 405, 301, 307, 308)
	}
	// With a key, the odd spellings must not create a payment either.
	for _, path := range []string{"//v1/payments", "/V1/PAYMENTS", "/v1/payments;x=1", "/v1/payments%00", "/v1/%2e%2e/v1/payments"} {
		p.expect(t, "with key "+path, sale(path, p.addr, harness.DefaultKey, ""), 404, 400, 405, 301, 307, 308)
	}
	p.unchanged(t, 1)
}

// slowConns is how many idle and half-sent connections the slowloris probe holds.
const slowConns = 400

func (p *probeRun) slowloris(t *testing.T) {
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < slowConns; i++ {
		c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		switch i % 3 {
		case 0: // a request line and half a header, then nothing
			_, _ = io.WriteString(c, "POST /v1/payments HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
		case 1: // headers that promise a body that never comes
			_, _ = io.WriteString(c, sale("/v1/payments", p.addr, harness.DefaultKey, "")[:120])
		default: // connected, silent
		}
	}
	start := time.Now()
	a := p.ecr.Do("POST", "/v1/payments", "PROBE-OK-2", map[string]any{"amount": "11.00", "reference": "PROBE-OK-2"}, 5)
	if a.Status != "approved" {
		t.Fatalf("a sale beside %d slow connections: %v", slowConns, a)
	}
	p.slowSale = time.Since(start)
	if hz := p.ecr.Do("GET", "/healthz", "", nil, 0); hz.HTTP != 200 {
		t.Errorf("healthz beside %d slow connections: %v", slowConns, hz)
	}
}

// nonLoopback: a non-loopback listen address is refused unless
// allow_non_loopback is set. It returns how many tries were refused, of how many.
func nonLoopback(t *testing.T, bin, upstream string, capture *harness.Capture) (refused, tries int) {
	for _, listen := range []string{"0.0.0.0:0", "[::]:0", ":0", "192.0.2.10:8470"} {
		dir := t.TempDir()
		cfg := harness.WriteConfig(t, dir, harness.Config{UpstreamURL: upstream, Listen: listen,
			Terminals: []harness.Terminal{{ID: "lane-1", Device: device}}})
		for _, verb := range []string{"check-config", "run"} {
			cmd := exec.Command(bin, verb, "-c", cfg)
			out, err := runFor(cmd, 10*time.Second)
			capture.Append(t, "non_loopback.log", fmt.Sprintf("%s %s: %v\n%s", verb, listen, err, out))
			tries++
			if err == nil || !strings.Contains(out, "loopback") {
				t.Errorf("%s with listen %s: err %v; want a refusal naming loopback (output in the capture's non_loopback.log)", verb, listen, err)
				continue
			}
			refused++
		}
	}
	// With the opt-in, the same address is accepted.
	dir := t.TempDir()
	cfg := harness.WriteConfig(t, dir, harness.Config{UpstreamURL: upstream, Listen: "0.0.0.0:0",
		Terminals: []harness.Terminal{{ID: "lane-1", Device: device}}, Extra: "allow_non_loopback: true\n"})
	if out, err := exec.Command(bin, "check-config", "-c", cfg).CombinedOutput(); err != nil {
		t.Errorf("check-config with allow_non_loopback: %v\n%s", err, out)
	}
	_ = os.Remove(filepath.Join(dir, "bridged.yaml"))
	return refused, tries
}

// runFor runs cmd and kills it after limit: a daemon that accepted the
// address would otherwise run on.
func runFor(cmd *exec.Cmd, limit time.Duration) (string, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		<-done
		return out.String(), nil // it ran: the address was accepted
	}
}
