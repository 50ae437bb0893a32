// Package crash is the crash matrix of issue 9: the real bridged process,
// built with the failpoint tag, is hit at every boundary of a sale with every
// fault (a real SIGKILL of itself, an injected I/O error, a stall past the
// deadline), for many seeds, while an ECR client retries the sale with the
// same key across the restart. After each case the simulator must count at
// most one charge, every approval the ECR saw must be in the journal, the
// sale must have converged to approved or declined as the simulator's truth
// says, and the bbolt file must pass its consistency check and hash chain.
//
//	go test ./proof/crash/                              # 1 seed: 24 cases
//	PROOF_CRASH_SEEDS=50 go test -parallel 8 ./proof/crash/  # CI: 1,200 cases
package crash

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/simulator"
	"github.com/bridgedpos/bridged/internal/simulator/simtest"
	"github.com/bridgedpos/bridged/proof/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

// The boundaries and faults of cmd/bridged/failpoint_on.go, in the order a
// sale meets them.
var (
	boundaries = []string{"before_intent_commit", "after_intent_commit", "during_send", "after_upstream_answer",
		"after_outcome_commit", "reconciler_query", "reconciler_before_commit", "token_refresh"}
	faults = []string{"kill", "io_error", "delay"}
)

const device = "PAV860047264"

// storeWrite names the boundaries whose io_error is a failed journal write.
var storeWrite = map[string]bool{"before_intent_commit": true, "after_upstream_answer": true, "reconciler_before_commit": true}

// tally is the matrix's figures, summed over the cases.
type tally struct {
	cases, charges, approved, declined, viaReconciler             atomic.Int64
	doubles, lost, liedFailed, liedApproved, unconverged, corrupt atomic.Int64
	failOpen, resends, checked                                    atomic.Int64
	// Refunds and voids of an approved sale: how many cases, what moved,
	// and the payment's figures against iyzico's.
	adjusts, refunds, voids, parentWrong, overReturned atomic.Int64
}

func TestCrashMatrix(t *testing.T) {
	seeds := harness.EnvInt(t, "PROOF_CRASH_SEEDS", 1)
	bin := harness.Binary(t, "failpoint")
	var tl tally
	start := time.Now()
	t.Run("cases", func(t *testing.T) {
		for seed := 1; seed <= seeds; seed++ {
			for _, b := range boundaries {
				for _, f := range faults {
					c := crashCase{boundary: b, fault: f, seed: uint64(seed)}
					t.Run(fmt.Sprintf("%s/%s/%d", b, f, seed), func(t *testing.T) {
						t.Parallel()
						c.run(t, bin, &tl)
					})
				}
			}
		}
	})
	line := fmt.Sprintf("crash matrix: %d cases (%d boundaries × %d faults × %d seeds; %d of them a refund or void of an approved sale), %d checked to the end, in %s; "+
		"%d charges, %d refunds, %d voids, %d approved, %d declined, %d settled by a status query; "+
		"%d double charges or refunds, %d resends, %d lost approvals, %d told declined but money moved, %d approved without money moving, %d unconverged, %d journal check failures, %d fail-open after a failed write, "+
		"%d payments whose refunded/voided figures differ from iyzico's, %d returned more than charged",
		tl.cases.Load(), len(boundaries), len(faults), seeds, tl.adjusts.Load(), tl.checked.Load(), time.Since(start).Round(time.Second),
		tl.charges.Load(), tl.refunds.Load(), tl.voids.Load(), tl.approved.Load(), tl.declined.Load(), tl.viaReconciler.Load(),
		tl.doubles.Load(), tl.resends.Load(), tl.lost.Load(), tl.liedFailed.Load(), tl.liedApproved.Load(), tl.unconverged.Load(), tl.corrupt.Load(), tl.failOpen.Load(),
		tl.parentWrong.Load(), tl.overReturned.Load())
	harness.Summary(t, line)
}

type crashCase struct {
	boundary, fault string
	seed            uint64
}

// plan is what the seed chose for a case.
type plan struct {
	mode   string
	kind   string           // the operation hit: sale, or a refund or void of an approved sale
	amount string           // the sale's; for a refund, the refund's
	fault  *simulator.Fault // an upstream misbehaviour on that operation, or nil
}

