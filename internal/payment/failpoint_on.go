//go:build failpoint

package payment

import "sync"

// failpoints holds the test's hook in builds with the failpoint tag.
type failpoints struct {
	mu   sync.Mutex
	hook func(point string) error
}

func (f *failpoints) hit(point string) error {
	f.mu.Lock()
	h := f.hook
	f.mu.Unlock()
	if h == nil {
		return nil
	}
	return h(point)
}

// SetFailpoint installs a hook called at every crash point; a non-nil error
// aborts the operation there with no further write, as a crash would.
func (s *Service) SetFailpoint(hook func(point string) error) {
	s.fp.mu.Lock()
	s.fp.hook = hook
	s.fp.mu.Unlock()
}
