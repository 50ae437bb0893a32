package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/bridgedpos/bridged/proof/harness"
)

// bench is one run of the harness.
type bench struct {
	opt  options
	log  io.Writer
	root string // the module's root
	work string // the run's directory, under opt.dir
	bin  string // the binary under test: the release build
	// baseBin is the -baseline revision's release build.
	baseBin string
}

// run measures everything, phase by phase. A phase that fails is noted in the
// report and the others still run; only a cancelled context stops the run.
func (b *bench) run(ctx context.Context) (*report, error) {
	rep := newReport(b.opt)
	rep.terminals = b.terminals()
	root, err := harness.ModuleRoot()
	if err != nil {
		return nil, err
	}
	b.root = root
	if err := os.MkdirAll(b.opt.dir, 0o700); err != nil {
		return nil, err
	}
	if b.work, err = os.MkdirTemp(b.opt.dir, "bridged-bench-"); err != nil {
		return nil, err
	}
	if b.opt.keep {
		b.logf("run directory %s (kept)", b.work)
	} else {
		defer os.RemoveAll(b.work)
	}
	rep.Machine = machine(b.root, b.work)

	type phase struct {
		name    string
		fn      func(context.Context, *report) error
		needBin bool
	}
	phases := []phase{
		{"build", b.build, false},
		{"commit latency", b.commitLatency, false},
		{"sale workloads", b.workloads, true},
		{"start with an empty journal", b.startEmpty, true},
		{"start with a big journal", b.startBig, true},
		{"start with a journal without end of day", b.startNoEOD, true},
		{"two years of a shop, time compressed", b.steady, false},
		{"profile", b.profile, true},
	}
	if b.opt.baseline != "" {
		phases = []phase{{"build", b.build, false}, {"build the baseline", b.buildBaseline, false}, {"against the baseline", b.compareBaseline, true}}
	}
	for _, p := range phases {
		if ctx.Err() != nil {
			break
		}
		if p.name == "profile" && b.opt.profile == "" {
			continue
		}
		if p.needBin && b.bin == "" {
			rep.problem(fmt.Errorf("%s: skipped, no binary", p.name))
			continue
		}
		b.logf("== %s", p.name)
		if err := p.fn(ctx, rep); err != nil {
			rep.problem(fmt.Errorf("%s: %w", p.name, err))
			b.logf("%s failed: %v", p.name, err)
		}
	}
	rep.finish(b.root)
	return rep, ctx.Err()
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "bench: "+format+"\n", args...)
}

// commitLatency times single-key bbolt commits and the store's journal
// writes on the run's filesystem, with bbolt's defaults (as the store runs)
// and with NoFreelistSync (as etcd runs it), alternating so that a change
// of the machine's load falls on both.
func (b *bench) commitLatency(ctx context.Context, rep *report) error {
	d, err := measureCommits(ctx, b.work, b.opt.commits, false)
	if err != nil {
		return err
	}
	rep.Commit = &d
	b.logf("commit p50 %s p99 %s cpu %s (%d commits)", ms(d.P50), ms(d.P99), ms(d.CPU), d.N)
	w, err := measureStoreWrites(ctx, filepath.Join(b.work, "store-writes"), b.opt.commits, false)
	if err != nil {
		return fmt.Errorf("store writes: %w", err)
	}
	rep.StoreWrite = &w
	b.logf("journal write p50 %s p99 %s cpu %s (%d writes)", ms(w.P50), ms(w.P99), ms(w.CPU), w.N)
	dn, err := measureCommits(ctx, b.work, b.opt.commits, true)
	if err != nil {
		return err
	}
	rep.CommitNFS = &dn
	wn, err := measureStoreWrites(ctx, filepath.Join(b.work, "store-writes-nfs"), b.opt.commits, true)
	if err != nil {
		return fmt.Errorf("store writes: %w", err)
	}
	rep.StoreWriteNFS = &wn
	b.logf("with NoFreelistSync: commit p50 %s cpu %s; journal write p50 %s cpu %s", ms(dn.P50), ms(dn.CPU), ms(wn.P50), ms(wn.CPU))
	return nil
}

// Targets of the sale workload.
const (
	targetDirect  = "direct"
	targetProxy   = "proxy"
	targetBridged = "bridged"
)

var targets = []string{targetDirect, targetProxy, targetBridged}

// workloads drives every target at every concurrency, each against a fresh
// simulator (and a fresh bridged with an empty journal).
func (b *bench) workloads(ctx context.Context, rep *report) error {
	var errs []error
	for _, conc := range b.opt.concurrency {
		for _, tgt := range targets {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			sc, err := b.scenario(ctx, tgt, conc, b.bin, fmt.Sprintf("load-c%d", conc))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s at %d: %w", tgt, conc, err))
				continue
			}
			rep.Scenarios = append(rep.Scenarios, sc)
			b.logf("%-7s c=%-3d %7d sales %4d errors  p50 %s  p99 %s  max %s  %.0f/s", tgt, conc, sc.Latency.N, sc.Errors,
				ms(sc.Latency.P50), ms(sc.Latency.P99), ms(sc.Latency.Max), sc.Throughput)
		}
	}
	return errors.Join(errs...)
}

// terminals is how many devices the simulator knows and how many terminals
// bridged is configured with: the largest concurrency, at least 64.
func (b *bench) terminals() int { return max(64, slices.Max(b.opt.concurrency)) }

