package model

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/simulator"
	"github.com/bridgedpos/bridged/internal/simulator/simtest"
	"github.com/bridgedpos/bridged/proof/harness"
)

// Timings shortens the daemon's deadlines (the failpoint build reads them):
// a card call gives up after 1 s, a query after 500 ms, "not found" settles
// a sale only 2 s after it was sent (the simulator's slow card, .55, takes
// 1.1 s: a query finds it well before), the reconciler retries every
// 100-500 ms, and a failpoint's delay stalls 1.5 s.
const Timings = "card_timeout=1s,query_timeout=500ms,login_timeout=1s,not_found_grace=2s," +
	"backoff_min=100ms,backoff_max=500ms,fault_delay=1500ms"

// ECR budgets: how long the ECR keeps retrying one call during the history
// (then it leaves it open, and comes back to it in the final phase), and how
// long the final phase waits for everything to settle.
const (
	callBudget  = 8 * time.Second
	finalBudget = 30 * time.Second
	preferWait  = 2
)

// run is one history being run: its world (simulator, edge, daemon), and
// everything the ECR saw.
type run struct {
	t       *testing.T
	h       History
	sim     *simulator.Sim
	edge    *harness.Edge
	w       *world
	capture *harness.Capture
	devices []string
	dir     string

	mu   sync.Mutex
	made map[string]*made // payments and split sales, by the Name of the step that made them
	// reportedParts are split parts a split cancel answered it could not
	// void (their money goes back outside bridged), by reference, with the note.
	reportedParts map[string]string
	calls         []*callRec          // every money call, in the order they began
	byName        map[string]*callRec // the first call of each money step
	seen          map[string][]string // op id -> every final status an answer showed
	eods          []eodSeen
	async         sync.WaitGroup
	tally         tally

	fcMu             sync.Mutex // held by a fail-closed check
	fpSeen           map[int]int
	closedForNothing map[int]bool // lives that failed closed without a failed write
	probes           int
}

// made is what the ECR learned of a payment or split sale from its answers.
type made struct {
	id, paymentID, kind string
	lane                int
	amount              int64
	lineIDs             []string
	parts               int64 // a split sale's approved parts
}

// callRec is one money call (or end of day) as the ECR made it: the same
// request with the same key until a final answer.
type callRec struct {
	named         chan struct{} // closed once an answer names the operation
	step          Step
	kind          string // the kind of operation asked for: sale, refund, ...
	method, path  string
	key           string
	body          map[string]any
	answers       []answer
	purchase      string // the sale step whose customer this attempt serves
	exceeds       string // why the model expects a local refusal (a refund beyond what is left)
	exceedsBefore func() string
}

// answer is one answer the ECR got, with what the model reads of it.
type answer struct {
	harness.Answer
	Type       string
	ErrCode    string // the payment's error.code
	Resolution string
	Match      *bool // end of day
	Life       int
	Items      []string
}

func (a answer) problem() bool { return a.Err == nil && a.Status == "" }

// retryable says whether the ECR sends the same request again: no answer,
// a payment not final yet, a busy or blocked terminal, a daemon that cannot
// take money now.
func (a answer) retryable() bool {
	if a.Err != nil {
		return true
	}
	switch a.HTTP {
	case http.StatusAccepted:
		return true
	case http.StatusConflict:
		return a.Code == "terminal_busy" || a.Code == "terminal_blocked"
	case http.StatusServiceUnavailable:
		return true
	}
	return false
}

// countNamed counts the answers that name an operation.
func countNamed(as []answer) int {
	n := 0
	for _, a := range as {
		if a.ID != "" && a.Status != "" {
			n++
		}
	}
	return n
}

func (c *callRec) last() *answer {
	if len(c.answers) == 0 {
		return nil
	}
	return &c.answers[len(c.answers)-1]
}

// final is the call's final answer, nil while it has none.
func (c *callRec) final() *answer {
	if a := c.last(); a != nil && !a.retryable() {
		return a
	}
	return nil
}

// opID is the id of the operation the call made, "" when none was seen.
func (c *callRec) opID() string {
	for _, a := range c.answers {
		if a.ID != "" && a.Status != "" {
			return a.ID
		}
	}
	return ""
}

