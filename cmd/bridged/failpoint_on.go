//go:build failpoint

package main

// The failpoint build of the daemon, for the crash matrix (proof/crash). The
// environment names one boundary and one fault:
//
//	BRIDGED_FAILPOINT=<boundary>=<fault>          e.g. during_send=kill
//	BRIDGED_FAILPOINT_TIMINGS=card_timeout=1s,…   shorter timings than the config allows
//
// The fault fires once, the first time the boundary is reached, and the
// daemon writes "failpoint: <boundary> <fault>" to stderr as it fires:
//
//	kill      the process SIGKILLs itself there (a real kill -9, no cleanup);
//	io_error  the I/O of that step fails: the journal write (a failed fsync),
//	          the connection to iyzico (refused before the first byte, or
//	          reset after the request was written), or the reply to the ECR;
//	delay     that step stalls past the deadline that bounds it.
//
// Production builds compile none of this (failpoint_off.go).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/upstream"
)

// The boundaries of the crash matrix. Five are crash points of the payment
// service; three are places in an upstream call, found by its path.
const (
	bBeforeIntentCommit = payment.FailBeforeIntentCommit
	bAfterIntentCommit  = payment.FailAfterIntentCommit
	bDuringSend         = "during_send" // a sale's request written, its answer not read
	bAfterAnswer        = payment.FailAfterUpstreamAnswer
	bAfterOutcomeCommit = payment.FailAfterOutcomeCommit
	bReconcilerQuery    = "reconciler_query" // a status query written, its answer not read
	bReconcilerCommit   = payment.FailReconcilerBeforeCommit
	bTokenRefresh       = "token_refresh" // a refresh_token grant written, its answer not read
)

var boundaries = []string{bBeforeIntentCommit, bAfterIntentCommit, bDuringSend, bAfterAnswer,
	bAfterOutcomeCommit, bReconcilerQuery, bReconcilerCommit, bTokenRefresh}

const (
	faultKill    = "kill"
	faultIOError = "io_error"
	faultDelay   = "delay"
)

// errInjected is the I/O error of an io_error fault.
var errInjected = errors.New("injected I/O error")

// failpoint is the armed boundary and fault of this process.
type failpoint struct {
	boundary, fault string
	delay           time.Duration // how long a delay fault stalls a payment-service step
	out             io.Writer

	fired atomic.Bool
	// The io_error faults of the payment-service boundaries act on the next
	// write, dial or reply after the boundary; these arm them.
	failWrite, failDial, cutReply atomic.Bool
	mu                            sync.Mutex // serializes announcements
}

func failpointSeams(stderr io.Writer) (seams, error) {
	spec := os.Getenv("BRIDGED_FAILPOINT")
	timings, err := parseTimings(os.Getenv("BRIDGED_FAILPOINT_TIMINGS"))
	if err != nil {
		return seams{}, err
	}
	fp := &failpoint{out: stderr, delay: timings["fault_delay"]}
	if fp.delay == 0 {
		fp.delay = 3 * time.Second
	}
	if spec != "" {
		b, f, ok := strings.Cut(spec, "=")
		switch {
		case !ok || !contains(boundaries, b):
			return seams{}, fmt.Errorf("BRIDGED_FAILPOINT=%q: want <boundary>=<fault>, boundary one of %s", spec, strings.Join(boundaries, ", "))
		case f != faultKill && f != faultIOError && f != faultDelay:
			return seams{}, fmt.Errorf("BRIDGED_FAILPOINT=%q: fault must be kill, io_error or delay", spec)
		}
		fp.boundary, fp.fault = b, f
	}
	return seams{
		failWrites: fp.failWrites,
		transport:  fp.transport,
		handler:    fp.handler,
		upstream: func(c *upstream.Config) {
			setIf(&c.CardTimeout, timings["card_timeout"])
			setIf(&c.QueryTimeout, timings["query_timeout"])
			setIf(&c.LoginTimeout, timings["login_timeout"])
			setIf(&c.EODTimeout, timings["eod_timeout"])
		},
		payment: func(o *payment.Options) {
			setIf(&o.CardTimeout, timings["card_timeout"])
			setIf(&o.NotFoundGrace, timings["not_found_grace"])
			setIf(&o.BackoffMin, timings["backoff_min"])
			setIf(&o.BackoffMax, timings["backoff_max"])
		},
		service: func(s *payment.Service) { s.SetFailpoint(fp.hit) },
	}, nil
}

var timingNames = []string{"card_timeout", "query_timeout", "login_timeout", "eod_timeout",
	"not_found_grace", "backoff_min", "backoff_max", "fault_delay"}

func parseTimings(s string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for _, kv := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' }) {
		k, v, _ := strings.Cut(kv, "=")
		d, err := time.ParseDuration(v)
		if !contains(timingNames, k) || err != nil || d <= 0 {
			return nil, fmt.Errorf("BRIDGED_FAILPOINT_TIMINGS: %q: want name=duration, name one of %s", kv, strings.Join(timingNames, ", "))
		}
		out[k] = d
	}
	return out, nil
}

