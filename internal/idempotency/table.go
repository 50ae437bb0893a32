package idempotency

import (
	"context"
	"sync"
)

// Journal is where operations keep their keys once journaled: the key's
// holder is found there after its flight has landed, and after a restart.
type Journal[T any] interface {
	// Holder returns the operation holding key in scope and the fingerprint
	// of the request that took it; found is false when the key is free.
	Holder(ctx context.Context, scope, key string) (op T, fingerprint string, found bool, err error)
}

// Flight is one operation running in this process under its key. Requests
// that come with the same key and the same fingerprint join it and get its
// answer: no second operation starts.
type Flight[T any] struct {
	key         string // scope and key, as the table knows it
	id          string
	fingerprint string
	done        chan struct{}

	once sync.Once
	mu   sync.Mutex
	val  T
}

// ID is the operation's id, by which the journal knows it.
func (f *Flight[T]) ID() string { return f.id }

// Done is closed when the flight is finished.
func (f *Flight[T]) Done() <-chan struct{} { return f.done }

// Finish publishes the outcome once. The zero T ends the flight without one,
// as a crashed process would: those who joined read whatever the journal holds.
func (f *Flight[T]) Finish(v T) {
	f.once.Do(func() {
		f.mu.Lock()
		f.val = v
		f.mu.Unlock()
		close(f.done)
	})
}

// Result is the outcome Finish published (the zero T before, or without one).
func (f *Flight[T]) Result() T {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.val
}

// Answer is the decision for one request and what it names.
type Answer[T any] struct {
	Decision Decision
	// Flight is the operation to wait for (Join), or the flight claimed (New from Claim).
	Flight *Flight[T]
	// Stored is the journal's holder of the key (Replay, and Conflict with a journaled holder).
	Stored T
}

// Table is the in-flight table: the keys whose operation runs in this
// process, by scope (the client) and key.
//
// The table alone never lets two requests claim one key: a claim goes into
// the map under the table's lock before the journal is read, so a second
// request with the key finds the first one's flight whatever the timing.
// What it does not do is hide a claim that is given back (Release without an
// operation, because the terminal was busy, say): a request that joined it
// would read a journal that never held it. The caller therefore holds one
// lock of its own across Claim and everything that decides whether the
// claimed operation starts, and across Look (payment: the service lock).
type Table[T any] struct {
	mu      sync.Mutex
	flights map[string]*Flight[T]
}

// NewTable returns an empty table.
func NewTable[T any]() *Table[T] { return &Table[T]{flights: map[string]*Flight[T]{}} }

func scoped(scope, key string) string { return scope + "\x00" + key }

// Look decides for a request with key in scope and fingerprint fp without
// claiming the key: New means that the key is free now.
func (t *Table[T]) Look(ctx context.Context, j Journal[T], scope, key, fp string) (Answer[T], error) {
	t.mu.Lock()
	fl := t.flights[scoped(scope, key)]
	t.mu.Unlock()
	if fl != nil {
		return Answer[T]{Decision: Decide(true, fl.fingerprint, fp, true), Flight: fl}, nil
	}
	return lookUp(ctx, j, scope, key, fp)
}

// Claim decides as Look does and, for a free key, claims it with a flight
// for the operation id: until Release, requests with the key join the
// flight (or conflict with it). On any other answer, or an error, nothing
// stays claimed.
func (t *Table[T]) Claim(ctx context.Context, j Journal[T], scope, key, fp, id string) (Answer[T], error) {
	k := scoped(scope, key)
	t.mu.Lock()
	if fl := t.flights[k]; fl != nil {
		t.mu.Unlock()
		return Answer[T]{Decision: Decide(true, fl.fingerprint, fp, true), Flight: fl}, nil
	}
	fl := &Flight[T]{key: k, id: id, fingerprint: fp, done: make(chan struct{})}
	t.flights[k] = fl
	t.mu.Unlock()

	a, err := lookUp(ctx, j, scope, key, fp)
	if err != nil || a.Decision != New {
		t.Release(fl)
		return a, err
	}
	a.Flight = fl
	return a, nil
}

// lookUp decides by the journal alone.
func lookUp[T any](ctx context.Context, j Journal[T], scope, key, fp string) (Answer[T], error) {
	op, stored, found, err := j.Holder(ctx, scope, key)
	if err != nil {
		return Answer[T]{}, err
	}
	return Answer[T]{Decision: Decide(found, stored, fp, false), Stored: op}, nil
}

// Release takes a claimed flight out of the table: its operation has ended
// and is journaled (later requests read it there), or it never started.
// The flight is not finished; the caller does that, after Release.
func (t *Table[T]) Release(fl *Flight[T]) {
	t.mu.Lock()
	if t.flights[fl.key] == fl {
		delete(t.flights, fl.key)
	}
	t.mu.Unlock()
}