// journaled says whether bridged took the call (an answer named its operation).
func (c *callRec) journaled() bool { return c.opID() != "" }

func (r *run) lane(i int) string { return fmt.Sprintf("lane-%d", i+1) }

func (r *run) key(name string) string { return fmt.Sprintf("m%d-%s", r.h.Seed, name) }

// do sends one request to the current life of the daemon.
func (r *run) do(method, path, key string, body any, wait int) answer {
	return r.doWithin(method, path, key, body, wait, time.Duration(wait+5)*time.Second)
}

// doAsOperator is do with the operator's key (scope operate): what the
// store's IT person does from the CLI, such as settling an operation.
func (r *run) doAsOperator(method, path string, body any) answer {
	return r.doAs(harness.OpsKey, method, path, "", body, 0, 5*time.Second)
}

// doWithin is do with the ECR's own HTTP timeout: a short one is an ECR
// that hangs up while bridged is still working on the call.
func (r *run) doWithin(method, path, key string, body any, wait int, timeout time.Duration) answer {
	return r.doAs(harness.DefaultKey, method, path, key, body, wait, timeout)
}

func (r *run) doAs(apiKey, method, path, key string, body any, wait int, timeout time.Duration) answer {
	d, life := r.w.current()
	if d == nil {
		return answer{Answer: harness.Answer{Err: fmt.Errorf("the daemon did not come back")}, Life: life}
	}
	e := harness.NewECR(r.t, d.Addr, apiKey, r.capture, timeout)
	a := answer{Answer: e.Do(method, path, key, body, wait), Life: life}
	r.mu.Lock()
	r.tally.requests++
	if a.HTTP == http.StatusInternalServerError {
		r.tally.c.InternalErrors++
		r.failf("%s %s: HTTP 500 %s", method, path, a.Raw)
	}
	r.mu.Unlock()
	forNothing := a.HTTP == http.StatusServiceUnavailable && a.Code == "storage_failure" && !wroteFailed(d)
	r.mu.Lock()
	forNothing = forNothing && !r.closedForNothing[life]
	if forNothing {
		r.closedForNothing[life] = true
		r.tally.c.FailedClosedForNothing++
		r.failf("life %d answered %s %s with 503 storage_failure, and no journal write of it failed", life, method, path)
	}
	r.mu.Unlock()
	if forNothing {
		// As an operator would: restart it, and the history goes on.
		r.w.kill(life)
	}
	if a.Err != nil || len(a.Raw) == 0 {
		return a
	}
	var v struct {
		Type  string `json:"type"`
		Error *struct {
			Code string `json:"code"`
		} `json:"error"`
		Resolution string `json:"resolution"`
		Match      *bool  `json:"match"`
		Items      []struct {
			LineID string `json:"line_id"`
		} `json:"items"`
	}
	if json.Unmarshal(a.Raw, &v) == nil {
		a.Type, a.Resolution, a.Match = v.Type, v.Resolution, v.Match
		if v.Error != nil {
			a.ErrCode = v.Error.Code
		}
		for _, it := range v.Items {
			a.Items = append(a.Items, it.LineID)
		}
	}
	if a.ID != "" && a.Final() && a.Match == nil {
		r.observe(a.ID, a.Status)
	}
	return a
}

// wroteFailed says whether a life announced a failed journal write. The
// announcement is a log line, read by another goroutine than the answer
// that follows it: it is waited for, up to a second.
func wroteFailed(d *harness.Daemon) bool {
	return d.WaitFailpoint("applied: journal write", time.Second)
}

// observe notes a final status an answer showed for an operation.
func (r *run) observe(id, status string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.seen[id], status) {
		r.seen[id] = append(r.seen[id], status)
	}
}

// failf notes a violation for the failure message (the counter is the
// caller's). Called with r.mu held or not: it takes no lock of its own.
func (r *run) failf(format string, args ...any) {
	r.tally.notes = append(r.tally.notes, fmt.Sprintf(format, args...))
}

func (r *run) notef(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failf(format, args...)
}

// newCall registers a money call of step st.
func (r *run) newCall(st Step, kind, method, path, key string, body map[string]any) *callRec {
	return r.newPurchaseCall("", st, kind, method, path, key, body)
}