// scenario drives tgt at conc terminals; bridged is bin, its data dir named run.
func (b *bench) scenario(ctx context.Context, tgt string, conc int, bin, run string) (scenario, error) {
	sc := scenario{Target: tgt, Concurrency: conc}
	up, err := startSim(b.terminals())
	if err != nil {
		return sc, err
	}
	defer up.close()

	var do saleFunc
	var w *watch
	switch tgt {
	case targetDirect, targetProxy:
		url := up.url
		if tgt == targetProxy {
			px, err := startProxy(up.url)
			if err != nil {
				return sc, err
			}
			defer px.close()
			url = px.url
		}
		dc, err := newDirect(ctx, url, up.devices)
		if err != nil {
			return sc, err
		}
		defer dc.close()
		do = dc.sale
	case targetBridged:
		d, err := b.launchBin(bin, filepath.Join(b.work, run), up, nil)
		if err != nil {
			return sc, err
		}
		defer d.stop()
		do = newECR(d.Addr, terminalIDs(b.terminals()), conc).sale
		if w, err = startWatch(ctx, d); err != nil {
			return sc, err
		}
	}

	conns0 := up.conns.Load()
	res := drive(ctx, conc, b.opt.warmup, b.opt.duration, do)
	if res.ok > 0 {
		sc.SimConnsPerSale = float64(up.conns.Load()-conns0) / float64(res.ok)
	}
	if w != nil {
		if err := w.finish(ctx, &sc, res.ok); err != nil {
			return sc, err
		}
	}
	sc.Latency = summarize(res.latencies)
	sc.Errors = res.errorCount()
	sc.ErrorKinds = res.errors
	if res.elapsed > 0 {
		sc.Throughput = float64(sc.Latency.N) / res.elapsed.Seconds()
	}
	if sc.Latency.N == 0 {
		return sc, fmt.Errorf("no sale succeeded (errors: %v)", res.errors)
	}
	return sc, nil
}

// watch follows a bridged process through a scenario: its RSS, its CPU
// time and its journal commits.
type watch struct {
	addr     string
	pid      string
	rss      *rssSampler
	cpu0     cpuTimes
	cpuOK    bool
	commits0 commitStats
}

func startWatch(ctx context.Context, d *running) (*watch, error) {
	w := &watch{addr: d.Addr, pid: strconv.Itoa(d.Pid())}
	var err error
	if w.commits0, err = scrapeCommits(ctx, w.addr); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	w.cpu0, w.cpuOK = procTimes(w.pid)
	pid := d.Pid()
	w.rss = startSampler(func() (rssSample, bool) { return readRSS(pid) }, 50*time.Millisecond)
	return w, nil
}

// finish stops watching and puts the figures per sale (sales: every
// successful one, warm-up included) into sc.
func (w *watch) finish(ctx context.Context, sc *scenario, sales int) error {
	if peak, hwm, anon, ok := w.rss.stop(); ok {
		sc.RSSPeak, sc.RSSHWM, sc.RSSAnonPeak = &peak, &hwm, &anon
	}
	if sales == 0 {
		return nil
	}
	per := func(seconds float64) time.Duration {
		return time.Duration(seconds / float64(sales) * float64(time.Second))
	}
	if cpu1, ok := procTimes(w.pid); ok && w.cpuOK {
		sc.CPU = &saleCPU{User: per(cpu1.user - w.cpu0.user), System: per(cpu1.sys - w.cpu0.sys)}
	}
	after, err := scrapeCommits(ctx, w.addr)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	if n := after.Count - w.commits0.Count; n > 0 {
		sc.Commits = &journalCommits{Count: n, PerSale: float64(n) / float64(sales),
			Mean: time.Duration((after.Sum - w.commits0.Sum) / float64(n) * float64(time.Second))}
	}
	return nil
}

// running is a started bridged.
type running struct {
	*harness.Daemon
	// Ready is the time from exec to the ready log line.
	Ready time.Duration
	stop  func()
}

// launchIn starts the binary under test with dir's config and dir/data; its
// log goes to a file in the run's directory.
func (b *bench) launchIn(dir string, up *simServer) (*running, error) {
	return b.launchBin(b.bin, dir, up, nil)
}

// launchBin starts bin with dir's config and dir/data and the extra
// environment env.
func (b *bench) launchBin(bin, dir string, up *simServer, env []string) (*running, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cfg, err := harness.WriteConfigFile(dir, harness.Config{UpstreamURL: up.url, Terminals: terminalConfig(b.terminals())})
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(b.work, filepath.Base(dir)+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriterSize(f, 256<<10)
	start := time.Now()
	d, err := harness.Launch(bin, cfg, env, w)
	ready := time.Since(start)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	r := &running{Daemon: d, Ready: ready}
	r.stop = func() {
		if err := d.Stop(10 * time.Second); err != nil {
			b.logf("bridged did not stop cleanly: %v", err)
		}
		<-d.Exited() // the log reader is done with w
		_ = w.Flush()
		_ = f.Close()
	}
	return r, nil
}

// terminalIDs are the terminal names of the config and of the big journal.
func terminalIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("lane-%02d", i+1)
	}
	return ids
}

// deviceIDs are the simulator's devices, one per terminal.
func deviceIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("BENCH%04d", i+1)
	}
	return ids
}

func terminalConfig(n int) []harness.Terminal {
	ids, devs := terminalIDs(n), deviceIDs(n)
	out := make([]harness.Terminal, n)
	for i := range out {
		out[i] = harness.Terminal{ID: ids[i], Device: devs[i]}
	}
	return out
}

// sleep waits d, or less when ctx ends. The benchmark measures idle memory,
// which takes real idle time.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
