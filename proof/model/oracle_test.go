package model

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/simulator"
)

// counters are the oracle's: every one must be 0.
type counters struct {
	// Money, against iyzico's ledger.
	DoubleCharges          int // a reference charged twice, or one customer's attempts charged twice together
	UnjournaledCharges     int // a charge under a reference no journaled operation has
	DoubleRefunds          int // a reference refunded twice
	RefundedOverCaptured   int // refunds of a payment above what it captured (iyzico's or the journal's figures)
	ToldDeclinedButCharged int // declined to the ECR or in the journal, while iyzico approved it
	ApprovedWithoutCharge  int // approved in the journal, while iyzico has no approval under its reference
	LostApprovals          int // the ECR saw approved; the journal does not say so at the end
	FigureMismatch         int // a payment's approved refunds or void in the journal differ from iyzico's
	ParentEffectTwice      int // a payment's refunded figure above the sum of its approved refunds: a child applied twice
	ParentEffectLost       int // below it, or an approved void not marked on its payment: a child's effect lost
	Resends                int // a card request reached iyzico twice, not by bridged's one resend after a 401
	// Settlement and end of day.
	Unsettled    int // an operation not final after the final phase
	EodMismatch  int // an approved end of day that does not match, or a final one not approved
	FinalChanged int // an operation shown with two different final statuses
	// AbandonedSplitCharged: a part of a split sale never completed still
	// charged after its cancel, and bridged did not say why.
	AbandonedSplitCharged int
	// Storage.
	JournalCheck int // bbolt check or hash chain failed
	FailOpen     int // a money call taken, or /readyz ready, after a failed journal write
	// FailedClosedForNothing: 503 storage_failure in a life whose journal
	// never failed a write (an ECR hang-up is not a storage failure).
	FailedClosedForNothing int
	// The API's own rules.
	ReplayRefused        int // an identical retry not answered with its operation, replayed
	KeyReuseAccepted     int // a different request with a used key not refused with 422
	EcrSettled           int // a settlement taken from the ECR's key (scope payments), not refused with 403
	JoinSplit            int // two concurrent identical calls made two operations
	ExceedsNotRefused    int // a refund of more than is left (per iyzico's ledger) not refused locally
	UpstreamRuleRefusals int // iyzico refused a card call for a rule bridged's journal knows (380112, 389902, 389904)
	InternalErrors       int // HTTP 500
}

func (c counters) violations() int {
	n := 0
	v := reflect.ValueOf(c)
	for i := range v.NumField() {
		n += int(v.Field(i).Int())
	}
	return n
}

// names lists the counters, in order, with their values.
func (c counters) list() []string {
	var out []string
	v, t := reflect.ValueOf(c), reflect.TypeOf(c)
	for i := range v.NumField() {
		out = append(out, fmt.Sprintf("%s %d", snake(t.Field(i).Name), v.Field(i).Int()))
	}
	return out
}

// violated names the counters that are not 0.
func (c counters) violated() []string {
	var out []string
	v, t := reflect.ValueOf(c), reflect.TypeOf(c)
	for i := range v.NumField() {
		if v.Field(i).Int() != 0 {
			out = append(out, snake(t.Field(i).Name))
		}
	}
	return out
}

func (c *counters) add(o counters) {
	v, ov := reflect.ValueOf(c).Elem(), reflect.ValueOf(o)
	for i := range v.NumField() {
		v.Field(i).SetInt(v.Field(i).Int() + ov.Field(i).Int())
	}
}

func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// tally is what one history (or a whole run) counted.
type tally struct {
	c                 counters
	faults            map[string]int // faults applied, by kind
	ops               int            // ECR money calls (each retried until final)
	requests          int            // HTTP requests of the ECR
	steps             int
	skipped           int // steps with nothing to act on (their target never approved)
	lives             int
	failClosedChecks  int
	failClosedSkipped int
	abandonedSplits   int // parts of split sales never completed left charged after their cancel, each as bridged reported (a closed batch)
	settlements       int // operator settlements asked for
	settled           int // ... and taken
	charges, refunds  int
	notes             []string
}

func newTally() tally { return tally{faults: map[string]int{}} }

