package payment_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/store"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu   sync.Mutex
	now  time.Time
	mono time.Duration
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// Advance moves time on: the wall clock and the monotonic clock.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mono += d
	c.mu.Unlock()
}

// Jump sets the wall clock forward (or back) without any time passing, as an
// NTP correction of a PC with a bad real-time clock does.
func (c *fakeClock) Jump(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Mono is the monotonic clock: time passed, whatever the wall clock says.
func (c *fakeClock) Mono() time.Duration { c.mu.Lock(); defer c.mu.Unlock(); return c.mono }

// fakeGateway answers from scripts and counts every call by reference.
type fakeGateway struct {
	mu      sync.Mutex
	sends   map[string]int
	queries map[string]int
	execute func(op *payment.Operation) payment.Outcome
	query   func(op *payment.Operation) payment.Outcome
	eod     func(op *payment.Operation) (*payment.EndOfDayReport, payment.Outcome)
}

func newFakeGateway() *fakeGateway {
	return &fakeGateway{
		sends:   map[string]int{},
		queries: map[string]int{},
		execute: func(*payment.Operation) payment.Outcome { return approved() },
		query:   func(*payment.Operation) payment.Outcome { return payment.Outcome{Class: payment.NotFound} },
	}
}

func (g *fakeGateway) Execute(_ context.Context, op *payment.Operation) payment.Outcome {
	g.mu.Lock()
	g.sends[op.TransactionReferenceID]++
	f := g.execute
	g.mu.Unlock()
	return ownPaymentID(op, f(op))
}

func (g *fakeGateway) Query(_ context.Context, op *payment.Operation) payment.Outcome {
	g.mu.Lock()
	g.queries[op.TransactionReferenceID]++
	f := g.query
	g.mu.Unlock()
	out := ownPaymentID(op, f(op))
	if out.Class == payment.Approved || out.Class == payment.Declined {
		// iyzico's answer repeats the queried reference, unless a test says
		// otherwise (unnamedAnswer).
		out.Named = !out.Named
	}
	return out
}

// unnamedAnswer makes a fake query answer one that does not repeat the
// queried reference (Query flips Named).
func unnamedAnswer(out payment.Outcome) payment.Outcome {
	out.Named = true
	return out
}

// ownPaymentID gives the template paymentId of approved() one of the
// operation's own, as iyzico gives each payment its own.
func ownPaymentID(op *payment.Operation, out payment.Outcome) payment.Outcome {
	if out.Class == payment.Approved && out.PaymentID == "pay-1" && op.Kind.OwnsPaymentID() {
		out.PaymentID = "pay-" + op.TransactionReferenceID
	}
	return out
}

func (g *fakeGateway) EndOfDay(_ context.Context, op *payment.Operation) (*payment.EndOfDayReport, payment.Outcome) {
	g.mu.Lock()
	f := g.eod
	g.mu.Unlock()
	if f == nil {
		return &payment.EndOfDayReport{}, payment.Outcome{Class: payment.Approved}
	}
	return f(op)
}

func (g *fakeGateway) totalSends() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, v := range g.sends {
		n += v
	}
	return n
}

func (g *fakeGateway) set(exec func(*payment.Operation) payment.Outcome) {
	g.mu.Lock()
	g.execute = exec
	g.mu.Unlock()
}

func (g *fakeGateway) setQuery(q func(*payment.Operation) payment.Outcome) {
	g.mu.Lock()
	g.query = q
	g.mu.Unlock()
}

func approved() payment.Outcome {
	return payment.Outcome{Class: payment.Approved, PaymentID: "pay-1", PaymentDate: "20261123", AuthCode: "123456",
		Card: &payment.Card{BIN: "552879", Last4: "0008", Type: "CREDIT_CARD"}}
}

type harness struct {
	t     *testing.T
	dir   string
	st    *store.Store
	svc   *payment.Service
	gw    *fakeGateway
	clock *fakeClock
	fail  atomic.Pointer[error]
}

func newHarness(t *testing.T, mode payment.Mode, terminals ...string) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), gw: newFakeGateway(),
		clock: &fakeClock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}}
	if len(terminals) == 0 {
		terminals = []string{"lane-1"}
	}
	h.open(mode, terminals)
	return h
}

