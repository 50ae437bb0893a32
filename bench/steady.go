package main

import (
	"context"
	"path/filepath"
	"time"

	"github.com/bridgedpos/bridged/internal/store"
	"github.com/bridgedpos/bridged/internal/store/storesim"
)

// steadyFigures is the journal of a shop run through two years, time
// compressed (internal/store/storesim: the store's own API, as the daemon
// writes it: sales, ends of day, keys forgotten, closed days archived).
type steadyFigures struct {
	Terminals   int             `json:"terminals"`
	SalesPerDay int             `json:"sales_per_terminal_day"`
	Days        int             `json:"days"`
	RetainDays  int             `json:"retain_days"`
	Ops         int             `json:"operations"`
	Archived    int             `json:"days_archived"`
	AtRetain    store.FileStats `json:"at_retain"`
	Peak        store.FileStats `json:"peak"` // the largest file along the way
	End         store.FileStats `json:"end"`
	Took        time.Duration   `json:"took_ns"`
}

// steady runs the shop: -steady-days days of 64 lanes making
// -steady-sales sales a day each, with journal.retain_days
// -steady-retain, and reads the file's size after the retention and at
// the end.
func (b *bench) steady(ctx context.Context, rep *report) error {
	st, err := store.Open(filepath.Join(b.work, "steady"), store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	sh := storesim.Shop{Terminals: b.terminals(), SalesPerDay: b.opt.steadySales, Days: b.opt.steadyDays, RetainDays: b.opt.steadyRetain}
	b.logf("a shop of %d lanes × %d sales a day for %d days, %d days retained", sh.Terminals, sh.SalesPerDay, sh.Days, sh.RetainDays)
	res, err := storesim.Run(ctx, st, sh)
	if err != nil {
		return err
	}
	f := &steadyFigures{Terminals: sh.Terminals, SalesPerDay: sh.SalesPerDay, Days: sh.Days, RetainDays: sh.RetainDays,
		Ops: res.Last().Ops, Archived: res.Last().Archived, AtRetain: res.AtRetain(sh.RetainDays).Stats, End: res.Last().Stats, Took: res.Took}
	for _, d := range res.Days {
		if d.Stats.FileBytes > f.Peak.FileBytes {
			f.Peak = d.Stats
		}
	}
	rep.Steady = f
	b.logf("file after %d days %s, at the end %s (peak %s); %d operations, %d days archived, in %s", sh.RetainDays,
		mib(f.AtRetain.FileBytes), mib(f.End.FileBytes), mib(f.Peak.FileBytes), f.Ops, f.Archived, f.Took.Round(time.Second))
	return nil
}
