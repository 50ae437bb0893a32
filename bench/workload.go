package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/bridgedpos/bridged/internal/apitype"
	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/secret"
	"github.com/bridgedpos/bridged/internal/simulator"
	"github.com/bridgedpos/bridged/internal/upstream"
	"github.com/bridgedpos/bridged/proof/harness"
)

// The sale every workload makes: 149.90 TRY, which the simulator approves
// with no card wait.
const (
	saleMinor   = 14990
	saleDecimal = "149.90"
	// callTimeout bounds one sale; a sale that needs it is an error.
	callTimeout = 30 * time.Second
)

// simServer is the iyzico simulator on a loopback port, in this process.
type simServer struct {
	sim     *simulator.Sim
	srv     *http.Server
	url     string
	devices []string
	conns   atomic.Int64 // connections accepted
}

func startSim(devices int) (*simServer, error) {
	s := &simServer{devices: deviceIDs(devices)}
	s.sim = simulator.New(simulator.Config{Devices: s.devices, CardWait: 0})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s.sim.Handler(), ReadHeaderTimeout: 5 * time.Second,
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.conns.Add(1)
			}
		}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *simServer) close() {
	s.sim.Close()
	_ = s.srv.Close()
}

// proxyServer is a bare httputil.ReverseProxy in front of the simulator: the
// cost of one more HTTP hop, with nothing journaled.
type proxyServer struct {
	srv *http.Server
	url string
}

func startProxy(target string) (*proxyServer, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u) }}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxyServer{url: "http://" + ln.Addr().String(),
		srv: &http.Server{Handler: rp, ReadHeaderTimeout: 5 * time.Second}}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

func (p *proxyServer) close() { _ = p.srv.Close() }

// saleFunc makes one sale for worker w (its seq-th) and returns nil when it
// was approved.
type saleFunc func(ctx context.Context, w, seq int) error

// directClient is what a cash register would run without bridged: bridged's
// own iyzico client (upstream.Client: token owner, typed calls, the same
// HTTP transport), calling the simulator or the proxy, journaling nothing.
type directClient struct {
	c       *upstream.Client
	devices []string
	cancel  context.CancelFunc
	done    chan struct{}
}

func newDirect(ctx context.Context, baseURL string, devices []string) (*directClient, error) {
	c, err := upstream.New(upstream.Config{
		BaseURL: baseURL,
		Credentials: upstream.Credentials{ClientID: "sim-client", ClientSecret: secret.New("sim-secret"),
			Username: "sim-user", Password: secret.New("sim-password")},
		Logger: zerolog.Nop(),
	}, nil)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	d := &directClient{c: c, devices: devices, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		_ = c.Run(rctx)
	}()
	return d, nil
}

func (d *directClient) close() {
	d.cancel()
	<-d.done
}

func (d *directClient) sale(ctx context.Context, w, seq int) error {
	_, err := d.c.Payment(ctx, upstream.PaymentRequest{
		Head:        upstream.Head{DeviceUniqueID: d.devices[w], TransactionReferenceID: fmt.Sprintf("bench-%d-%d", w, seq)},
		Installment: 1,
		SalesType:   upstream.SalesTypeSale,
		Amount:      payment.NewMoney(saleMinor, payment.TRY),
	})
	if err != nil {
		var ue *upstream.Error
		if errors.As(err, &ue) {
			return fmt.Errorf("upstream %s", ue.Class)
		}
		return err
	}
	return nil
}

// ecrClient is a cash register on bridged's local API: worker w owns
// terminal w (a terminal takes one sale at a time) and sends each sale with
// a new Idempotency-Key, waiting for the final answer.
type ecrClient struct {
	base      string
	terminals []string
	prefix    string
	http      *http.Client
}

func newECR(addr string, terminals []string, conc int) *ecrClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conc // one kept-alive connection per register
	return &ecrClient{base: "http://" + addr + "/v1/payments", terminals: terminals,
		prefix: fmt.Sprintf("B%d", time.Now().UnixNano()), http: &http.Client{Transport: tr}}
}

func (e *ecrClient) sale(ctx context.Context, w, seq int) error {
	key := fmt.Sprintf("%s-%d-%d", e.prefix, w, seq)
	body := fmt.Sprintf(`{"amount":%q,"reference":%q,"terminal":%q}`, saleDecimal, key, e.terminals[w])
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.base, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+harness.DefaultKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set("Prefer", "wait=30")
	resp, err := e.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	// A 2xx answer is the payment, any other a problem document.
	var status, code string
	if resp.StatusCode/100 == 2 {
		var p apitype.Payment
		_ = json.Unmarshal(raw, &p)
		status = p.Status
	} else {
		var p apitype.Problem
		_ = json.Unmarshal(raw, &p)
		code = p.Code
	}
	if resp.StatusCode != http.StatusCreated || status != "approved" {
		return fmt.Errorf("HTTP %d %s%s", resp.StatusCode, status, code)
	}
	return nil
}

// runResult is what the workers of one scenario measured.
type runResult struct {
	latencies []time.Duration // successful sales started in the measured window
	ok        int             // successful sales, warm-up included
	errors    map[string]int  // failed sales (warm-up included), by kind
	elapsed   time.Duration   // from the window's start to the last measured answer
}

func (r runResult) errorCount() int {
	n := 0
	for _, c := range r.errors {
		n += c
	}
	return n
}

// drive runs conc workers in a closed loop (each makes its next sale as soon
// as the last one is answered) for warmup, then for dur more; the sales
// started in that second period are measured.
func drive(ctx context.Context, conc int, warmup, dur time.Duration, do saleFunc) runResult {
	start := time.Now()
	from := start.Add(warmup)
	end := from.Add(dur)
	type worker struct {
		lat  []time.Duration
		ok   int
		errs map[string]int
		last time.Time
	}
	ws := make([]worker, conc)
	var wg sync.WaitGroup
	for w := range ws {
		wg.Go(func() {
			me := &ws[w]
			me.errs = map[string]int{}
			me.lat = make([]time.Duration, 0, 1<<12)
			for seq := 0; ctx.Err() == nil; seq++ {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				cctx, cancel := context.WithTimeout(ctx, callTimeout)
				err := do(cctx, w, seq)
				cancel()
				t1 := time.Now()
				if err != nil {
					me.errs[errorKind(err)]++
					continue
				}
				me.ok++
				if t0.Before(from) {
					continue
				}
				me.lat = append(me.lat, t1.Sub(t0))
				me.last = t1
			}
		})
	}
	wg.Wait()
	res := runResult{errors: map[string]int{}}
	var last time.Time
	for _, w := range ws {
		res.latencies = append(res.latencies, w.lat...)
		res.ok += w.ok
		for k, n := range w.errs {
			res.errors[k] += n
		}
		if w.last.After(last) {
			last = w.last
		}
	}
	if !last.IsZero() {
		res.elapsed = last.Sub(from)
	}
	return res
}

// errorKind shortens an error to what groups it (no addresses, keys or ports).
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &ne):
		msg := ne.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:] // "dial tcp 127.0.0.1:80: connect: connection refused" -> "connection refused"
		}
		return "network: " + msg
	}
	s := err.Error()
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}
