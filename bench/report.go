package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"
)

// scenario is one target driven at one concurrency.
type scenario struct {
	Target      string         `json:"target"`
	Concurrency int            `json:"concurrency"`
	Latency     dist           `json:"latency"`
	Throughput  float64        `json:"sales_per_second"`
	Errors      int            `json:"errors"`
	ErrorKinds  map[string]int `json:"error_kinds,omitempty"`
	// SimConnsPerSale is the connections the simulator accepted per sale
	// (warm-up included): 0 when every call reuses a kept-alive connection.
	SimConnsPerSale float64 `json:"sim_conns_per_sale"`
	// bridged only: the largest RSS sampled (every 50 ms) during the run,
	// and the process's high-water mark at its end.
	RSSPeak     *rssSample `json:"rss_peak,omitempty"`
	RSSHWM      *int64     `json:"rss_hwm_bytes,omitempty"`
	RSSAnonPeak *int64     `json:"rss_anon_peak_bytes,omitempty"`
	// bridged only: its journal commits during the run, warm-up included.
	Commits *journalCommits `json:"journal_commits,omitempty"`
	// bridged only: its CPU time per sale, warm-up included.
	CPU *saleCPU `json:"cpu_per_sale,omitempty"`
}

// saleCPU is a process's CPU time per sale.
type saleCPU struct {
	User   time.Duration `json:"user_ns"`
	System time.Duration `json:"system_ns"`
}

// journalCommits is what bridged's own metrics say about its commits.
type journalCommits struct {
	Count   int64         `json:"count"`
	PerSale float64       `json:"per_sale"`
	Mean    time.Duration `json:"mean_ns"`
}

// comparison sets bridged against the two baselines at one concurrency.
type comparison struct {
	Concurrency int `json:"concurrency"`
	// bridged / bare proxy.
	P50Ratio        float64 `json:"p50_ratio_to_proxy"`
	P99Ratio        float64 `json:"p99_ratio_to_proxy"`
	ThroughputRatio float64 `json:"throughput_ratio_to_proxy"`
	// What bridged adds to a direct call, and that over the commit latency.
	AddedP50          time.Duration `json:"added_p50_ns"`
	AddedP99          time.Duration `json:"added_p99_ns"`
	AddedP50PerCommit float64       `json:"added_p50_per_commit_p50"`
	AddedP99PerCommit float64       `json:"added_p99_per_commit_p99"`
	// What bridged adds to the bare proxy (one HTTP hop more, like it).
	OverProxyP50 time.Duration `json:"over_proxy_p50_ns"`
}

// targetResult is one of issue 10's targets. Met is nil when it could not
// be measured.
type targetResult struct {
	Issue    int    `json:"issue"` // the issue that set it: 10 (the harness), 18 (the lean journal)
	Name     string `json:"name"`
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Met      *bool  `json:"met"`
}

// report is everything one run measured.
type report struct {
	Command  string        `json:"command"`
	Smoke    bool          `json:"smoke"`
	Started  time.Time     `json:"started"`
	Took     time.Duration `json:"took_ns"`
	Duration time.Duration `json:"scenario_duration_ns"`
	Warmup   time.Duration `json:"scenario_warmup_ns"`
	Idle     time.Duration `json:"idle_ns"`
	// terminals is how many terminals bridged was configured with.
	terminals int
	Machine   machineInfo `json:"machine"`

	Binary        *binaryInfo      `json:"binary,omitempty"`
	Commit        *commitFigures   `json:"commit,omitempty"`
	StoreWrite    *commitFigures   `json:"store_write,omitempty"`
	CommitNFS     *commitFigures   `json:"commit_no_freelist_sync,omitempty"`
	StoreWriteNFS *commitFigures   `json:"store_write_no_freelist_sync,omitempty"`
	Freelist      *freelistFigures `json:"freelist_rebuild,omitempty"`
	Steady        *steadyFigures   `json:"steady_state,omitempty"`
	Scenarios     []scenario       `json:"scenarios"`
	Comparisons   []comparison     `json:"comparisons"`
	StartEmpty    *starts          `json:"start_empty,omitempty"`
	Big           *bigFigures      `json:"start_big,omitempty"`
	NoEOD         *bigFigures      `json:"start_no_eod,omitempty"`
	Profiles      []profileRun     `json:"profiles,omitempty"`
	Baseline      *baselineRun     `json:"baseline,omitempty"`
	Targets       []targetResult   `json:"targets"`
	Problems      []string         `json:"problems,omitempty"`
}