func (h *harness) open(mode payment.Mode, terminals []string) {
	h.t.Helper()
	st, err := store.Open(h.dir, store.Options{Timeout: time.Second, Now: h.clock.Now, FailWrites: func() error {
		if e := h.fail.Load(); e != nil {
			return *e
		}
		return nil
	}})
	if err != nil {
		h.t.Fatal(err)
	}
	var tcs []payment.TerminalConfig
	for i, id := range terminals {
		tcs = append(tcs, payment.TerminalConfig{ID: id, DeviceUniqueID: fmt.Sprintf("DEV%d", i)})
	}
	svc, err := payment.New(payment.Options{Mode: mode, Terminals: tcs, Journal: st, Gateway: h.gw, Clock: h.clock,
		Logger: zerolog.Nop(), Location: time.UTC, MaxAmount: payment.NewMoney(10_000_000, payment.TRY), Monotonic: h.clock.Mono})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := svc.Recover(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	h.st, h.svc = st, svc
	h.t.Cleanup(func() { svc.Close(); st.Close() })
}

// restart drops the service as a crash would (no graceful anything beyond
// closing the file, which the OS does for a dead process) and opens it again.
func (h *harness) restart(mode payment.Mode, terminals ...string) {
	h.t.Helper()
	h.svc.Close()
	if err := h.st.Close(); err != nil {
		h.t.Fatal(err)
	}
	if len(terminals) == 0 {
		terminals = []string{"lane-1"}
	}
	h.open(mode, terminals)
}

func caller(key string) payment.Caller {
	return payment.Caller{Client: "ecr", IdempotencyKey: key, Wait: 10 * time.Second}
}

func sale(amount string) payment.SaleRequest {
	return payment.SaleRequest{Amount: amount, Reference: "R-" + amount}
}

func TestSaleApproved(t *testing.T) {
	h := newHarness(t, payment.VUK509)
	res, err := h.svc.Pay(context.Background(), caller("k1"), sale("149.90"))
	if err != nil {
		t.Fatal(err)
	}
	op := res.Op
	if !res.Final || op.State != payment.StateApproved || op.PaymentID != "pay-"+op.TransactionReferenceID || op.SafeToRetry || res.Replayed {
		t.Fatalf("got %+v final=%v", op, res.Final)
	}
	if op.Amount.Decimal() != "149.90" || op.Card.Last4 != "0008" || len(op.TransactionReferenceID) > 64 {
		t.Fatalf("fields: %+v", op)
	}
	stored, err := h.svc.Get(context.Background(), op.ID)
	if err != nil || stored.State != payment.StateApproved {
		t.Fatalf("journal: %+v %v", stored, err)
	}
}

func TestStateTransitions(t *testing.T) {
	tests := []struct {
		name        string
		outcome     payment.Outcome
		wantState   payment.State
		wantRetry   bool
		wantBlocked bool
		wantRes     payment.Resolution
	}{
		{"approved", approved(), payment.StateApproved, false, false, payment.ResolvedDirect},
		{"declined", payment.Outcome{Class: payment.Declined, Error: &payment.UpstreamError{Code: "10051", Group: "BANK_ERROR"}}, payment.StateDeclined, true, false, payment.ResolvedDirect},
		{"not sent", payment.Outcome{Class: payment.NotSent, Error: &payment.UpstreamError{Code: "380201"}, Busy: true}, payment.StateDeclined, true, false, payment.ResolvedNotSent},
		{"unknown", payment.Outcome{Class: payment.Unknown, Cause: errors.New("timeout")}, payment.StateUnknown, false, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, payment.VUK509)
			h.gw.set(func(*payment.Operation) payment.Outcome { return tt.outcome })
			res, err := h.svc.Pay(context.Background(), caller("k"), sale("10.00"))
			if err != nil {
				t.Fatal(err)
			}
			if res.Op.State != tt.wantState || res.Op.SafeToRetry != tt.wantRetry || res.Op.Resolution != tt.wantRes {
				t.Fatalf("state %s retry %v resolution %q", res.Op.State, res.Op.SafeToRetry, res.Op.Resolution)
			}
			_, err = h.svc.Pay(context.Background(), caller("k2"), sale("11.00"))
			if blocked := errors.Is(err, payment.ErrTerminalBlocked); blocked != tt.wantBlocked {
				t.Fatalf("next sale: %v", err)
			}
		})
	}
}

