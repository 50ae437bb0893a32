package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Sim is one simulated iyzico Terminal API: its merchants' sessions, its devices
// and their payments and batches. All methods are safe for concurrent use.
type Sim struct {
	cfg     Config
	schemas schemas
	obs     *observer
	faults  *faultSet
	handler http.Handler

	// life ends with Close: card waits that ignore their client end then.
	life  context.Context
	close context.CancelFunc

	mu       sync.Mutex // guards everything below
	codes    map[string]*authCode
	access   map[string]*accessToken
	refresh  map[string]*session
	devices  map[string]*device
	payments map[string]*payment // by paymentId, VUK 509 and VUK 507 alike
	splits   map[string]*split   // open and completed partial-payment sales, by saleNumber
	seq      int64               // source of paymentIds, auth codes, host references
	lineSeq  int64               // source of VUK 507 sale line ids
	revealed bool                // RevealRecords: .61 charges show as approved
}

// New builds a simulator. It panics when cfg does not pass Config.Validate,
// which only a programming error can cause (cmd/iyzico-sim validates first).
func New(cfg Config) *Sim {
	if err := cfg.Validate(); err != nil {
		panic("simulator: invalid config: " + err.Error())
	}
	cfg = cfg.withDefaults()
	life, closeLife := context.WithCancel(context.Background())
	s := &Sim{
		life:     life,
		close:    closeLife,
		cfg:      cfg,
		schemas:  buildSchemas(cfg),
		obs:      newObserver(cfg.OnRequest),
		faults:   newFaultSet(cfg.Seed),
		codes:    map[string]*authCode{},
		access:   map[string]*accessToken{},
		refresh:  map[string]*session{},
		devices:  map[string]*device{},
		payments: map[string]*payment{},
		splits:   map[string]*split{},
	}
	for i, id := range cfg.Devices {
		s.devices[id] = newDevice(id, i)
	}
	s.handler = s.buildHandler()
	return s
}

// Handler serves the iyzico paths and the /_sim/ control and observation API.
func (s *Sim) Handler() http.Handler { return s.handler }

// Close ends every card wait in progress (their operations are abandoned), so
// that a server in front of the Sim can shut down. The Sim keeps answering
// other calls; card operations that start after Close are abandoned at once.
// Close is safe to call more than once.
func (s *Sim) Close() { s.close() }

// now reads the simulator clock in the simulator's time zone.
func (s *Sim) now() time.Time { return s.cfg.Now().In(s.cfg.Location) }

// family is the API a path belongs to; it decides the answer conventions.
type family int

const (
	famNone  family = iota // unknown path
	famOAuth               // /in-store/oauth2/...
	fam509                 // /v2/terminal-host/... : SUCCESS/FAILURE, errorGroup
	fam507                 // /v2/terminal-host/gmu/... : success/failure, errorCode "0"
)

// maxBody bounds request bodies; iyzico's are a few kilobytes.
const maxBody = 1 << 20

// call is one request on its way through the pipeline.
type call struct {
	r      *http.Request
	op     string
	fam    family
	raw    []byte
	parsed body  // the JSON body when it parsed as an object
	parseE error // why it did not
	work   context.Context

	device, ref    string // best-effort, for fault matching and the log
	locale         string
	conversationID string
	user           string // the authenticated merchant user

	findings  []Finding
	faults    []string
	processed bool   // authentication and validation passed: the operation ran
	errorCode string // of the answer, for the log
	at        time.Time
}

// reply is what a handler decided to answer.
type reply struct {
	status    int
	body      any
	errorCode string
	abandoned bool // the client went away during the card wait; answer nothing
}

// english reports whether messages go out in English: VUK 509 locale "en",
// VUK 507 locale "EN" in any case; Turkish otherwise, as iyzico defaults to TR.
func (c *call) english() bool { return strings.EqualFold(c.locale, "en") }

// serve runs the pipeline every iyzico request goes through: read, pre-faults,
// authenticate, validate, handle, then answer (or drop the answer), and record.
func (s *Sim) serve(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, done := s.newCall(w, r, rt)
		defer done()
		if rt.op == "" {
			s.notFound(w, c)
			return
		}

		// Every exit records the request before the client can see the end of
		// it, so that a test reading the log after its answer finds it there.
		if s.preFault(w, c) {
			return
		}

		var rep reply
		if rt.oauth != nil {
			c.processed = true // OAuth calls have no separate validation stage
			rep = rt.oauth(c)
		} else {
			s.obs.count(func(n *Counters) { n.ServiceCalls++ })
			rep = s.service(c, rt)
		}
		c.errorCode = rep.errorCode
		switch {
		case rep.abandoned:
			s.record(c, OutcomeAbandoned, 0)
			if r.Context().Err() == nil {
				// The Sim was closed under a client that is still there: no
				// answer, as when the device is switched off.
				cut(w, false)
			}
			return
		case c.processed:
			if s.commitFault(w, c, rt, &rep) {
				return
			}
		}
		s.record(c, OutcomeAnswered, rep.status)
		writeJSON(w, rep.status, rep.body)
	})
}

