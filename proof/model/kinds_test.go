package model

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/bridgedpos/bridged/internal/simulator"
	"github.com/bridgedpos/bridged/proof/harness"
)

// kind is one entry of the model's tables: an operation of the local API
// (opKinds) or a fault (faultKinds). gen makes a step of it from what the
// history has made so far (false: nothing to act on yet); run does it.
// A new operation of the API is one more entry here.
type kind struct {
	name   string
	mode   string // "" in both modes
	weight int    // how often the generator picks it
	gen    func(g *gen) (Step, bool)
	run    func(r *run, st Step)
}

func (k *kind) usable(mode string) bool { return k.weight > 0 && (k.mode == "" || k.mode == mode) }

// opKinds are the operations of the local API, as docs/api.md and
// internal/server/openapi.yaml define them.
var opKinds = []*kind{
	{name: "sale", weight: 30, gen: genSale("sale"), run: func(r *run, st Step) { r.runSale(st, "") }},
	{name: "pre_auth", mode: "vuk509", weight: 5, gen: genSale("pre_auth"), run: func(r *run, st Step) { r.runSale(st, "pre_auth") }},
	{name: "post_auth", mode: "vuk509", weight: 5, gen: genPostAuth, run: func(r *run, st Step) { r.runSale(st, "post_auth") }},
	{name: "void", weight: 7, gen: genAdjust, run: func(r *run, st Step) { r.runAdjust(st, "void") }},
	{name: "refund", mode: "vuk509", weight: 10, gen: genRefund509, run: func(r *run, st Step) { r.runAdjust(st, "refund") }},
	{name: "refund_lines", mode: "vuk507", weight: 10, gen: genRefund507, run: func(r *run, st Step) { r.runAdjust(st, "refund") }},
	{name: "cancel", weight: 6, gen: genAdjust, run: func(r *run, st Step) { r.runAdjust(st, "cancel") }},
	{name: "split_start", mode: "vuk507", weight: 5, gen: genSplitStart, run: (*run).runSplitStart},
	{name: "split_add", mode: "vuk507", weight: 9, gen: genSplitAdd, run: (*run).runSplitAdd},
	{name: "split_complete", mode: "vuk507", weight: 5, gen: genSplitComplete, run: (*run).runSplitComplete},
	{name: "split_cancel", mode: "vuk507", weight: 3, gen: genSplitCancel, run: (*run).runSplitCancel},
	//
	{name: "settle", weight: 4, gen: genOnMoney(0), run: (*run).runSettle},
	{name: "eod", weight: 3, gen: genEOD, run: (*run).runEOD},
	{name: "resolve", weight: 4, gen: genOnMoney(0.5), run: (*run).runResolve},
	{name: "resolve_race", weight: 3, gen: genResolveRace, run: (*run).runResolve},
	{name: "get", weight: 4, gen: genGet, run: (*run).runGet},
	{name: "retry_same", weight: 6, gen: genOnMoney(0.2), run: (*run).runRetrySame},
	{name: "retry_diff", weight: 3, gen: genOnMoney(0), run: (*run).runRetryDiff},
}

