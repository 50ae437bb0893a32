//go:build failpoint

package main

// The failpoint build of the daemon, for the crash matrix (proof/crash). The
// environment names one boundary and one fault:
//
//	BRIDGED_FAILPOINT=<boundary>=<fault>          e.g. during_send=kill
//	BRIDGED_FAILPOINT_TIMINGS=card_timeout=1s,…   shorter timings than the config allows
//
// The fault fires once, the first time the boundary is reached, and the
// daemon writes "failpoint: <boundary> <fault> applied" to stderr at the
// instant it takes effect (an io_error that acts on a later write, dial or
// reply is first "armed", then "applied" when that write, dial or reply
// comes):
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
	"slices"
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
		case !ok || !slices.Contains(boundaries, b):
			return seams{}, fmt.Errorf("BRIDGED_FAILPOINT=%q: want <boundary>=<fault>, boundary one of %s", spec, strings.Join(boundaries, ", "))
		case f != faultKill && f != faultIOError && f != faultDelay:
			return seams{}, fmt.Errorf("BRIDGED_FAILPOINT=%q: fault must be kill, io_error or delay", spec)
		}
		fp.boundary, fp.fault = b, f
	}
	return seams{
		failWrite: fp.failWriteOf,
		transport: fp.transport,
		handler:   fp.handler,
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
		if !slices.Contains(timingNames, k) || err != nil || d <= 0 {
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
	fp.applied(faultKill, "")
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
		fp.applied(faultDelay, fp.delay.String())
		time.Sleep(fp.delay)
	case faultIOError:
		fp.announce(point + " " + faultIOError + " armed")
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

// failWriteOf fails the next write of an operation (its intent, outcome or
// update), not a token save or a report: the write the boundary precedes.
func (fp *failpoint) failWriteOf(what string) error {
	if !strings.HasPrefix(what, "begin ") && !strings.HasPrefix(what, "record ") && !strings.HasPrefix(what, "update ") {
		return nil
	}
	if fp.failWrite.CompareAndSwap(true, false) {
		fp.applied(faultIOError, "journal write "+what)
		return errInjected
	}
	return nil
}

// applied announces that the armed fault took effect.
func (fp *failpoint) applied(fault, detail string) {
	line := fp.boundary + " " + fault + " applied"
	if detail != "" {
		line += ": " + detail
	}
	fp.announce(line)
}

// handler cuts the next answer that carries a money outcome (a 2xx to a
// POST under /v1/payments) after an io_error at after_outcome_commit: the
// connection closes with no answer, as a broken cable would.
func (fp *failpoint) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/payments") {
			w = &cuttingWriter{ResponseWriter: w, fp: fp, path: r.URL.Path}
		}
		next.ServeHTTP(w, r)
	})
}

type cuttingWriter struct {
	http.ResponseWriter
	fp      *failpoint
	path    string
	written bool
}

func (c *cuttingWriter) Write(b []byte) (int, error) {
	if !c.written {
		c.WriteHeader(http.StatusOK)
	}
	return c.ResponseWriter.Write(b)
}

func (c *cuttingWriter) WriteHeader(code int) {
	c.written = true
	if code >= 200 && code < 300 && c.fp.cutReply.CompareAndSwap(true, false) {
		c.fp.applied(faultIOError, fmt.Sprintf("reply %d to POST %s cut", code, c.path))
		panic(http.ErrAbortHandler)
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *cuttingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// transport carries the three boundaries that live inside an upstream call.
func (fp *failpoint) transport(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if cardPath(req.URL.Path) && fp.failDial.CompareAndSwap(true, false) {
			fp.applied(faultIOError, "connection to "+req.URL.Path+" refused")
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
			resp, err := next.RoundTrip(req)
			if err != nil {
				fp.announce(b + " " + faultIOError + " not applied: the call failed on its own: " + err.Error())
				return nil, err
			}
			_ = resp.Body.Close()
			fp.applied(faultIOError, "connection reset after "+req.URL.Path+" was written")
			return nil, &net.OpError{Op: "read", Net: "tcp", Err: fmt.Errorf("connection reset: %w", errInjected)}
		default: // delay: the answer arrives after the call's deadline
			resp, err := next.RoundTrip(req)
			if err != nil {
				fp.announce(b + " " + faultDelay + " not applied: the call failed on its own: " + err.Error())
				return nil, err
			}
			_ = resp.Body.Close()
			fp.applied(faultDelay, "answer to "+req.URL.Path+" held past the deadline")
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

// cardPath reports whether an upstream path is a card operation: anything
// on the terminal host but a status query or refundable-sale info.
func cardPath(p string) bool {
	return strings.HasPrefix(p, "/v2/terminal-host/") && p != upstream.PathQuery && p != upstream.PathGmuQuery &&
		p != upstream.PathGmuRefundableSaleInfo
}

// boundaryOf names the boundary an upstream request belongs to, or "".
func (fp *failpoint) boundaryOf(req *http.Request) string {
	switch req.URL.Path {
	case upstream.PathPayment, upstream.PathGmuPayment, upstream.PathRefund, upstream.PathGmuRefund,
		upstream.PathVoid, upstream.PathGmuVoid:
		// A case's one card operation: a sale, or a refund or void of one.
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
