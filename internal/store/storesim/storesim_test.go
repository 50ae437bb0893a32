package storesim

import (
	"context"
	"testing"

	"github.com/bridgedpos/bridged/internal/store"
)

// TestSteadyState: a shop run for three times its retention ends with a
// journal no bigger than after the retention plus 10 %: archived days free
// their pages, and the days after reuse them. (The bench runs two years of
// a 64-lane shop; this is the small one, for go test.)
func TestSteadyState(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const retain = 30
	res, err := Run(ctx, st, Shop{Terminals: 8, SalesPerDay: 20, Days: 75, RetainDays: retain})
	if err != nil {
		t.Fatal(err)
	}
	at, last := res.AtRetain(retain), res.Last()
	t.Logf("after %d days: %d bytes used (file %d); after %d days (%d archived): %d bytes used (file %d), %.0f%% free; took %s",
		retain, at.Stats.UsedBytes, at.Stats.FileBytes, len(res.Days), last.Archived, last.Stats.UsedBytes, last.Stats.FileBytes,
		100*float64(last.Stats.FreeBytes)/float64(last.Stats.UsedBytes), res.Took)
	if last.Archived != len(res.Days)-retain {
		t.Errorf("%d days archived, want %d", last.Archived, len(res.Days)-retain)
	}
	if float64(last.Stats.UsedBytes) > 1.1*float64(at.Stats.UsedBytes) {
		t.Errorf("the journal grew from %d to %d bytes in use after the retention was reached", at.Stats.UsedBytes, last.Stats.UsedBytes)
	}
	if _, err := st.VerifyArchives(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Check(ctx); err != nil {
		t.Fatal(err)
	}
}
