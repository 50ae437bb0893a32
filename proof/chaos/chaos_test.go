// Package chaos runs a full simulated trading day of several terminals
// through the real bridged process while the simulator misbehaves: 30% of
// card answers dropped after the charge, 10% of card requests cut before
// processing, delays past the card timeout, 5xx answers, slow and failing
// status queries, and every token expired and every session revoked in the
// middle of the day. At the end every purchase has at most one charge,
// every approval the ECR saw is in the journal, no operation is left
// unknown, and each terminal's end of day matches the journal.
//
//	go test ./proof/chaos/                   # 2 days × 4 terminals × 6 purchases
//	PROOF_CHAOS_SALES=40 go test ./proof/chaos/
package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/simulator"
	"github.com/bridgedpos/bridged/internal/simulator/simtest"
	"github.com/bridgedpos/bridged/proof/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

const terminals = 4

func TestChaosDay(t *testing.T) {
	sales := harness.EnvInt(t, "PROOF_CHAOS_SALES", 6)
	bin := harness.Binary(t, "failpoint")
	var total dayTally
	for i, mode := range []string{"vuk509", "vuk507"} {
		t.Run(mode, func(t *testing.T) { runDay(t, bin, mode, sales, uint64(i+1), &total) })
	}
	harness.Summary(t, fmt.Sprintf("chaos: %d of 2 days (vuk509, vuk507) completed × %d terminals × %d purchases: %d sale attempts, %d charges, %d voids, %d refunds, "+
		"%d upstream calls faulted, %d unknown answers seen by the ECR, %d left unknown; %d double charges, %d double refunds, %d lost approvals, "+
		"%d told declined but charged; end of day %d/%d match; a second sale on a busy lane refused %d/%d",
		total.days, terminals, sales, total.attempts, total.charges, total.voids, total.refunds, total.faulted, total.unknownSeen, total.leftUnknown,
		total.doubles, total.doubleRefunds, total.lost, total.liedFailed, total.eodMatch, total.eods, total.busyRefused, total.busyChecks))
}

type dayTally struct {
	attempts, charges, voids, refunds, faulted, unknownSeen, leftUnknown int
	doubles, doubleRefunds, lost, liedFailed, eodMatch, eods             int
	busyRefused, busyChecks, days                                        int
}

func (d *dayTally) add(o dayTally) {
	d.attempts += o.attempts
	d.charges += o.charges
	d.voids += o.voids
	d.refunds += o.refunds
	d.faulted += o.faulted
	d.unknownSeen += o.unknownSeen
	d.leftUnknown += o.leftUnknown
	d.doubles += o.doubles
	d.doubleRefunds += o.doubleRefunds
	d.lost += o.lost
	d.liedFailed += o.liedFailed
	d.eodMatch += o.eodMatch
	d.eods += o.eods
	d.busyRefused += o.busyRefused
	d.busyChecks += o.busyChecks
	d.days += o.days
}

// purchase is one customer at one lane: one or more attempts (a declined
// attempt that is safe to retry is tried again with a new key, as a cashier
// would), then perhaps a void or a refund.
type purchase struct {
	lane     string
	amount   string
	attempts []attempt
	voidKey  string
	voided   bool
	refund   string // the refunded amount, when refunded
	refKey   string
	refTx    string
}

type attempt struct {
	key     string
	txRef   string
	answers []harness.Answer
}

func (p *purchase) approved() *attempt {
	for i := range p.attempts {
		a := &p.attempts[i]
		if last := a.answers[len(a.answers)-1]; last.Status == "approved" {
			return a
		}
	}
	return nil
}

func chaosFaults(mode string) []simulator.Fault {
	card := []string{simulator.OpPayment, simulator.OpVoid, simulator.OpRefund}
	query := simulator.OpQuery
	if mode == "vuk507" {
		card = []string{simulator.OpGmuPayment, simulator.OpGmuVoid, simulator.OpGmuRefund}
		query = simulator.OpGmuQuery
	}
	var fs []simulator.Fault
	for _, op := range card {
		fs = append(fs,
			simulator.Fault{Op: op, Kind: simulator.FaultCommitThenDrop, Probability: 0.30},
			simulator.Fault{Op: op, Kind: simulator.FaultResetBeforeProcessing, Probability: 0.10},
			simulator.Fault{Op: op, Kind: simulator.FaultDelay, Delay: 1500 * time.Millisecond, Probability: 0.05},
			simulator.Fault{Op: op, Kind: simulator.FaultHTTPStatus, Status: 500, Probability: 0.05},
		)
	}
	return append(fs,
		simulator.Fault{Op: query, Kind: simulator.FaultHTTPStatus, Status: 502, Probability: 0.10},
		simulator.Fault{Op: query, Kind: simulator.FaultDelay, Delay: 800 * time.Millisecond, Probability: 0.10},
	)
}