// newPurchaseCall is newCall for an attempt that serves a sale step's
// customer: the purchase is set before the call is published, because
// async steps read it (under r.mu) as soon as it is.
func (r *run) newPurchaseCall(purchase string, st Step, kind, method, path, key string, body map[string]any) *callRec {
	c := &callRec{step: st, kind: kind, method: method, path: path, key: key, body: body, purchase: purchase, named: make(chan struct{})}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
	if _, ok := r.byName[st.Name]; !ok && st.Name != "" {
		r.byName[st.Name] = c
	}
	r.tally.ops++
	return c
}

// send makes the call as an ECR does: the same request with the same key
// until the answer is final, or budget is spent (the call stays open).
func (r *run) send(c *callRec, budget time.Duration) {
	deadline := time.Now().Add(budget)
	for n := 0; time.Now().Before(deadline); n++ {
		exceeds := ""
		if c.exceedsBefore != nil {
			exceeds = c.exceedsBefore()
		}
		began := time.Now()
		timeout := time.Duration(preferWait+5) * time.Second
		if ms, ok := strings.CutPrefix(c.step.Arg, "hangup="); ok && n == 0 {
			// The ECR gives up on its first try almost at once (its app
			// closed, a short timeout), then comes back with the same key.
			var v int
			fmt.Sscan(ms, &v)
			timeout = time.Duration(max(v, 1)) * time.Millisecond
		}
		a := r.doWithin(c.method, c.path, c.key, c.body, preferWait, timeout)
		r.mu.Lock()
		c.answers = append(c.answers, a)
		c.exceeds = exceeds
		if a.ID != "" && a.Status != "" && countNamed(c.answers) == 1 {
			close(c.named) // the first answer that names the operation
		}
		r.mu.Unlock()
		if os.Getenv("PROOF_MODEL_TRACE") == "2" {
			r.t.Logf("%s %s %s: %d %s %s %v", c.step.Name, c.method, c.path, a.HTTP, a.Status, a.Code, a.Err)
		}
		if !a.retryable() {
			return
		}
		if a.Status == "unknown" && a.ID != "" {
			// The cashier calls the operator when the answer stays unknown:
			// bridged refuses while iyzico may still answer.
			r.settle(a.ID)
		}
		if a.Code == "terminal_blocked" {
			// The cashier calls the operator: an unknown that only the slip
			// settles (operatorCents) is settled; bridged refuses the
			// others (too young, or iyzico answers first).
			var blocked struct {
				Unknown []string `json:"unknown"`
			}
			if json.Unmarshal(a.Raw, &blocked) == nil {
				for _, id := range blocked.Unknown {
					r.settle(id)
				}
			}
		}
		if a.HTTP != http.StatusAccepted && time.Since(began) < 150*time.Millisecond {
			// The ECR's own pause between two tries (it honours Retry-After
			// loosely): the pace of the workload, not a wait for readiness.
			time.Sleep(150 * time.Millisecond)
		}
	}
}

// money runs the call of a money step, twice at once with the same key when
// the step says "dup" (both must end on one operation).
func (r *run) money(c *callRec) {
	if c.step.Arg != "dup" {
		r.send(c, callBudget)
		return
	}
	twin := &callRec{step: c.step, kind: c.kind, method: c.method, path: c.path, key: c.key, body: c.body, exceedsBefore: c.exceedsBefore, named: make(chan struct{})}
	r.mu.Lock()
	r.calls = append(r.calls, twin)
	r.tally.ops++
	r.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); r.send(twin, callBudget) }()
	r.send(c, callBudget)
	wg.Wait()
	if a, b := c.opID(), twin.opID(); a != "" && b != "" && a != b {
		r.mu.Lock()
		r.tally.c.JoinSplit++
		r.failf("two concurrent calls with key %s made two operations, %s and %s", c.key, a, b)
		r.mu.Unlock()
	}
}

// watch runs the fail-closed check whenever a life announces a failed
// journal write: a new money call must be refused with 503
// storage_failure, /readyz must say 503; then that life is killed (kill -9)
// and the next one starts on the same journal.
func (r *run) watch(stop <-chan struct{}) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		d, life := r.w.current()
		if d == nil {
			continue
		}
		fps := d.Failpoints()
		r.mu.Lock()
		from := r.fpSeen[life]
		r.fpSeen[life] = len(fps)
		r.mu.Unlock()
		for _, line := range fps[from:] {
			r.countFailpoint(line)
			if strings.Contains(line, "applied: journal write") {
				r.failClosedCheck(d, life)
			}
		}
	}
}

