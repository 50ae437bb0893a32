package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bridgedpos/bridged/internal/store"
)

// starts are the start-to-ready times of one journal size.
type starts struct {
	Runs   []time.Duration `json:"runs_ns"`
	Median time.Duration   `json:"median_ns"`
	Max    time.Duration   `json:"max_ns"`
	// IdleRSS is read after the first start has idled for the -idle time
	// (logged in upstream, nothing to do); nil where there is no /proc.
	IdleRSS *rssSample `json:"idle_rss,omitempty"`
}

func (s *starts) add(d time.Duration) {
	s.Runs = append(s.Runs, d)
	s.Median, s.Max = median(s.Runs), max(s.Max, d)
}

// startEmpty starts bridged -starts times, each on a new, empty data dir.
func (b *bench) startEmpty(ctx context.Context, rep *report) error {
	up, err := startSim(b.terminals())
	if err != nil {
		return err
	}
	defer up.close()
	st := &starts{}
	for i := range b.opt.starts {
		rss, err := b.startOnce(ctx, filepath.Join(b.work, fmt.Sprintf("start-empty-%d", i)), up, st, i == 0)
		if err != nil {
			return err
		}
		if rss != nil {
			st.IdleRSS = rss
		}
	}
	rep.StartEmpty = st
	b.logf("ready, empty journal: median %s, max %s", ms(st.Median), ms(st.Max))
	return nil
}

// bigFigures are the starts on a big journal.
type bigFigures struct {
	Records   int           `json:"records"`
	Shape     string        `json:"shape"` // days: an end of day per terminal and day; no-eod: none ever
	FileBytes int64         `json:"file_bytes"`
	FillTime  time.Duration `json:"fill_ns"`
	FilledAt  time.Time     `json:"filled_at"`
	Cached    bool          `json:"cached"` // filled by an earlier run
	Warm      *starts       `json:"warm"`
	// Cold is one start after the journal file's pages were dropped from the
	// page cache (posix_fadvise DONTNEED; Linux only).
	Cold *time.Duration `json:"cold_ns,omitempty"`
	// ColdNote says why there is no cold start.
	ColdNote string `json:"cold_note,omitempty"`
}

// startBig starts bridged on the big journal (-records operations of a
// shop's history): -starts times with the page cache warm, then once with
// the journal's pages evicted.
func (b *bench) startBig(ctx context.Context, rep *report) error {
	g, err := b.startJournal(ctx, journalSpec{Records: b.opt.records, EndOfDay: true}, true)
	rep.Big = g
	if err != nil {
		return err
	}
	// What NoFreelistSync would cost every start of this journal.
	dir, _, _, err := b.bigJournal(ctx, journalSpec{Records: b.opt.records, EndOfDay: true})
	if err != nil {
		return err
	}
	f, err := measureFreelistRebuild(filepath.Join(dir, "data", store.FileName), b.work)
	if err != nil {
		return fmt.Errorf("freelist rebuild: %w", err)
	}
	rep.Freelist = &f
	b.logf("open of a copy: freelist read %s (cold %s), rebuilt by walking the file %s (cold %s)",
		ms(f.SyncedWarm), ms(f.SyncedCold), ms(f.RebuildWarm), ms(f.RebuildCold))
	return nil
}

// startNoEOD starts bridged on a journal a tenth of the big one's size with
// no end of day in it: the worst case of the start's scan for each
// terminal's last end of day.
func (b *bench) startNoEOD(ctx context.Context, rep *report) error {
	g, err := b.startJournal(ctx, journalSpec{Records: max(1, b.opt.records/10), EndOfDay: false}, false)
	rep.NoEOD = g
	return err
}

func (b *bench) startJournal(ctx context.Context, spec journalSpec, cold bool) (*bigFigures, error) {
	dir, jc, filled, err := b.bigJournal(ctx, spec)
	if err != nil {
		return nil, err
	}
	dbPath := filepath.Join(dir, "data", store.FileName)
	g := &bigFigures{Records: jc.Records, Shape: spec.name(), FillTime: jc.FillTime, FilledAt: jc.FilledAt, Cached: !filled, Warm: &starts{}}
	if fi, err := os.Stat(dbPath); err == nil {
		g.FileBytes = fi.Size()
	}
	up, err := startSim(b.terminals())
	if err != nil {
		return g, err
	}
	defer up.close()
	for i := range b.opt.starts {
		rss, err := b.startOnce(ctx, dir, up, g.Warm, i == 0)
		if err != nil {
			return g, err
		}
		if rss != nil {
			g.Warm.IdleRSS = rss
		}
	}
	b.logf("ready, %d operations (%s): median %s, max %s", jc.Records, spec.name(), ms(g.Warm.Median), ms(g.Warm.Max))
	if !cold {
		return g, nil
	}
	switch err := evict(dbPath); {
	case errors.Is(err, errors.ErrUnsupported):
		g.ColdNote = "not measured: no page-cache eviction on this OS"
	case err != nil:
		g.ColdNote = "not measured: " + err.Error()
	default:
		st := &starts{}
		if _, err := b.startOnce(ctx, dir, up, st, false); err != nil {
			return g, err
		}
		g.Cold = &st.Runs[0]
		b.logf("ready, %d operations, journal not in the page cache: %s", jc.Records, ms(*g.Cold))
	}
	return g, nil
}

// startOnce starts bridged on dir, adds its ready time to st and stops it;
// with idle it first lets it idle and returns its RSS then.
func (b *bench) startOnce(ctx context.Context, dir string, up *simServer, st *starts, idle bool) (*rssSample, error) {
	d, err := b.launchIn(dir, up)
	if err != nil {
		return nil, err
	}
	defer d.stop()
	st.add(d.Ready)
	if !idle {
		return nil, nil
	}
	if err := sleep(ctx, b.opt.idle); err != nil {
		return nil, err
	}
	if rss, ok := readRSS(d.Pid()); ok {
		return &rss, nil
	}
	return nil, nil
}
