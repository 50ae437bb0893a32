package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/bridgedpos/bridged/internal/payment"
)

func equalOps(a, b []*payment.Operation) bool { return reflect.DeepEqual(a, b) }

func testToken() *oauth2.Token {
	return &oauth2.Token{AccessToken: "access-secret", TokenType: "Bearer", RefreshToken: "refresh-secret",
		Expiry: time.Date(2026, 11, 22, 12, 0, 0, 5, time.FixedZone("TRT", 3*3600)), ExpiresIn: 3600}
}

func TestBeginGetByKey(t *testing.T) {
	ctx := context.Background()
	s := newTest(t)
	mustBegin(t, s, sale("op-0")) // fullOp's parent
	in := fullOp()
	in.State = payment.StateSending
	got, err := s.Begin(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	want := utc(in)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Begin returned\n%+v\nwant\n%+v", got, want)
	}
	if !reflect.DeepEqual(in, fullOpSending()) {
		t.Error("Begin modified its argument")
	}
	for name, get := range map[string]func() (*payment.Operation, error){
		"Get":   func() (*payment.Operation, error) { return s.Get(ctx, in.ID) },
		"ByKey": func() (*payment.Operation, error) { return s.ByKey(ctx, in.Client, in.IdempotencyKey) },
	} {
		op, err := get()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(op, want) {
			t.Errorf("%s = %+v", name, op)
		}
		if op == got {
			t.Errorf("%s returned a shared pointer", name)
		}
	}

	// Every read decodes afresh: changing one result changes nothing else.
	a, _ := s.Get(ctx, in.ID)
	a.Lines[0].Name, a.Card.Last4, a.State = "changed", "9999", payment.StateApproved
	b, _ := s.Get(ctx, in.ID)
	if !reflect.DeepEqual(b, want) {
		t.Error("a read result shares memory with the store")
	}
}

func fullOpSending() *payment.Operation {
	op := fullOp()
	op.State = payment.StateSending
	return op
}

func TestBeginDefaultsAndValidation(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{Now: func() time.Time { return epoch }})
	op := sale("a")
	got := mustBegin(t, s, op)
	if !got.CreatedAt.Equal(epoch) || !got.UpdatedAt.Equal(epoch) {
		t.Errorf("zero times were set to %v, %v; want the store clock", got.CreatedAt, got.UpdatedAt)
	}
	if !op.CreatedAt.IsZero() {
		t.Error("Begin modified its argument")
	}

	// No idempotency key (end of day): journaled, not indexed.
	eod := &payment.Operation{ID: "eod", Kind: payment.KindEndOfDay, Terminal: "lane-1", State: payment.StateSending}
	mustBegin(t, s, eod)
	if _, err := s.ByKey(ctx, "", ""); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("ByKey with an empty key = %v", err)
	}

	tests := []struct {
		name       string
		op         *payment.Operation
		target     error // nil: any error
		validation bool
	}{
		{"nil", nil, nil, false},
		{"no id", &payment.Operation{Kind: payment.KindSale, State: payment.StateSending}, nil, true},
		{"no state", &payment.Operation{ID: "x", Kind: payment.KindSale}, nil, true},
		{"NUL in key", func() *payment.Operation { o := sale("y"); o.IdempotencyKey = "a\x00b"; return o }(), nil, true},
		{"NUL in terminal", func() *payment.Operation { o := sale("y"); o.Terminal = "a\x00"; return o }(), nil, true},
		{"same id, other key", func() *payment.Operation { o := sale("a"); o.IdempotencyKey = "other"; return o }(), ErrExists, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq := headSeq(t, s)
			_, err := s.Begin(ctx, tt.op)
			var ve *payment.ValidationError
			switch {
			case err == nil:
				t.Error("Begin succeeded")
			case tt.validation && !errors.As(err, &ve):
				t.Errorf("Begin = %v, want a ValidationError", err)
			case tt.target != nil && !errors.Is(err, tt.target):
				t.Errorf("Begin = %v, want %v", err, tt.target)
			}
			if headSeq(t, s) != seq {
				t.Error("a refused Begin wrote a journal entry")
			}
		})
	}
	if err := s.Healthy(); err != nil {
		t.Errorf("refused Begins made the store unhealthy: %v", err)
	}
}

