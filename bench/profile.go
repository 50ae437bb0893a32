package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// profileRun is one profiled scenario: bridged built with the pprof tag
// (cmd/bridged/profile_on.go), driven like the bridged scenario, its CPU and
// allocation profiles summarised by go tool pprof.
type profileRun struct {
	Concurrency int    `json:"concurrency"`
	Dir         string `json:"dir"`
	Sales       int    `json:"sales"`
	// CPU is the top functions by their own time (flat), Cum the selected
	// frames by their cumulative time, Allocs the top functions by bytes
	// allocated; each the lines of go tool pprof -top.
	CPU    []string `json:"cpu_top"`
	Cum    []string `json:"cpu_cum"`
	Allocs []string `json:"allocs_top"`
	// Total is pprof's header line (total samples, duration).
	Total string `json:"total"`
}

// profileFrames are the frames whose cumulative share of bridged's CPU the
// report lists: the parts of a sale's path.
var profileFrames = []string{
	`net/http\.\(\*conn\)\.serve$`,
	`server\.\(\*server\)\.handleCreatePayment$`,
	`payment\.\(\*Service\)\.execute$`,
	`payment\.\(\*Service\)\.begin$`,
	`payment\.\(\*Service\)\.commit$`,
	`store\.\(\*Store\)\.update$`,
	`bbolt\.\(\*Tx\)\.Commit$`,
	`bbolt\.fdatasync$`,
	`bbolt\.\(\*DB\)\.mmap$`,
	`upstream\.\(\*Client\)\.`,
	`net/http\.\(\*persistConn\)\.`,
	`encoding/json\.`,
	`rs/zerolog\.`,
	`crypto/sha256\.`,
	`runtime\.gcBgMarkWorker$`,
	`runtime\.mallocgc$`,
	`runtime\.schedule$`,
	`syscall\.Syscall|internal/runtime/syscall\.Syscall6$`,
}

// profile drives bridged's profiling build at each concurrency into
// -profile DIR and summarises the profiles.
func (b *bench) profile(ctx context.Context, rep *report) error {
	bin := filepath.Join(b.work, "bin", "bridged-pprof")
	if err := b.goBuild(ctx, []string{"CGO_ENABLED=0"}, "-tags", "pprof", "-o", bin, "./cmd/bridged"); err != nil {
		return err
	}
	for _, conc := range b.opt.concurrency {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		dir, err := filepath.Abs(filepath.Join(b.opt.profile, fmt.Sprintf("c%d", conc)))
		if err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		up, err := startSim(b.terminals())
		if err != nil {
			return err
		}
		d, err := b.launchBin(bin, filepath.Join(b.work, fmt.Sprintf("profile-c%d", conc)), up, []string{"BRIDGED_PROFILE_DIR=" + dir})
		if err != nil {
			up.close()
			return err
		}
		res := drive(ctx, conc, b.opt.warmup, b.opt.duration, newECR(d.Addr, terminalIDs(b.terminals()), conc).sale)
		d.stop() // writes the profiles
		up.close()
		if n := res.errorCount(); n > 0 {
			return fmt.Errorf("profile at %d terminals: %d sales failed: %v", conc, n, res.errors)
		}
		pr := profileRun{Concurrency: conc, Dir: dir, Sales: res.ok}
		cpu := filepath.Join(dir, "cpu.pprof")
		if pr.Total, pr.CPU, err = pprofTop(ctx, bin, cpu, "-top", "-nodecount=20"); err != nil {
			return err
		}
		_, all, err := pprofTop(ctx, bin, cpu, "-top", "-cum", "-nodecount=100000")
		if err != nil {
			return err
		}
		for _, f := range profileFrames {
			re := regexp.MustCompile(f)
			for _, l := range all {
				if fs := strings.Fields(l); len(fs) >= 6 && re.MatchString(fs[len(fs)-1]) {
					pr.Cum = append(pr.Cum, l)
					break
				}
			}
		}
		if _, pr.Allocs, err = pprofTop(ctx, bin, filepath.Join(dir, "allocs.pprof"), "-top", "-nodecount=15", "-sample_index=alloc_space"); err != nil {
			return err
		}
		rep.Profiles = append(rep.Profiles, pr)
		b.logf("profile at %d terminals: %s (%d sales) in %s", conc, pr.Total, pr.Sales, dir)
	}
	return nil
}

// pprofTop runs go tool pprof and returns its header line (total samples)
// and the rows of its table.
func pprofTop(ctx context.Context, bin, prof string, args ...string) (string, []string, error) {
	cmd := exec.CommandContext(ctx, "go", append(append([]string{"tool", "pprof"}, args...), bin, prof)...)
	out, err := cmd.Output()
	if err != nil {
		return "", nil, fmt.Errorf("go tool pprof %v %s: %w", args, prof, err)
	}
	var total string
	var rows []string
	table := false
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "Duration:"):
			total = strings.TrimSpace(l)
		case strings.Contains(l, "flat%") && strings.Contains(l, "cum%"):
			table = true
		case table && strings.TrimSpace(l) != "":
			rows = append(rows, strings.TrimRight(l, " "))
		}
	}
	return total, rows, sc.Err()
}