// choose draws a case's mode, amount and upstream fault from its seed. The
// reconciler's boundaries need a sale whose answer is lost; the token
// refresh needs the sale to meet an expired token.
func (c crashCase) choose() plan {
	h := fnv.New64a()
	h.Write([]byte(c.boundary + "/" + c.fault))
	rng := rand.New(rand.NewPCG(c.seed, h.Sum64()))
	p := plan{mode: []string{"vuk509", "vuk507"}[rng.IntN(2)]}
	// Half the cases hit a sale; the others a refund or a void of an
	// approved sale of 149.90, whose effect on the payment must survive
	// with it.
	p.kind = []string{"sale", "sale", "refund", "void"}[rng.IntN(4)]
	// 149.90 is approved; .51 declined by the bank; .60 a device timeout
	// after which the device approved. (.52, a device timeout that charged
	// nothing, is left out: iyzico's query answers it 380103 again, which
	// settles nothing, so it stays unknown until an operator acts; see
	// docs/reliability.md.) A refund is scripted by its own amount.
	p.amount = []string{"149.90", "149.90", "149.90", "12.51", "12.60"}[rng.IntN(5)]
	switch p.kind {
	case "refund":
		p.amount = []string{"149.90", "50.00", "50.00", "12.51", "12.60"}[rng.IntN(5)]
	case "void":
		p.amount = "149.90" // voids are always approved
	}
	op := map[string]string{"sale": simulator.OpPayment, "refund": simulator.OpRefund, "void": simulator.OpVoid}[p.kind]
	if p.mode == "vuk507" {
		op = map[string]string{"sale": simulator.OpGmuPayment, "refund": simulator.OpGmuRefund, "void": simulator.OpGmuVoid}[p.kind]
	}
	lost := []simulator.Fault{
		{Op: op, Kind: simulator.FaultCommitThenDrop},
		{Op: op, Kind: simulator.FaultResetBeforeProcessing},
		{Op: op, Kind: simulator.FaultHTTPStatus, Status: 502},
		{Op: op, Kind: simulator.FaultCommitThenSessionTerminated},
	}
	switch c.boundary {
	case "during_send":
		// The failpoint itself acts on the sale's call: a simulator fault
		// on the same call would take its place.
	case "reconciler_query", "reconciler_before_commit":
		if p.amount != "12.60" {
			f := lost[rng.IntN(len(lost))]
			p.fault = &f
		}
	case "token_refresh":
		p.fault = &simulator.Fault{Op: op, Kind: simulator.FaultExpireTokens}
	default:
		if i := rng.IntN(len(lost) + 3); i < len(lost) {
			p.fault = &lost[i]
		}
	}
	return p
}