func TestBeginDuplicateKey(t *testing.T) {
	ctx := context.Background()
	s := newTest(t)
	first := mustBegin(t, s, sale("a"))
	seq := headSeq(t, s)

	dup := sale("b")
	dup.IdempotencyKey = "key-a"
	got, err := s.Begin(ctx, dup)
	if !errors.Is(err, payment.ErrDuplicateKey) {
		t.Fatalf("Begin with a taken key = %v", err)
	}
	if !reflect.DeepEqual(got, first) {
		t.Errorf("duplicate returned %+v, want the holder %+v", got, first)
	}
	if _, err := s.Get(ctx, "b"); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("duplicate was stored: %v", err)
	}
	if headSeq(t, s) != seq {
		t.Error("duplicate wrote a journal entry")
	}
	if page, _, _ := s.List(ctx, payment.Filter{Reference: "REF-b"}); len(page) != 0 {
		t.Error("duplicate was indexed")
	}

	// The same key under another client is another key.
	other := sale("c")
	other.Client, other.IdempotencyKey = "ecr2", "key-a"
	mustBegin(t, s, other)
}

func TestBeginConcurrentSameKey(t *testing.T) {
	ctx := context.Background()
	s := newTest(t)
	const n = 200
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		mu      sync.Mutex
		winners []string
		holders = map[string]int{}
		others  []error
	)
	for i := range n {
		wg.Go(func() {
			op := sale(fmt.Sprintf("op-%03d", i))
			op.IdempotencyKey = "shared"
			<-start
			got, err := s.Begin(ctx, op)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				winners = append(winners, got.ID)
			case errors.Is(err, payment.ErrDuplicateKey):
				holders[got.ID]++
			default:
				others = append(others, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(winners) != 1 || len(others) != 0 {
		t.Fatalf("winners %v, other errors %v", winners, others)
	}
	if len(holders) != 1 || holders[winners[0]] != n-1 {
		t.Errorf("duplicates saw holders %v, want %s %d times", holders, winners[0], n-1)
	}
	if open, _ := s.Open(ctx); len(open) != 1 {
		t.Errorf("%d operations stored", len(open))
	}
	if seq := headSeq(t, s); seq != 1 {
		t.Errorf("journal has %d entries, want 1", seq)
	}
}

func TestRecord(t *testing.T) {
	ctx := context.Background()
	s := newTest(t)
	op := mustBegin(t, s, sale("a"))

	op.State, op.Resolution, op.PaymentID = payment.StateUnknown, payment.ResolvedDirect, ""
	op.Queries, op.NextQueryAt = 1, epoch.Add(time.Minute)
	if err := s.Record(ctx, op); err != nil {
		t.Fatal(err)
	}
	if open, _ := s.Open(ctx); len(open) != 1 || open[0].State != payment.StateUnknown {
		t.Errorf("open after unknown = %v", open)
	}
	op.State, op.Resolution, op.PaymentID = payment.StateApproved, payment.ResolvedByQuery, "pay-1"
	op.Card = &payment.Card{BIN: "552879", Last4: "0008"}
	if err := s.Record(ctx, op); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "a")
	if err != nil || !reflect.DeepEqual(got, op) {
		t.Errorf("Get after Record = %+v, %v; want %+v", got, err, op)
	}
	if open, _ := s.Open(ctx); len(open) != 0 {
		t.Errorf("a final operation stayed open: %v", ids(open))
	}
	if seq := headSeq(t, s); seq != 3 {
		t.Errorf("journal has %d entries, want 3 (begin + 2 records)", seq)
	}

	// A final state is never overwritten: a second answer for the same
	// operation is refused with the stored one, and nothing is written.
	seq := headSeq(t, s)
	late := got.Clone()
	late.State, late.Resolution, late.SafeToRetry = payment.StateDeclined, payment.ResolvedNotFound, true
	var fe *payment.FinalError
	if err := s.Record(ctx, late); !errors.As(err, &fe) || fe.Stored.State != payment.StateApproved {
		t.Fatalf("Record over a final state = %v, want a FinalError holding the approval", err)
	}
	if after, _ := s.Get(ctx, "a"); after.State != payment.StateApproved || headSeq(t, s) != seq {
		t.Fatalf("a refused Record over a final state wrote: %+v", after)
	}

	// A zero CreatedAt keeps the stored one; the immutability checks run on
	// an operation that is not final.
	b := mustBegin(t, s, sale("b"))
	noTime := b.Clone()
	noTime.CreatedAt = time.Time{}
	noTime.State = payment.StateUnknown
	if err := s.Record(ctx, noTime); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, "b"); !got.CreatedAt.Equal(b.CreatedAt) || got.State != payment.StateUnknown {
		t.Errorf("after Record with zero CreatedAt: %+v", got)
	}

	tests := []struct {
		name   string
		change func(op *payment.Operation)
		target error
	}{
		{"missing", func(op *payment.Operation) { op.ID = "nope" }, payment.ErrNotFound},
		{"terminal", func(op *payment.Operation) { op.Terminal = "lane-9" }, ErrImmutable},
		{"key", func(op *payment.Operation) { op.IdempotencyKey = "k2" }, ErrImmutable},
		{"reference", func(op *payment.Operation) { op.Reference = "R2" }, ErrImmutable},
		{"parent", func(op *payment.Operation) { op.ParentID = "p" }, ErrImmutable},
		{"created", func(op *payment.Operation) { op.CreatedAt = op.CreatedAt.Add(time.Second) }, ErrImmutable},
		{"kind", func(op *payment.Operation) { op.Kind = payment.KindVoid }, ErrImmutable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := s.Get(ctx, "b")
			seq := headSeq(t, s)
			c := before.Clone()
			tt.change(c)
			if err := s.Record(ctx, c); !errors.Is(err, tt.target) {
				t.Errorf("Record = %v, want %v", err, tt.target)
			}
			if after, _ := s.Get(ctx, "b"); !reflect.DeepEqual(after, before) || headSeq(t, s) != seq {
				t.Error("a refused Record wrote")
			}
		})
	}
	if err := s.Healthy(); err != nil {
		t.Errorf("refused Records made the store unhealthy: %v", err)
	}
}