func TestUnknownResolvedByQuery(t *testing.T) {
	for _, tt := range []struct {
		name  string
		query payment.Outcome
		want  payment.State
		retry bool
	}{
		{"approved", approved(), payment.StateApproved, false},
		{"declined", payment.Outcome{Class: payment.Declined, Error: &payment.UpstreamError{Code: "10051"}}, payment.StateDeclined, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, payment.VUK509)
			h.gw.set(func(*payment.Operation) payment.Outcome { return payment.Outcome{Class: payment.Unknown} })
			res, err := h.svc.Pay(context.Background(), caller("k"), sale("10.00"))
			if err != nil || res.Op.State != payment.StateUnknown {
				t.Fatalf("%+v %v", res, err)
			}
			h.gw.setQuery(func(*payment.Operation) payment.Outcome { return tt.query })
			h.clock.Advance(time.Minute)
			h.svc.ReconcileDue(context.Background())
			op, _ := h.svc.Get(context.Background(), res.Op.ID)
			if op.State != tt.want || op.Resolution != payment.ResolvedByQuery || op.SafeToRetry != tt.retry {
				t.Fatalf("after query: %s %s retry=%v", op.State, op.Resolution, op.SafeToRetry)
			}
			if h.gw.totalSends() != 1 {
				t.Fatalf("unknown was re-sent: %d sends", h.gw.totalSends())
			}
			if _, err := h.svc.Pay(context.Background(), caller("k2"), sale("11.00")); err != nil {
				t.Fatalf("terminal still blocked: %v", err)
			}
		})
	}
}

func TestNotFoundBecomesDeclinedOnlyAfterGrace(t *testing.T) {
	h := newHarness(t, payment.VUK509)
	h.gw.set(func(*payment.Operation) payment.Outcome { return payment.Outcome{Class: payment.Unknown} })
	res, _ := h.svc.Pay(context.Background(), caller("k"), sale("10.00"))
	h.clock.Advance(time.Minute)
	h.svc.ReconcileDue(context.Background())
	if op, _ := h.svc.Get(context.Background(), res.Op.ID); op.State != payment.StateUnknown {
		t.Fatalf("not found inside the grace period settled it: %s", op.State)
	}
	h.clock.Advance(10 * time.Minute)
	h.svc.ReconcileDue(context.Background())
	op, _ := h.svc.Get(context.Background(), res.Op.ID)
	if op.State != payment.StateDeclined || !op.SafeToRetry || op.Resolution != payment.ResolvedNotFound {
		t.Fatalf("after grace: %s retry=%v %s", op.State, op.SafeToRetry, op.Resolution)
	}
}

