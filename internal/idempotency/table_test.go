package idempotency

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// journal is a map of key -> (operation, fingerprint).
type journal struct {
	mu   sync.Mutex
	ops  map[string][2]string
	err  error
	read chan struct{} // when set, each Holder waits for it (widens races)
}

func (j *journal) Holder(_ context.Context, scope, key string) (string, string, bool, error) {
	if j.read != nil {
		<-j.read
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return "", "", false, j.err
	}
	v, ok := j.ops[scoped(scope, key)]
	return v[0], v[1], ok, nil
}

func TestTableDecides(t *testing.T) {
	ctx := context.Background()
	j := &journal{ops: map[string][2]string{scoped("ecr", "done"): {"op-0", "f0"}}}
	tb := NewTable[string]()

	a, err := tb.Claim(ctx, j, "ecr", "k", "f1", "op-1")
	if err != nil || a.Decision != New || a.Flight == nil || a.Flight.ID() != "op-1" {
		t.Fatalf("free key: %+v %v", a, err)
	}
	fl := a.Flight
	for _, tt := range []struct {
		scope, key, fp string
		want           Decision
	}{
		{"ecr", "k", "f1", Join},
		{"ecr", "k", "f2", Conflict},
		{"other", "k", "f2", New}, // keys are scoped per client
		{"ecr", "done", "f0", Replay},
		{"ecr", "done", "f9", Conflict},
	} {
		got, err := tb.Look(ctx, j, tt.scope, tt.key, tt.fp)
		if err != nil || got.Decision != tt.want {
			t.Errorf("Look(%s, %s, %s) = %v %v, want %v", tt.scope, tt.key, tt.fp, got.Decision, err, tt.want)
		}
		if tt.want == Join && got.Flight != fl {
			t.Errorf("joined another flight")
		}
		if tt.want == Replay && got.Stored != "op-0" {
			t.Errorf("replayed %q", got.Stored)
		}
	}
	if a, _ := tb.Claim(ctx, j, "ecr", "done", "f0", "op-2"); a.Decision != Replay {
		t.Fatalf("claim of a journaled key: %v", a.Decision)
	}
	if a, _ := tb.Look(ctx, j, "ecr", "done", "f0"); a.Decision != Replay {
		t.Fatalf("a refused claim stayed in the table: %v", a.Decision)
	}

	// The flight lands: journaled first, then released, then finished.
	j.mu.Lock()
	j.ops[scoped("ecr", "k")] = [2]string{"op-1", "f1"}
	j.mu.Unlock()
	tb.Release(fl)
	fl.Finish("op-1 approved")
	<-fl.Done()
	if fl.Result() != "op-1 approved" {
		t.Fatalf("result %q", fl.Result())
	}
	if a, _ := tb.Look(ctx, j, "ecr", "k", "f1"); a.Decision != Replay || a.Stored != "op-1" {
		t.Fatalf("after landing: %+v", a)
	}
}

func TestTableJournalErrorClaimsNothing(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("disk")
	j := &journal{ops: map[string][2]string{}, err: boom}
	tb := NewTable[string]()
	if _, err := tb.Claim(ctx, j, "ecr", "k", "f1", "op-1"); !errors.Is(err, boom) {
		t.Fatalf("journal error: %v", err)
	}
	j.err = nil
	if a, err := tb.Claim(ctx, j, "ecr", "k", "f1", "op-2"); err != nil || a.Decision != New {
		t.Fatalf("the failed claim stayed: %+v %v", a, err)
	}
}

// TestTableOneClaimPerKey claims one key from many goroutines whose journal
// reads all wait together: the claim goes in before the read, so exactly one
// is New and every other joins it.
func TestTableOneClaimPerKey(t *testing.T) {
	j := &journal{ops: map[string][2]string{}, read: make(chan struct{})}
	tb := NewTable[string]()
	const n = 64
	got := make(chan Answer[string], n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := tb.Claim(context.Background(), j, "ecr", "k", "f1", "op")
			if err != nil {
				t.Error(err)
			}
			got <- a
		}()
	}
	close(j.read)
	wg.Wait()
	close(got)
	var claimed, joined int
	var fl *Flight[string]
	for a := range got {
		switch a.Decision {
		case New:
			claimed++
			fl = a.Flight
		case Join:
			joined++
		default:
			t.Fatalf("decision %v", a.Decision)
		}
	}
	if claimed != 1 || joined != n-1 {
		t.Fatalf("%d claimed, %d joined", claimed, joined)
	}
	if a, _ := tb.Look(context.Background(), j, "ecr", "k", "f1"); a.Flight != fl {
		t.Fatal("the table holds another flight than the one claimed")
	}
}
