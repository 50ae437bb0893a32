package simulator

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// FaultKind names what a Fault does to the calls it matches.
type FaultKind string

// Fault kinds. The first three act before the request is processed (nothing is
// charged); FaultDeviceBusy acts when the call would take the device;
// FaultCommitThenDrop acts after processing.
const (
	// FaultDelay holds the request for Fault.Delay before anything else happens
	// (the request context still applies).
	FaultDelay FaultKind = "delay"
	// FaultHTTPStatus answers Fault.Status (e.g. 500, 502, 503) with a plain-text
	// body, as a gateway in front of iyzico would, without processing.
	FaultHTTPStatus FaultKind = "http_status"
	// FaultResetBeforeProcessing cuts the connection (TCP reset) without an answer
	// and without processing.
	FaultResetBeforeProcessing FaultKind = "reset_before_processing"
	// FaultCommitThenDrop processes the request fully (a sale IS charged and
	// recorded), then cuts the connection without sending a byte of the answer.
	FaultCommitThenDrop FaultKind = "commit_then_drop"
	// FaultCommitThenSessionTerminated processes a terminal-host request fully
	// (a sale IS charged and recorded), then answers 380204 DEVICE_ERROR
	// ("session terminated") with HTTP Fault.Status (default 200) instead of
	// the real answer: a token error after the device acted, which a client
	// must never resend.
	FaultCommitThenSessionTerminated FaultKind = "commit_then_session_terminated"
	// FaultDeviceBusy answers 380201 DEVICE_ERROR to calls that would take the device.
	FaultDeviceBusy FaultKind = "device_busy"
	// FaultExpireTokens expires every issued access token just before the call is
	// authenticated (so the call itself gets 100311).
	FaultExpireTokens FaultKind = "expire_tokens"
	// FaultRevokeSessions revokes every session just before the call is
	// authenticated (so the call itself gets 380204).
	FaultRevokeSessions FaultKind = "revoke_sessions"
	// FaultQueryNotFound answers a status query 380108 "Payment not found
	// with id: <the reference asked for>", whatever iyzico holds: iyzico's
	// records out of reach (a replica behind, a lookup by another key). Only
	// status queries take it.
	FaultQueryNotFound FaultKind = "query_not_found"
)

// Fault is one injected misbehaviour. It matches calls by Op and Device ("" =
// any) and applies to the next Times matching calls, or, when Probability > 0,
// to each matching call with that probability until ClearFaults.
type Fault struct {
	Op          string        `json:"op,omitempty"`     // an Op* constant, "" = every operation
	Device      string        `json:"device,omitempty"` // a deviceUniqueId, "" = any (OAuth calls have none)
	Kind        FaultKind     `json:"kind"`
	Delay       time.Duration `json:"delay,omitempty"`       // FaultDelay
	Status      int           `json:"status,omitempty"`      // FaultHTTPStatus: 400-599; FaultCommitThenSessionTerminated: 200-499, 0 => 200
	Times       int           `json:"times,omitempty"`       // 0 => 1
	Probability float64       `json:"probability,omitempty"` // 0 < p <= 1; Times is then ignored
}

// Validate reports what is wrong with a fault.
func (f Fault) Validate() error {
	var errs []error
	switch f.Kind {
	case FaultDelay:
		if f.Delay <= 0 {
			errs = append(errs, errors.New("delay: must be positive for a delay fault"))
		}
	case FaultHTTPStatus:
		if f.Status < 400 || f.Status > 599 {
			errs = append(errs, errors.New("status: must be 400-599 for an http_status fault"))
		}
	case FaultCommitThenSessionTerminated:
		if f.Status != 0 && (f.Status < 200 || f.Status > 499) {
			errs = append(errs, errors.New("status: must be 200-499 (or 0 for 200) for a commit_then_session_terminated fault"))
		}
	case FaultResetBeforeProcessing, FaultCommitThenDrop, FaultDeviceBusy, FaultExpireTokens, FaultRevokeSessions, FaultQueryNotFound:
	default:
		errs = append(errs, fmt.Errorf("kind: unknown fault kind %q", f.Kind))
	}
	if f.Op != "" && !knownOp(f.Op) {
		errs = append(errs, fmt.Errorf("op: unknown operation %q", f.Op))
	}
	if f.Times < 0 {
		errs = append(errs, errors.New("times: negative"))
	}
	if f.Probability < 0 || f.Probability > 1 {
		errs = append(errs, errors.New("probability: must be within 0-1"))
	}
	return errors.Join(errs...)
}