func TestIdempotencyReplayAndReuse(t *testing.T) {
	h := newHarness(t, payment.VUK509)
	first, err := h.svc.Pay(context.Background(), caller("key-1"), sale("20.00"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := h.svc.Pay(context.Background(), caller("key-1"), sale("20.00"))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Replayed || again.Op.ID != first.Op.ID || again.Op.State != payment.StateApproved {
		t.Fatalf("replay: %+v", again)
	}
	if _, err := h.svc.Pay(context.Background(), caller("key-1"), sale("21.00")); !errors.Is(err, payment.ErrIdempotencyKeyReused) {
		t.Fatalf("reuse with another amount: %v", err)
	}
	// The reference serves as the key when there is no header.
	byRef := payment.Caller{Client: "ecr", Wait: time.Second}
	a, err := h.svc.Pay(context.Background(), byRef, payment.SaleRequest{Amount: "5.00", Reference: "ECR-77"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := h.svc.Pay(context.Background(), byRef, payment.SaleRequest{Amount: "5.00", Reference: "ECR-77"})
	if !b.Replayed || b.Op.ID != a.Op.ID {
		t.Fatalf("reference as key: %+v", b)
	}
	// Keys are scoped per client.
	other := payment.Caller{Client: "backoffice", IdempotencyKey: "key-1", Wait: time.Second}
	c, err := h.svc.Pay(context.Background(), other, sale("20.00"))
	if err != nil || c.Replayed {
		t.Fatalf("another client's key: %+v %v", c, err)
	}
	if _, err := h.svc.Pay(context.Background(), payment.Caller{Client: "ecr"}, payment.SaleRequest{Amount: "5.00"}); !errors.Is(err, payment.ErrKeyRequired) {
		t.Fatalf("no key: %v", err)
	}
	if n := h.gw.totalSends(); n != 3 {
		t.Fatalf("%d upstream calls, want 3", n)
	}
	// Replay survives a restart.
	h.restart(payment.VUK509)
	r, err := h.svc.Pay(context.Background(), caller("key-1"), sale("20.00"))
	if err != nil || !r.Replayed || r.Op.ID != first.Op.ID {
		t.Fatalf("replay after restart: %+v %v", r, err)
	}
}

// blockingGateway holds Execute until released, to keep an operation in flight.
func blockUntil(h *harness, release <-chan struct{}, started chan<- struct{}) {
	var once sync.Once
	h.gw.set(func(*payment.Operation) payment.Outcome {
		once.Do(func() { close(started) })
		<-release
		return approved()
	})
}

func TestJoinAndBusy(t *testing.T) {
	h := newHarness(t, payment.VUK509)
	release, started := make(chan struct{}), make(chan struct{})
	blockUntil(h, release, started)
	ctx := context.Background()

	firstDone := make(chan *payment.Result, 1)
	go func() {
		r, err := h.svc.Pay(ctx, caller("join-key"), sale("30.00"))
		if err != nil {
			t.Error(err)
		}
		firstDone <- r
	}()
	<-started

	// Another key on the busy terminal: refused at once with a hint.
	_, err := h.svc.Pay(ctx, caller("other-key"), sale("31.00"))
	var be *payment.BusyError
	if !errors.As(err, &be) || !errors.Is(err, payment.ErrTerminalBusy) || be.RetryAfter <= 0 {
		t.Fatalf("busy terminal: %v", err)
	}
	// A short wait answers with the operation as it stands: pending.
	short := caller("join-key")
	short.Wait = time.Millisecond
	p, err := h.svc.Pay(ctx, short, sale("30.00"))
	if err != nil || p.Final || p.Op.State.Status() != "pending" {
		t.Fatalf("short wait: %+v %v", p, err)
	}
	joined := make(chan *payment.Result, 1)
	go func() {
		r, err := h.svc.Pay(ctx, caller("join-key"), sale("30.00"))
		if err != nil {
			t.Error(err)
		}
		joined <- r
	}()
	close(release)
	a, b := <-firstDone, <-joined
	if a.Op.ID != b.Op.ID || b.Op.State != payment.StateApproved || !b.Replayed {
		t.Fatalf("join: %+v / %+v", a.Op, b.Op)
	}
	if n := h.gw.totalSends(); n != 1 {
		t.Fatalf("%d upstream calls, want 1", n)
	}
}

func TestThousandConcurrentRetriesOneUpstreamCall(t *testing.T) {
	h := newHarness(t, payment.VUK509)
	release, started := make(chan struct{}), make(chan struct{})
	blockUntil(h, release, started)
	var wg sync.WaitGroup
	results := make(chan *payment.Result, 1000)
	errs := make(chan error, 1000)
	for i := 0; i < 1000; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := h.svc.Pay(context.Background(), caller("same-key"), sale("40.00"))
			if err != nil {
				errs <- err
				return
			}
			results <- r
		}()
	}
	<-started
	close(release)
	wg.Wait()
	close(results)
	close(errs)
	for err := range errs {
		t.Fatalf("a retry failed: %v", err)
	}
	ids := map[string]int{}
	for r := range results {
		ids[r.Op.ID]++
		if r.Op.State != payment.StateApproved {
			t.Fatalf("a retry saw %s", r.Op.State)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%d distinct operations", len(ids))
	}
	if n := h.gw.totalSends(); n != 1 {
		t.Fatalf("%d upstream calls for one key, want 1", n)
	}
}

func TestStoreFailureFailsClosed(t *testing.T) {
	h := newHarness(t, payment.VUK509)
	ok, err := h.svc.Pay(context.Background(), caller("before"), sale("50.00"))
	if err != nil {
		t.Fatal(err)
	}
	injected := errors.New("injected fsync failure")
	h.fail.Store(&injected)
	_, err = h.svc.Pay(context.Background(), caller("during"), sale("51.00"))
	if !errors.Is(err, payment.ErrStorageFailure) {
		t.Fatalf("want storage failure, got %v", err)
	}
	if h.svc.Health() == nil {
		t.Fatal("health does not report the failure")
	}
	if n := h.gw.totalSends(); n != 1 {
		t.Fatalf("a sale went upstream without a durable intent: %d sends", n)
	}
	// Still refused after the disk recovers: fail closed is sticky until restart.
	h.fail.Store(nil)
	if _, err := h.svc.Pay(context.Background(), caller("after"), sale("52.00")); !errors.Is(err, payment.ErrStorageFailure) {
		t.Fatalf("after recovery: %v", err)
	}
	// Nothing acknowledged is lost.
	h.restart(payment.VUK509)
	got, err := h.svc.Get(context.Background(), ok.Op.ID)
	if err != nil || got.State != payment.StateApproved {
		t.Fatalf("acknowledged sale after restart: %+v %v", got, err)
	}
}

func TestRecoverTurnsSendingIntoUnknownAndQueries(t *testing.T) {
	h := newHarness(t, payment.VUK509)
	release, started := make(chan struct{}), make(chan struct{})
	blockUntil(h, release, started)
	caller := caller("crash-key")
	caller.Wait = time.Millisecond
	res, err := h.svc.Pay(context.Background(), caller, sale("60.00"))
	if err != nil {
		t.Fatal(err)
	}
	<-started
	// Crash: the journal holds "sending"; the upstream call never returns here.
	if err := h.st.Close(); err != nil {
		t.Fatal(err)
	}
	close(release)
	h.svc.Close()
	h.gw.set(func(*payment.Operation) payment.Outcome { t.Error("re-sent after restart"); return approved() })
	h.open(payment.VUK509, []string{"lane-1"})
	op, _ := h.svc.Get(context.Background(), res.Op.ID)
	if op.State != payment.StateUnknown {
		t.Fatalf("after restart: %s", op.State)
	}
	if _, err := h.svc.Pay(context.Background(), payment.Caller{Client: "ecr", IdempotencyKey: "next"}, sale("61.00")); !errors.Is(err, payment.ErrTerminalBlocked) {
		t.Fatalf("terminal not blocked: %v", err)
	}
	h.gw.setQuery(func(*payment.Operation) payment.Outcome { return approved() })
	h.svc.ReconcileDue(context.Background())
	op, _ = h.svc.Get(context.Background(), res.Op.ID)
	if op.State != payment.StateApproved || op.PaymentID != "pay-"+op.TransactionReferenceID {
		t.Fatalf("after query: %+v", op)
	}
}

func TestValidation(t *testing.T) {
	h := newHarness(t, payment.VUK509, "lane-1", "lane-2")
	tests := []struct {
		name  string
		req   payment.SaleRequest
		field string
	}{
		{"zero", payment.SaleRequest{Amount: "0", Terminal: "lane-1"}, "amount"},
		{"negative", payment.SaleRequest{Amount: "-1.00", Terminal: "lane-1"}, "amount"},
		{"three decimals", payment.SaleRequest{Amount: "1.001", Terminal: "lane-1"}, "amount"},
		{"absurd", payment.SaleRequest{Amount: "99999999999999.00", Terminal: "lane-1"}, "amount"},
		{"over max", payment.SaleRequest{Amount: "100000.01", Terminal: "lane-1"}, "amount"},
		{"exponent", payment.SaleRequest{Amount: "1e3", Terminal: "lane-1"}, "amount"},
		{"missing", payment.SaleRequest{Terminal: "lane-1"}, "amount"},
		{"currency", payment.SaleRequest{Amount: "1.00", Currency: "GBP", Terminal: "lane-1"}, "currency"},
		{"terminal required", payment.SaleRequest{Amount: "1.00"}, "terminal"},
		{"unknown terminal", payment.SaleRequest{Amount: "1.00", Terminal: "lane-9"}, "terminal"},
		{"installment", payment.SaleRequest{Amount: "1.00", Terminal: "lane-1", Installment: 13}, "installment"},
		{"post auth needs payment", payment.SaleRequest{Type: payment.KindPostAuth, Amount: "1.00", Terminal: "lane-1"}, "payment_id"},
		{"items in 509", payment.SaleRequest{Amount: "1.00", Terminal: "lane-1", Items: []payment.ItemRequest{{Name: "x"}}}, "items"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.svc.Pay(context.Background(), caller("v-"+tt.name), tt.req)
			var ve *payment.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a validation error, got %v", err)
			}
			for _, p := range ve.Problems {
				if p.Field == tt.field {
					return
				}
			}
			t.Fatalf("no problem for %s in %+v", tt.field, ve.Problems)
		})
	}
	ops, _, err := h.svc.List(context.Background(), payment.Filter{})
	if err != nil || len(ops) != 0 {
		t.Fatalf("invalid requests reached the journal: %d %v", len(ops), err)
	}
	if h.gw.totalSends() != 0 {
		t.Fatal("invalid requests went upstream")
	}
}

func TestVoidRefundCancel(t *testing.T) {
	h := newHarness(t, payment.VUK509)
	ctx := context.Background()
	pay := func(key, amount string) *payment.Operation {
		r, err := h.svc.Pay(ctx, caller(key), sale(amount))
		if err != nil || r.Op.State != payment.StateApproved {
			t.Fatalf("sale: %+v %v", r, err)
		}
		return r.Op
	}
	p1 := pay("s1", "100.00")
	v, err := h.svc.Void(ctx, caller("v1"), payment.AdjustRequest{PaymentID: p1.ID})
	if err != nil || v.Op.State != payment.StateApproved || v.Op.Kind != payment.KindVoid {
		t.Fatalf("void: %+v %v", v, err)
	}
	if got, _ := h.svc.Get(ctx, p1.ID); !got.Voided {
		t.Fatal("payment not marked voided")
	}
	if _, err := h.svc.Void(ctx, caller("v1b"), payment.AdjustRequest{PaymentID: p1.ID}); !errors.Is(err, payment.ErrNotVoidable) {
		t.Fatalf("second void: %v", err)
	}

	p2 := pay("s2", "100.00")
	for i, amt := range []string{"30.00", "70.00"} {
		r, err := h.svc.Refund(ctx, caller(fmt.Sprintf("r%d", i)), payment.AdjustRequest{PaymentID: p2.ID, Amount: amt})
		if err != nil || r.Op.State != payment.StateApproved {
			t.Fatalf("refund %s: %+v %v", amt, r, err)
		}
	}
	if _, err := h.svc.Refund(ctx, caller("r3"), payment.AdjustRequest{PaymentID: p2.ID, Amount: "0.01"}); !errors.Is(err, payment.ErrRefundExceeds) {
		t.Fatalf("refund beyond the amount: %v", err)
	}
	if got, _ := h.svc.Get(ctx, p2.ID); got.RefundedMinor != 10000 {
		t.Fatalf("refunded %d", got.RefundedMinor)
	}

	// Cancel the same day voids; the next day it refunds.
	p3 := pay("s3", "25.00")
	c, err := h.svc.Cancel(ctx, caller("c3"), payment.AdjustRequest{PaymentID: p3.ID})
	if err != nil || c.Op.Kind != payment.KindVoid {
		t.Fatalf("cancel same day: %+v %v", c, err)
	}
	p4 := pay("s4", "25.00")
	h.clock.Advance(24 * time.Hour)
	c, err = h.svc.Cancel(ctx, caller("c4"), payment.AdjustRequest{PaymentID: p4.ID})
	if err != nil || c.Op.Kind != payment.KindRefund || c.Op.Amount.Decimal() != "25.00" {
		t.Fatalf("cancel next day: %+v %v", c, err)
	}
	if _, err := h.svc.Void(ctx, caller("v9"), payment.AdjustRequest{PaymentID: "op_missing"}); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("void of a missing payment: %v", err)
	}
}
