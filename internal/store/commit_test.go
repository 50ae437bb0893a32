package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bridgedpos/bridged/internal/payment"
)

// A lone writer commits at once. Inside a synctest bubble the clock moves
// only when every goroutine of the bubble is blocked, so a write that waited
// for a timer (for company, as bbolt's Batch does) would take bubble time.
func TestLoneWriterCommitsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var groups []int
		s := openTest(t, t.TempDir(), Options{OnGroup: func(n int) { groups = append(groups, n) }})
		groups = nil
		ctx := context.Background()
		start := time.Now()
		for i := range 3 {
			op := mustBegin(t, s, sale(fmt.Sprint(i)))
			op.State = payment.StateApproved
			if err := s.Record(ctx, op); err != nil {
				t.Fatal(err)
			}
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("6 lone writes took %v of bubble time: a write waited for a timer", d)
		}
		if want := []int{1, 1, 1, 1, 1, 1}; !slices.Equal(groups, want) {
			t.Errorf("commit sizes = %v, want %v: each lone write is its own commit", groups, want)
		}
	})

	// The control: the same measure sees bbolt's Batch wait for company.
	synctest.Test(t, func(t *testing.T) {
		db, err := bolt.Open(filepath.Join(t.TempDir(), "batch.db"), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		start := time.Now()
		if err := db.Batch(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists([]byte("b")); return err }); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < db.MaxBatchDelay {
			t.Errorf("a lone bbolt Batch took %v of bubble time, want its MaxBatchDelay %v: the measure is blind", d, db.MaxBatchDelay)
		}
	})
}

// gated is a store whose commits can be held open, so that tests decide
// which writes queue behind which commit.
type gated struct {
	*Store
	hold    atomic.Bool           // while set, every commit waits for release
	fail    atomic.Pointer[error] // when set, every commit fails with it
	held    chan struct{}         // a commit is waiting
	release chan struct{}         // lets one waiting commit go
	queued  chan int              // the queue's length, each time a write joins it

	mu     sync.Mutex
	groups []int // writes per durable commit
}

func openGated(t *testing.T) *gated {
	t.Helper()
	g := &gated{held: make(chan struct{}), release: make(chan struct{}), queued: make(chan int, 1024)}
	g.Store = openTest(t, t.TempDir(), Options{
		FailWrites: func() error {
			if g.hold.Load() {
				g.held <- struct{}{}
				<-g.release
			}
			if err := g.fail.Load(); err != nil {
				return *err
			}
			return nil
		},
		OnGroup: func(n int) {
			g.mu.Lock()
			g.groups = append(g.groups, n)
			g.mu.Unlock()
		},
	})
	g.Store.queued = func(n int) { g.queued <- n }
	g.groups = nil
	return g
}

func (g *gated) commitSizes() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.groups)
}

// group runs writes behind one held commit (a Begin of "lead"), queued in
// the order given, then lets them go: they share the next transaction. It
// returns each write's error once all have returned.
func (g *gated) group(t *testing.T, writes ...func() error) []error {
	t.Helper()
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	g.hold.Store(true)
	wg.Go(func() {
		if _, err := g.Begin(context.Background(), sale("lead")); err != nil {
			t.Errorf("Begin lead: %v", err)
		}
	})
	<-g.held
	for i, w := range writes {
		wg.Go(func() { errs[i] = w() })
		if n := <-g.queued; n != i+1 {
			t.Fatalf("queue length %d after write %d", n, i)
		}
	}
	g.hold.Store(false)
	g.release <- struct{}{}
	wg.Wait()
	return errs
}