// TestRecordNeverReopensAFinalState: a late "unknown" (a stale reconciler
// pass) over a recorded decline is refused; the open index stays as it is.
func TestRecordNeverReopensAFinalState(t *testing.T) {
	ctx := context.Background()
	s := newTest(t)
	op := mustBegin(t, s, sale("a"))
	op.State = payment.StateDeclined
	if err := s.Record(ctx, op); err != nil {
		t.Fatal(err)
	}
	op.State = payment.StateUnknown
	if err := s.Record(ctx, op); !errors.Is(err, payment.ErrAlreadyFinal) {
		t.Fatalf("Record unknown over declined = %v, want ErrAlreadyFinal", err)
	}
	if open, _ := s.Open(ctx); len(open) != 0 {
		t.Errorf("open = %v", ids(open))
	}
}

func TestUpdateIsAtomic(t *testing.T) {
	ctx := context.Background()
	s := newTest(t)
	parent := mustBegin(t, s, sale("p"))
	parent.State = payment.StateApproved
	if err := s.Record(ctx, parent); err != nil {
		t.Fatal(err)
	}
	const n = 40
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := s.Update(ctx, "p", func(op *payment.Operation) error {
				op.RefundedMinor += 10
				return nil
			}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, _ := s.Get(ctx, "p"); got.RefundedMinor != n*10 {
		t.Errorf("RefundedMinor = %d, want %d", got.RefundedMinor, n*10)
	}

	errStop := errors.New("refund exceeds")
	seq := headSeq(t, s)
	if _, err := s.Update(ctx, "p", func(op *payment.Operation) error { op.Voided = true; return errStop }); !errors.Is(err, errStop) {
		t.Errorf("Update = %v, want fn's error", err)
	}
	if _, err := s.Update(ctx, "p", func(op *payment.Operation) error { op.Terminal = "x"; return nil }); !errors.Is(err, ErrImmutable) {
		t.Errorf("Update = %v, want ErrImmutable", err)
	}
	if _, err := s.Update(ctx, "nope", func(*payment.Operation) error { return nil }); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("Update = %v, want ErrNotFound", err)
	}
	if got, _ := s.Get(ctx, "p"); got.Voided || headSeq(t, s) != seq {
		t.Error("an aborted Update wrote")
	}
}

