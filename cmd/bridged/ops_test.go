package main

import (
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/bridgedpos/bridged/internal/config"
	"github.com/bridgedpos/bridged/internal/simulator"
)

// readyz is the whole readiness report, as a key sees it.
func (e *e2e) readyz() reply {
	e.t.Helper()
	return e.call("GET", "/readyz", "", "Authorization: Bearer "+e.ops)
}

func TestReadyzHealthy(t *testing.T) {
	e := startE2E(t, e2eOpts{})
	expect(t, e.pay("h", `{"amount":"1.00","reference":"H"}`), 201, "status", "approved")
	r := e.readyz()
	expect(t, r, 200, "status", "ok", "store.status", "ok", "token.status", "ok", "token.valid", "true",
		"upstream.status", "ok", "upstream.reachable", "true")
	if !strings.Contains(r.raw, `"state":"idle"`) || !strings.Contains(r.raw, `"seconds_since_answer"`) {
		t.Fatalf("terminal part: %s", r.raw)
	}
	if strings.Contains(r.raw, "sim-secret") || strings.Contains(r.raw, "sim-password") || strings.Contains(r.raw, e.key) {
		t.Fatal("a secret in /readyz")
	}
	// Without a key: the verdicts only.
	keyless := e.call("GET", "/readyz", "", "Authorization: ")
	expect(t, keyless, 200, "status", "ok", "token.status", "ok")
	for _, hidden := range []string{"expiry", "PAV", "DEV001", "last_answer", "state"} {
		if strings.Contains(keyless.raw, hidden) {
			t.Errorf("keyless /readyz shows %q: %s", hidden, keyless.raw)
		}
	}
}

func TestReadyzStoreFailClosed(t *testing.T) {
	var broken atomic.Bool
	e := startE2E(t, e2eOpts{seams: seams{FailWrites: func() error {
		if broken.Load() {
			return errors.New("injected: no space left on device")
		}
		return nil
	}}})
	expect(t, e.pay("ok", `{"amount":"1.00","reference":"OK"}`), 201, "status", "approved")
	broken.Store(true)
	expect(t, e.pay("fail", `{"amount":"2.00","reference":"F"}`), 503, "code", "storage_failure")
	r := e.readyz()
	expect(t, r, 503, "status", "fail", "store.status", "fail", "token.status", "ok", "upstream.status", "ok")
	if strings.Contains(r.raw, "no space left") {
		t.Fatal("an internal error text in /readyz")
	}
	if e.sim.TotalCharges() != 1 {
		t.Fatalf("%d charges: a sale went upstream without a durable intent", e.sim.TotalCharges())
	}
}

func TestReadyzTokenFailing(t *testing.T) {
	e := startE2E(t, e2eOpts{tweak: func(c *config.Config) { c.Upstream.Password = config.NewSecret("wrong-password") }})
	// A sale waits for the token owner, which has recorded the failure when it answers.
	expect(t, e.pay("x", `{"amount":"1.00","reference":"X"}`), 201, "status", "declined", "safe_to_retry", "true")
	r := e.readyz()
	expect(t, r, 503, "status", "fail", "token.status", "fail", "token.valid", "false", "upstream.reachable", "true")
	if !strings.Contains(r.str("token", "detail"), "credentials") || strings.Contains(r.raw, "wrong-password") {
		t.Fatalf("token detail: %s", r.raw)
	}
}

func TestReadyzUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there any more: connection refused
	e := startE2E(t, e2eOpts{tweak: func(c *config.Config) { c.Upstream.BaseURL = dead }})
	expect(t, e.pay("x", `{"amount":"1.00","reference":"X"}`), 201, "status", "declined", "safe_to_retry", "true")
	r := e.readyz()
	expect(t, r, 503, "status", "fail", "upstream.status", "fail", "upstream.reachable", "false", "token.status", "fail")
}

