// Command bench is bridged's benchmark harness (issue 10). In one run on one
// machine it measures the disk's durable commit, drives the same sale
// workload at the iyzico simulator directly, through a bare
// httputil.ReverseProxy and through the real bridged binary (fsync on), and
// measures bridged's memory, start time and binary size. It prints a
// markdown report and compares it with the targets; timings are reported,
// never asserted. docs/benchmarks.md says how to read it.
//
//	go run ./bench                              # the full run (a few minutes; the first also fills a 1 M-record journal)
//	go run ./bench -smoke                       # ~20 s: checks that the harness works (CI)
//	go run ./bench -out docs/benchmarks.md      # the full run, written into the document
//	go run ./bench -baseline REV                # only this tree's bridged against REV's, same run, alternating rounds
//
// It exits non-zero when a measurement could not be made or a sale failed:
// figures with failed sales in them are not figures. A target missed is not
// a failure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the flags. Defaults in one place: defaults and smokeDefaults.
type options struct {
	smoke       bool
	duration    time.Duration // measured time per scenario
	warmup      time.Duration // unmeasured time before it (connections, token)
	concurrency []int
	commits     int           // durable commits timed
	records     int           // operations in the big journal
	starts      int           // starts timed per journal size
	idle        time.Duration // wait before the idle RSS sample
	dir         string        // parent of the run's data dirs: the filesystem measured
	cache       string        // where the big journal is kept between runs
	out         string
	keep        bool
	profile     string // when set: profile bridged at each concurrency into this directory
	// The steady-state run: days simulated, sales per lane and day, days retained.
	steadyDays, steadySales, steadyRetain int
	// The comparison with another revision: when baseline is set, the run
	// is only that (build both, drive both, -rounds times).
	baseline string
	rounds   int
	command  string // as typed, for the report
}

func defaults() options {
	return options{duration: 10 * time.Second, warmup: time.Second, concurrency: []int{1, 64},
		commits: 2000, records: 1_000_000, starts: 5, idle: 3 * time.Second,
		steadyDays: 730, steadySales: 10, steadyRetain: 400,
		rounds: 3, dir: os.TempDir(), cache: os.TempDir()}
}

// smokeDefaults replace the defaults that -smoke changes, unless the flag was
// given explicitly.
func smokeDefaults() options {
	return options{duration: time.Second, warmup: 300 * time.Millisecond,
		commits: 200, records: 20_000, starts: 2, idle: time.Second,
		steadyDays: 60, steadySales: 2, steadyRetain: 20}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	o := defaults()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.smoke, "smoke", false, "short run (~20 s) that checks the harness works; timings are meaningless")
	fs.DurationVar(&o.duration, "duration", o.duration, "measured time per scenario (after -warmup)")
	fs.DurationVar(&o.warmup, "warmup", o.warmup, "unmeasured time before each scenario")
	conc := fs.String("concurrency", "1,64", "terminals driven at once, comma-separated")
	fs.IntVar(&o.commits, "commits", o.commits, "durable commits timed for the commit latency")
	fs.IntVar(&o.records, "records", o.records, "operations in the big journal for the start time")
	fs.IntVar(&o.starts, "starts", o.starts, "starts timed per journal size")
	fs.DurationVar(&o.idle, "idle", o.idle, "how long bridged idles after ready before its idle RSS is read")
	fs.StringVar(&o.dir, "dir", o.dir, "parent directory of the run's data dirs (the filesystem whose commit is measured)")
	fs.StringVar(&o.cache, "cache", o.cache, "directory that keeps the big journal between runs")
	fs.StringVar(&o.out, "out", "", "also write the report: .json for JSON, else markdown (into an existing file's bench:begin/bench:end markers when it has them)")
	fs.IntVar(&o.steadyDays, "steady-days", o.steadyDays, "days of the steady-state run (a shop's journal, time compressed)")
	fs.IntVar(&o.steadySales, "steady-sales", o.steadySales, "sales per lane and day in the steady-state run")
	fs.IntVar(&o.steadyRetain, "steady-retain", o.steadyRetain, "journal.retain_days of the steady-state run")
	fs.StringVar(&o.baseline, "baseline", "", "instead of the full run: set bridged of this tree against bridged of this git revision, the sale workload only, in alternating rounds")
	fs.IntVar(&o.rounds, "rounds", o.rounds, "rounds per concurrency of the -baseline comparison")
	fs.BoolVar(&o.keep, "keep", false, "keep the run's directory (data dirs, daemon logs)")
	fs.StringVar(&o.profile, "profile", "", "also profile bridged (CPU and allocations, go tool pprof) at each concurrency into this directory")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.command = strings.TrimSpace("go run ./bench " + strings.Join(args, " "))
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if o.smoke {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		s := smokeDefaults()
		for name, apply := range map[string]func(){
			"duration":      func() { o.duration = s.duration },
			"warmup":        func() { o.warmup = s.warmup },
			"commits":       func() { o.commits = s.commits },
			"records":       func() { o.records = s.records },
			"starts":        func() { o.starts = s.starts },
			"idle":          func() { o.idle = s.idle },
			"steady-days":   func() { o.steadyDays = s.steadyDays },
			"steady-sales":  func() { o.steadySales = s.steadySales },
			"steady-retain": func() { o.steadyRetain = s.steadyRetain },
		} {
			if !set[name] {
				apply()
			}
		}
	}
	var errs []error
	o.concurrency = nil
	for _, f := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("-concurrency: %q is not a positive number", f))
			continue
		}
		o.concurrency = append(o.concurrency, n)
	}
	if o.duration <= 0 {
		errs = append(errs, errors.New("-duration: must be positive"))
	}
	if o.warmup < 0 || o.idle < 0 {
		errs = append(errs, errors.New("-warmup, -idle: must not be negative"))
	}
	if o.rounds < 1 {
		errs = append(errs, errors.New("-rounds: must be at least 1"))
	}
	if o.commits < 1 || o.starts < 1 || o.records < 1 {
		errs = append(errs, errors.New("-commits, -starts, -records: must be at least 1"))
	}
	if o.steadyDays < 1 || o.steadySales < 1 || o.steadyRetain < 1 || o.steadyRetain >= o.steadyDays {
		errs = append(errs, errors.New("-steady-days, -steady-sales, -steady-retain: at least 1, and fewer days retained than run"))
	}
	return o, errors.Join(errs...)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	b := &bench{opt: o, log: stderr}
	rep, err := b.run(ctx)
	if rep != nil {
		md := rep.markdown()
		fmt.Fprint(stdout, md)
		if o.out != "" {
			if werr := writeReport(o.out, rep, md); werr != nil {
				err = errors.Join(err, werr)
			} else {
				fmt.Fprintf(stderr, "bench: report written to %s\n", o.out)
			}
		}
		if ferr := rep.failure(); ferr != nil {
			err = errors.Join(err, ferr)
		}
	}
	return err
}