// faultKinds are the faults mixed into histories.
var faultKinds = []*kind{
	{name: "drop", weight: 10, gen: genSimFault(true), run: simFault(simulator.FaultCommitThenDrop, 0, 0)},
	{name: "reset", weight: 4, gen: genSimFault(false), run: simFault(simulator.FaultResetBeforeProcessing, 0, 0)},
	{name: "http_5xx", weight: 3, gen: genSimFault(false), run: simFault(simulator.FaultHTTPStatus, 502, 0)},
	{name: "delay", weight: 3, gen: genSimFault(false), run: simFault(simulator.FaultDelay, 0, 1500*time.Millisecond)},
	{name: "lying_401", weight: 3, gen: genSimFault(false), run: simFault(simulator.FaultCommitThenSessionTerminated, 401, 0)},
	{name: "terminated", weight: 2, gen: genSimFault(false), run: simFault(simulator.FaultCommitThenSessionTerminated, 200, 0)},
	{name: "busy", weight: 2, gen: genSimFault(false), run: simFault(simulator.FaultDeviceBusy, 0, 0)},
	{name: "query_delay", weight: 3, gen: genQueryFault, run: simFault(simulator.FaultDelay, 0, 300*time.Millisecond)},
	{name: "query_5xx", weight: 3, gen: genQueryFault, run: simFault(simulator.FaultHTTPStatus, 502, 0)},
	{name: "expire_tokens", weight: 2, gen: genPlain, run: func(r *run, _ Step) { r.sim.ExpireTokens(); r.count("expire_tokens") }},
	{name: "revoke_sessions", weight: 2, gen: genPlain, run: func(r *run, _ Step) { r.sim.RevokeSessions(); r.count("revoke_sessions") }},
	{name: "h2_reset", weight: 6, gen: genEdgeFault, run: edgeFault(harness.EdgeResetAfterForward)},
	{name: "h2_refused", weight: 2, gen: genEdgeFault, run: edgeFault(harness.EdgeRefuseStream)},
	{name: "kill", weight: 3, gen: genPlain, run: (*run).runKill},
	{name: "kill_soon", weight: 4, gen: genKillSoon, run: (*run).runKillSoon},
	{name: "failpoint", weight: 5, gen: genFailpoint, run: (*run).runFailpoint},
	{name: "write_fail", weight: 4, gen: genWriteFail, run: (*run).runWriteFail},
}