func TestGroupCommitIsolatesRefusals(t *testing.T) {
	ctx := context.Background()
	g := openGated(t)
	begin := func(op *payment.Operation) func() error {
		return func() error { _, err := g.Begin(ctx, op); return err }
	}
	dupLead := sale("dup-lead")
	dupLead.IdempotencyKey = "key-lead"
	dupSame := sale("dup-a")
	dupSame.IdempotencyKey = "key-a" // held by "a", journaled earlier in the same group
	var holder *payment.Operation
	errRefused := errors.New("not this one")

	errs := g.group(t,
		begin(sale("a")),
		func() error { // duplicate of a committed key
			var err error
			holder, err = g.Begin(ctx, dupLead)
			return err
		},
		begin(sale("b")),
		begin(dupSame),
		func() error { return g.Record(ctx, sale("missing")) },
		func() error {
			_, err := g.Update(ctx, "a", func(*payment.Operation) error { return errRefused })
			return err
		},
		func() error {
			_, err := g.Update(ctx, "lead", func(op *payment.Operation) error { op.Queries++; return nil })
			return err
		},
		func() error {
			_, err := g.Update(ctx, "missing", func(op *payment.Operation) error { op.Queries++; return nil })
			return err
		},
		begin(sale("c")),
	)

	want := []error{nil, payment.ErrDuplicateKey, nil, payment.ErrDuplicateKey, payment.ErrNotFound, errRefused, nil, payment.ErrNotFound, nil}
	for i, err := range errs {
		if want[i] == nil && err != nil || want[i] != nil && !errors.Is(err, want[i]) {
			t.Errorf("write %d: error = %v, want %v", i, err, want[i])
		}
	}
	if holder == nil || holder.ID != "lead" {
		t.Errorf("duplicate Begin returned holder %v, want lead", holder)
	}
	if got := g.commitSizes(); !slices.Equal(got, []int{1, 4}) {
		t.Errorf("commit sizes = %v, want [1 4]: the lead alone, then the 4 good writes together; refusals roll back", got)
	}
	if err := g.Healthy(); err != nil {
		t.Errorf("Healthy after refusals = %v", err)
	}
	if op, err := g.Get(ctx, "lead"); err != nil || op.Queries != 1 {
		t.Errorf("lead after one Update = %+v, %v; want Queries 1 (the rerun must not add twice)", op, err)
	}
	for _, id := range []string{"dup-lead", "dup-a", "missing"} {
		if _, err := g.Get(ctx, id); !errors.Is(err, payment.ErrNotFound) {
			t.Errorf("Get %s = %v, want not found", id, err)
		}
	}
	// lead, a, b, update of lead, c.
	if n, err := g.VerifyChain(ctx); err != nil || n != 5 {
		t.Errorf("VerifyChain = %d, %v; want 5 entries", n, err)
	}
}

func TestGroupCommitIsolatesFailures(t *testing.T) {
	ctx := context.Background()
	g := openGated(t)
	errBroken := errors.New("broken function")
	errs := g.group(t,
		func() error { _, err := g.Begin(ctx, sale("a")); return err },
		func() error { return g.update(ctx, "broken", func(*bolt.Tx) error { return errBroken }) },
		func() (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("panicked: %v", p)
				}
			}()
			return g.update(ctx, "panics", func(*bolt.Tx) error { panic("boom") })
		},
		func() error { _, err := g.Begin(ctx, sale("b")); return err },
	)

	if errs[0] != nil || errs[3] != nil {
		t.Errorf("good writes failed: %v, %v", errs[0], errs[3])
	}
	if we, ok := errors.AsType[*WriteError](errs[1]); !ok || !errors.Is(errs[1], errBroken) || we.Op != "broken" {
		t.Errorf("broken write: error = %v, want its own WriteError", errs[1])
	}
	if errs[2] == nil || errs[2].Error() != "panicked: boom" {
		t.Errorf("panicking write: error = %v, want its panic raised in its own caller", errs[2])
	}
	if got := g.commitSizes(); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("commit sizes = %v, want [1 2]", got)
	}
	// A function's own failure is a write failure like any other.
	if err := g.Healthy(); !errors.Is(err, errBroken) {
		t.Errorf("Healthy = %v, want the broken function's error", err)
	}
	if n, err := g.VerifyChain(ctx); err != nil || n != 3 {
		t.Errorf("VerifyChain = %d, %v; want 3 entries", n, err)
	}
}