// runDay runs one day and adds its figures to total, also when it stops
// early, so that the summary line never hides a failed day.
func runDay(t *testing.T, bin, mode string, sales int, seed uint64, total *dayTally) {
	var tl dayTally
	defer func() { total.add(tl) }()
	var devices []string
	var terms []harness.Terminal
	for i := 1; i <= terminals; i++ {
		dev := fmt.Sprintf("PAV86004%04d", i)
		devices = append(devices, dev)
		terms = append(terms, harness.Terminal{ID: fmt.Sprintf("lane-%d", i), Device: dev})
	}
	// The busy-lane check holds one sale at the device (amount 5.55) until a
	// second sale on the same lane has been refused.
	holding, release := make(chan struct{}), make(chan struct{})
	var holdOnce sync.Once
	sim, srv := simtest.Start(t, simulator.Config{Devices: devices, Seed: seed, RotateRefreshTokens: true, SlowCardWait: 10 * time.Millisecond,
		OnCardWait: func(ctx context.Context, ev simulator.CardEvent) {
			if ev.Amount == "5.55" {
				holdOnce.Do(func() { close(holding) })
				select {
				case <-release:
				case <-ctx.Done():
				}
			}
		}})
	capture := harness.NewCapture(t, "chaos")
	capture.Secret(harness.DefaultKey, "sim-secret", "sim-password")
	defer func() { capture.Secret(sim.IssuedSecrets()...) }()
	dir := t.TempDir()
	cfg := harness.WriteConfig(t, dir, harness.Config{Mode: mode, UpstreamURL: srv.URL, Terminals: terms})
	d, err := harness.Start(t, bin, cfg, []string{"BRIDGED_FAILPOINT_TIMINGS=" + harness.Timings}, capture, "daemon.log")
	if err != nil {
		t.Fatal(err)
	}
	var busyApproved bool
	tl.busyChecks = 1
	tl.busyRefused, busyApproved = busyLane(t, d, sim, devices[0], mode, capture, holding, release)
	for _, f := range chaosFaults(mode) {
		sim.Inject(f)
	}

	var (
		mu        sync.Mutex
		purchases []*purchase
		wg        sync.WaitGroup
		midday    sync.Once
	)
	for l := 1; l <= terminals; l++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lane := fmt.Sprintf("lane-%d", l)
			rng := rand.New(rand.NewPCG(seed, uint64(l)))
			ecr := harness.NewECR(t, d.Addr, harness.DefaultKey, capture, 5*time.Second)
			for i := 1; i <= sales; i++ {
				if l == 1 && i == sales/2 {
					// Mid-day: every token expires and every session is revoked.
					midday.Do(func() { sim.ExpireTokens(); sim.RevokeSessions() })
				}
				p := &purchase{lane: lane, amount: []string{"149.90", "20.00", "7.25", "12.51"}[rng.IntN(4)]}
				sell(ecr, mode, p, fmt.Sprintf("%s-%s-%03d", mode, lane, i))
				if a := p.approved(); a != nil {
					switch r := rng.IntN(10); {
					case r == 0:
						p.voidKey = a.key + "-V"
						last := finalOf(ecr, "/v1/payments/"+idOf(a)+"/void", p.voidKey, map[string]any{"reason": "chaos"})
						p.voided = last.Status == "approved"
					case r == 1 && mode == "vuk509":
						p.refKey = a.key + "-R"
						last := finalOf(ecr, "/v1/payments/"+idOf(a)+"/refund", p.refKey, map[string]any{"amount": "5.00"})
						if last.Status == "approved" {
							p.refund = "5.00"
						}
						p.refTx = last.TxRef
					}
				}
				mu.Lock()
				purchases = append(purchases, p)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sim.ClearFaults()

	ecr := harness.NewECR(t, d.Addr, harness.DefaultKey, capture, 5*time.Second)
	// Every unknown settles once iyzico answers again.
	deadline := time.Now().Add(60 * time.Second)
	for {
		a := ecr.Do("GET", "/v1/payments?status=unknown&limit=1000", "", nil, 0)
		var list struct {
			Items []json.RawMessage `json:"items"`
		}
		if a.Err != nil || json.Unmarshal(a.Raw, &list) != nil {
			t.Fatalf("list unknowns: %v", a)
		}
		if len(list.Items) == 0 {
			break
		}
		if time.Now().After(deadline) {
			tl.leftUnknown = len(list.Items)
			t.Fatalf("%d operations still unknown 60 s after the faults stopped", len(list.Items))
		}
		select {
		case <-d.Exited():
			t.Fatalf("bridged exited:\n%s", d.Tail())
		case <-time.After(200 * time.Millisecond):
		}
	}

	// End of day on every lane: iyzico's totals equal the journal's and ours.
	expected := map[string]int64{}
	if busyApproved {
		expected["lane-1"] += 555
	}
	for _, p := range purchases {
		if a := p.approved(); a != nil && !p.voided {
			expected[p.lane] += cents(t, p.amount)
		}
		if p.refund != "" {
			expected[p.lane] -= cents(t, p.refund)
		}
	}
	for _, tm := range terms {
		a := ecr.Do("POST", "/v1/terminals/"+tm.ID+"/end-of-day", "", nil, 0)
		var rep struct {
			Status   string `json:"status"`
			Match    bool   `json:"match"`
			Upstream struct {
				Amount string `json:"amount"`
			} `json:"upstream"`
			Journal struct {
				Amount string `json:"amount"`
			} `json:"journal"`
		}
		if a.HTTP != 201 || json.Unmarshal(a.Raw, &rep) != nil {
			t.Fatalf("end of day %s: %v %s", tm.ID, a, a.Raw)
		}
		tl.eods++
		switch {
		case rep.Status != "approved" || !rep.Match:
			t.Errorf("end of day %s: status %s match %v (journal %s, iyzico %s)", tm.ID, rep.Status, rep.Match, rep.Journal.Amount, rep.Upstream.Amount)
		case cents(t, rep.Upstream.Amount) != expected[tm.ID]:
			t.Errorf("end of day %s: iyzico's total %s, the ECR's approved sales make %d cents", tm.ID, rep.Upstream.Amount, expected[tm.ID])
		default:
			tl.eodMatch++
		}
	}
	d.Kill()
	harness.Export(t, bin, cfg, capture, "export.jsonl")

	// The journal after the day, read from the file.
	st, problem := harness.OpenJournal(t, dir)
	if problem != nil {
		t.Error(problem)
	}
	ctx := context.Background()
	for _, r := range sim.Requests() {
		if len(r.Faults) > 0 {
			tl.faulted++
		}
	}
	tl.charges = sim.TotalCharges()
	if op, err := st.ByKey(ctx, "ecr", mode+"-busy-2"); err == nil {
		t.Errorf("the sale refused as busy is in the journal: %s", op.State)
	}
	for _, p := range purchases {
		charges := 0
		for _, a := range p.attempts {
			tl.attempts++
			charges += sim.Charges(a.txRef)
			for _, ans := range a.answers {
				if ans.Status == "unknown" {
					tl.unknownSeen++
				}
			}
			sawApproved, sawDeclined := false, false
			for _, ans := range a.answers {
				sawApproved = sawApproved || ans.Status == "approved"
				sawDeclined = sawDeclined || ans.Status == "declined"
			}
			op, err := st.ByKey(ctx, "ecr", a.key)
			if err != nil {
				t.Errorf("%s: not in the journal: %v", a.key, err)
				continue
			}
			if sawApproved && op.State != payment.StateApproved {
				tl.lost++
				t.Errorf("%s: the ECR saw approved, the journal says %s", a.key, op.State)
			}
			if c := sim.Charges(a.txRef); c > 0 && (sawDeclined || op.State != payment.StateApproved) {
				tl.liedFailed++
				t.Errorf("%s: charged %d time(s), the ECR saw declined=%v, the journal says %s", a.key, c, sawDeclined, op.State)
			}
		}
		if charges > 1 {
			tl.doubles++
			t.Errorf("%s %s: %d charges over %d attempts", p.lane, p.amount, charges, len(p.attempts))
		}
		if p.voidKey != "" {
			tl.voids++
		}
		if p.refKey != "" {
			tl.refunds++
			if n := sim.Refunds(p.refTx); n > 1 {
				tl.doubleRefunds++
				t.Errorf("%s: refunded %d times", p.refKey, n)
			}
		}
	}
	tl.days = 1
	t.Logf("%s day: %+v", mode, tl)
}

// busyLane sends a second sale to lane-1 while its first is at the device:
// it must be refused at once with 409 terminal_busy and never reach iyzico.
// It returns 1 when it was, and whether the first sale was approved.
func busyLane(t *testing.T, d *harness.Daemon, sim *simulator.Sim, device, mode string, capture *harness.Capture, holding, release chan struct{}) (int, bool) {
	ecr := harness.NewECR(t, d.Addr, harness.DefaultKey, capture, 10*time.Second)
	body := func(key string) map[string]any {
		b := map[string]any{"amount": "5.55", "reference": key, "terminal": "lane-1"}
		if mode == "vuk507" {
			b["document_type"] = "1"
			b["items"] = []map[string]any{{"name": "Item", "quantity": 1, "unit_price": "5.55", "total": "5.55", "tax_group_code": "1"}}
		}
		return b
	}
	first := make(chan harness.Answer, 1)
	go func() { first <- ecr.Do("POST", "/v1/payments", mode+"-busy-1", body(mode+"-busy-1"), 8) }()
	select {
	case <-holding:
	case <-time.After(10 * time.Second):
		t.Fatalf("the first sale never reached the device: %v", <-first)
	}
	second := ecr.Do("POST", "/v1/payments", mode+"-busy-2", body(mode+"-busy-2"), 8)
	close(release)
	a := <-first
	// The simulator records a request when it is answered: both are by now.
	sent := 0
	for _, r := range sim.Requests() {
		if r.Device == device && (r.Op == simulator.OpPayment || r.Op == simulator.OpGmuPayment) {
			sent++
		}
	}
	if sent != 1 {
		t.Errorf("%d sales reached the busy lane's device, want only the first", sent)
		return 0, a.Status == "approved"
	}
	if a.Status != "approved" {
		t.Errorf("the first sale on the busy lane: %v", a)
	}
	if second.HTTP != 409 || second.Code != "terminal_busy" {
		t.Errorf("a second sale on a busy lane: %v, want 409 terminal_busy", second)
		return 0, a.Status == "approved"
	}
	return 1, a.Status == "approved"
}

// sell runs one purchase: each attempt is sent with its key until the answer
// is final; a declined attempt that is safe to retry is tried again with a
// new key, up to three attempts.
func sell(ecr *harness.ECR, mode string, p *purchase, keyBase string) {
	for n := 1; n <= 3; n++ {
		a := attempt{key: fmt.Sprintf("%s-%d", keyBase, n)}
		body := map[string]any{"amount": p.amount, "reference": a.key, "terminal": p.lane}
		if mode == "vuk507" {
			body["document_type"] = "1"
			body["items"] = []map[string]any{{"name": "Item", "quantity": 1, "unit_price": p.amount, "total": p.amount, "tax_group_code": "1"}}
		}
		a.answers = ecr.UntilFinal("/v1/payments", a.key, body, 2, 2*time.Minute, nil)
		for _, ans := range a.answers {
			if ans.TxRef != "" {
				a.txRef = ans.TxRef
			}
		}
		p.attempts = append(p.attempts, a)
		last := a.answers[len(a.answers)-1]
		if last.Status != "declined" || !last.SafeToRetry || p.amount == "12.51" {
			return
		}
	}
}

func finalOf(ecr *harness.ECR, path, key string, body map[string]any) harness.Answer {
	as := ecr.UntilFinal(path, key, body, 2, 2*time.Minute, nil)
	return as[len(as)-1]
}

func idOf(a *attempt) string {
	for _, ans := range a.answers {
		if ans.ID != "" {
			return ans.ID
		}
	}
	return ""
}

func cents(t *testing.T, s string) int64 {
	m, err := payment.ParseMoney(s, payment.TRY)
	if err != nil {
		t.Fatalf("amount %q: %v", s, err)
	}
	return m.Minor()
}