func kindNamed(name string) *kind {
	for _, k := range append(append([]*kind{}, opKinds...), faultKinds...) {
		if k.name == name {
			return k
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Generators of operations.

// variant makes some money calls special: "dup" sends the call twice at
// once with one key (both must end on one operation); "hangup=N" is an ECR
// that gives up on its first try after N ms and comes back with the same key.
func (g *gen) variant(st *Step) {
	switch n := g.pick(100); {
	case n < 5:
		st.Arg = "dup"
	case n < 13:
		st.Arg = fmt.Sprintf("hangup=%d", 2+g.pick(80))
	}
}

func genSale(typ string) func(g *gen) (Step, bool) {
	return func(g *gen) (Step, bool) {
		st := Step{Lane: g.pick(g.h.Terminals), Name: g.name("p"), Again: g.chance(0.4), Async: g.chance(0.12)}
		g.variant(&st)
		p := &genPay{name: st.Name, lane: st.Lane, kind: typ, lines: map[int]int{}}
		if g.h.Mode == "vuk507" {
			st.Items, p.amount = g.items()
			p.items = st.Items
			st.Cash = typ == "sale" && g.chance(0.1)
		} else {
			p.amount = g.saleAmount()
			st.Amount = money(p.amount)
		}
		g.pays = append(g.pays, p)
		g.money = append(g.money, st.Name)
		return st, true
	}
}

func genPostAuth(g *gen) (Step, bool) {
	pre := g.payOf("pre_auth")
	if pre == nil || (pre.captures > 0 && !g.chance(0.2)) {
		return Step{}, false
	}
	pre.captures++
	amt := pre.amount
	switch n := g.pick(10); {
	case n < 3 && amt > 200:
		amt -= int64(1+g.pick(int(amt/100)-1)) * 100 // keeps the kuruş
	case n == 3:
		amt += 100 // more than the hold
	}
	st := Step{Lane: pre.lane, Name: g.name("p"), Target: pre.name, Amount: money(amt)}
	g.pays = append(g.pays, &genPay{name: st.Name, lane: pre.lane, kind: "post_auth", amount: amt, pre: pre, lines: map[int]int{}})
	g.money = append(g.money, st.Name)
	return st, true
}

func genAdjust(g *gen) (Step, bool) {
	p := g.payOf()
	if p == nil {
		return Step{}, false
	}
	st := Step{Lane: p.lane, Name: g.name("a"), Target: p.name, Async: g.chance(0.1)}
	g.variant(&st)
	g.money = append(g.money, st.Name)
	return st, true
}

func genRefund509(g *gen) (Step, bool) {
	p := g.payOf()
	if p == nil {
		return Step{}, false
	}
	st := Step{Lane: p.lane, Name: g.name("r"), Target: p.name, Async: g.chance(0.1)}
	g.variant(&st)
	whole := max(p.amount/100, 1)
	switch n := g.pick(10); {
	case n < 4: // a part, in whole lira
		st.Amount = money(int64(1+g.pick(int(max(whole/2, 1)))) * 100)
	case n < 6: // a part the bank declines (moves nothing)
		st.Amount = money(int64(1+g.pick(int(max(whole/2, 1))))*100 + decliningCents[g.pick(len(decliningCents))])
	case n < 9: // all that is left
	default: // more than the payment
		st.Amount = money(p.amount + 100)
	}
	p.refunds++
	g.money = append(g.money, st.Name)
	return st, true
}

func genRefund507(g *gen) (Step, bool) {
	p := g.payOf("sale", "split_complete")
	if p == nil || len(p.items) == 0 {
		return Step{}, false
	}
	st := Step{Lane: p.lane, Name: g.name("r"), Target: p.name, Async: g.chance(0.1)}
	g.variant(&st)
	n := 1 + g.pick(min(2, len(p.items)))
	used := map[int]bool{}
	for range n {
		idx := g.pick(len(p.items))
		if g.chance(0.4) { // a line already refunded, to refund more of it than is left
			for l := range p.lines {
				idx = l
				break
			}
		}
		if used[idx] {
			continue
		}
		used[idx] = true
		it := p.items[idx]
		unit := minorOf(it.Unit)
		if g.chance(0.6) || it.Qty == 1 && unit < 200 {
			st.Lines = append(st.Lines, Line{Line: idx, Qty: it.Qty, Amount: money(unit * int64(it.Qty))})
			p.lines[idx] += it.Qty
		} else {
			st.Lines = append(st.Lines, Line{Line: idx, Qty: 1, Amount: money(unit / 100 * 100)})
			p.lines[idx]++
		}
	}
	p.refunds++
	g.money = append(g.money, st.Name)
	return st, true
}

func genSplitStart(g *gen) (Step, bool) {
	st := Step{Lane: g.pick(g.h.Terminals), Name: g.name("s")}
	var amt int64
	st.Items, amt = g.items()
	g.splits = append(g.splits, &genSplit{name: st.Name, lane: st.Lane, amount: amt, items: st.Items})
	g.money = append(g.money, st.Name)
	return st, true
}

func (g *gen) openSplit() *genSplit {
	for i := len(g.splits) - 1; i >= 0; i-- {
		if !g.splits[i].completed {
			return g.splits[i]
		}
	}
	return nil
}

func genSplitAdd(g *gen) (Step, bool) {
	s := g.openSplit()
	if s == nil {
		return Step{}, false
	}
	st := Step{Lane: s.lane, Name: g.name("q"), Target: s.name, Again: g.chance(0.3)}
	switch n := g.pick(10); {
	case s.parts < 2 && n < 5 && s.amount > 300: // a part in whole lira, well below the rest
		st.Amount = money(int64(1+g.pick(int(s.amount/300))) * 100)
	case n == 5 && s.amount > 300: // a part the bank declines
		st.Amount = money(100 + decliningCents[g.pick(len(decliningCents))])
	case n == 6: // more than the rest
		st.Amount = money(s.amount + 100)
	default: // the rest (Amount "")
	}
	s.parts++
	g.money = append(g.money, st.Name)
	return st, true
}

func genSplitComplete(g *gen) (Step, bool) {
	s := g.openSplit()
	if s == nil || s.parts == 0 {
		return Step{}, false
	}
	s.completed = true
	st := Step{Lane: s.lane, Name: g.name("p"), Target: s.name}
	g.pays = append(g.pays, &genPay{name: st.Name, lane: s.lane, kind: "split_complete", amount: s.amount, items: s.items, lines: map[int]int{}})
	g.money = append(g.money, st.Name)
	return st, true
}

// genSplitCancel gives up on an open split sale with parts: the ECR
// cancels it (its parts' money goes back).
func genSplitCancel(g *gen) (Step, bool) {
	s := g.openSplit()
	if s == nil || s.parts == 0 {
		return Step{}, false
	}
	s.completed = true // no more steps on it
	return Step{Lane: s.lane, Name: g.name("x"), Target: s.name, Again: g.chance(0.3)}, true
}

func genEOD(g *gen) (Step, bool) {
	return Step{Lane: g.pick(g.h.Terminals), Name: g.name("e")}, true
}

// genOnMoney targets an earlier money step (async with probability p).
func genOnMoney(p float64) func(g *gen) (Step, bool) {
	return func(g *gen) (Step, bool) {
		if len(g.money) == 0 {
			return Step{}, false
		}
		t := g.money[len(g.money)-1-g.pick(min(len(g.money), 4))]
		return Step{Target: t, Async: g.chance(p)}, true
	}
}

// genResolveRace sets up two resolutions of one unknown at once, beside the
// reconciler's: status queries slowed (300 ms, under the query timeout), the
// next answer of a refund (or a sale) dropped after iyzico made it, that
// call left running, and two resolves of it. It appends all but the last
// step itself.
func genResolveRace(g *gen) (Step, bool) {
	var st Step
	var ok bool
	op := cardOps[g.h.Mode][0]
	if g.payOf() != nil && g.chance(0.7) {
		if g.h.Mode == "vuk507" {
			st, ok = genRefund507(g)
			st.Op, op = "refund_lines", simulator.OpGmuRefund
		} else {
			st, ok = genRefund509(g)
			st.Op, op = "refund", simulator.OpRefund
		}
	}
	if !ok {
		st, _ = genSale("sale")(g)
		st.Op = "sale"
	}
	st.Async, st.Arg = true, ""
	g.h.Steps = append(g.h.Steps,
		Step{Op: "query_delay", Arg: queryOp[g.h.Mode], Lane: -1},
		Step{Op: "drop", Arg: op, Lane: -1},
		st,
		Step{Op: "resolve", Target: st.Name, Async: true})
	return Step{Target: st.Name, Async: true}, true
}

func genGet(g *gen) (Step, bool) {
	st, ok := genOnMoney(0)(g)
	st.Arg = []string{"id", "reference"}[g.pick(2)]
	return st, ok
}

// ---------------------------------------------------------------------------
// Generators of faults.

// cardOps are the simulator operations of card calls (and the other device
// calls) in each mode.
var cardOps = map[string][]string{
	"vuk509": {simulator.OpPayment, simulator.OpPayment, simulator.OpVoid, simulator.OpRefund},
	"vuk507": {simulator.OpGmuPayment, simulator.OpGmuPayment, simulator.OpGmuVoid, simulator.OpGmuRefund,
		simulator.OpGmuPartialAdd, simulator.OpGmuPartialStart, simulator.OpGmuPartialComplete},
}

var eodOp = map[string]string{"vuk509": simulator.OpEOD, "vuk507": simulator.OpGmuEOD}
var queryOp = map[string]string{"vuk509": simulator.OpQuery, "vuk507": simulator.OpGmuQuery}

// genSimFault picks the operation (and, one time in three, the terminal) a
// simulator fault is for; withEOD lets it be an end of day.
func genSimFault(withEOD bool) func(g *gen) (Step, bool) {
	return func(g *gen) (Step, bool) {
		ops := cardOps[g.h.Mode]
		op := ops[g.pick(len(ops))]
		if withEOD && g.chance(0.1) {
			op = eodOp[g.h.Mode]
		}
		st := Step{Arg: op, Lane: -1}
		if g.chance(0.33) {
			st.Lane = g.pick(g.h.Terminals)
		}
		return st, true
	}
}

func genQueryFault(g *gen) (Step, bool) {
	return Step{Arg: queryOp[g.h.Mode], Lane: -1}, true
}

func genPlain(*gen) (Step, bool) { return Step{}, true }

func genEdgeFault(g *gen) (Step, bool) {
	st := Step{}
	if g.chance(0.1) {
		st.Arg = "eod"
	}
	return st, true
}

func genKillSoon(g *gen) (Step, bool) {
	return Step{Arg: fmt.Sprint(g.pick(400))}, true
}

// failpointBoundaries are the daemon's failpoint boundaries and faults
// (cmd/bridged/failpoint_on.go) the model arms at runtime.
var failpointBoundaries = []string{"before_intent_commit", "after_intent_commit", "during_send", "after_upstream_answer",
	"after_outcome_commit", "reconciler_query", "reconciler_before_commit", "token_refresh"}

func genFailpoint(g *gen) (Step, bool) {
	b := failpointBoundaries[g.pick(len(failpointBoundaries))]
	f := []string{"kill", "kill", "io_error", "delay"}[g.pick(4)]
	return Step{Arg: b + "=" + f}, true
}

func genWriteFail(g *gen) (Step, bool) {
	return Step{Arg: []string{"any", "any", "record", "update", "begin"}[g.pick(5)]}, true
}

// ---------------------------------------------------------------------------
// Running operations.

func (r *run) madeOf(name string) *made {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.made[name]
}

func (r *run) count(fault string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tally.faults[fault]++
}

func (r *run) skip() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tally.skipped++
}

func (r *run) runSale(st Step, typ string) {
	key := r.key(st.Name)
	body := r.saleBody(st, key, st.Lane, typ)
	kind := typ
	if kind == "" {
		kind = "sale"
	}
	if typ == "post_auth" {
		pre := r.madeOf(st.Target)
		if pre == nil || pre.paymentID == "" {
			r.skip()
			return
		}
		body["payment_id"] = pre.paymentID
	}
	c := r.newPurchaseCall(st.Name, st, kind, "POST", "/v1/payments", key, body)
	r.money(c)
	r.learn(st.Name, c, kind)
	if a := c.final(); st.Again && a != nil && a.Status == "declined" && a.SafeToRetry {
		// The cashier tries again, as a new attempt with a new key.
		key2 := key + "-again"
		body2 := maps.Clone(body)
		body2["reference"] = key2
		c2 := r.newPurchaseCall(st.Name, st, kind, "POST", "/v1/payments", key2, body2)
		r.send(c2, callBudget)
		r.learn(st.Name, c2, kind)
	}
}

// learn keeps the payment an approved call made.
func (r *run) learn(name string, c *callRec, kind string) {
	a := c.final()
	if a == nil || a.Status != "approved" {
		return
	}
	m := &made{id: a.ID, paymentID: a.PaymentID, kind: kind, lane: c.step.Lane, lineIDs: a.Items}
	if amt, ok := c.body["amount"].(string); ok {
		m.amount = minorOf(amt)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.made[name] = m
}

func (r *run) runAdjust(st Step, verb string) {
	m := r.madeOf(st.Target)
	if m == nil {
		r.skip()
		return
	}
	key := r.key(st.Name)
	body := map[string]any{}
	switch verb {
	case "void", "cancel":
		body["reason"] = "model"
	case "refund":
		if st.Amount != "" {
			body["amount"] = st.Amount
		}
		if len(st.Lines) > 0 {
			var lines []map[string]any
			for _, l := range st.Lines {
				if l.Line >= len(m.lineIDs) {
					r.skip()
					return
				}
				lines = append(lines, map[string]any{"line_id": m.lineIDs[l.Line], "quantity": l.Qty, "amount": l.Amount})
			}
			body["lines"] = lines
		}
	}
	c := r.newCall(st, verb, "POST", "/v1/payments/"+m.id+"/"+verb, key, body)
	if verb == "refund" {
		c.exceedsBefore = func() string { return r.exceedsNow(m, st) }
	}
	r.money(c)
}

// exceedsNow says, from iyzico's ledger, why the refund st of payment m
// asks for more than is left ("" when it does not): bridged knows all of
// it, and must refuse such a refund itself (422 refund_exceeds or 409
// not_refundable), never send it.
func (r *run) exceedsNow(m *made, st Step) string {
	p, ok := r.sim.Ledger().Payment(m.paymentID)
	if !ok {
		return ""
	}
	switch {
	case p.Voided:
		return "the payment is voided"
	case p.Kind == "pre_auth" && !p.Captured:
		return "a pre-auth that was never captured"
	}
	left := p.AmountMinor - p.RefundedMinor
	if len(st.Lines) == 0 {
		if st.Amount == "" && left <= 0 {
			return "nothing is left"
		}
		if st.Amount != "" && minorOf(st.Amount) > left {
			return fmt.Sprintf("%s asked, %s left of the payment's %s", st.Amount, money(left), money(p.AmountMinor))
		}
		return ""
	}
	for _, l := range st.Lines {
		if l.Line >= len(p.Lines) {
			continue
		}
		ln := p.Lines[l.Line]
		if q := ln.Quantity - ln.ReturnedQuantity; int64(l.Qty) > q || minorOf(l.Amount) > ln.TotalMinor-ln.ReturnedMinor {
			return fmt.Sprintf("line %d: %d for %s asked, %d for %s left", l.Line, l.Qty, l.Amount, q, money(ln.TotalMinor-ln.ReturnedMinor))
		}
	}
	return ""
}

func (r *run) runSplitStart(st Step) {
	key := r.key(st.Name)
	body := r.saleBody(st, key, st.Lane, "")
	c := r.newCall(st, "split_start", "POST", "/v1/split-sales", key, body)
	r.money(c)
	if a := c.final(); a != nil && a.Status == "approved" {
		r.mu.Lock()
		r.made[st.Name] = &made{id: a.ID, kind: "split_start", lane: st.Lane, amount: itemsTotal(st.Items)}
		r.mu.Unlock()
	}
}

func (r *run) runSplitAdd(st Step) {
	s := r.madeOf(st.Target)
	if s == nil {
		r.skip()
		return
	}
	r.mu.Lock()
	rest := s.amount - s.parts
	r.mu.Unlock()
	amt := st.Amount
	if amt == "" {
		if rest <= 0 {
			rest = 100
		}
		amt = money(rest)
	}
	send := func(key string) *callRec {
		c := r.newPurchaseCall(st.Name, st, "split_payment", "POST", "/v1/split-sales/"+s.id+"/payments", key, map[string]any{"amount": amt})
		r.money(c)
		if a := c.final(); a != nil && a.Status == "approved" {
			r.mu.Lock()
			s.parts += minorOf(amt)
			r.mu.Unlock()
		}
		return c
	}
	c := send(r.key(st.Name))
	if a := c.final(); st.Again && a != nil && a.Status == "declined" && a.SafeToRetry {
		send(r.key(st.Name) + "-again")
	}
}

func (r *run) runSplitComplete(st Step) {
	s := r.madeOf(st.Target)
	if s == nil {
		r.skip()
		return
	}
	c := r.newCall(st, "split_complete", "POST", "/v1/split-sales/"+s.id+"/complete", r.key(st.Name), map[string]any{})
	r.money(c)
	r.learn(st.Name, c, "split_complete")
	if m := r.madeOf(st.Name); m != nil {
		r.mu.Lock()
		m.amount = s.amount
		r.mu.Unlock()
	}
}

func (r *run) runSplitCancel(st Step) {
	s := r.madeOf(st.Target)
	if s == nil {
		r.skip()
		return
	}
	r.cancelSplit(st, s, r.key(st.Name))
	if st.Again {
		// The ECR lost the answer and sends the same request again.
		r.cancelSplit(st, s, r.key(st.Name))
	}
}

// cancelSplit cancels a split sale with key until the answer is final, and
// notes the parts bridged said it could not void (for the oracle).
func (r *run) cancelSplit(st Step, s *made, key string) {
	c := r.newCall(st, "split_cancel", "POST", "/v1/split-sales/"+s.id+"/cancel", key, map[string]any{})
	r.money(c)
	a := c.final()
	if a == nil || a.HTTP != http.StatusCreated {
		return
	}
	var v struct {
		Parts []struct {
			Payment struct {
				TxRef string `json:"transaction_reference_id"`
			} `json:"payment"`
			Note string `json:"note"`
		} `json:"parts"`
	}
	if json.Unmarshal(a.Raw, &v) != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range v.Parts {
		if p.Note != "" {
			r.reportedParts[p.Payment.TxRef] = p.Note
		}
	}
}

func (r *run) runEOD(st Step) {
	c := r.newCall(st, "eod", "POST", "/v1/terminals/"+r.lane(st.Lane)+"/end-of-day", r.key(st.Name), map[string]any{})
	r.send(c, callBudget)
	r.noteEOD(c, false)
}

// opOf is the operation id of the money step name, "" when none is known.
func (r *run) opOf(name string) string {
	r.mu.Lock()
	c := r.byName[name]
	r.mu.Unlock()
	if c == nil {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return c.opID()
}

func (r *run) runResolve(st Step) {
	r.mu.Lock()
	c := r.byName[st.Target]
	r.mu.Unlock()
	if c != nil {
		// Its call may be running (async): its first answer names it.
		select {
		case <-c.named:
		case <-time.After(2 * time.Second):
		}
	}
	id := r.opOf(st.Target)
	if id == "" {
		r.skip()
		return
	}
	for range 3 {
		_, life := r.w.current()
		if a := r.do("POST", "/v1/payments/"+id+"/resolve", "", nil, 0); a.Err == nil {
			return
		}
		r.w.next(life, time.Second) // the life was dying: wait for the next one
	}
}

// runSettle is an operator who settles an unknown operation with the slip's
// evidence: what the device really did (the simulator's ledger), approved
// with its paymentId, or declined. bridged may refuse (too early, or iyzico
// answers the status query that comes first): that is fine.
func (r *run) runSettle(st Step) {
	id := r.opOf(st.Target)
	if id == "" {
		r.skip()
		return
	}
	r.settle(id)
}

// settle settles operation id if it is unknown, as the slip says, and
// reports whether bridged took the settlement.
func (r *run) settle(id string) bool {
	got := r.do("GET", "/v1/payments/"+id, "", nil, 0)
	var op struct {
		Status string `json:"status"`
		TxRef  string `json:"transaction_reference_id"`
	}
	if got.Err != nil || json.Unmarshal(got.Raw, &op) != nil || op.Status != "unknown" {
		return false
	}
	body := map[string]any{"outcome": "declined", "evidence": "the terminal's slip and transaction list: no approval", "by": "model"}
	if lo, ok := r.sim.Ledger().Op(op.TxRef); ok && lo.Approved {
		body = map[string]any{"outcome": "approved", "evidence": "the terminal's slip: approved", "by": "model", "payment_id": lo.PaymentID}
	}
	// The ECR's key may not settle: that is the operator's word (scope operate).
	if ecr := r.do("POST", "/v1/payments/"+id+"/settle", "", body, 0); ecr.Err == nil && ecr.HTTP != http.StatusForbidden {
		r.mu.Lock()
		r.tally.c.EcrSettled++
		r.failf("settle %s with the ECR's key: HTTP %d %s, want 403", id, ecr.HTTP, ecr.Raw)
		r.mu.Unlock()
	}
	a := r.doAsOperator("POST", "/v1/payments/"+id+"/settle", body)
	if os.Getenv("PROOF_MODEL_TRACE") == "1" {
		r.t.Logf("settle %s: %d %s", id, a.HTTP, a.Raw)
	}
	r.mu.Lock()
	r.tally.settlements++
	if a.HTTP == http.StatusOK {
		r.tally.settled++
	}
	r.mu.Unlock()
	return a.HTTP == http.StatusOK
}

func (r *run) runGet(st Step) {
	r.mu.Lock()
	c := r.byName[st.Target]
	r.mu.Unlock()
	if c == nil {
		r.skip()
		return
	}
	if st.Arg == "id" {
		if id := r.opOf(st.Target); id != "" {
			r.do("GET", "/v1/payments/"+id, "", nil, 0)
		}
		return
	}
	a := r.do("GET", "/v1/payments?reference="+c.key, "", nil, 0)
	var list struct {
		Items []struct{ ID, Status string } `json:"items"`
	}
	if a.Err == nil && json.Unmarshal(a.Raw, &list) == nil {
		for _, it := range list.Items {
			if it.Status == "approved" || it.Status == "declined" {
				r.observe(it.ID, it.Status)
			}
		}
	}
}

// runRetrySame sends an earlier money call again, identical, with its key:
// bridged must answer with that operation as it stands,
// Idempotent-Replayed, never 422 and never a new operation.
func (r *run) runRetrySame(st Step) {
	r.mu.Lock()
	orig := r.byName[st.Target]
	var done bool
	var id string
	if orig != nil {
		done = orig.final() != nil && orig.journaled()
		id = orig.opID()
	}
	r.mu.Unlock()
	if orig == nil {
		r.skip()
		return
	}
	c := r.newPurchaseCall(orig.purchase, Step{Op: st.Op, Lane: orig.step.Lane, Name: orig.step.Name, Target: orig.step.Target}, orig.kind,
		orig.method, orig.path, orig.key, orig.body)
	r.send(c, callBudget)
	if id == "" {
		r.mu.Lock()
		id = orig.opID()
		r.mu.Unlock()
	}
	a := c.final()
	if a == nil || id == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case a.problem() && a.Code == "idempotency_key_reused":
		r.tally.c.ReplayRefused++
		r.failf("the identical retry of %s (%s, key %s) was refused: %d %s", orig.kind, id, orig.key, a.HTTP, a.Code)
	case !a.problem() && a.ID != id:
		r.tally.c.ReplayRefused++
		r.failf("the identical retry of %s (key %s) made operation %s, not %s", orig.kind, orig.key, a.ID, id)
	case !a.problem() && done && !a.Replayed:
		r.tally.c.ReplayRefused++
		r.failf("the identical retry of completed %s %s came without Idempotent-Replayed", orig.kind, id)
	}
}

// runRetryDiff sends a different request with the key of an earlier money
// call that bridged journaled: it must answer 422 idempotency_key_reused
// and do nothing.
func (r *run) runRetryDiff(st Step) {
	r.mu.Lock()
	orig := r.byName[st.Target]
	ok := orig != nil && orig.journaled() && orig.kind != "eod"
	r.mu.Unlock()
	if !ok {
		r.skip()
		return
	}
	body := maps.Clone(orig.body)
	body["reference"] = "other-" + orig.key
	if amt, ok := body["amount"].(string); ok && orig.path == "/v1/payments" && r.h.Mode == "vuk509" {
		body["amount"] = money(minorOf(amt) + 100)
	}
	c := r.newPurchaseCall(orig.purchase, Step{Op: st.Op, Lane: orig.step.Lane, Name: orig.step.Name + "-diff"}, orig.kind, orig.method, orig.path, orig.key, body)
	r.send(c, callBudget)
	a := c.final()
	if a == nil {
		return
	}
	if !a.problem() || a.Code != "idempotency_key_reused" {
		r.mu.Lock()
		r.tally.c.KeyReuseAccepted++
		r.failf("a different request with the key %s of %s was answered %d %s %s, not 422 idempotency_key_reused",
			orig.key, orig.kind, a.HTTP, a.Status, a.Code)
		r.mu.Unlock()
	}
}

// ---------------------------------------------------------------------------
// Running faults.

func simFault(k simulator.FaultKind, status int, delay time.Duration) func(r *run, st Step) {
	return func(r *run, st Step) {
		f := simulator.Fault{Op: st.Arg, Kind: k, Status: status, Delay: delay}
		if st.Lane >= 0 && st.Lane < len(r.devices) {
			f.Device = r.devices[st.Lane]
		}
		if k == simulator.FaultDelay && strings.Contains(st.Arg, "query") {
			f.Times = 2 // two queries at once: the reconciler's and a resolve
		}
		r.sim.Inject(f)
	}
}

func edgeFault(k harness.EdgeFaultKind) func(r *run, st Step) {
	return func(r *run, st Step) {
		f := harness.EdgeFault{Kind: k}
		if st.Arg == "eod" {
			f.Path = simulator.PathEOD
			if r.h.Mode == "vuk507" {
				f.Path = simulator.PathGmuEOD
			}
		}
		r.edge.Inject(f)
	}
}

func (r *run) runKill(Step) {
	if _, life := r.w.current(); r.w.kill(life) {
		r.count("kill")
	}
}

func (r *run) runKillSoon(st Step) {
	var ms int
	fmt.Sscan(st.Arg, &ms)
	_, life := r.w.current()
	r.async.Add(1)
	go func() {
		defer r.async.Done()
		// The fault itself: kill -9 at a moment the seed chose, whatever
		// bridged is doing then (not a wait for anything).
		time.Sleep(time.Duration(ms) * time.Millisecond)
		if r.w.kill(life) {
			r.count("kill")
		}
	}()
}

func (r *run) runFailpoint(st Step) {
	b, f, _ := strings.Cut(st.Arg, "=")
	if err := r.w.control("POST", fmt.Sprintf(`{"boundary":%q,"fault":%q}`, b, f)); err != nil {
		r.notef("failpoint %s: %v", st.Arg, err)
	}
}

func (r *run) runWriteFail(st Step) {
	if err := r.w.control("POST", fmt.Sprintf(`{"journal_write":%q}`, st.Arg)); err != nil {
		r.notef("write_fail %s: %v", st.Arg, err)
	}
}
