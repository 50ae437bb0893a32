package main

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// baselineRun sets the tree's bridged against the bridged of another
// revision, driving the same sale workload at both in alternating rounds so
// that a change of the machine's load falls on both: the same-run ratio a
// refactoring is judged by (issue 19: "the bench's figures do not get worse
// beyond noise").
type baselineRun struct {
	Rev    string        `json:"rev"`    // as given
	Commit string        `json:"commit"` // what it resolved to
	Rounds int           `json:"rounds"`
	Rows   []baselineRow `json:"rows"`
}

// baselineRow is one concurrency: each round's scenario for both binaries.
type baselineRow struct {
	Concurrency int        `json:"concurrency"`
	Baseline    []scenario `json:"baseline"`
	Current     []scenario `json:"current"`
}

// baselineFigure is one figure of a row: how to read it from a scenario,
// and whether a larger value is better.
type baselineFigure struct {
	name   string
	value  func(s scenario) float64
	render func(v float64) string
}

var baselineFigures = []baselineFigure{
	{"p50", func(s scenario) float64 { return float64(s.Latency.P50) }, renderMS},
	{"p99", func(s scenario) float64 { return float64(s.Latency.P99) }, renderMS},
	{"sales/s", func(s scenario) float64 { return s.Throughput }, func(v float64) string { return fmt.Sprintf("%.0f", v) }},
	{"bridged CPU per sale", func(s scenario) float64 {
		if s.CPU == nil {
			return 0
		}
		return float64(s.CPU.User + s.CPU.System)
	}, renderMS},
}

func renderMS(v float64) string { return ms(time.Duration(v)) }

// medianOf is the median of a figure over scenarios.
func medianOf(ss []scenario, f func(scenario) float64) float64 {
	vs := make([]float64, 0, len(ss))
	for _, s := range ss {
		vs = append(vs, f(s))
	}
	return median(vs)
}

// roundRatios are current / baseline of a figure, round by round, sorted.
func roundRatios(row baselineRow, f func(scenario) float64) []float64 {
	var rs []float64
	for i := range min(len(row.Baseline), len(row.Current)) {
		if b := f(row.Baseline[i]); b != 0 {
			rs = append(rs, f(row.Current[i])/b)
		}
	}
	slices.Sort(rs)
	return rs
}

// buildBaseline extracts the baseline revision's tree from git and builds its
// release binary the way build does the tree's.
func (b *bench) buildBaseline(ctx context.Context, rep *report) error {
	out, err := exec.CommandContext(ctx, "git", "-C", b.root, "rev-parse", "--verify", b.opt.baseline+"^{commit}").Output()
	if err != nil {
		return fmt.Errorf("-baseline %q is not a commit of this repository: %w", b.opt.baseline, err)
	}
	commit := strings.TrimSpace(string(out))
	src := filepath.Join(b.work, "baseline-src")
	if err := extractRevision(ctx, b.root, commit, src); err != nil {
		return err
	}
	bin := filepath.Join(b.work, "bin", "bridged-baseline"+exeSuffix())
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", releaseLDFlags, "-o", bin, "./cmd/bridged")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the baseline %s: %w\n%s", commit[:12], err, out)
	}
	b.baseBin = bin
	rep.Baseline = &baselineRun{Rev: b.opt.baseline, Commit: commit, Rounds: b.opt.rounds}
	b.logf("baseline %s (%s) built", b.opt.baseline, commit[:12])
	return nil
}

// extractRevision writes commit's tree (git archive) into dir.
func extractRevision(ctx context.Context, root, commit, dir string) error {
	cmd := exec.CommandContext(ctx, "git", "-C", root, "archive", "--format=tar", commit)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	xerr := untar(pipe, dir)
	_, _ = io.Copy(io.Discard, pipe)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git archive %s: %w: %s", commit[:12], err, stderr.String())
	}
	return xerr
}

// untar writes a tar stream's directories, files and symlinks under dir,
// refusing any name that would land outside it.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.FromSlash(h.Name)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("archive entry %q leaves the directory", h.Name)
		}
		path := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(path, 0o755)
		case tar.TypeReg:
			err = writeEntry(path, tr, h.FileInfo().Mode().Perm())
		case tar.TypeSymlink:
			if err = os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
				err = os.Symlink(h.Linkname, path)
			}
		}
		if err != nil {
			return err
		}
	}
}

func writeEntry(path string, r io.Reader, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm|0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// compareBaseline drives bridged of the tree and of the baseline at every
// concurrency, -rounds times each, alternating which goes first.
func (b *bench) compareBaseline(ctx context.Context, rep *report) error {
	if rep.Baseline == nil || b.baseBin == "" {
		return errors.New("no baseline binary")
	}
	for _, conc := range b.opt.concurrency {
		row := baselineRow{Concurrency: conc}
		for round := range b.opt.rounds {
			order := []bool{false, true} // baseline first in even rounds
			if round%2 == 1 {
				order = []bool{true, false}
			}
			for _, current := range order {
				if err := ctx.Err(); err != nil {
					return err
				}
				bin, who := b.baseBin, "baseline"
				if current {
					bin, who = b.bin, "current"
				}
				sc, err := b.scenario(ctx, targetBridged, conc, bin, fmt.Sprintf("%s-c%d-r%d", who, conc, round))
				if err != nil {
					return fmt.Errorf("%s at %d, round %d: %w", who, conc, round+1, err)
				}
				if sc.Errors > 0 {
					return fmt.Errorf("%s at %d, round %d: %d sales failed: %v", who, conc, round+1, sc.Errors, sc.ErrorKinds)
				}
				if current {
					row.Current = append(row.Current, sc)
				} else {
					row.Baseline = append(row.Baseline, sc)
				}
				b.logf("%-8s c=%-3d round %d: p50 %s p99 %s %.0f/s", who, conc, round+1, ms(sc.Latency.P50), ms(sc.Latency.P99), sc.Throughput)
			}
		}
		rep.Baseline.Rows = append(rep.Baseline.Rows, row)
	}
	return nil
}

// mdBaseline writes the tree against the baseline, when one was given.
func (r *report) mdBaseline(w *mdWriter) {
	bl := r.Baseline
	if bl == nil {
		return
	}
	short := bl.Commit
	if len(short) > 12 {
		short = short[:12]
	}
	w.p("### Against the baseline\n\n")
	w.p("bridged built from this tree and from `%s` (%s), the same release flags, driven in turn with the same sale workload: %d round(s) per concurrency, the baseline first in odd rounds and second in even ones, each on a fresh simulator and an empty journal. Medians over the rounds; the ratio is this tree's median over the baseline's, and the last column shows the same ratio round by round (its spread is the noise).\n\n",
		bl.Rev, short, bl.Rounds)
	w.p("| Terminals | Figure | Baseline | This tree | Ratio | Ratio per round |\n|--:|---|--:|--:|--:|---|\n")
	for _, row := range bl.Rows {
		for _, f := range baselineFigures {
			base, cur := medianOf(row.Baseline, f.value), medianOf(row.Current, f.value)
			rat := "n/a"
			if base != 0 {
				rat = fmt.Sprintf("%.2f×", cur/base)
			}
			var per []string
			for _, x := range roundRatios(row, f.value) {
				per = append(per, fmt.Sprintf("%.2f", x))
			}
			w.p("| %d | %s | %s | %s | %s | %s |\n", row.Concurrency, f.name, f.render(base), f.render(cur), rat, strings.Join(per, ", "))
		}
	}
	w.p("\n")
}

func exeSuffix() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}
