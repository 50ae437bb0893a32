//go:build failpoint

package payment_test

// The crash matrix in miniature, in one process: the service is stopped dead
// at each named crash point (no further write, no cleanup beyond what the OS
// does for a killed process), reopened on the same journal file, and must
// converge to the truth iyzico holds: at most one charge per key, an approved
// sale ends approved with its payment id, and the ECR's retry with the same
// key gets that answer. Run with: go test -tags failpoint ./internal/payment/

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/secret"
	"github.com/bridgedpos/bridged/internal/simulator"
	"github.com/bridgedpos/bridged/internal/simulator/simtest"
	"github.com/bridgedpos/bridged/internal/store"
	"github.com/bridgedpos/bridged/internal/upstream"
)

const crashDevice = "PAV860047264"

var errCrash = errors.New("crash")

type node struct {
	st     *store.Store
	svc    *payment.Service
	cancel context.CancelFunc
	done   chan struct{}
}

// start opens the journal and the service against the simulator. The clock
// is shared so that "after the grace period" can be reached without waiting.
func start(t *testing.T, dir, url string, clock *fakeClock) *node {
	t.Helper()
	st, err := store.Open(dir, store.Options{Timeout: time.Second, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	client, err := upstream.New(upstream.Config{BaseURL: url,
		Credentials: upstream.Credentials{ClientID: "sim-client", ClientSecret: secret.New("sim-secret"), Username: "sim-user", Password: secret.New("sim-password")},
		CardTimeout: 10 * time.Second, QueryTimeout: 5 * time.Second, Logger: zerolog.Nop()}, st)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = client.Run(ctx); close(done) }()
	svc, err := payment.New(payment.Options{Mode: payment.VUK509, Journal: st, Clock: clock, Logger: zerolog.Nop(),
		Terminals:   []payment.TerminalConfig{{ID: "lane-1", DeviceUniqueID: crashDevice}},
		Gateway:     upstream.NewGateway(client, payment.VUK509, upstream.SaleApp{}),
		CardTimeout: 10 * time.Second, NotFoundGrace: time.Minute, Location: time.UTC, Monotonic: clock.Mono})
	if err != nil {
		t.Fatal(err)
	}
	return &node{st: st, svc: svc, cancel: cancel, done: done}
}

// kill stops a node as kill -9 would: whatever it was doing goes nowhere.
func (n *node) kill(t *testing.T) {
	t.Helper()
	if err := n.st.Close(); err != nil {
		t.Fatal(err)
	}
	n.svc.Close()
	n.cancel()
	<-n.done
}

func TestCrashAtEveryPoint(t *testing.T) {
	for _, point := range payment.FailPoints {
		t.Run(point, func(t *testing.T) {
			sim, srv := simtest.Start(t, simulator.Config{Devices: []string{crashDevice}})
			// The sale is charged, then the connection is cut: the worst case.
			sim.Inject(simulator.Fault{Op: simulator.OpPayment, Kind: simulator.FaultCommitThenDrop})
			dir := t.TempDir()
			clock := &fakeClock{now: time.Now().UTC()}
			ecr := payment.Caller{Client: "ecr", IdempotencyKey: "ECR-" + point, Wait: 15 * time.Second}
			sale := payment.SaleRequest{Amount: "149.90", Reference: "ECR-" + point}

			// First life: crash at the point, once.
			n := start(t, dir, srv.URL, clock)
			if err := n.svc.Recover(context.Background()); err != nil {
				t.Fatal(err)
			}
			crashed := false
			n.svc.SetFailpoint(func(p string) error {
				if p == point && !crashed {
					crashed = true
					return errCrash
				}
				return nil
			})
			_, firstErr := n.svc.Pay(context.Background(), ecr, sale)
			// The reconciler points are reached while settling the unknown.
			clock.Advance(2 * time.Second)
			n.svc.ReconcileDue(context.Background())
			if !crashed {
				t.Fatalf("crash point %s never reached", point)
			}
			n.kill(t)

			// Later lives: restart, recover, reconcile until final.
			var op *payment.Operation
			for life := 0; life < 3; life++ {
				n = start(t, dir, srv.URL, clock)
				if err := n.svc.Recover(context.Background()); err != nil {
					t.Fatal(err)
				}
				r, err := n.svc.Pay(context.Background(), ecr, sale)
				if err != nil {
					t.Fatalf("life %d: retry with the same key: %v (first answer: %v)", life, err, firstErr)
				}
				op = r.Op
				for i := 0; i < 5 && !op.State.Final(); i++ {
					clock.Advance(2 * time.Minute) // past backoff and the not-found grace
					n.svc.ReconcileDue(context.Background())
					r, err = n.svc.Pay(context.Background(), ecr, sale)
					if err != nil {
						t.Fatal(err)
					}
					op = r.Op
				}
				n.kill(t)
				if op.State.Final() {
					break
				}
			}

			charges := sim.TotalCharges()
			if charges > 1 {
				t.Fatalf("%d charges for one key", charges)
			}
			switch {
			case charges == 1 && (op.State != payment.StateApproved || op.PaymentID == ""):
				t.Fatalf("charged once but the journal says %s (payment id %q)", op.State, op.PaymentID)
			case charges == 0 && (op.State != payment.StateDeclined || !op.SafeToRetry):
				t.Fatalf("never charged but the journal says %s safe_to_retry=%v", op.State, op.SafeToRetry)
			}
			if charges == 1 && sim.Charges(op.TransactionReferenceID) != 1 {
				t.Fatalf("the charge is not under the journaled reference %s", op.TransactionReferenceID)
			}
			t.Logf("%s: charges=%d final=%s payment_id=%s resolution=%s", point, charges, op.State, op.PaymentID, op.Resolution)

			// The journal file is consistent and its chain intact.
			st, err := store.Open(dir, store.Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := st.Check(context.Background()); err != nil {
				t.Fatalf("bbolt check: %v", err)
			}
			if n, err := st.VerifyChain(context.Background()); err != nil || n == 0 {
				t.Fatalf("hash chain: %d entries, %v", n, err)
			}
		})
	}
}