func (c crashCase) run(t *testing.T, bin string, tl *tally) {
	tl.cases.Add(1)
	p := c.choose()
	sim, srv := simtest.Start(t, simulator.Config{Devices: []string{device}, RotateRefreshTokens: true})
	capture := harness.NewCapture(t, "crash")
	capture.Secret(harness.DefaultKey, "sim-secret", "sim-password")
	defer func() { capture.Secret(sim.IssuedSecrets()...) }()

	dir := t.TempDir()
	cfg := harness.WriteConfig(t, dir, harness.Config{Mode: p.mode, UpstreamURL: srv.URL,
		Terminals: []harness.Terminal{{ID: "lane-1", Device: device}}})
	key := fmt.Sprintf("ECR-%s-%s-%d", c.boundary, c.fault, c.seed)
	path, body := "/v1/payments", saleBody(p.mode, p.amount, key)
	t.Logf("plan: mode %s, %s of %s, upstream fault %v", p.mode, p.kind, p.amount, p.fault)
	if p.kind != "sale" {
		// Life 0: the sale to refund or void, approved, and a clean stop.
		path, body = c.approvedSale(t, bin, cfg, capture, p, key)
	}

	// First life: the fault is armed and fires once.
	env := []string{"BRIDGED_FAILPOINT=" + c.boundary + "=" + c.fault, "BRIDGED_FAILPOINT_TIMINGS=" + harness.Timings}
	d, err := harness.Start(t, bin, cfg, env, capture, "life-1.log")
	if err != nil {
		t.Fatal(err)
	}
	if p.fault != nil {
		sim.Inject(*p.fault)
	}
	ecr := harness.NewECR(t, d.Addr, harness.DefaultKey, capture, 3*time.Second)
	answers := ecr.UntilFinal(path, key, body, 1, 4*time.Second, d.Exited())
	if c.fault == "io_error" && storeWrite[c.boundary] {
		// Fail closed: once a journal write failed, a new sale is refused
		// and never reaches iyzico, until an operator restarts the daemon.
		fresh := key + "-NEW"
		if a := ecr.Do("POST", "/v1/payments", fresh, saleBody(p.mode, "1.00", fresh), 1); a.HTTP != 503 || a.Code != "storage_failure" {
			tl.failOpen.Add(1)
			t.Errorf("a new sale after a failed journal write: %v, want 503 storage_failure", a)
		}
		// ... and health says so.
		var rd struct {
			Store struct {
				Status string `json:"status"`
			} `json:"store"`
		}
		if a := ecr.Do("GET", "/readyz", "", nil, 0); a.HTTP != 503 || json.Unmarshal(a.Raw, &rd) != nil || rd.Store.Status != "fail" {
			tl.failOpen.Add(1)
			t.Errorf("/readyz after a failed journal write: %v %s, want 503 with store.status fail", a, a.Raw)
		}
	}
	d.Kill() // and wait until its log is read to the end
	if !applied(d.Failpoints(), c.boundary+" "+c.fault+" applied") {
		t.Fatalf("the fault %s at %s never took effect in the first life (failpoint lines %q, answers %v):\n%s",
			c.fault, c.boundary, d.Failpoints(), answers, d.Tail())
	}
	sim.ClearFaults()

	// Second life: a plain restart; the ECR sends the same sale with the
	// same key until it gets a final answer.
	d2, err := harness.Start(t, bin, cfg, []string{"BRIDGED_FAILPOINT_TIMINGS=" + harness.Timings}, capture, "life-2.log")
	if err != nil {
		t.Fatal(err)
	}
	ecr = harness.NewECR(t, d2.Addr, harness.DefaultKey, capture, 3*time.Second)
	more := ecr.UntilFinal(path, key, body, 1, 30*time.Second, d2.Exited())
	answers = append(answers, more...)
	if len(more) == 0 || !more[len(more)-1].Final() {
		d2.Kill()
		tl.unconverged.Add(1)
		// What never converged may have been sent twice: say so first, so
		// that a resend is named as one, not only as a case that hung.
		if refs := resentReferences(sim); len(refs) > 0 {
			tl.resends.Add(1)
			t.Errorf("a card request reached iyzico more than once under %v: it was resent", refs)
		}
		t.Fatalf("no final answer 30 s after the restart: %v\n%s", more, d2.Tail())
	}
	if p.kind != "sale" {
		// Whatever happened, cancelling what is left must never return more
		// than was charged: a lost effect would make the payment look
		// refundable (or voidable) again.
		rest := key + "-REST"
		saleID := strings.TrimSuffix(strings.TrimPrefix(path, "/v1/payments/"), "/"+p.kind)
		ecr.UntilFinal("/v1/payments/"+saleID+"/cancel", rest, map[string]any{"reference": rest}, 1, 30*time.Second, d2.Exited())
	}
	d2.Kill()
	harness.Export(t, bin, cfg, capture, "export.jsonl")
	if p.kind != "sale" {
		c.checkAdjust(t, dir, sim, p, answers, tl)
		return
	}
	c.check(t, dir, sim, answers, tl)
}

// resentReferences lists the references under which iyzico processed a
// card request (sale, refund, void) more than once; a request refused by
// the token check (401) was refused before any device acted and does not
// count.
func resentReferences(sim *simulator.Sim) []string {
	card := map[string]bool{simulator.OpPayment: true, simulator.OpGmuPayment: true, simulator.OpRefund: true,
		simulator.OpGmuRefund: true, simulator.OpVoid: true, simulator.OpGmuVoid: true}
	processed := map[string]int{}
	for _, r := range sim.Requests() {
		if card[r.Op] && r.Status != 401 && r.TransactionReferenceID != "" {
			processed[r.TransactionReferenceID]++
		}
	}
	var refs []string
	for ref, n := range processed {
		if n > 1 {
			refs = append(refs, ref)
		}
	}
	slices.Sort(refs)
	return refs
}

// approvedSale runs a life with no failpoint for the sale that the case then
// refunds or voids, and returns the path and body of that refund or void.
func (c crashCase) approvedSale(t *testing.T, bin, cfg string, capture *harness.Capture, p plan, key string) (string, map[string]any) {
	t.Helper()
	d, err := harness.Start(t, bin, cfg, []string{"BRIDGED_FAILPOINT_TIMINGS=" + harness.Timings}, capture, "life-0.log")
	if err != nil {
		t.Fatal(err)
	}
	ecr := harness.NewECR(t, d.Addr, harness.DefaultKey, capture, 3*time.Second)
	a := ecr.Do("POST", "/v1/payments", key+"-SALE", saleBody(p.mode, "149.90", key+"-SALE"), 2)
	if err := d.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if a.Status != "approved" {
		t.Fatalf("the sale to %s: %v %s", p.kind, a, a.Raw)
	}
	body := map[string]any{"reference": key}
	if p.kind == "refund" {
		if p.mode == "vuk507" {
			body["lines"] = []map[string]any{{"line_id": "1", "quantity": 1, "amount": p.amount}}
		} else {
			body["amount"] = p.amount
		}
	}
	return "/v1/payments/" + a.ID + "/" + p.kind, body
}