func newReport(o options) *report {
	return &report{Command: o.command, Smoke: o.smoke, Started: time.Now().UTC(), Duration: o.duration, Warmup: o.warmup, Idle: o.idle}
}

func (r *report) problem(err error) { r.Problems = append(r.Problems, err.Error()) }

// failure is an error when the figures are not whole: a phase failed or a
// sale did. Targets missed are not failures.
func (r *report) failure() error {
	var errs []error
	for _, p := range r.Problems {
		errs = append(errs, errors.New(p))
	}
	for _, s := range r.Scenarios {
		if s.Errors > 0 {
			errs = append(errs, fmt.Errorf("%s at %d terminals: %d sales failed: %v", s.Target, s.Concurrency, s.Errors, s.ErrorKinds))
		}
	}
	return errors.Join(errs...)
}

func (r *report) find(target string, conc int) *scenario {
	for i := range r.Scenarios {
		if s := &r.Scenarios[i]; s.Target == target && s.Concurrency == conc {
			return s
		}
	}
	return nil
}

// concurrencies are the concurrencies measured, in order.
func (r *report) concurrencies() []int {
	var cs []int
	for _, s := range r.Scenarios {
		if !slices.Contains(cs, s.Concurrency) {
			cs = append(cs, s.Concurrency)
		}
	}
	return cs
}