func (r *run) countFailpoint(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case strings.Contains(line, "applied: journal write"):
		r.tally.faults["journal_write_error"]++
	case strings.Contains(line, " kill applied"):
		r.tally.faults["failpoint_kill"]++
	case strings.Contains(line, " delay applied"):
		r.tally.faults["failpoint_delay"]++
	case strings.Contains(line, " io_error applied"):
		r.tally.faults["failpoint_io_error"]++
	}
}

func (r *run) failClosedCheck(d *harness.Daemon, life int) {
	r.fcMu.Lock()
	defer r.fcMu.Unlock()
	r.mu.Lock()
	r.probes++
	name := fmt.Sprintf("probe%d", r.probes)
	r.tally.failClosedChecks++
	r.mu.Unlock()
	// The failpoint announces the failed write from inside the journal's
	// transaction, a moment before bridged hears of it and fails closed.
	// Wait (at most two seconds) for /readyz to say so, as a monitor would:
	// a bridged that never fails closed is still caught by the probe below.
	awaitStoreFail(d, 2*time.Second)
	st := Step{Op: "probe", Name: name}
	body := r.saleBody(Step{Amount: "3.00", Items: []Item{{Qty: 1, Unit: "3.00"}}}, r.key(name), 0, "")
	c := r.newPurchaseCall(name, st, "sale", "POST", "/v1/payments", r.key(name), body)
	e := harness.NewECR(r.t, d.Addr, harness.DefaultKey, r.capture, 5*time.Second)
	a := answer{Answer: e.Do("POST", "/v1/payments", c.key, body, 0), Life: life}
	r.mu.Lock()
	c.answers = append(c.answers, a)
	r.mu.Unlock()
	switch {
	case a.Err != nil:
		// That life is gone already (a kill raced the check): nothing to judge.
		r.mu.Lock()
		r.tally.failClosedSkipped++
		r.mu.Unlock()
	case a.HTTP != http.StatusServiceUnavailable || a.Code != "storage_failure":
		r.mu.Lock()
		r.tally.c.FailOpen++
		r.failf("after a failed journal write, a new sale was answered %v, not 503 storage_failure", a)
		r.mu.Unlock()
	default:
		resp, err := http.Get("http://" + d.Addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				r.mu.Lock()
				r.tally.c.FailOpen++
				r.failf("after a failed journal write, /readyz answered %d", resp.StatusCode)
				r.mu.Unlock()
			}
		}
	}
	if r.w.kill(life) {
		r.mu.Lock()
		r.tally.faults["kill_after_write_error"]++
		r.mu.Unlock()
	}
}

// eodSeen is an end-of-day report the ECR got.
type eodSeen struct {
	lane     string
	final    bool // the final phase's, with every fault cleared
	status   string
	match    bool
	journal  string
	upstream string
}

// saleBody is the body of a sale (or split start) of st.
func (r *run) saleBody(st Step, key string, lane int, typ string) map[string]any {
	b := map[string]any{"reference": key, "terminal": r.lane(lane)}
	if typ != "" {
		b["type"] = typ
	}
	if r.h.Mode == "vuk507" {
		b["document_type"] = "1"
		if st.Cash {
			b["payment_type"] = "CASH"
		}
		var items []map[string]any
		for i, it := range st.Items {
			total := money(int64(it.Qty) * minorOf(it.Unit))
			items = append(items, map[string]any{"name": fmt.Sprintf("Item %d", i+1), "quantity": it.Qty,
				"unit_price": it.Unit, "total": total, "tax_group_code": "1"})
		}
		b["items"] = items
		b["amount"] = money(itemsTotal(st.Items))
	} else {
		b["amount"] = st.Amount
	}
	return b
}

// ---------------------------------------------------------------------------
// Running a history.

// result is what a run of a history found.
type result struct {
	h     History
	tally tally
	err   error // the run itself could not be done (setup, a daemon that did not restart)
}

func (res result) failed() bool { return res.err != nil || res.tally.c.violations() > 0 }

