//go:build failpoint

package failpoint

// The failpoint build of the daemon, for the crash matrix (proof/crash). The
// environment names one boundary and one fault:
//
//	BRIDGED_FAILPOINT=<boundary>=<fault>          e.g. during_send=kill
//	BRIDGED_FAILPOINT_TIMINGS=card_timeout=1s,…   shorter timings than the config allows
//	BRIDGED_FAILPOINT_CONTROL=1                   serve POST /_failpoint (below)
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
// With BRIDGED_FAILPOINT_CONTROL=1 a test arms faults while the daemon runs,
// at moments it chooses (the model test, proof/model), on the API's listener
// and without a key (loopback only, like the API):
//
//	POST /_failpoint {"boundary":"after_upstream_answer","fault":"kill"}
//	                 arms that boundary and fault, once, replacing what was armed;
//	POST /_failpoint {"journal_write":"any|begin|record|update"}
//	                 fails the next journal write of an operation (of that kind),
//	                 as a failed fsync; the daemon then fails closed;
//	DELETE /_failpoint  disarms everything;
//	GET /_failpoint     what is armed.
//
// Production builds compile none of this (failpoint_off.go): there the route
// does not exist and answers 404 like any unknown path.

import (
	"context"
	"encoding/json"
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

	// The journal's upkeep (internal/store): the middle of a long step.
	bJournalMigration      = "journal_migration"       // half the entries copied to the new schema's file
	bJournalArchive        = "journal_archive"         // a day's archive written, the day not yet removed
	bJournalArchiveRemoval = "journal_archive_removal" // between two writes removing an archived day
	bJournalCompaction     = "journal_compaction"      // the compacted copy made, not yet in place
)

var boundaries = []string{bBeforeIntentCommit, bAfterIntentCommit, bDuringSend, bAfterAnswer,
	bAfterOutcomeCommit, bReconcilerQuery, bReconcilerCommit, bTokenRefresh,
	bJournalMigration, bJournalArchive, bJournalArchiveRemoval, bJournalCompaction}

// storePoints names the boundary of each of the store's Fault points.
var storePoints = map[string]string{"migration": bJournalMigration, "archive_written": bJournalArchive,
	"archive_removing": bJournalArchiveRemoval, "compaction": bJournalCompaction}

// failpointArchiveChunk makes an archived day's removal take several writes
// in the failpoint build, so that a stop can come between two of them.
const failpointArchiveChunk = 16

const (
	faultKill    = "kill"
	faultIOError = "io_error"
	faultDelay   = "delay"
)

// errInjected is the I/O error of an io_error fault.
var errInjected = errors.New("injected I/O error")

// failpoint holds what is armed in this process.
type failpoint struct {
	armed atomic.Pointer[arming]
	delay time.Duration // how long a delay fault stalls a payment-service step
	out   io.Writer

	// The io_error faults of the payment-service boundaries act on the next
	// write, dial or reply after the boundary; these arm them, each with the
	// name its announcement carries.
	failWrite          atomic.Pointer[writeArm]
	failDial, cutReply atomic.Pointer[string]
	mu                 sync.Mutex // serializes announcements
}

// arming is one boundary and fault, fired at most once.
type arming struct {
	boundary, fault string
	fired           atomic.Bool
}

// writeArm fails the next journal write of an operation whose name starts
// with prefix ("" for begin, record and update alike).
type writeArm struct{ source, prefix string }

