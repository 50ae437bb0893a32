package harness

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/store"
)

// Timings shorten the daemon's deadlines so that a case takes about a
// second (the failpoint build reads them from BRIDGED_FAILPOINT_TIMINGS):
// card timeout 1 s, query timeout 500 ms, login timeout 1 s, not-found grace
// 1.5 s (longer than the card timeout, as in production), reconciler backoff
// 100-500 ms, and the stall of a delay fault, 1.5 s (longer than an ECR's
// wait of 1 s).
const Timings = "card_timeout=1s,query_timeout=500ms,login_timeout=1s,not_found_grace=1500ms," +
	"backoff_min=100ms,backoff_max=500ms,fault_delay=1500ms"

// OpenJournal opens the journal a stopped daemon left in dir/data (see
// WriteConfig) and runs bbolt's consistency check and the hash chain's
// verification; problem is the first failure of either, or nil. The store
// closes when t ends.
func OpenJournal(t testing.TB, dir string) (st *store.Store, problem error) {
	t.Helper()
	st, err := store.Open(filepath.Join(dir, "data"), store.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if err := st.Check(ctx); err != nil {
		return st, fmt.Errorf("bbolt check: %w", err)
	}
	if n, err := st.VerifyChain(ctx); err != nil || n == 0 {
		return st, fmt.Errorf("hash chain: %d entries, %v", n, err)
	}
	return st, nil
}