// checkAdjust is check for a refund or void: it moved money at most once,
// the ECR was told the truth, and the payment's figures in the journal are
// iyzico's (the child's effect committed with it), also after a cancel of
// what was left.
func (c crashCase) checkAdjust(t *testing.T, dir string, sim *simulator.Sim, p plan, answers []harness.Answer, tl *tally) {
	tl.checked.Add(1)
	tl.adjusts.Add(1)
	st, problem := harness.OpenJournal(t, dir)
	if problem != nil {
		tl.corrupt.Add(1)
		t.Error(problem)
	}
	ctx := context.Background()
	key := fmt.Sprintf("ECR-%s-%s-%d", c.boundary, c.fault, c.seed)
	op, err := st.ByKey(ctx, "ecr", key)
	if err != nil {
		t.Fatalf("the %s's key in the journal: %v (answers %v)", p.kind, err, answers)
	}
	parent, err := st.Get(ctx, op.ParentID)
	if err != nil {
		t.Fatal(err)
	}
	sp, ok := sim.Payment(device, parent.TransactionReferenceID)
	if !ok {
		t.Fatalf("iyzico has no sale %s", parent.TransactionReferenceID)
	}
	sends := 0
	for _, r := range sim.Requests() {
		if r.TransactionReferenceID == op.TransactionReferenceID && r.Status != 401 &&
			(r.Op == simulator.OpRefund || r.Op == simulator.OpGmuRefund || r.Op == simulator.OpVoid || r.Op == simulator.OpGmuVoid) {
			sends++
		}
	}
	if sends > 1 {
		tl.resends.Add(1)
		t.Errorf("the %s reached iyzico %d times: it was resent", p.kind, sends)
	}
	// iyzico's record of this refund or void itself (not of the cancel of
	// what was left, which may void or refund the sale afterwards).
	own, found := sim.Payment(device, op.TransactionReferenceID)
	moved := found && own.Status == "approved"
	if p.kind == "refund" {
		if n := sim.Refunds(op.TransactionReferenceID); n > 1 {
			tl.doubles.Add(1)
			t.Errorf("%d refunds under one key", n)
		}
		if moved {
			tl.refunds.Add(1)
		}
	} else if moved {
		tl.voids.Add(1)
	}
	sawApproved, sawDeclined := false, false
	for _, a := range answers {
		sawApproved = sawApproved || a.Status == "approved"
		sawDeclined = sawDeclined || a.Status == "declined"
	}
	switch op.State {
	case payment.StateApproved:
		tl.approved.Add(1)
	case payment.StateDeclined:
		tl.declined.Add(1)
	}
	if op.Resolution == payment.ResolvedByQuery || op.Resolution == payment.ResolvedNotFound {
		tl.viaReconciler.Add(1)
	}
	fail := func(counter *atomic.Int64, format string, args ...any) {
		counter.Add(1)
		t.Errorf(format+" (%s: %s/%s; payment refunded %s voided %v; iyzico refunded %s voided %v; answers %v)",
			append(args, p.kind, op.State, op.Resolution, parent.RefundedAmount().Decimal(), parent.Voided, sp.Refunded, sp.Voided, answers)...)
	}
	switch {
	case !op.State.Final():
		fail(&tl.unconverged, "the journal is not final")
	case sawApproved && op.State != payment.StateApproved:
		fail(&tl.lost, "the ECR saw approved, the journal says otherwise")
	case moved && op.State != payment.StateApproved:
		fail(&tl.lost, "the money moved but the journal does not say approved")
	case moved && sawDeclined:
		fail(&tl.liedFailed, "the ECR was told declined and the money moved")
	case !moved && op.State == payment.StateApproved:
		fail(&tl.liedApproved, "approved but no money moved")
	}
	// The payment as the journal holds it, after the cancel of what was
	// left, is iyzico's: each approved child's effect applied once.
	if parent.RefundedAmount().Decimal() != sp.Refunded || parent.Voided != sp.Voided {
		fail(&tl.parentWrong, "the payment's figures differ from iyzico's")
	}
	if refunded, err := payment.ParseMoney(sp.Refunded, payment.TRY); err != nil || refunded.Minor() > parent.Amount.Minor() || (sp.Voided && refunded.Minor() > 0) {
		fail(&tl.overReturned, "iyzico returned more than was charged")
	}
}