func setIf(dst *time.Duration, v time.Duration) {
	if v > 0 {
		*dst = v
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// take reports whether the armed fault fires at boundary b now (once only).
func (fp *failpoint) take(b string) bool {
	if fp.boundary != b {
		return false
	}
	return fp.fired.CompareAndSwap(false, true)
}

func (fp *failpoint) announce(what string) {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	fmt.Fprintf(fp.out, "failpoint: %s\n", what)
}

// die is kill -9 of this process, at this instant.
func (fp *failpoint) die() {
	fp.announce(fp.boundary + " " + faultKill)
	p, err := os.FindProcess(os.Getpid())
	if err == nil {
		err = p.Kill()
	}
	if err != nil {
		fmt.Fprintf(fp.out, "failpoint: cannot kill myself: %v\n", err)
		os.Exit(137)
	}
	select {} // the signal is on its way; nothing more may happen here
}

// hit is the payment service's failpoint hook.
func (fp *failpoint) hit(point string) error {
	if !fp.take(point) {
		return nil
	}
	switch fp.fault {
	case faultKill:
		fp.die()
	case faultDelay:
		fp.announce(point + " " + faultDelay)
		time.Sleep(fp.delay)
	case faultIOError:
		fp.announce(point + " " + faultIOError)
		switch point {
		case bAfterIntentCommit:
			fp.failDial.Store(true) // the connection to iyzico is refused
		case bAfterOutcomeCommit:
			fp.cutReply.Store(true) // the ECR's connection breaks before the answer
		default:
			fp.failWrite.Store(true) // the next journal write fails, as a failed fsync
		}
	}
	return nil
}

func (fp *failpoint) failWrites() error {
	if fp.failWrite.CompareAndSwap(true, false) {
		return errInjected
	}
	return nil
}

// handler cuts the next money reply after an io_error at after_outcome_commit:
// the connection closes with no answer, as a broken cable would.
func (fp *failpoint) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/payments") {
			w = &cuttingWriter{ResponseWriter: w, fp: fp}
		}
		next.ServeHTTP(w, r)
	})
}

type cuttingWriter struct {
	http.ResponseWriter
	fp *failpoint
}

func (c *cuttingWriter) WriteHeader(code int) {
	if c.fp.cutReply.CompareAndSwap(true, false) {
		panic(http.ErrAbortHandler)
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *cuttingWriter) Write(b []byte) (int, error) {
	if c.fp.cutReply.CompareAndSwap(true, false) {
		panic(http.ErrAbortHandler)
	}
	return c.ResponseWriter.Write(b)
}

func (c *cuttingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// transport carries the three boundaries that live inside an upstream call.
func (fp *failpoint) transport(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if (req.URL.Path == upstream.PathPayment || req.URL.Path == upstream.PathGmuPayment) &&
			fp.failDial.CompareAndSwap(true, false) {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errInjected}
		}
		b := fp.boundaryOf(req)
		if b == "" || !fp.take(b) {
			return next.RoundTrip(req)
		}
		switch fp.fault {
		case faultKill:
			trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { fp.die() }}
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
			return next.RoundTrip(req)
		case faultIOError:
			fp.announce(b + " " + faultIOError)
			resp, err := next.RoundTrip(req)
			if err != nil {
				return nil, err
			}
			_ = resp.Body.Close()
			return nil, &net.OpError{Op: "read", Net: "tcp", Err: fmt.Errorf("connection reset: %w", errInjected)}
		default: // delay: the answer arrives after the call's deadline
			fp.announce(b + " " + faultDelay)
			resp, err := next.RoundTrip(req)
			if err != nil {
				return nil, err
			}
			_ = resp.Body.Close()
			ctx := req.Context()
			if _, ok := ctx.Deadline(); !ok {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, fp.delay)
				defer cancel()
			}
			<-ctx.Done()
			return nil, ctx.Err()
		}
	})
}

// boundaryOf names the boundary an upstream request belongs to, or "".
func (fp *failpoint) boundaryOf(req *http.Request) string {
	switch req.URL.Path {
	case upstream.PathPayment, upstream.PathGmuPayment:
		return bDuringSend
	case upstream.PathQuery, upstream.PathGmuQuery:
		return bReconcilerQuery
	case upstream.PathToken:
		if fp.boundary == bTokenRefresh && isRefresh(req) {
			return bTokenRefresh
		}
	}
	return ""
}

// isRefresh reports whether a token request is a refresh_token grant; it
// reads the form body and puts it back.
func isRefresh(req *http.Request) bool {
	if req.GetBody == nil {
		return false
	}
	body, err := req.GetBody()
	if err != nil {
		return false
	}
	defer body.Close()
	raw, err := io.ReadAll(body)
	if err != nil {
		return false
	}
	v, err := url.ParseQuery(string(raw))
	return err == nil && v.Get("grant_type") == "refresh_token"
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