// finish computes the comparisons and the targets.
func (r *report) finish(root string) {
	r.Took = time.Since(r.Started)
	r.Machine.finish(root)
	for _, c := range r.concurrencies() {
		d, p, b := r.find(targetDirect, c), r.find(targetProxy, c), r.find(targetBridged, c)
		if d == nil || p == nil || b == nil {
			continue
		}
		cmp := comparison{Concurrency: c,
			P50Ratio:        ratio(b.Latency.P50, p.Latency.P50),
			P99Ratio:        ratio(b.Latency.P99, p.Latency.P99),
			ThroughputRatio: b.Throughput / p.Throughput,
			AddedP50:        b.Latency.P50 - d.Latency.P50,
			AddedP99:        b.Latency.P99 - d.Latency.P99,
			OverProxyP50:    b.Latency.P50 - p.Latency.P50,
		}
		if r.Commit != nil {
			cmp.AddedP50PerCommit = ratio(cmp.AddedP50, r.Commit.P50)
			cmp.AddedP99PerCommit = ratio(cmp.AddedP99, r.Commit.P99)
		}
		r.Comparisons = append(r.Comparisons, cmp)
	}
	r.Targets = r.targets()
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

const mib20, mib25, mib60 = 20 << 20, 25 << 20, 60 << 20

func (r *report) targets() []targetResult {
	var out []targetResult
	issue := 10
	add := func(name, goal, measured string, met *bool) {
		out = append(out, targetResult{Issue: issue, Name: name, Goal: goal, Measured: measured, Met: met})
	}
	yes := func(b bool) *bool { return &b }
	var c1 *comparison
	for i := range r.Comparisons {
		if r.Comparisons[i].Concurrency == 1 {
			c1 = &r.Comparisons[i]
		}
	}
	if c1 != nil && r.Commit != nil {
		goal := r.Commit.P50 + 500*time.Microsecond
		add("added latency p50, 1 terminal", fmt.Sprintf("≤ commit p50 + 0.5 ms = %s", ms(goal)), ms(c1.AddedP50), yes(c1.AddedP50 <= goal))
		goal = 2*r.Commit.P99 + time.Millisecond
		add("added latency p99, 1 terminal", fmt.Sprintf("≤ 2 × commit p99 + 1 ms = %s", ms(goal)), ms(c1.AddedP99), yes(c1.AddedP99 <= goal))
	} else {
		add("added latency p50 and p99, 1 terminal", "≤ commit p50 + 0.5 ms; ≤ 2 × commit p99 + 1 ms", "not measured", nil)
	}
	cores := fmt.Sprintf(" on %d cores", r.Machine.CPUs)
	if b := r.find(targetBridged, 64); b != nil {
		add("durable sales/s, 64 terminals", "≥ 1,000/s on 2 cores", fmt.Sprintf("%.0f/s%s", b.Throughput, cores), yes(b.Throughput >= 1000))
		switch {
		case b.RSSHWM != nil:
			add("RSS at 64 terminals (peak)", "≤ 60 MiB", mib(*b.RSSHWM), yes(*b.RSSHWM <= mib60))
		default:
			add("RSS at 64 terminals (peak)", "≤ 60 MiB", "n/a", nil)
		}
	} else {
		add("durable sales/s, 64 terminals", "≥ 1,000/s on 2 cores", "not measured", nil)
	}
	if s := r.StartEmpty; s != nil {
		if s.IdleRSS != nil {
			add("RSS idle", "≤ 20 MiB", mib(s.IdleRSS.RSS), yes(s.IdleRSS.RSS <= mib20))
		} else {
			add("RSS idle", "≤ 20 MiB", "n/a", nil)
		}
		add("start to ready, empty journal (median)", "≤ 200 ms", ms(s.Median), yes(s.Median <= 200*time.Millisecond))
	} else {
		add("RSS idle; start to ready, empty journal", "≤ 20 MiB; ≤ 200 ms", "not measured", nil)
	}
	if b := r.Big; b != nil && len(b.Warm.Runs) > 0 {
		add(fmt.Sprintf("start to ready, %s records (median, page cache warm)", count(b.Records)), "≤ 1 s", ms(b.Warm.Median), yes(b.Warm.Median <= time.Second))
		if b.Cold != nil {
			add(fmt.Sprintf("start to ready, %s records (journal not cached)", count(b.Records)), "≤ 1 s", ms(*b.Cold), yes(*b.Cold <= time.Second))
		}
	} else {
		add("start to ready, big journal", "≤ 1 s", "not measured", nil)
	}
	issue = 18
	r.leanTargets(add, yes)
	return out
}

// leanTargets are issue 18's (the lean journal), next to issue 10's.
func (r *report) leanTargets(add func(name, goal, measured string, met *bool), yes func(bool) *bool) {
	if b := r.Big; b != nil && b.Records > 0 {
		per := float64(b.FileBytes) / float64(b.Records)
		add(fmt.Sprintf("bytes on disk per operation, %s operations", count(b.Records)), "≤ 1.5 KiB",
			fmt.Sprintf("%.2f KiB", per/1024), yes(per <= 1.5*1024))
	} else {
		add("bytes on disk per operation", "≤ 1.5 KiB", "not measured", nil)
	}
	c, w := r.Commit, r.StoreWrite
	if c != nil && w != nil {
		goal := time.Duration(1.1 * float64(c.P50))
		add("journal write p50 (Begin or Record)", fmt.Sprintf("≤ 1.1 × commit p50 = %s", ms(goal)),
			fmt.Sprintf("%s (%.2f×)", ms(w.P50), ratio(w.P50, c.P50)), yes(w.P50 <= goal))
	} else {
		add("journal write p50", "≤ 1.1 × commit p50", "not measured", nil)
	}
	var c1 *comparison
	for i := range r.Comparisons {
		if r.Comparisons[i].Concurrency == 1 {
			c1 = &r.Comparisons[i]
		}
	}
	if c1 != nil && w != nil {
		goal := 2*w.P50 + 300*time.Microsecond
		add("added latency p50, 1 terminal", fmt.Sprintf("≤ 2 × journal write p50 + 0.3 ms = %s", ms(goal)), ms(c1.AddedP50), yes(c1.AddedP50 <= goal))
		goal = 2*w.P99 + time.Millisecond
		add("added latency p99, 1 terminal", fmt.Sprintf("≤ 2 × journal write p99 + 1 ms = %s", ms(goal)), ms(c1.AddedP99), yes(c1.AddedP99 <= goal))
	} else {
		add("added latency, 1 terminal", "≤ 2 × journal write p50 + 0.3 ms; p99 ≤ 2 × journal write p99 + 1 ms", "not measured", nil)
	}
	for _, t := range []struct {
		conc int
		goal time.Duration
	}{{1, 600 * time.Microsecond}, {64, 300 * time.Microsecond}} {
		name := fmt.Sprintf("bridged CPU per sale, %d terminal(s)", t.conc)
		if b := r.find(targetBridged, t.conc); b != nil && b.CPU != nil {
			cpu := b.CPU.User + b.CPU.System
			add(name, "≤ "+ms(t.goal), ms(cpu), yes(cpu <= t.goal))
		} else {
			add(name, "≤ "+ms(t.goal), "not measured", nil)
		}
	}
	cores := fmt.Sprintf(" on %d cores", r.Machine.CPUs)
	if b := r.find(targetBridged, 64); b != nil {
		add("durable sales/s, 64 terminals", "≥ 2,000/s on 2 cores", fmt.Sprintf("%.0f/s%s", b.Throughput, cores), yes(b.Throughput >= 2000))
		if b.RSSHWM != nil && b.RSSAnonPeak != nil {
			add("RSS at 64 terminals: peak, anonymous", "≤ 60 MiB, ≤ 25 MiB", mib(*b.RSSHWM)+", "+mib(*b.RSSAnonPeak),
				yes(*b.RSSHWM <= mib60 && *b.RSSAnonPeak <= mib25))
		} else {
			add("RSS at 64 terminals: peak, anonymous", "≤ 60 MiB, ≤ 25 MiB", "n/a", nil)
		}
	} else {
		add("durable sales/s, 64 terminals; RSS", "≥ 2,000/s; ≤ 60 MiB, ≤ 25 MiB anonymous", "not measured", nil)
	}
	if g := r.NoEOD; g != nil && len(g.Warm.Runs) > 0 {
		add(fmt.Sprintf("start to ready, %s operations without any end of day (median)", count(g.Records)), "≤ 150 ms",
			ms(g.Warm.Median), yes(g.Warm.Median <= 150*time.Millisecond))
	} else {
		add("start to ready, no end of day", "≤ 150 ms", "not measured", nil)
	}
	if b := r.Big; b != nil && b.Cold != nil {
		add(fmt.Sprintf("start to ready, %s operations, cold", count(b.Records)), "≤ 200 ms", ms(*b.Cold), yes(*b.Cold <= 200*time.Millisecond))
	} else {
		add("start to ready, big journal, cold", "≤ 200 ms", "not measured", nil)
	}
	if st := r.Steady; st != nil {
		goal := int64(1.1 * float64(st.AtRetain.FileBytes))
		add(fmt.Sprintf("file after %d days of a %d-lane shop", st.Days, st.Terminals),
			fmt.Sprintf("≤ size after retain_days (%d) + 10 %% = %s", st.RetainDays, mib(goal)), mib(st.End.FileBytes), yes(st.End.FileBytes <= goal))
	} else {
		add("steady state", "≤ size after retain_days + 10 %", "not measured", nil)
	}
}

// count writes n with thousands separators ("1,000,000").
func count(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

var targetNames = map[string]string{
	targetDirect:  "direct: upstream.Client → simulator",
	targetProxy:   "bare proxy: httputil.ReverseProxy → simulator",
	targetBridged: "bridged (fsync on) → simulator",
}

// markdown is the report as docs/benchmarks.md shows it, section by section.
func (r *report) markdown() string {
	w := &mdWriter{}
	r.mdRun(w)
	if r.Baseline != nil {
		r.mdBaseline(w)
		r.mdProblems(w)
		return w.b.String()
	}
	r.mdCommit(w)
	r.mdSales(w)
	r.mdRatios(w)
	r.mdFootprint(w)
	r.mdProfiles(w)
	r.mdTargets(w)
	r.mdProblems(w)
	return w.b.String()
}

// mdWriter builds the markdown of a report.
type mdWriter struct{ b strings.Builder }

func (w *mdWriter) p(format string, args ...any) { fmt.Fprintf(&w.b, format, args...) }

// mdRun writes the run: command, machine, code.
func (r *report) mdRun(w *mdWriter) {
	if r.Smoke {
		w.p("> **Smoke run** (`-smoke`): it shows that the harness works; its timings mean nothing.\n\n")
	}
	m := r.Machine
	w.p("### Run\n\n| | |\n|---|---|\n")
	w.p("| Command | `%s` |\n", r.Command)
	w.p("| When | %s UTC, took %s |\n", r.Started.Format(time.DateTime), r.Took.Round(time.Second))
	w.p("| Scenario length | %s measured after %s warm-up, closed loop |\n", r.Duration, r.Warmup)
	w.p("| Machine | %d × %s, %s RAM, %s, kernel %s |\n", m.CPUs, m.CPUModel, m.MemTotal, m.OS, m.Kernel)
	w.p("| Data dir | %s on %s |\n", m.DataDir, m.FS)
	w.p("| Go | %s |\n", m.Go)
	code := m.Commit
	if m.Dirty > 0 {
		code += fmt.Sprintf(" + %d changed files in the working tree", m.Dirty)
	}
	w.p("| Code | %s |\n", code)
	w.p("| Load average (1, 5, 15 min) | %s at start, %s at end |\n", m.LoadStart, m.LoadEnd)
	if m.OtherCPU >= 0 {
		w.p("| Other processes | kept %.2f of %d cores busy on average during the run |\n", m.OtherCPU, m.CPUs)
	}
	w.p("\n")
	if m.StoreDiff != "" {
		w.p("`internal/store` differs from the commit (`git status --short`, `git diff --stat`):\n\n```\n%s\n```\n\n", m.StoreDiff)
	} else if m.Commit != "" {
		w.p("`internal/store` is as committed (`git diff --stat internal/store` is empty).\n\n")
	}
}

// mdCommit writes the durable commit's figures.
func (r *report) mdCommit(w *mdWriter) {
	w.p("### Durable commit\n\n")
	if c := r.Commit; c != nil {
		w.p("| On the data dir's filesystem, one at a time | Count | p50 | p99 | max | mean | CPU each |\n|---|--:|--:|--:|--:|--:|--:|\n")
		row := func(name string, f *commitFigures) {
			if f != nil {
				w.p("| %s | %s | %s | %s | %s | %s | %s |\n", name, count(f.N), ms(f.P50), ms(f.P99), ms(f.Max), ms(f.Mean), ms(f.CPU))
			}
		}
		row("bbolt commit of one 1 KiB key, fsync on (the disk's commit: the targets' \"commit\")", c)
		row("journal write through `internal/store`: a sale's `Begin` or `Record`, each one commit (bridged makes two per sale)", r.StoreWrite)
		row("the same commit of one key, bbolt opened as etcd runs it (`NoFreelistSync`, map freelist)", r.CommitNFS)
		row("the same journal write, store opened with `NoFreelistSync`", r.StoreWriteNFS)
		w.p("\n")
		if f := r.Freelist; f != nil {
			w.p("`NoFreelistSync` leaves the freelist out of every commit; bbolt then rebuilds it at each open by walking every page of the file. Opening a copy of the journal of %s operations (%s): freelist read from the file %s warm, %s cold; rebuilt %s warm, %s cold.\n\n",
				count(r.Big.Records), mib(f.FileBytes), ms(f.SyncedWarm), optMS(f.SyncedCold), ms(f.RebuildWarm), optMS(f.RebuildCold))
		}
	} else {
		w.p("Not measured.\n\n")
	}
}

// mdSales writes the sales at each concurrency, bridged's commits and CPU, the errors.
func (r *report) mdSales(w *mdWriter) {
	w.p("### Sales\n\nThe same sale (149.90 TRY, approved, no card wait); each terminal sends its next sale when the last is answered.\n\n")
	w.p("| Path | Terminals | Sales | Errors | p50 | p99 | max | Sales/s | New sim connections per sale |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, c := range r.concurrencies() {
		for _, t := range targets {
			s := r.find(t, c)
			if s == nil {
				continue
			}
			w.p("| %s | %d | %s | %d | %s | %s | %s | %.0f | %.2f |\n", targetNames[t], c, count(s.Latency.N), s.Errors,
				ms(s.Latency.P50), ms(s.Latency.P99), ms(s.Latency.Max), s.Throughput, s.SimConnsPerSale)
		}
	}
	w.p("\n")
	var jc []string
	for _, s := range r.Scenarios {
		if s.Commits != nil {
			cpu := "n/a"
			if c := s.CPU; c != nil {
				cpu = fmt.Sprintf("%s (user %s, system %s)", ms(c.User+c.System), ms(c.User), ms(c.System))
			}
			jc = append(jc, fmt.Sprintf("| %d | %s | %.2f | %s | %s |\n", s.Concurrency, count(int(s.Commits.Count)), s.Commits.PerSale, ms(s.Commits.Mean), cpu))
		}
	}
	if len(jc) > 0 {
		w.p("Inside bridged during those runs (warm-up included): its journal commits, from its `/metrics` (`bridged_store_commit_duration_seconds`; a sale is two writes, its intent and its outcome, and concurrent writes share a commit), and its CPU time (user + system, `/proc/<pid>/stat`).\n\n")
		w.p("| Terminals | Commits | Commits per sale | Mean commit | bridged CPU per sale |\n|--:|--:|--:|--:|--:|\n%s\n", strings.Join(jc, ""))
		if c := r.Commit; c != nil && c.CPU > 0 {
			w.p("Two one-key commits, the least a sale's two durable steps can cost, took %s of this process's CPU on this disk (the table above).\n\n", ms(2*c.CPU))
		}
	}
	for _, s := range r.Scenarios {
		if s.Errors > 0 {
			keys := slices.Sorted(maps.Keys(s.ErrorKinds))
			var kinds []string
			for _, k := range keys {
				kinds = append(kinds, fmt.Sprintf("%d × %s", s.ErrorKinds[k], k))
			}
			w.p("Errors of %s at %d: %s.\n\n", s.Target, s.Concurrency, strings.Join(kinds, "; "))
		}
	}
}

// mdRatios writes bridged against its baselines, at each concurrency.
func (r *report) mdRatios(w *mdWriter) {
	if len(r.Comparisons) > 0 {
		w.p("### Ratios\n\n| |")
		for _, c := range r.Comparisons {
			w.p(" %d terminal(s) |", c.Concurrency)
		}
		w.p("\n|---|")
		for range r.Comparisons {
			w.p("--:|")
		}
		w.p("\n")
		row := func(name string, f func(c comparison) string) {
			w.p("| %s |", name)
			for _, c := range r.Comparisons {
				w.p(" %s |", f(c))
			}
			w.p("\n")
		}
		x := func(v float64) string { return fmt.Sprintf("%.2f×", v) }
		row("bridged / bare proxy, p50", func(c comparison) string { return x(c.P50Ratio) })
		row("bridged / bare proxy, p99", func(c comparison) string { return x(c.P99Ratio) })
		row("bridged / bare proxy, sales/s", func(c comparison) string { return x(c.ThroughputRatio) })
		row("added by bridged (bridged − direct), p50", func(c comparison) string { return ms(c.AddedP50) })
		row("added by bridged (bridged − direct), p99", func(c comparison) string { return ms(c.AddedP99) })
		row("added p50 / commit p50", func(c comparison) string { return x(c.AddedP50PerCommit) })
		row("added p99 / commit p99", func(c comparison) string { return x(c.AddedP99PerCommit) })
		row("bridged − bare proxy, p50", func(c comparison) string { return ms(c.OverProxyP50) })
		w.p("\n")
	}
}

// mdFootprint writes memory, start times, journal sizes, binary.
func (r *report) mdFootprint(w *mdWriter) {
	w.p("### Footprint\n\n| | |\n|---|---|\n")
	if s := r.StartEmpty; s != nil {
		if s.IdleRSS != nil {
			w.p("| RSS idle (empty journal, %s after ready) | %s |\n", r.Idle, rssText(*s.IdleRSS))
		}
		w.p("| Start to ready, empty journal | median %s, max %s (%d starts) |\n", ms(s.Median), ms(s.Max), len(s.Runs))
	}
	for _, c := range r.concurrencies() {
		if s := r.find(targetBridged, c); s != nil && s.RSSPeak != nil {
			anon := ""
			if s.RSSAnonPeak != nil {
				anon = fmt.Sprintf("; anonymous at most %s", mib(*s.RSSAnonPeak))
			}
			w.p("| RSS under load, %d terminal(s) | %s peak (VmHWM); largest sample %s%s |\n", c, mib(*s.RSSHWM), rssText(*s.RSSPeak), anon)
		}
	}
	for _, g := range []*bigFigures{r.Big, r.NoEOD} {
		if g != nil {
			r.mdBigJournal(w, g)
		}
	}
	if st := r.Steady; st != nil {
		w.p("| Two years of a shop, time compressed | %d lanes × %d sales a day for %d days (%s operations, %d days archived), `journal.retain_days` %d, through the store's API (`internal/store/storesim`) in %s: file %s after %d days, %s at the end, %s at most; at the end %s in use, %s of it free pages |\n",
			st.Terminals, st.SalesPerDay, st.Days, count(st.Ops), st.Archived, st.RetainDays, st.Took.Round(time.Second),
			mib(st.AtRetain.FileBytes), st.RetainDays, mib(st.End.FileBytes), mib(st.Peak.FileBytes), mib(st.End.UsedBytes), mib(st.End.FreeBytes))
	}
	if bi := r.Binary; bi != nil {
		w.p("| Binary size | %s (`go build`), %s (release: `-trimpath -ldflags \"%s\"`, the binary measured) |\n",
			mib(bi.Plain), mib(bi.Release), releaseLDFlags)
	}
}

// mdBigJournal writes the rows of one big journal: how it was filled,
// its start times and idle RSS.
func (r *report) mdBigJournal(w *mdWriter, g *bigFigures) {
	name := fmt.Sprintf("%s operations", count(g.Records))
	shape := fmt.Sprintf("a shop's history: %d terminals × %d sales a day, an end of day per terminal and day, the last day open",
		r.terminals, salesPerTerminalDay)
	if g.Shape != "days" {
		name += ", no end of day"
		shape = fmt.Sprintf("%d terminals × %d sales a day, never an end of day (the worst case of the start's scan)", r.terminals, salesPerTerminalDay)
	}
	how := "filled by this run"
	if g.Cached {
		how = fmt.Sprintf("cached, filled %s UTC", g.FilledAt.Format(time.DateTime))
	}
	perOp := ""
	if g.Records > 0 {
		perOp = fmt.Sprintf(", %.1f KiB per operation", float64(g.FileBytes)/float64(g.Records)/1024)
	}
	w.p("| Journal of %s | %s; Begin + Record each; file %s%s; filled in %s (%s) |\n",
		name, shape, mib(g.FileBytes), perOp, g.FillTime.Round(time.Second), how)
	if len(g.Warm.Runs) > 0 {
		w.p("| Start to ready, %s, page cache warm | median %s, max %s (%d starts) |\n", name, ms(g.Warm.Median), ms(g.Warm.Max), len(g.Warm.Runs))
	}
	if g.Cold != nil {
		w.p("| Start to ready, %s, journal not in the page cache | %s |\n", name, ms(*g.Cold))
	} else if g.ColdNote != "" {
		w.p("| Start to ready, %s, journal not in the page cache | %s |\n", name, g.ColdNote)
	}
	if g.Warm.IdleRSS != nil {
		w.p("| RSS idle, %s (%s after ready) | %s |\n", name, r.Idle, rssText(*g.Warm.IdleRSS))
	}
}

// mdProfiles writes the profiles of bridged (-profile).
func (r *report) mdProfiles(w *mdWriter) {
	for _, pr := range r.Profiles {
		w.p("\n### Profile of bridged, %d terminal(s)\n\n", pr.Concurrency)
		w.p("`go run ./bench -profile DIR` built bridged with the `pprof` tag and drove it like the bridged scenario (%s; %s sales, warm-up included). By own time (flat), then selected frames of a sale's path by cumulative time, then allocations by bytes:\n\n", pr.Total, count(pr.Sales))
		w.p("```\n%s\n```\n\n```\n%s\n```\n\n```\n%s\n```\n", strings.Join(pr.CPU, "\n"), strings.Join(pr.Cum, "\n"), strings.Join(pr.Allocs, "\n"))
	}
}

// mdTargets writes the targets, met or missed.
func (r *report) mdTargets(w *mdWriter) {
	w.p("\n### Targets\n\nIssue 10 set the harness's targets; issue 18 (the lean journal) added its own, measured in the same run.\n\n| Issue | Target | Goal | Measured | |\n|--:|---|---|---|---|\n")
	for _, t := range r.Targets {
		verdict := "not measured"
		if t.Met != nil {
			verdict = "**missed**"
			if *t.Met {
				verdict = "met"
			}
		}
		w.p("| %d | %s | %s | %s | %s |\n", t.Issue, t.Name, t.Goal, t.Measured, verdict)
	}
	w.p("\n")
}

// mdProblems writes what went wrong in the run.
func (r *report) mdProblems(w *mdWriter) {
	if len(r.Problems) > 0 {
		w.p("### Problems\n\n")
		for _, pr := range r.Problems {
			w.p("- %s\n", strings.ReplaceAll(pr, "\n", " "))
		}
		w.p("\n")
	}
}

// The markers of the generated part of a markdown file.
const (
	markBegin = "<!-- bench:begin (generated by go run ./bench; edits inside are overwritten) -->"
	markEnd   = "<!-- bench:end -->"
)

// writeReport writes JSON to a .json path; otherwise markdown, between the
// markers when the file exists and has them, else as the whole file.
func writeReport(path string, r *report, md string) error {
	if strings.HasSuffix(path, ".json") {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(path, append(b, '\n'), 0o644)
	}
	old, err := os.ReadFile(path)
	if err == nil {
		i := bytes.Index(old, []byte(markBegin))
		j := bytes.Index(old, []byte(markEnd))
		if i >= 0 && j > i {
			var b bytes.Buffer
			b.Write(old[:i+len(markBegin)])
			b.WriteString("\n\n" + md)
			b.Write(old[j:])
			return os.WriteFile(path, b.Bytes(), 0o644)
		}
	}
	return os.WriteFile(path, []byte(markBegin+"\n\n"+md+markEnd+"\n"), 0o644)
}

// optMS is ms, or "n/a" for a figure not measured.
func optMS(d time.Duration) string {
	if d == 0 {
		return "n/a"
	}
	return ms(d)
}

// rssText is VmRSS with its anonymous and file-backed parts.
func rssText(s rssSample) string {
	return fmt.Sprintf("%s (anonymous %s, file-backed %s)", mib(s.RSS), mib(s.Anon), mib(s.File))
}