// applied reports whether a failpoint line starts with want.
func applied(lines []string, want string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, want) {
			return true
		}
	}
	return false
}

func (c crashCase) check(t *testing.T, dir string, sim *simulator.Sim, answers []harness.Answer, tl *tally) {
	tl.checked.Add(1)
	st, problem := harness.OpenJournal(t, dir)
	if problem != nil {
		tl.corrupt.Add(1)
		t.Error(problem)
	}
	ctx := context.Background()
	key := fmt.Sprintf("ECR-%s-%s-%d", c.boundary, c.fault, c.seed)
	op, err := st.ByKey(ctx, "ecr", key)
	if errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("the key is not in the journal after a final answer (answers %v)", answers)
	}
	if err != nil {
		t.Fatal(err)
	}
	charges := sim.Charges(op.TransactionReferenceID)
	tl.charges.Add(int64(charges))
	// Every charge is under this sale's journaled reference: a second
	// reference for the same key would be a second sale.
	for ref, n := range sim.ChargesByReference() {
		if ref != op.TransactionReferenceID && n > 0 {
			tl.doubles.Add(1)
			t.Errorf("%d charge(s) under %s, which is not the journaled reference %s of this key", n, ref, op.TransactionReferenceID)
		}
	}
	// The sale reached iyzico at most once: a second request with its
	// reference is a resend, allowed only after a 401 (refused before any
	// device acted). A settled unknown was settled by a status query.
	sends, processed, queries := 0, 0, 0
	for _, r := range sim.Requests() {
		if r.TransactionReferenceID != op.TransactionReferenceID {
			continue
		}
		switch r.Op {
		case simulator.OpPayment, simulator.OpGmuPayment:
			sends++
			if r.Status != 401 {
				processed++
			}
		case simulator.OpQuery, simulator.OpGmuQuery:
			queries++
		}
	}
	if processed > 1 || sends > 2 {
		tl.resends.Add(1)
		t.Errorf("the sale reached iyzico %d times (%d not refused by the token check): it was resent", sends, processed)
	}
	if (op.Resolution == payment.ResolvedByQuery || op.Resolution == payment.ResolvedNotFound) && queries == 0 {
		t.Errorf("resolved %s without a status query", op.Resolution)
	}
	sawApproved, sawDeclined := false, false
	for _, a := range answers {
		sawApproved = sawApproved || a.Status == "approved"
		sawDeclined = sawDeclined || a.Status == "declined"
	}
	switch op.State {
	case payment.StateApproved:
		tl.approved.Add(1)
	case payment.StateDeclined:
		tl.declined.Add(1)
	}
	if op.Resolution == payment.ResolvedByQuery || op.Resolution == payment.ResolvedNotFound {
		tl.viaReconciler.Add(1)
	}
	fail := func(counter *atomic.Int64, format string, args ...any) {
		counter.Add(1)
		t.Errorf(format+" (journal: %s/%s, charges %d, answers %v)", append(args, op.State, op.Resolution, charges, answers)...)
	}
	if charges > 1 {
		fail(&tl.doubles, "%d charges for one key", charges)
	}
	if sawApproved && op.State != payment.StateApproved {
		fail(&tl.lost, "the ECR saw approved, the journal says otherwise")
	}
	if charges >= 1 && op.State != payment.StateApproved {
		fail(&tl.lost, "the card was charged but the journal does not say approved")
	}
	if charges >= 1 && sawDeclined {
		fail(&tl.liedFailed, "the ECR was told declined and the card was charged")
	}
	if charges == 0 && op.State == payment.StateApproved {
		fail(&tl.liedApproved, "approved without a charge")
	}
	if !op.State.Final() {
		fail(&tl.unconverged, "the journal is not final")
	}
	if op.State == payment.StateApproved && op.PaymentID == "" {
		fail(&tl.lost, "approved without a payment id")
	}
}

// saleBody is the sale an ECR sends: in VUK 507, one receipt line.
func saleBody(mode, amount, key string) map[string]any {
	b := map[string]any{"amount": amount, "reference": key}
	if mode == "vuk507" {
		b["document_type"] = "1"
		b["items"] = []map[string]any{{"name": "Bread", "quantity": 1, "unit_price": amount, "total": amount, "tax_group_code": "1"}}
	}
	return b
}