// newCall reads the request into a call. Its work context ends with the
// client's unless the device would not notice (AbandonOnCancel off); done
// releases it.
func (s *Sim) newCall(w http.ResponseWriter, r *http.Request, rt route) (*call, func()) {
	c := &call{r: r, op: rt.op, fam: rt.fam, at: s.now(), work: r.Context()}
	done := func() {}
	if !s.cfg.AbandonOnCancel {
		// The device does not notice that the client went away: the
		// operation goes on until it is done, or until the Sim is closed.
		work, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
		stop := context.AfterFunc(s.life, cancel)
		done = func() {
			stop()
			cancel()
		}
		c.work = work
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	c.raw = raw
	if err != nil {
		c.parseE = errors.New("body too large or unreadable")
	} else if rt.fam == fam509 || rt.fam == fam507 {
		c.peek()
	}
	return c, done
}

// preFault applies a fault that strikes before anything runs (no answer, a
// reset, a bare status); true when one did and the request is over.
func (s *Sim) preFault(w http.ResponseWriter, c *call) bool {
	switch pf := s.preFaults(c); {
	case pf.abandon:
		s.record(c, OutcomeAbandoned, 0)
	case pf.reset:
		s.record(c, OutcomeReset, 0)
		cut(w, true)
	case pf.status != 0:
		s.record(c, OutcomeAnswered, pf.status)
		writeFaultStatus(w, pf.status)
	default:
		return false
	}
	return true
}

// commitFault applies a fault that strikes after the operation ran: the
// answer dropped (true: the request is over), or, for a terminal-host call,
// replaced by a token error.
func (s *Sim) commitFault(w http.ResponseWriter, c *call, rt route, rep *reply) bool {
	if f, ok := s.faults.take(FaultCommitThenDrop, c.op, c.device); ok {
		c.faults = append(c.faults, string(f.Kind))
		s.record(c, OutcomeDropped, 0)
		cut(w, false)
		return true
	}
	if rt.service == nil {
		return false
	}
	if f, ok := s.faults.take(FaultCommitThenSessionTerminated, c.op, c.device); ok {
		// The operation ran (and charged); the answer is a token error on a
		// non-401 status, as if the session ended while the device worked.
		c.faults = append(c.faults, string(f.Kind))
		*rep = s.fail(c, errSessionTerminated())
		rep.status = f.Status
		if rep.status == 0 {
			rep.status = http.StatusOK
		}
		c.errorCode = rep.errorCode
	}
	return false
}

// service authenticates a terminal-host call, validates its body against the
// operation's schema and hands it to the operation.
func (s *Sim) service(c *call, rt route) reply {
	if e := s.authenticate(c); e != nil {
		s.obs.count(func(n *Counters) { n.TokenRejections++ })
		return s.fail(c, e)
	}
	if ct := c.r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		c.findings = append(c.findings, Finding{Field: "Content-Type", Kind: FindingHeader, Detail: "must be application/json"})
	}
	if c.parseE != nil {
		c.findings = append(c.findings, Finding{Field: "(body)", Kind: FindingMalformed, Detail: c.parseE.Error()})
		return s.fail(c, errValidation("request body: "+c.parseE.Error()))
	}
	v := validator{decimalStrings: s.cfg.AcceptDecimalStrings && rt.fam == fam507}
	v.object(c.parsed, s.schemas[rt.op], "")
	c.findings = append(c.findings, v.findings...)
	if d := fatalDetails(v.findings); d != "" {
		return s.fail(c, errValidation(d))
	}
	c.processed = true
	return rt.service(c, c.parsed)
}

// peek reads the fields needed before validation: for fault matching, the log,
// and the language of an early failure.
func (c *call) peek() {
	b, err := decodeBody(c.raw)
	if err != nil {
		c.parseE = err
		return
	}
	c.parsed = b
	c.device, c.ref = b.str("deviceUniqueId"), b.str("transactionReferenceId")
	c.locale, c.conversationID = b.str("locale"), b.str("conversationId")
	if c.fam == fam507 && c.conversationID == "" {
		c.conversationID = newUUID() // VUK 507: "UUID auto-assigned if empty"
	}
}

func (s *Sim) record(c *call, outcome string, status int) {
	s.obs.record(Request{
		Time:                   c.at,
		Method:                 c.r.Method,
		Path:                   c.r.URL.Path,
		Op:                     c.op,
		Device:                 c.device,
		TransactionReferenceID: c.ref,
		Status:                 status,
		Outcome:                outcome,
		ErrorCode:              c.errorCode,
		Faults:                 c.faults,
		Findings:               c.findings,
	})
}

func (s *Sim) notFound(w http.ResponseWriter, c *call) {
	status := http.StatusNotFound
	for _, rt := range s.routes() {
		if rt.path == c.r.URL.Path {
			status = http.StatusMethodNotAllowed
			w.Header().Set("Allow", http.MethodPost)
		}
	}
	s.record(c, OutcomeAnswered, status)
	writeJSON(w, status, map[string]any{"status": status, "error": http.StatusText(status), "path": c.r.URL.Path})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
