package opscli

import (
	"context"
	"fmt"
	"time"

	"github.com/bridgedpos/bridged/internal/apitype"
	"github.com/bridgedpos/bridged/internal/store"
)

// compactMinFree is the free share of the journal's file from which
// bridged compact rewrites it (unless forced): below it, bbolt's reuse of
// the free pages keeps the file steady anyway.
const compactMinFree = 0.25

// CompactJournal compacts st when force is set or enough of it is free;
// hold runs the compaction (with the terminals held, in the daemon).
func CompactJournal(ctx context.Context, st *store.Store, force bool, hold func(context.Context, func() error) error) (apitype.CompactResult, error) {
	stats, err := st.Stats(ctx)
	if err != nil {
		return apitype.CompactResult{}, err
	}
	res := apitype.CompactResult{FreeRatio: stats.FreeRatio(), BeforeBytes: stats.FileBytes}
	if !force && res.FreeRatio < compactMinFree {
		res.Reason = fmt.Sprintf("%.0f%% of the file is free, under the %.0f%% worth a rewrite (bbolt reuses free pages; force it with --force)",
			100*res.FreeRatio, 100*compactMinFree)
		return res, nil
	}
	start := time.Now()
	var cr store.CompactResult
	err = hold(ctx, func() error {
		var err error
		cr, err = st.Compact(ctx)
		return err
	})
	if err != nil {
		return res, err
	}
	res.Compacted, res.AfterBytes, res.TookMS = true, cr.After.FileBytes, time.Since(start).Milliseconds()
	return res, nil
}