// runHistory runs h against a fresh simulator, edge and daemon, then the
// final phase and the oracle.
func runHistory(t *testing.T, bin string, h History) (res result) {
	res.h = h
	r := &run{t: t, h: h, made: map[string]*made{}, reportedParts: map[string]string{}, byName: map[string]*callRec{}, seen: map[string][]string{},
		fpSeen: map[int]int{}, closedForNothing: map[int]bool{}, tally: newTally()}
	defer func() { res.tally = r.tally }()
	for i := range h.Terminals {
		r.devices = append(r.devices, fmt.Sprintf("PAV8600%05d", h.Seed%1000*10+uint64(i)))
	}
	var srv *httptest.Server
	r.sim, srv = simtest.Start(t, simulator.Config{Devices: r.devices, Seed: h.Seed, SlowCardWait: 1100 * time.Millisecond})
	srvURL := srv.URL
	r.dir = t.TempDir()
	r.edge = harness.StartEdge(t, srvURL, r.dir)
	r.capture = harness.NewCapture(t, "model")
	r.capture.Secret(harness.DefaultKey, "sim-secret", "sim-password")
	defer func() { r.capture.Secret(r.sim.IssuedSecrets()...) }()
	var terms []harness.Terminal
	for i, dev := range r.devices {
		terms = append(terms, harness.Terminal{ID: r.lane(i), Device: dev})
	}
	cfg := harness.WriteConfig(t, r.dir, harness.Config{Mode: h.Mode, UpstreamURL: r.edge.URL, Terminals: terms})
	env := append([]string{"BRIDGED_FAILPOINT_TIMINGS=" + Timings, "BRIDGED_FAILPOINT_CONTROL=1"}, r.edge.Env()...)
	w, err := startWorld(t, bin, cfg, env, r.capture)
	if err != nil {
		res.err = err
		return res
	}
	r.w = w
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() { defer close(watched); r.watch(stop) }()

	began := time.Now()
	for i, st := range h.Steps {
		if os.Getenv("PROOF_MODEL_TRACE") == "1" {
			t.Logf("%6.2fs step %d %s", time.Since(began).Seconds(), i, st.Op)
		}
		k := kindNamed(st.Op)
		if k == nil {
			res.err = fmt.Errorf("unknown step %q", st.Op)
			close(stop)
			<-watched
			w.stop()
			return res
		}
		if st.Async {
			r.async.Add(1)
			go func() { defer r.async.Done(); k.run(r, st) }()
			// An async step gets a head start, so that what follows meets it
			// in flight rather than before it: the shape of the workload (an
			// overlap the history asks for), not a wait for readiness.
			time.Sleep(20 * time.Millisecond)
			continue
		}
		k.run(r, st)
	}
	r.async.Wait()
	if os.Getenv("PROOF_MODEL_TRACE") == "1" {
		t.Logf("%6.2fs steps done; final phase", time.Since(began).Seconds())
		defer func() { t.Logf("%6.2fs final phase done", time.Since(began).Seconds()) }()
	}
	r.finalPhase()
	close(stop)
	<-watched
	w.stop()
	if w.failed != nil {
		res.err = w.failed
	}
	harness.Export(t, bin, cfg, r.capture, "export.jsonl") // for the secret scan
	r.oracle()
	return res
}