func TestFailWritesFailsTheWholeGroup(t *testing.T) {
	ctx := context.Background()
	g := openGated(t)
	mustBegin(t, g.Store, sale("a"))
	g.groups = nil
	errDisk := errors.New("fsync: input/output error")

	errs := make([]error, 3)
	var wg sync.WaitGroup
	g.hold.Store(true)
	wg.Go(func() { _, errs[0] = g.Begin(ctx, sale("b")) })
	<-g.held
	wg.Go(func() {
		errs[1] = g.Record(ctx, func() *payment.Operation { a := sale("a"); a.State = payment.StateApproved; return a }())
	})
	<-g.queued
	wg.Go(func() { errs[2] = g.SaveToken(ctx, testToken()) })
	<-g.queued
	g.fail.Store(&errDisk) // the held commit and the group after it both fail
	g.hold.Store(false)
	g.release <- struct{}{}
	wg.Wait()

	for i, err := range errs {
		if !errors.Is(err, errDisk) || !errors.Is(err, payment.ErrStorageFailure) {
			t.Errorf("write %d: error = %v, want the disk error as a storage failure", i, err)
		}
	}
	if got := g.commitSizes(); len(got) != 0 {
		t.Errorf("commits = %v, want none", got)
	}
	if err := g.Healthy(); !errors.Is(err, errDisk) {
		t.Errorf("Healthy = %v", err)
	}
	if op, _ := g.Get(ctx, "a"); op.State != payment.StateSending {
		t.Errorf("a is %s after a failed Record", op.State)
	}
	if tok, err := g.LoadToken(ctx); tok != nil || err != nil {
		t.Errorf("token after a failed save = %v, %v", tok, err)
	}
	if n, err := g.VerifyChain(ctx); err != nil || n != 1 {
		t.Errorf("VerifyChain = %d, %v; want 1 entry", n, err)
	}
}

func TestGroupCommitContext(t *testing.T) {
	t.Run("canceled while queued: never runs", func(t *testing.T) {
		g := openGated(t)
		ctx, cancel := context.WithCancel(context.Background())
		ran := false
		var wg sync.WaitGroup
		g.hold.Store(true)
		wg.Go(func() { mustBegin(t, g.Store, sale("lead")) })
		<-g.held
		done := make(chan error)
		go func() { done <- g.update(ctx, "canceled", func(*bolt.Tx) error { ran = true; return nil }) }()
		<-g.queued
		cancel()
		// It returns while the commit it queued behind is still held.
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("update = %v, want context.Canceled", err)
		}
		g.hold.Store(false)
		g.release <- struct{}{}
		wg.Wait()
		mustBegin(t, g.Store, sale("after")) // the store goes on
		if ran {
			t.Error("the canceled write's function ran")
		}
		if got := g.commitSizes(); !slices.Equal(got, []int{1, 1}) {
			t.Errorf("commit sizes = %v, want [1 1]", got)
		}
		if err := g.Healthy(); err != nil {
			t.Errorf("Healthy = %v", err)
		}
	})

	t.Run("canceled once taken: waits for its commit", func(t *testing.T) {
		g := openGated(t)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		g.hold.Store(true)
		wg.Go(func() { mustBegin(t, g.Store, sale("lead")) })
		<-g.held
		wg.Go(func() { mustBegin(t, g.Store, sale("next-leader")) })
		<-g.queued
		done := make(chan error, 1)
		go func() { _, err := g.Begin(ctx, sale("follower")); done <- err }()
		<-g.queued
		g.release <- struct{}{} // the lead commits; next-leader takes the queue and holds its commit
		<-g.held
		cancel()
		select {
		case err := <-done:
			t.Fatalf("a taken write returned before its commit: %v", err)
		default:
		}
		g.hold.Store(false)
		g.release <- struct{}{}
		wg.Wait()
		if err := <-done; err != nil {
			t.Errorf("taken write = %v, want its commit's answer", err)
		}
		if _, err := g.Get(context.Background(), "follower"); err != nil {
			t.Errorf("Get follower: %v", err)
		}
		if got := g.commitSizes(); !slices.Equal(got, []int{1, 2}) {
			t.Errorf("commit sizes = %v, want [1 2]", got)
		}
	})
}

