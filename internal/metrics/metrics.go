// Package metrics owns bridged's Prometheus metrics: one registry per process,
// passed in (no global registry), fed by hooks that the wiring in cmd/bridged
// connects to the payment service, the store, the upstream client and the
// HTTP server. It must never import another bridged package except payment.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bridgedpos/bridged/internal/payment"
)

// Metrics holds every collector.
type Metrics struct {
	reg *prometheus.Registry

	operations      *prometheus.CounterVec
	upstreamLatency *prometheus.HistogramVec
	storeCommit     prometheus.Histogram
	storeGroup      prometheus.Histogram
	reconcilerRuns  *prometheus.CounterVec
	conflicts       *prometheus.CounterVec
	settlements     *prometheus.CounterVec
	httpRequests    *prometheus.CounterVec
	httpDuration    *prometheus.HistogramVec
}

// Gauges are the values read at scrape time from the running daemon.
type Gauges struct {
	UnknownOpen     func() float64
	TokenRefreshes  func() float64
	TokenLogins     func() float64
	TokenFailures   func() float64
	TokenExpiry     func() float64 // unix seconds; 0 when no token
	StoreFailClosed func() float64
	ConflictsOpen   func() float64
}

// New registers the counters and histograms on a fresh registry; the parts
// of the daemon feed them through the hooks below as they are built.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.operations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bridged_operations_total",
		Help: "Operations that reached a state, by type and state (approved, declined, unknown, pending).",
	}, []string{"type", "status"})
	m.upstreamLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "bridged_upstream_request_duration_seconds",
		Help:    "Duration of calls to iyzico by operation and outcome class (card operations include the customer's time).",
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 180},
	}, []string{"op", "class"})
	m.storeCommit = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "bridged_store_commit_duration_seconds",
		Help:    "Duration of durable journal commits (fsync included).",
		Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14),
	})
	m.storeGroup = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "bridged_store_commit_writes",
		Help:    "Journal writes per durable commit (group commit: writers that meet share one fsync).",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
	})
	m.reconcilerRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bridged_reconciler_queries_total",
		Help: "Status queries the reconciler made for unknown operations, by result (approved, declined, not_found, unknown).",
	}, []string{"result"})
	m.conflicts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bridged_conflicts_total",
		Help: "Answers from iyzico that contradict the journal: settlement (an operator's settlement), payment_id (an approval with another operation's paymentId).",
	}, []string{"kind"})
	m.settlements = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bridged_operator_settlements_total",
		Help: "Unknown operations settled by an operator, by outcome.",
	}, []string{"outcome"})
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bridged_http_requests_total",
		Help: "HTTP requests to the local API by route pattern, method and status code.",
	}, []string{"route", "method", "code"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "bridged_http_request_duration_seconds",
		Help:    "Duration of HTTP requests to the local API by route pattern (money calls include the card wait).",
		Buckets: []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 185},
	}, []string{"route"})
	m.reg.MustRegister(m.operations, m.upstreamLatency, m.storeCommit, m.storeGroup, m.reconcilerRuns, m.conflicts, m.settlements, m.httpRequests, m.httpDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// RegisterGauges registers the values read at scrape time, once the parts
// they read exist; a nil func registers nothing. Call it once.
func (m *Metrics) RegisterGauges(g Gauges) {
	gauge := func(name, help string, f func() float64) {
		if f != nil {
			m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
		}
	}
	counter := func(name, help string, f func() float64) {
		if f != nil {
			m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
		}
	}
	gauge("bridged_unknown_operations", "Operations whose outcome is unknown and awaits a status query.", g.UnknownOpen)
	counter("bridged_token_refreshes_total", "Successful access token refreshes.", g.TokenRefreshes)
	counter("bridged_token_logins_total", "Successful full logins (authorize + token).", g.TokenLogins)
	gauge("bridged_token_failing", "1 while the last login or refresh failed.", g.TokenFailures)
	gauge("bridged_token_expiry_timestamp_seconds", "Expiry of the held access token (unix seconds), 0 when none.", g.TokenExpiry)
	gauge("bridged_store_fail_closed", "1 when a journal write failed and new money operations are refused.", g.StoreFailClosed)
	gauge("bridged_conflicts_open", "Operator settlements contradicted by iyzico and not acknowledged yet.", g.ConflictsOpen)
}

// Conflict counts an answer that contradicts the journal.
func (m *Metrics) Conflict(kind string) { m.conflicts.WithLabelValues(kind).Inc() }

// Settlement counts an operator settlement.
func (m *Metrics) Settlement(outcome string) { m.settlements.WithLabelValues(outcome).Inc() }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Operation counts an operation's new state.
func (m *Metrics) Operation(op *payment.Operation) {
	m.operations.WithLabelValues(string(op.Kind), string(op.State.Status())).Inc()
}

// UpstreamCall records one call to iyzico.
func (m *Metrics) UpstreamCall(op, class string, d time.Duration) {
	m.upstreamLatency.WithLabelValues(op, class).Observe(d.Seconds())
}

// StoreCommit records one durable commit.
func (m *Metrics) StoreCommit(d time.Duration) { m.storeCommit.Observe(d.Seconds()) }

// StoreGroup records how many writes one durable commit carried.
func (m *Metrics) StoreGroup(writes int) { m.storeGroup.Observe(float64(writes)) }

// ReconcilerQuery counts one status query of the reconciler.
func (m *Metrics) ReconcilerQuery(result string) { m.reconcilerRuns.WithLabelValues(result).Inc() }

// HTTPRequest records one request by route pattern (never the raw path, so
// ids do not explode the label space).
func (m *Metrics) HTTPRequest(route, method string, code int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.httpRequests.WithLabelValues(route, method, httpCode(code)).Inc()
	m.httpDuration.WithLabelValues(route).Observe(d.Seconds())
}

func httpCode(c int) string {
	const digits = "0123456789"
	if c < 100 || c > 999 {
		return "000"
	}
	return string([]byte{digits[c/100], digits[c/10%10], digits[c%10]})
}
