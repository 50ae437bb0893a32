package payment

import "context"

// Events returns journal entries after seq afterSeq, oldest first.
func (s *Service) Events(ctx context.Context, afterSeq uint64, limit int) ([]Event, error) {
	return s.j.Events(ctx, afterSeq, limit)
}

// Changed returns a channel closed at the next journal write. Readers of the
// event feed wait on it and then read the journal from their last seq, so no
// event is ever lost between a wake-up and a read.
func (s *Service) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// notify wakes every reader waiting on Changed.
func (s *Service) notify() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}
