package crash

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/simulator"
	"github.com/bridgedpos/bridged/internal/simulator/simtest"
	"github.com/bridgedpos/bridged/proof/harness"
)

// TestSoak is the randomized soak: eight lanes sell without pause while the
// daemon is killed with SIGKILL at random moments (every 0.3 to 2 s) and
// restarted, and the simulator drops some answers after charging. Each ECR
// retries its sale with the same key across the restarts. When the time is
// up the killing stops, everything settles, and the same invariants as the
// matrix are checked over every sale.
//
//	PROOF_SOAK=10m go test -run TestSoak -timeout 30m ./proof/crash/
func TestSoak(t *testing.T) {
	limit := os.Getenv("PROOF_SOAK")
	if limit == "" {
		t.Skip("PROOF_SOAK is not set (e.g. PROOF_SOAK=10m)")
	}
	dur, err := time.ParseDuration(limit)
	if err != nil || dur <= 0 {
		t.Fatalf("PROOF_SOAK=%q: want a duration", limit)
	}
	const lanes = 8
	bin := harness.Binary(t, "failpoint")
	var devices []string
	var terms []harness.Terminal
	for i := 1; i <= lanes; i++ {
		devices = append(devices, fmt.Sprintf("PAV86005%04d", i))
		terms = append(terms, harness.Terminal{ID: fmt.Sprintf("lane-%d", i), Device: devices[i-1]})
	}
	sim, srv := simtest.Start(t, simulator.Config{Devices: devices, Seed: 7, RotateRefreshTokens: true})
	for _, f := range []simulator.Fault{
		{Op: simulator.OpPayment, Kind: simulator.FaultCommitThenDrop, Probability: 0.10},
		{Op: simulator.OpPayment, Kind: simulator.FaultResetBeforeProcessing, Probability: 0.05},
	} {
		sim.Inject(f)
	}
	capture := harness.NewCapture(t, "soak")
	capture.Secret(harness.DefaultKey, "sim-secret", "sim-password")
	defer func() { capture.Secret(sim.IssuedSecrets()...) }()
	dir := t.TempDir()
	cfg := harness.WriteConfig(t, dir, harness.Config{UpstreamURL: srv.URL, Terminals: terms})
	env := []string{"BRIDGED_FAILPOINT_TIMINGS=" + harness.Timings}

	var (
		cur   atomic.Pointer[harness.Daemon]
		lives atomic.Int64
	)
	start := func() {
		lives.Add(1)
		d, err := harness.Start(t, bin, cfg, env, capture, fmt.Sprintf("life-%03d.log", lives.Load()))
		if err != nil {
			t.Error(err)
			return
		}
		cur.Store(d)
	}
	start()

	type sale struct {
		key     string
		answers []harness.Answer
	}
	var (
		mu      sync.Mutex
		sales   []*sale
		stop    atomic.Bool
		workers sync.WaitGroup
	)
	for l := 1; l <= lanes; l++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for i := 1; !stop.Load(); i++ {
				s := &sale{key: fmt.Sprintf("SOAK-%d-%05d", l, i)}
				body := map[string]any{"amount": "25.00", "reference": s.key, "terminal": fmt.Sprintf("lane-%d", l)}
				for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
					d := cur.Load()
					select {
					case <-d.Exited():
						// Killed: wait for the restart rather than call a port
						// that another process may have taken since.
						<-time.After(50 * time.Millisecond)
						continue
					default:
					}
					a := harness.NewECR(t, d.Addr, harness.DefaultKey, capture, 3*time.Second).Do("POST", "/v1/payments", s.key, body, 1)
					s.answers = append(s.answers, a)
					if a.Final() {
						break
					}
					if a.Err != nil || a.HTTP >= 500 || a.HTTP == 409 {
						<-time.After(100 * time.Millisecond) // the ECR's pause before it tries again
					}
				}
				mu.Lock()
				sales = append(sales, s)
				mu.Unlock()
			}
		}()
	}

	// The killer: SIGKILL at random moments, then a restart.
	rng := rand.New(rand.NewPCG(7, 7))
	end := time.Now().Add(dur)
	kills := 0
	for time.Now().Before(end) {
		<-time.After(time.Duration(300+rng.IntN(1700)) * time.Millisecond)
		cur.Load().Kill()
		kills++
		start()
	}
	stop.Store(true)
	sim.ClearFaults()
	workers.Wait()
	cur.Load().Kill()

	st, problem := harness.OpenJournal(t, dir)
	if problem != nil {
		t.Error(problem)
	}
	ctx := context.Background()
	var doubles, lost, unsettled, approved int
	journaled := map[string]bool{} // transaction references of the journaled sales
	for _, s := range sales {
		op, err := st.ByKey(ctx, "ecr", s.key)
		if errors.Is(err, payment.ErrNotFound) && !sawStatus(s.answers) {
			continue // never journaled: every answer was a refusal or no answer
		}
		if err != nil {
			t.Errorf("%s: %v (answers %v)", s.key, err, s.answers)
			continue
		}
		journaled[op.TransactionReferenceID] = true
		charges := sim.Charges(op.TransactionReferenceID)
		sawApproved := false
		for _, a := range s.answers {
			sawApproved = sawApproved || a.Status == "approved"
		}
		switch {
		case charges > 1:
			doubles++
			t.Errorf("%s: %d charges", s.key, charges)
		case !op.State.Final():
			unsettled++
			t.Errorf("%s: left %s", s.key, op.State)
		case sawApproved && op.State != payment.StateApproved, charges == 1 && op.State != payment.StateApproved:
			lost++
			t.Errorf("%s: charged %d, the ECR saw approved=%v, the journal says %s", s.key, charges, sawApproved, op.State)
		case charges == 0 && op.State == payment.StateApproved:
			t.Errorf("%s: approved without a charge", s.key)
		}
		if op.State == payment.StateApproved {
			approved++
		}
	}
	// Every charge belongs to a journaled sale: a charge under any other
	// reference was sent without its intent, or resent under a new one.
	for ref, n := range sim.ChargesByReference() {
		if n > 0 && !journaled[ref] {
			doubles++
			t.Errorf("%d charge(s) under %s, which no journaled sale carries", n, ref)
		}
	}
	if sim.TotalCharges() != approved {
		t.Errorf("iyzico counts %d charges, the journal %d approved sales", sim.TotalCharges(), approved)
	}
	harness.Summary(t, fmt.Sprintf("soak: %v, %d lanes, %d kill -9 and restarts, %d sales, %d approved, %d charges; %d double charges, %d lost approvals, %d unsettled",
		dur, lanes, kills, len(sales), approved, sim.TotalCharges(), doubles, lost, unsettled))
}

// sawStatus reports whether any answer carried a payment's status: the key
// was then journaled.
func sawStatus(answers []harness.Answer) bool {
	for _, a := range answers {
		if a.Status != "" {
			return true
		}
	}
	return false
}