// finalPhase clears every fault, lets the ECR finish what it left open,
// asks bridged to resolve every unknown, waits for the reconciler, and runs
// a last end of day on every terminal.
func (r *run) finalPhase() {
	r.fcMu.Lock() // no fail-closed check in progress
	r.sim.ClearFaults()
	r.edge.ClearFaults()
	_ = r.w.control("DELETE", "")
	r.fcMu.Unlock()

	r.mu.Lock()
	var open []*callRec
	for _, c := range r.calls {
		if c.final() == nil && c.kind != "eod" && c.step.Op != "probe" {
			open = append(open, c)
		}
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range open {
		wg.Add(1)
		go func() { defer wg.Done(); r.send(c, finalBudget) }()
	}
	wg.Wait()

	// Every split sale left open with parts charged is cancelled, as the
	// ECR must to give the customer's money back.
	r.mu.Lock()
	var splits []*made
	var names []string
	for name, m := range r.made {
		if m.kind == "split_start" {
			splits, names = append(splits, m), append(names, name)
		}
	}
	r.mu.Unlock()
	for i, m := range splits {
		r.cancelSplit(Step{Op: "split_cancel", Lane: m.lane, Name: "final-cancel-" + names[i]}, m, r.key("final-cancel-"+names[i]))
	}

	// Every unknown is resolved now, by the ECR's resolve and the reconciler
	// at once (as an operator's click and the background worker would).
	for _, id := range r.listIDs("unknown") {
		wg.Add(1)
		go func() { defer wg.Done(); r.do("POST", "/v1/payments/"+id+"/resolve", "", nil, 0) }()
	}
	wg.Wait()
	// What no status query settles (operatorCents), an operator settles with
	// the slip's evidence; the rest settles by itself (reconciler, grace).
	deadline := time.Now().Add(finalBudget)
	for time.Now().Before(deadline) {
		unknown := r.listIDs("unknown")
		if len(unknown)+len(r.listIDs("pending")) == 0 {
			break
		}
		for _, id := range unknown {
			if id != "?" {
				r.settle(id)
			}
		}
		// Wait until the first of them is final (a long poll: bridged answers
		// as soon as it settles), then look again.
		for _, id := range append(unknown, r.listIDs("pending")...) {
			if id != "?" {
				r.do("GET", "/v1/payments/"+id, "", nil, 2)
				break
			}
		}
	}

	for i := range r.h.Terminals {
		c := r.newCall(Step{Op: "eod", Lane: i, Name: fmt.Sprintf("final-eod-%d", i+1)}, "eod", "POST",
			"/v1/terminals/"+r.lane(i)+"/end-of-day", r.key(fmt.Sprintf("final-eod-%d", i+1)), map[string]any{})
		r.send(c, finalBudget)
		r.noteEOD(c, true)
	}
}

// listIDs lists the operations in a status.
func (r *run) listIDs(status string) []string {
	a := r.do("GET", "/v1/payments?status="+status+"&limit=1000", "", nil, 0)
	var list struct {
		Items []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"items"`
	}
	if a.Err != nil || json.Unmarshal(a.Raw, &list) != nil {
		return []string{"?"} // not known: treat as not settled yet
	}
	var ids []string
	for _, it := range list.Items {
		ids = append(ids, it.ID)
	}
	return ids
}

// noteEOD keeps an end-of-day call's report.
func (r *run) noteEOD(c *callRec, final bool) {
	a := c.final()
	if a == nil || a.HTTP != http.StatusCreated {
		if final {
			r.mu.Lock()
			r.tally.c.EodMismatch++
			r.failf("final end of day of %s: no report (%v)", c.step.Name, c.last())
			r.mu.Unlock()
		}
		return
	}
	var rep struct {
		Terminal string                  `json:"terminal"`
		Status   string                  `json:"status"`
		Match    bool                    `json:"match"`
		Journal  struct{ Amount string } `json:"journal"`
		Upstream struct{ Amount string } `json:"upstream"`
	}
	_ = json.Unmarshal(a.Raw, &rep)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.eods = append(r.eods, eodSeen{lane: rep.Terminal, final: final, status: rep.Status, match: rep.Match,
		journal: rep.Journal.Amount, upstream: rep.Upstream.Amount})
}

// journalOps reads every operation of the stopped daemon's journal, and
// runs bbolt's check and the hash chain's verification.
func (r *run) journalOps() ([]*payment.Operation, error) {
	st, problem := harness.OpenJournal(r.t, r.dir)
	var all []*payment.Operation
	f := payment.Filter{Limit: 1000}
	for {
		ops, next, err := st.List(context.Background(), f)
		if err != nil {
			return all, err
		}
		all = append(all, ops...)
		if next == "" {
			break
		}
		f.Cursor = next
	}
	return all, problem
}

// awaitStoreFail polls /readyz (operator's key) until it reports the
// journal failed, or within is over.
func awaitStoreFail(d *harness.Daemon, within time.Duration) {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(within)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+d.Addr+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+harness.OpsKey)
		if resp, err := c.Do(req); err == nil {
			var rd struct {
				Store struct{ Status string } `json:"store"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&rd)
			resp.Body.Close()
			if rd.Store.Status == "fail" {
				return
			}
		}
		<-tick.C
	}
}