// FromEnv reads BRIDGED_FAILPOINT, BRIDGED_FAILPOINT_TIMINGS and
// BRIDGED_FAILPOINT_CONTROL and returns the seams that apply them.
func FromEnv(stderr io.Writer) (Seams, error) {
	spec := os.Getenv("BRIDGED_FAILPOINT")
	timings, err := parseTimings(os.Getenv("BRIDGED_FAILPOINT_TIMINGS"))
	if err != nil {
		return Seams{}, err
	}
	fp := &failpoint{out: stderr, delay: timings["fault_delay"]}
	if fp.delay == 0 {
		fp.delay = 3 * time.Second
	}
	if spec != "" {
		b, f, ok := strings.Cut(spec, "=")
		switch {
		case !ok || !slices.Contains(boundaries, b):
			return Seams{}, fmt.Errorf("BRIDGED_FAILPOINT=%q: want <boundary>=<fault>, boundary one of %s", spec, strings.Join(boundaries, ", "))
		case f != faultKill && f != faultIOError && f != faultDelay:
			return Seams{}, fmt.Errorf("BRIDGED_FAILPOINT=%q: fault must be kill, io_error or delay", spec)
		}
		fp.armed.Store(&arming{boundary: b, fault: f})
	}
	handler := fp.handler
	if os.Getenv("BRIDGED_FAILPOINT_CONTROL") == "1" {
		handler = func(next http.Handler) http.Handler { return fp.control(fp.handler(next)) }
	}
	return Seams{
		FailWrite:    fp.failWriteOf,
		StoreFault:   fp.storeFault,
		ArchiveChunk: failpointArchiveChunk,
		Transport:    fp.transport,
		Handler:      handler,
		Upstream: func(c *upstream.Config) {
			setIf(&c.CardTimeout, timings["card_timeout"])
			setIf(&c.QueryTimeout, timings["query_timeout"])
			setIf(&c.LoginTimeout, timings["login_timeout"])
			setIf(&c.EODTimeout, timings["eod_timeout"])
		},
		Payment: func(o *payment.Options) {
			setIf(&o.CardTimeout, timings["card_timeout"])
			setIf(&o.NotFoundGrace, timings["not_found_grace"])
			setIf(&o.BackoffMin, timings["backoff_min"])
			setIf(&o.BackoffMax, timings["backoff_max"])
		},
		Service: func(s *payment.Service) { s.SetFailpoint(fp.hit) },
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

// take returns the arming that fires at boundary b now (once only), or nil.
func (fp *failpoint) take(b string) *arming {
	a := fp.armed.Load()
	if a == nil || a.boundary != b || !a.fired.CompareAndSwap(false, true) {
		return nil
	}
	return a
}

func (fp *failpoint) announce(what string) {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	fmt.Fprintf(fp.out, "failpoint: %s\n", what)
}

// die is kill -9 of this process, at this instant.
func (fp *failpoint) die(boundary string) {
	fp.applied(boundary, faultKill, "")
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
	a := fp.take(point)
	if a == nil {
		return nil
	}
	switch a.fault {
	case faultKill:
		fp.die(point)
	case faultDelay:
		fp.applied(point, faultDelay, fp.delay.String())
		time.Sleep(fp.delay)
	case faultIOError:
		fp.announce(point + " " + faultIOError + " armed")
		switch point {
		case bAfterIntentCommit:
			fp.failDial.Store(&point) // the connection to iyzico is refused
		case bAfterOutcomeCommit:
			fp.cutReply.Store(&point) // the ECR's connection breaks before the answer
		default:
			fp.failWrite.Store(&writeArm{source: point}) // the next journal write fails, as a failed fsync
		}
	}
	return nil
}

// storeFault is the store's Fault seam: the journal's upkeep boundaries.
func (fp *failpoint) storeFault(point string) error {
	b := storePoints[point]
	a := fp.take(b)
	if a == nil {
		return nil
	}
	switch a.fault {
	case faultKill:
		fp.die(b)
	case faultDelay:
		fp.applied(b, faultDelay, fp.delay.String())
		time.Sleep(fp.delay)
	case faultIOError:
		fp.applied(b, faultIOError, "the step fails there")
		return errInjected
	}
	return nil
}

// failWriteOf fails the next write of an operation (its intent, outcome or
// update), not a token save or a report: the write the boundary precedes.
func (fp *failpoint) failWriteOf(what string) error {
	if !strings.HasPrefix(what, "begin ") && !strings.HasPrefix(what, "record ") && !strings.HasPrefix(what, "update ") {
		return nil
	}
	w := fp.failWrite.Load()
	if w == nil || !strings.HasPrefix(what, w.prefix) || !fp.failWrite.CompareAndSwap(w, nil) {
		return nil
	}
	fp.applied(w.source, faultIOError, "journal write "+what)
	return errInjected
}

// applied announces that the fault armed at boundary took effect.
func (fp *failpoint) applied(boundary, fault, detail string) {
	line := boundary + " " + fault + " applied"
	if detail != "" {
		line += ": " + detail
	}
	fp.announce(line)
}

// controlPath is the runtime control's route (BRIDGED_FAILPOINT_CONTROL=1).
const controlPath = "/_failpoint"

// journalWrites names what {"journal_write": ...} may fail.
var journalWrites = map[string]string{"any": "", "begin": "begin ", "record": "record ", "update": "update "}

// control serves POST, DELETE and GET /_failpoint, and passes every other
// request on.
func (fp *failpoint) control(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != controlPath {
			next.ServeHTTP(w, r)
			return
		}
		answer := func(status int, v any) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(v)
		}
		switch r.Method {
		case http.MethodPost:
			var req struct {
				Boundary     string `json:"boundary"`
				Fault        string `json:"fault"`
				JournalWrite string `json:"journal_write"`
			}
			dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				answer(http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
			switch {
			case req.JournalWrite != "" && req.Boundary == "" && req.Fault == "":
				prefix, ok := journalWrites[req.JournalWrite]
				if !ok {
					answer(http.StatusBadRequest, map[string]string{"error": "journal_write: want any, begin, record or update"})
					return
				}
				fp.failWrite.Store(&writeArm{source: "journal_write", prefix: prefix})
				fp.announce("journal_write " + req.JournalWrite + " io_error armed")
			case req.JournalWrite == "" && slices.Contains(boundaries, req.Boundary) &&
				(req.Fault == faultKill || req.Fault == faultIOError || req.Fault == faultDelay):
				fp.armed.Store(&arming{boundary: req.Boundary, fault: req.Fault})
				fp.announce(req.Boundary + " " + req.Fault + " armed by control")
			default:
				answer(http.StatusBadRequest, map[string]string{"error": "want {\"boundary\":one of " +
					strings.Join(boundaries, ", ") + ",\"fault\":kill|io_error|delay} or {\"journal_write\":any|begin|record|update}"})
				return
			}
			answer(http.StatusOK, fp.state())
		case http.MethodDelete:
			fp.armed.Store(nil)
			fp.failWrite.Store(nil)
			fp.failDial.Store(nil)
			fp.cutReply.Store(nil)
			answer(http.StatusOK, fp.state())
		case http.MethodGet:
			answer(http.StatusOK, fp.state())
		default:
			answer(http.StatusMethodNotAllowed, map[string]string{"error": "GET, POST or DELETE"})
		}
	})
}