// faultSet holds the active faults. The random source is seeded from
// Config.Seed, so a chaos run with probabilistic faults is repeatable as long as
// the calls arrive in the same order.
type faultSet struct {
	mu     sync.Mutex
	rng    *rand.Rand
	active []*activeFault
}

type activeFault struct {
	Fault
	left int
}

func newFaultSet(seed uint64) *faultSet {
	return &faultSet{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (fs *faultSet) add(f Fault) {
	left := f.Times
	if left == 0 {
		left = 1
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.active = append(fs.active, &activeFault{Fault: f, left: left})
}

func (fs *faultSet) clear() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.active = nil
}

func (fs *faultSet) list() []Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]Fault, 0, len(fs.active))
	for _, a := range fs.active {
		f := a.Fault
		if f.Probability == 0 {
			f.Times = a.left
		}
		out = append(out, f)
	}
	return out
}

// take consumes the first active fault of that kind matching op and device.
func (fs *faultSet) take(kind FaultKind, op, device string) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, a := range fs.active {
		if a.Kind != kind || (a.Op != "" && a.Op != op) || (a.Device != "" && a.Device != device) {
			continue
		}
		if a.Probability > 0 {
			if fs.rng.Float64() < a.Probability {
				return a.Fault, true
			}
			continue
		}
		a.left--
		if a.left == 0 {
			fs.active = slices.Delete(fs.active, i, i+1)
		}
		return a.Fault, true
	}
	return Fault{}, false
}

// Inject adds a fault. It panics on an invalid fault (see Fault.Validate): a
// mistyped fault in a test must not silently test nothing.
func (s *Sim) Inject(f Fault) {
	if err := f.Validate(); err != nil {
		panic("simulator: invalid fault: " + err.Error())
	}
	s.faults.add(f)
}

// ClearFaults removes every active fault.
func (s *Sim) ClearFaults() { s.faults.clear() }

// Faults returns the active faults; Times is what is left of each.
func (s *Sim) Faults() []Fault { return s.faults.list() }

// preFault is what the faults acting before processing decided.
type preFault struct {
	abandon bool // the client went away during a delay
	reset   bool // cut the connection
	status  int  // answer this HTTP status
}

// preFaults applies the faults that act before a request is processed: a
// delay, token expiry or session revocation, then a reset or an HTTP status.
func (s *Sim) preFaults(c *call) preFault {
	if f, ok := s.faults.take(FaultDelay, c.op, c.device); ok {
		c.faults = append(c.faults, string(f.Kind))
		if !sleep(c.r.Context(), f.Delay) {
			return preFault{abandon: true}
		}
	}
	if f, ok := s.faults.take(FaultExpireTokens, c.op, c.device); ok {
		c.faults = append(c.faults, string(f.Kind))
		s.ExpireTokens()
	}
	if f, ok := s.faults.take(FaultRevokeSessions, c.op, c.device); ok {
		c.faults = append(c.faults, string(f.Kind))
		s.RevokeSessions()
	}
	if f, ok := s.faults.take(FaultResetBeforeProcessing, c.op, c.device); ok {
		c.faults = append(c.faults, string(f.Kind))
		return preFault{reset: true}
	}
	if f, ok := s.faults.take(FaultHTTPStatus, c.op, c.device); ok {
		c.faults = append(c.faults, string(f.Kind))
		return preFault{status: f.Status}
	}
	return preFault{}
}

// writeFaultStatus answers an injected HTTP status as a gateway in front of
// iyzico would: plain text, no iyzico envelope.
func writeFaultStatus(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "%d %s (simulated)\n", status, http.StatusText(status))
}

// cut closes the client connection without an answer. With reset, the socket
// is closed with SO_LINGER 0, so the client sees a TCP reset rather than EOF.
// When the connection cannot be hijacked (HTTP/2), aborting the handler has the
// same effect for the client: no answer.
func cut(w http.ResponseWriter, reset bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// sleep waits d or until ctx is done, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