func TestReadyzTerminalBlockedAndUnreachable(t *testing.T) {
	e := startE2E(t, e2eOpts{terminals: 2})
	// lane-1: a charge whose answer is lost, and iyzico's status service failing.
	e.sim.Inject(simulator.Fault{Op: simulator.OpPayment, Device: "DEV001", Kind: simulator.FaultCommitThenDrop})
	e.sim.Inject(simulator.Fault{Op: simulator.OpQuery, Kind: simulator.FaultHTTPStatus, Status: 503, Times: 1000})
	expect(t, e.pay("lost", `{"amount":"10.00","reference":"L","terminal":"lane-1"}`), 202, "status", "unknown")
	// lane-2: the device does not answer (380103), twice.
	for _, k := range []string{"t1", "t2"} {
		r := e.pay(k, `{"amount":"10.52","reference":"`+k+`","terminal":"lane-2"}`)
		if r.status == 409 {
			break // blocked by the first timeout: that is the point
		}
	}
	r := e.readyz()
	expect(t, r, 200, "status", "degraded", "store.status", "ok", "token.status", "ok")
	var lane1, lane2 string
	terms, _ := r.body["terminals"].([]any)
	for _, tv := range terms {
		b, _ := json.Marshal(tv)
		switch tv.(map[string]any)["id"] {
		case "lane-1":
			lane1 = string(b)
		case "lane-2":
			lane2 = string(b)
		}
	}
	if !strings.Contains(lane1, `"state":"blocked"`) || !strings.Contains(lane1, "unknown outcome") || strings.Contains(lane1, "timed out") {
		t.Fatalf("lane-1 (customer's charge unconfirmed) should read blocked, not unreachable: %s", lane1)
	}
	if !strings.Contains(lane2, "timed out (380103)") || !strings.Contains(lane2, `"consecutive_timeouts":1`) {
		t.Fatalf("lane-2 (device silent) should read unreachable: %s", lane2)
	}
}

// TestMetricsParseAndMove scrapes /metrics with the Prometheus text parser
// before and after a sale.
func TestMetricsParseAndMove(t *testing.T) {
	e := startE2E(t, e2eOpts{})
	scrape := func() map[string]*dtoFamily {
		r := e.call("GET", "/metrics", "", "Authorization: Bearer "+e.ops)
		if r.status != 200 {
			t.Fatalf("/metrics: %d", r.status)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(strings.NewReader(r.raw))
		if err != nil {
			t.Fatalf("not Prometheus text format: %v", err)
		}
		return fams
	}
	// Not without a key, nor with the ECR's (payments only).
	expect(t, e.call("GET", "/metrics", "", "Authorization: "), 401, "code", "unauthorized")
	expect(t, e.call("GET", "/metrics", ""), 403, "code", "forbidden_scope")
	before := scrape()
	expect(t, e.pay("m1", `{"amount":"12.00","reference":"M1"}`), 201, "status", "approved")
	after := scrape()
	count := func(fams map[string]*dtoFamily, name string, labels map[string]string) float64 {
		f := fams[name]
		if f == nil {
			return 0
		}
		var sum float64
	next:
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			}
		}
		return sum
	}
	checks := []struct {
		name   string
		labels map[string]string
	}{
		{"bridged_operations_total", map[string]string{"type": "sale", "status": "approved"}},
		{"bridged_upstream_request_duration_seconds", map[string]string{"op": "payment"}},
		{"bridged_store_commit_duration_seconds", nil},
		{"bridged_store_commit_writes", nil},
		{"bridged_http_requests_total", map[string]string{"route": "/v1/payments", "code": "201"}},
	}
	for _, c := range checks {
		if b, a := count(before, c.name, c.labels), count(after, c.name, c.labels); a <= b {
			t.Errorf("%s %v did not move: %v -> %v", c.name, c.labels, b, a)
		}
	}
	for _, name := range []string{"bridged_unknown_operations", "bridged_token_expiry_timestamp_seconds", "bridged_store_fail_closed", "bridged_token_logins_total"} {
		if after[name] == nil {
			t.Errorf("%s missing", name)
		}
	}
}

type dtoFamily = dto.MetricFamily