func (t *tally) add(o tally) {
	t.c.add(o.c)
	for k, v := range o.faults {
		t.faults[k] += v
	}
	t.ops += o.ops
	t.requests += o.requests
	t.steps += o.steps
	t.skipped += o.skipped
	t.lives += o.lives
	t.failClosedChecks += o.failClosedChecks
	t.failClosedSkipped += o.failClosedSkipped
	t.abandonedSplits += o.abandonedSplits
	t.settlements += o.settlements
	t.settled += o.settled
	t.charges += o.charges
	t.refunds += o.refunds
}

func (t *tally) faultList() string {
	var ks []string
	for k := range t.faults {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var out []string
	for _, k := range ks {
		out = append(out, fmt.Sprintf("%s %d", k, t.faults[k]))
	}
	return strings.Join(out, ", ")
}

// deviceOps are the simulator operations that use a device: a request of
// one of these is a card (or end-of-day) call, never to be sent twice.
var deviceOps = []string{simulator.OpPayment, simulator.OpVoid, simulator.OpRefund, simulator.OpEOD,
	simulator.OpGmuPayment, simulator.OpGmuVoid, simulator.OpGmuRefund, simulator.OpGmuPartialStart,
	simulator.OpGmuPartialAdd, simulator.OpGmuPartialComplete, simulator.OpGmuEOD}

// ruleRefusals are iyzico's refusals of a call that bridged's own journal
// could have refused: more than is left (380112), an operation the payment
// does not allow (389904: a refund of an uncaptured pre-auth, a second
// capture), a void after end of day (389902).
var ruleRefusals = []string{"380112", "389904", "389902"}

// oracle compares what iyzico holds with the journal and with what the ECR
// was told, and fills r.tally.
func (r *run) oracle() {
	t := &r.tally
	t.steps = len(r.h.Steps)
	t.lives = r.w.life
	ledger := r.sim.Ledger()
	reqs := r.sim.Requests()
	charges := r.sim.ChargesByReference()
	t.charges = r.sim.TotalCharges()
	t.refunds = r.sim.TotalRefunds()
	for _, q := range reqs {
		for _, f := range q.Faults {
			t.faults[f]++
		}
	}
	for k, n := range r.edge.Applied() {
		t.faults[string(k)] += n
	}

	ops, problem := r.journalOps()
	if problem != nil {
		t.c.JournalCheck++
		r.failf("journal: %v", problem)
	}
	byRef, byKey, byID := map[string]*payment.Operation{}, map[string]*payment.Operation{}, map[string]*payment.Operation{}
	for _, op := range ops {
		byID[op.ID] = op
		byKey[op.IdempotencyKey] = op
		if op.TransactionReferenceID != "" {
			byRef[op.TransactionReferenceID] = op
		}
	}

	// Charges and refunds under each reference.
	for ref, n := range charges {
		if n > 1 {
			t.c.DoubleCharges++
			r.failf("%s charged %d times (%s)", ref, n, describe(byRef[ref]))
		}
		if byRef[ref] == nil {
			t.c.UnjournaledCharges++
			r.failf("%s charged, and no journaled operation has that reference", ref)
		}
	}
	for _, op := range ops {
		if op.Kind == payment.KindRefund {
			if n := r.sim.Refunds(op.TransactionReferenceID); n > 1 {
				t.c.DoubleRefunds++
				r.failf("refund %s made %d times", describe(op), n)
			}
		}
	}
	// One customer's attempts (a sale, then a new attempt after a decline).
	purchases := map[string]map[string]bool{}
	for _, c := range r.calls {
		if c.purchase == "" {
			continue
		}
		if op := byKey[c.key]; op != nil {
			if purchases[c.purchase] == nil {
				purchases[c.purchase] = map[string]bool{}
			}
			purchases[c.purchase][op.TransactionReferenceID] = true
		}
	}
	for name, refs := range purchases {
		if len(refs) < 2 {
			continue
		}
		n := 0
		for ref := range refs {
			n += charges[ref]
		}
		if n > 1 {
			t.c.DoubleCharges++
			r.failf("the customer of %s was charged %d times over %d attempts", name, n, len(refs))
		}
	}

	// Resends: a device call sent more than once under one reference, but
	// for bridged's one resend after an HTTP 401.
	sent, got401 := map[string]int{}, map[string]int{}
	for _, q := range reqs {
		if q.TransactionReferenceID == "" || !slices.Contains(deviceOps, q.Op) {
			continue
		}
		sent[q.TransactionReferenceID]++
		if q.Status == 401 {
			got401[q.TransactionReferenceID]++
		}
		// A copy sent behind bridged's back is refused for the first's
		// effect: that is a resend, counted below, not a rule bridged missed.
		if slices.Contains(ruleRefusals, q.ErrorCode) && sent[q.TransactionReferenceID] == 1 {
			t.c.UpstreamRuleRefusals++
			r.failf("iyzico refused %s %s with %s, a rule bridged's journal knows (%s)", q.Op, q.TransactionReferenceID, q.ErrorCode, describe(byRef[q.TransactionReferenceID]))
		}
	}
	for ref, n := range sent {
		if n > 1+min(got401[ref], 1) {
			t.c.Resends++
			r.failf("%s reached iyzico %d times (%d answered 401): sent again behind bridged's back (%s)", ref, n, got401[ref], describe(byRef[ref]))
		}
	}

	// Each journaled operation against iyzico's operation under its reference.
	declinedToECR := map[string]bool{}
	approvedToECR := map[string]string{}
	for _, c := range r.calls {
		for _, a := range c.answers {
			if a.ID == "" || a.Match != nil {
				continue
			}
			switch a.Status {
			case "declined":
				declinedToECR[a.ID] = true
			case "approved":
				approvedToECR[a.ID] = c.key
			}
		}
	}
	for _, op := range ops {
		if op.Kind == payment.KindEndOfDay {
			continue
		}
		if !op.State.Final() {
			t.c.Unsettled++
			r.failf("%s is %s after the final phase", describe(op), op.State)
		}
		lo, ok := ledger.Op(op.TransactionReferenceID)
		iyzicoApproved := ok && lo.Approved
		if iyzicoApproved && (op.State == payment.StateDeclined || declinedToECR[op.ID]) {
			t.c.ToldDeclinedButCharged++
			r.failf("%s: iyzico approved it (%s %s), the journal says %s, the ECR was told declined: %v",
				describe(op), lo.Kind, lo.Amount, op.State, declinedToECR[op.ID])
		}
		if op.State == payment.StateApproved && !iyzicoApproved {
			t.c.ApprovedWithoutCharge++
			r.failf("%s is approved in the journal; iyzico has %s", describe(op), ledgerDesc(lo, ok))
		}
	}
	for id, key := range approvedToECR {
		if op := byID[id]; op == nil || op.State != payment.StateApproved {
			t.c.LostApprovals++
			r.failf("the ECR saw %s (key %s) approved; the journal has %s", id, key, describe(op))
		}
	}
	for id, statuses := range r.seen {
		if len(statuses) > 1 {
			t.c.FinalChanged++
			r.failf("%s was shown %s (%s)", id, strings.Join(statuses, " and "), describe(byID[id]))
		} else if op := byID[id]; op != nil && op.State.Final() && len(statuses) == 1 && string(op.State) != statuses[0] {
			t.c.FinalChanged++
			r.failf("%s was shown %s, the journal ends %s", id, statuses[0], op.State)
		}
	}

	// Each payment's figures: iyzico's, the journal's, and its children's.
	children := map[string][]*payment.Operation{}
	for _, op := range ops {
		if op.ParentID != "" {
			children[op.ParentID] = append(children[op.ParentID], op)
		}
	}
	byPayment := map[string][]*payment.Operation{}
	for _, op := range ops {
		switch op.Kind {
		case payment.KindSale, payment.KindPreAuth, payment.KindPostAuth, payment.KindSplitComplete:
			if op.State == payment.StateApproved && op.PaymentID != "" {
				byPayment[op.PaymentID] = append(byPayment[op.PaymentID], op)
			}
		}
	}
	for _, p := range ledger.Payments {
		if p.Charged() && p.RefundedMinor > p.AmountMinor {
			t.c.RefundedOverCaptured++
			r.failf("iyzico's payment %s: refunded %s of %s", p.ID, money(p.RefundedMinor), money(p.AmountMinor))
		}
		jops := byPayment[p.ID]
		if len(jops) == 0 {
			continue
		}
		var figure, fromChildren int64
		voided := false
		for _, op := range jops {
			figure += op.RefundedMinor
			voided = voided || op.Voided
			for _, ch := range children[op.ID] {
				if ch.State == payment.StateApproved {
					switch ch.Kind {
					case payment.KindRefund:
						fromChildren += ch.Amount.Minor()
					case payment.KindVoid:
						if !op.Voided {
							t.c.ParentEffectLost++
							r.failf("%s has an approved void %s and is not marked voided", describe(op), ch.ID)
						}
					}
				}
			}
		}
		if fromChildren > p.AmountMinor {
			t.c.RefundedOverCaptured++
			r.failf("payment %s: the journal's approved refunds make %s, it captured %s", p.ID, money(fromChildren), money(p.AmountMinor))
		}
		switch {
		case figure > fromChildren:
			t.c.ParentEffectTwice++
			r.failf("payment %s (%s): refunded_amount %s, its approved refunds make %s (iyzico: %s)",
				p.ID, describe(jops[0]), money(figure), money(fromChildren), money(p.RefundedMinor))
		case figure < fromChildren:
			t.c.ParentEffectLost++
			r.failf("payment %s (%s): refunded_amount %s, its approved refunds make %s (iyzico: %s)",
				p.ID, describe(jops[0]), money(figure), money(fromChildren), money(p.RefundedMinor))
		}
		if fromChildren != p.RefundedMinor || voided != p.Voided {
			t.c.FigureMismatch++
			r.failf("payment %s (%s): iyzico refunded %s voided %v; the journal's approved refunds %s, voided %v",
				p.ID, describe(jops[0]), money(p.RefundedMinor), p.Voided, money(fromChildren), voided)
		}
	}

	// Split sales never completed: the final phase cancelled each, so every
	// charged part is voided, or bridged said why it could not be (a batch
	// closed by end of day: returned outside bridged).
	for _, p := range ledger.Payments {
		if p.Kind != "partial_payment" || p.Voided {
			continue
		}
		done := false
		for _, q := range ledger.Payments {
			if q.Kind == "split_sale" && slices.Contains(q.Parts, p.ID) {
				done = true
			}
		}
		if done {
			continue
		}
		if _, ok := r.reportedParts[p.Reference]; ok {
			t.abandonedSplits++ // as bridged said: its batch was closed
			continue
		}
		t.c.AbandonedSplitCharged++
		r.failf("split part %s (%s) of a split sale never completed is still charged after the sale was cancelled", p.Reference, describe(byRef[p.Reference]))
	}

	// Refunds of more than was left, and ends of day.
	for _, c := range r.calls {
		a := c.final()
		if c.exceeds != "" && a != nil && a.Status == "declined" {
			t.c.ExceedsNotRefused++
			r.failf("refund %s (%s) asked for more than is left (%s) and was answered declined %s, not refused (422 refund_exceeds / 409 not_refundable)",
				c.step.Name, c.key, c.exceeds, a.ErrCode)
		}
	}
	for _, e := range r.eods {
		switch {
		case e.status == "approved" && !e.match:
			t.c.EodMismatch++
			r.failf("end of day of %s (final %v): journal %s, iyzico %s: no match", e.lane, e.final, e.journal, e.upstream)
		case e.final && e.status != "approved":
			t.c.EodMismatch++
			r.failf("final end of day of %s: %s", e.lane, e.status)
		}
	}
}

func describe(op *payment.Operation) string {
	if op == nil {
		return "not in the journal"
	}
	return fmt.Sprintf("%s %s %s %s %s key %s", op.Kind, op.ID, op.Amount.Decimal(), op.State, op.Resolution, op.IdempotencyKey)
}

func ledgerDesc(lo simulator.LedgerOp, ok bool) string {
	if !ok {
		return "no operation under its reference"
	}
	if lo.Approved {
		return lo.Kind + " approved"
	}
	return lo.Kind + " failed " + lo.ErrorCode
}