func TestGetMissing(t *testing.T) {
	ctx := context.Background()
	s := newTest(t)
	if _, err := s.Get(ctx, "nope"); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("Get = %v", err)
	}
	if _, err := s.ByKey(ctx, "ecr", "nope"); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("ByKey = %v", err)
	}
}

func TestOpenOperations(t *testing.T) {
	ctx := context.Background()
	s := newTest(t)
	states := map[string]payment.State{
		"a": payment.StateAccepted, "b": payment.StateSending, "c": payment.StateUnknown,
		"d": payment.StateApproved, "e": payment.StateDeclined,
	}
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		op := sale(id)
		op.State = states[id]
		mustBegin(t, s, op)
	}
	open, err := s.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(open); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("Open = %v, want a b c (oldest first)", got)
	}
}

func TestPruneKeys(t *testing.T) {
	ctx := context.Background()
	s := newTest(t) // clock: epoch + 1ms per call
	type fixture struct {
		id       string
		terminal string
		state    payment.State
		at       time.Time
		kept     bool
	}
	cutoff := epoch.Add(time.Hour)
	fixtures := []fixture{
		{"old-approved", "lane-1", payment.StateApproved, cutoff.Add(-2 * time.Hour), false},
		{"old-declined", "lane-1", payment.StateDeclined, cutoff.Add(-time.Minute), false},
		{"old-unknown", "lane-1", payment.StateUnknown, cutoff.Add(-2 * time.Hour), true},
		{"old-sending", "lane-1", payment.StateSending, cutoff.Add(-90 * time.Minute), true},
		{"other-lane", "lane-2", payment.StateApproved, cutoff.Add(-2 * time.Hour), true},
		{"at-cutoff", "lane-1", payment.StateApproved, cutoff, true},
		{"new-approved", "lane-1", payment.StateApproved, cutoff.Add(time.Hour), true},
	}
	for _, f := range fixtures {
		op := sale(f.id)
		op.State, op.CreatedAt, op.Terminal = f.state, f.at, f.terminal
		mustBegin(t, s, op)
	}
	n, err := s.PruneKeys(ctx, "lane-1", cutoff)
	if err != nil || n != 2 {
		t.Fatalf("PruneKeys = %d, %v; want 2", n, err)
	}
	for _, f := range fixtures {
		_, err := s.ByKey(ctx, "ecr", "key-"+f.id)
		if f.kept && err != nil {
			t.Errorf("%s: key pruned: %v", f.id, err)
		}
		if !f.kept && !errors.Is(err, payment.ErrNotFound) {
			t.Errorf("%s: key kept: %v", f.id, err)
		}
		if _, err := s.Get(ctx, f.id); err != nil {
			t.Errorf("%s: operation lost: %v", f.id, err)
		}
	}
	if n, err := s.PruneKeys(ctx, "lane-1", cutoff); err != nil || n != 0 {
		t.Errorf("second PruneKeys = %d, %v", n, err)
	}
	// The terminal's floor stays at its oldest open operation: once it is
	// final, its key goes at the next prune.
	unk, err := s.Get(ctx, "old-unknown")
	if err != nil {
		t.Fatal(err)
	}
	unk.State = payment.StateDeclined
	if err := s.Record(ctx, unk); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PruneKeys(ctx, "lane-1", cutoff.Add(time.Minute)); err != nil || n != 2 {
		t.Errorf("PruneKeys after the unknown settled = %d, %v; want it and at-cutoff", n, err)
	}
	// Even a far-future cutoff never prunes an open operation.
	if n, err := s.PruneKeys(ctx, "lane-1", cutoff.Add(24*time.Hour)); err != nil || n != 1 {
		t.Errorf("PruneKeys(far) = %d, %v; want the 1 final one left", n, err)
	}
	if _, err := s.ByKey(ctx, "ecr", "key-old-sending"); err != nil {
		t.Errorf("open old-sending lost its key: %v", err)
	}
	if _, err := s.ByKey(ctx, "ecr", "key-other-lane"); err != nil {
		t.Errorf("another terminal's key was pruned: %v", err)
	}
	// A forgotten key may be used again.
	again := sale("again")
	again.IdempotencyKey = "key-old-approved"
	mustBegin(t, s, again)
	if _, err := s.VerifyChain(ctx); err != nil {
		t.Error(err)
	}
}
