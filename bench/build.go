package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// binaryInfo is the size of bridged built two ways.
type binaryInfo struct {
	// Plain is `go build ./cmd/bridged`, symbols and DWARF included.
	Plain int64 `json:"plain_bytes"`
	// Release is the Makefile's release build: CGO_ENABLED=0 -trimpath
	// -buildvcs=false -ldflags "-s -w -buildid=" (stripped). It is the
	// binary under test.
	Release   int64         `json:"release_bytes"`
	BuildTime time.Duration `json:"build_ns"`
}

// releaseLDFlags are the Makefile's, less the version stamp.
const releaseLDFlags = "-s -w -buildid="

// build compiles cmd/bridged (no build tags: the production code, no
// failpoints) into the run's directory.
func (b *bench) build(ctx context.Context, rep *report) error {
	exe := exeSuffix()
	dir := filepath.Join(b.work, "bin")
	plain := filepath.Join(dir, "bridged-plain"+exe)
	release := filepath.Join(dir, "bridged"+exe)
	start := time.Now()
	if err := b.goBuild(ctx, nil, "-o", plain, "./cmd/bridged"); err != nil {
		return err
	}
	if err := b.goBuild(ctx, []string{"CGO_ENABLED=0"}, "-trimpath", "-buildvcs=false",
		"-ldflags", releaseLDFlags, "-o", release, "./cmd/bridged"); err != nil {
		return err
	}
	info := binaryInfo{BuildTime: time.Since(start)}
	for _, f := range []struct {
		path string
		size *int64
	}{{plain, &info.Plain}, {release, &info.Release}} {
		fi, err := os.Stat(f.path)
		if err != nil {
			return err
		}
		*f.size = fi.Size()
	}
	rep.Binary = &info
	b.bin = release
	b.logf("binary: %s plain, %s release (built in %s)", mib(info.Plain), mib(info.Release), info.BuildTime.Round(time.Millisecond))
	return nil
}

func (b *bench) goBuild(ctx context.Context, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", append([]string{"build"}, args...)...)
	cmd.Dir = b.root
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %v: %w\n%s", args, err, out)
	}
	return nil
}