// state is what is armed, for the control's answers.
func (fp *failpoint) state() map[string]any {
	st := map[string]any{}
	if a := fp.armed.Load(); a != nil && !a.fired.Load() {
		st["boundary"], st["fault"] = a.boundary, a.fault
	}
	if w := fp.failWrite.Load(); w != nil {
		st["journal_write"] = w.source + " " + strings.TrimSpace(w.prefix)
	}
	return st
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
	if src := c.fp.cutReply.Load(); src != nil && code >= 200 && code < 300 && c.fp.cutReply.CompareAndSwap(src, nil) {
		c.fp.applied(*src, faultIOError, fmt.Sprintf("reply %d to POST %s cut", code, c.path))
		panic(http.ErrAbortHandler)
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *cuttingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// transport carries the three boundaries that live inside an upstream call.
func (fp *failpoint) transport(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if src := fp.failDial.Load(); src != nil && cardPath(req.URL.Path) && fp.failDial.CompareAndSwap(src, nil) {
			fp.applied(*src, faultIOError, "connection to "+req.URL.Path+" refused")
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errInjected}
		}
		b := fp.boundaryOf(req)
		var a *arming
		if b != "" {
			a = fp.take(b)
		}
		if a == nil {
			return next.RoundTrip(req)
		}
		switch a.fault {
		case faultKill:
			trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { fp.die(b) }}
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
			return next.RoundTrip(req)
		case faultIOError:
			resp, err := next.RoundTrip(req)
			if err != nil {
				fp.announce(b + " " + faultIOError + " not applied: the call failed on its own: " + err.Error())
				return nil, err
			}
			_ = resp.Body.Close()
			fp.applied(b, faultIOError, "connection reset after "+req.URL.Path+" was written")
			return nil, &net.OpError{Op: "read", Net: "tcp", Err: fmt.Errorf("connection reset: %w", errInjected)}
		default: // delay: the answer arrives after the call's deadline
			resp, err := next.RoundTrip(req)
			if err != nil {
				fp.announce(b + " " + faultDelay + " not applied: the call failed on its own: " + err.Error())
				return nil, err
			}
			_ = resp.Body.Close()
			fp.applied(b, faultDelay, "answer to "+req.URL.Path+" held past the deadline")
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
		if a := fp.armed.Load(); a != nil && a.boundary == bTokenRefresh && !a.fired.Load() && isRefresh(req) {
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
