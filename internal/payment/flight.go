package payment

import "sync"

// flight is an operation running in this process. Retries with the same key
// join it and get the same answer; no second upstream call is made.
type flight struct {
	id          string
	fingerprint string
	done        chan struct{}

	once sync.Once
	mu   sync.Mutex
	op   *Operation // the final snapshot; nil when it ended without one
}

func newFlight(op *Operation) *flight {
	return &flight{id: op.ID, fingerprint: op.Fingerprint, done: make(chan struct{})}
}

// finish publishes the outcome. nil ends the flight without one, as a
// crashed process would: waiters read whatever the journal holds.
func (f *flight) finish(op *Operation) {
	f.once.Do(func() {
		f.mu.Lock()
		f.op = op
		f.mu.Unlock()
		close(f.done)
	})
}

func (f *flight) result() *Operation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.op.Clone()
}
