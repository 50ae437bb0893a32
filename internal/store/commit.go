package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Group commit. Every write is a function run in a bbolt write transaction,
// and every commit costs an fsync, which is most of a write's time. Writers
// that meet share one:
//
//   - a writer that finds no commit running leads: it commits its function
//     at once, alone. A lone writer never waits for company; there is no
//     timer (bbolt's Batch waits up to MaxBatchDelay for one).
//   - writers that arrive while a commit runs queue up.
//   - when that commit is done, its leader hands the whole queue to the
//     oldest queued writer, which commits every queued function in one
//     transaction and becomes the next leader; the old leader wakes its own
//     group and returns.
//
// A caller returns only after the transaction holding its function was
// committed and fsynced, or failed. One function's error does not fail the
// others: the transaction is rolled back, the others rerun without it, and
// it reruns alone after them. So a function may run more than once, and must
// only assign to what it captures, never accumulate into it.

// write is one caller's function on its way into a commit.
type write struct {
	ctx  context.Context
	what string
	fn   func(tx *bolt.Tx) error
	// wake gets the group to commit when the writer is promoted to leader,
	// or nil once err is final. Buffered, so that the sender never waits.
	wake chan []*write
	err  error // the function's own error or its commit's
	// Guarded by Store.gmu.
	taken bool // in a group: the caller waits for its commit
	gone  bool // the caller left (context done) before it was taken
}

// update runs fn in a write transaction, shared with concurrent writes, and
// returns once it is durable. Errors other than rejections are write
// failures: they are logged and kept for Healthy. A context that ends while
// fn waits for a transaction returns its error, and fn never runs; once fn
// is taken into a transaction, its commit decides.
func (s *Store) update(ctx context.Context, what string, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &write{ctx: ctx, what: what, fn: fn}
	group, err := s.enter(w)
	if err != nil {
		return err
	}
	if group != nil {
		s.lead(w, group)
	}
	return s.settle(w)
}

// enter returns the group w must commit as leader (itself alone when no
// commit runs), or nil once another leader committed it.
func (s *Store) enter(w *write) ([]*write, error) {
	s.gmu.Lock()
	if !s.leading {
		s.leading, w.taken = true, true
		s.gmu.Unlock()
		return []*write{w}, nil
	}
	w.wake = make(chan []*write, 1)
	s.queue = append(s.queue, w)
	if s.queued != nil {
		s.queued(len(s.queue))
	}
	s.gmu.Unlock()

	select {
	case g := <-w.wake:
		return g, nil
	case <-w.ctx.Done():
	}
	s.gmu.Lock()
	taken := w.taken
	w.gone = !taken
	s.gmu.Unlock()
	if !taken {
		return nil, w.ctx.Err()
	}
	return <-w.wake, nil
}

// lead commits group, hands the queue to the next leader, then wakes the
// group's other writers. w is the leader, and group's first write.
func (s *Store) lead(w *write, group []*write) {
	s.commit(group)

	s.gmu.Lock()
	next := slices.DeleteFunc(s.queue, func(q *write) bool { return q.gone })
	s.queue = nil
	for _, q := range next {
		q.taken = true
	}
	s.leading = len(next) > 0
	s.gmu.Unlock()
	if len(next) > 0 {
		next[0].wake <- next
	}

	for _, o := range group {
		if o != w {
			o.wake <- nil
		}
	}
}

// commit runs group's functions in one transaction and sets each write's
// err. When a function fails, the transaction is rolled back and the others
// rerun without it; every function that failed then reruns alone, in order,
// so that its answer comes from committed data. A rejected function
// writes nothing, so its lone run rolls back and costs no fsync.
func (s *Store) commit(group []*write) {
	var alone []*write
	for len(group) > 0 {
		failed, err := s.try(group)
		if failed < 0 || len(group) == 1 {
			for _, w := range group {
				w.err = err
			}
			break
		}
		alone = append(alone, group[failed])
		group = slices.Concat(group[:failed], group[failed+1:])
	}
	for _, w := range alone {
		_, w.err = s.try([]*write{w})
	}
}

// try runs the functions in one write transaction. failed is the index of
// the function that failed it, or -1 when they all ran (err is then the
// commit's, or FailWrites'). A panic outside the functions (bbolt's own,
// which rolls back first) fails the whole group instead of stranding it.
func (s *Store) try(group []*write) (failed int, err error) {
	failed = -1
	defer func() {
		if p := recover(); p != nil {
			failed, err = -1, fmt.Errorf("panic in a write transaction: %v", p)
		}
	}()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.dbmu.RLock()
	defer s.dbmu.RUnlock()
	start := time.Now()
	err = s.db.Update(func(tx *bolt.Tx) error {
		for i, w := range group {
			if err := call(w.fn, tx); err != nil {
				failed = i
				return err
			}
		}
		if s.failWrites != nil {
			if err := s.failWrites(); err != nil {
				return err
			}
		}
		if s.failWrite != nil {
			for _, w := range group {
				if err := s.failWrite(w.what); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil {
		if s.onCommit != nil {
			s.onCommit(time.Since(start))
		}
		if s.onGroup != nil {
			s.onGroup(len(group))
		}
	}
	return failed, err
}

// panicked is a function's panic, caught so that it cannot strand the
// writers grouped with it, and raised again in its own caller (settle).
type panicked struct{ v any }

func (p panicked) Error() string { return fmt.Sprintf("panic in a write: %v", p.v) }

func call(fn func(tx *bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = panicked{p}
		}
	}()
	return fn(tx)
}

// settle turns w's err into its caller's answer.
func (s *Store) settle(w *write) error {
	err := w.err
	if err == nil {
		return nil
	}
	if p, ok := err.(panicked); ok {
		panic(p.v)
	}
	if rj, ok := errors.AsType[*rejection](err); ok {
		return rj.err
	}
	we := &WriteError{Op: w.what, Err: err}
	s.mu.Lock()
	first := s.writeErr == nil
	if first {
		s.writeErr = we
	}
	s.mu.Unlock()
	if first {
		s.log.Error().Err(err).Str("op", w.what).Msg("journal write failed: the store is unhealthy")
	}
	return we
}