// Many concurrent writers: the hash chain stays one chain, nothing is lost,
// and commits are shared.
func TestConcurrentWritersKeepTheChain(t *testing.T) {
	const writers, each = 64, 8
	ctx := context.Background()
	var commits, grouped atomic.Int64
	s := openTest(t, t.TempDir(), Options{OnGroup: func(n int) {
		commits.Add(1)
		grouped.Add(int64(n))
	}})
	commits.Store(0)
	grouped.Store(0)

	var sharedWins atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				op, err := s.Begin(ctx, sale(fmt.Sprintf("w%d-%d", w, i)))
				if err != nil {
					t.Error(err)
					return
				}
				op.State, op.PaymentID = payment.StateApproved, "pay-"+op.ID
				if err := s.Record(ctx, op); err != nil {
					t.Error(err)
					return
				}
			}
			// Every writer races for one key: exactly one wins.
			shared := sale(fmt.Sprintf("shared-%d", w))
			shared.IdempotencyKey = "shared"
			switch _, err := s.Begin(ctx, shared); {
			case err == nil:
				sharedWins.Add(1)
			case !errors.Is(err, payment.ErrDuplicateKey):
				t.Error(err)
			}
		})
	}
	wg.Wait()

	writes := int64(writers*each*2 + 1)
	if sharedWins.Load() != 1 {
		t.Errorf("%d Begins won the shared key, want 1", sharedWins.Load())
	}
	if grouped.Load() != writes {
		t.Errorf("commits held %d writes, want %d", grouped.Load(), writes)
	}
	t.Logf("%d writes from %d writers in %d commits: %.1f writes per commit",
		writes, writers, commits.Load(), float64(writes)/float64(commits.Load()))
	if commits.Load() >= writes {
		t.Errorf("%d commits for %d concurrent writes: none was shared", commits.Load(), writes)
	}
	if n, err := s.VerifyChain(ctx); err != nil || int64(n) != writes {
		t.Errorf("VerifyChain = %d, %v; want %d entries", n, err, writes)
	}
	if err := s.Check(ctx); err != nil {
		t.Errorf("Check: %v", err)
	}
	ops, _, err := s.List(ctx, payment.Filter{Terminal: "lane-1", Limit: 1000})
	if err != nil || len(ops) != writers*each+1 {
		t.Errorf("List of the terminal = %d operations, %v; want %d", len(ops), err, writers*each+1)
	}
	open, err := s.Open(ctx)
	if err != nil || len(open) != 1 || !strings.HasPrefix(open[0].ID, "shared-") {
		t.Errorf("Open = %v, %v; want the shared key's winner only", ids(open), err)
	}
	if err := s.Healthy(); err != nil {
		t.Errorf("Healthy = %v", err)
	}
}

// A panic outside the functions (bbolt's own; here the FailWrites seam)
// fails the group as a write failure and strands no writer.
func TestPanicInCommitFailsTheGroup(t *testing.T) {
	ctx := context.Background()
	var boom atomic.Bool
	s := openTest(t, t.TempDir(), Options{FailWrites: func() error {
		if boom.Load() {
			panic("bbolt is broken")
		}
		return nil
	}})
	boom.Store(true)
	if _, err := s.Begin(ctx, sale("a")); !errors.Is(err, payment.ErrStorageFailure) || !strings.Contains(err.Error(), "bbolt is broken") {
		t.Errorf("Begin = %v, want a write failure naming the panic", err)
	}
	boom.Store(false)
	mustBegin(t, s, sale("b")) // the next writer leads: nobody is stuck
	if err := s.Healthy(); !errors.Is(err, payment.ErrStorageFailure) {
		t.Errorf("Healthy = %v, want the failure kept", err)
	}
	if n, err := s.VerifyChain(ctx); err != nil || n != 1 {
		t.Errorf("VerifyChain = %d, %v; want 1 entry", n, err)
	}
}
