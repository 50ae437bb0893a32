//go:build pprof

package profiling

// The profiling build of the daemon, for the bench (go run ./bench
// -profile DIR): with BRIDGED_PROFILE_DIR set, the daemon writes a CPU
// profile of its whole life to DIR/cpu.pprof and, when it stops, the heap's
// allocations to DIR/allocs.pprof. Production builds compile none of this
// (profile_off.go).

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
)

// Start starts the CPU profile and returns what stops it and
// writes the allocation profile.
func Start(getenv func(string) string, stderr io.Writer) func() {
	dir := getenv("BRIDGED_PROFILE_DIR")
	if dir == "" {
		return func() {}
	}
	fail := func(err error) func() {
		fmt.Fprintf(stderr, "profile: %v\n", err)
		return func() {}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail(err)
	}
	cpu, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err != nil {
		return fail(err)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		_ = cpu.Close()
		return fail(err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = cpu.Close()
		f, err := os.Create(filepath.Join(dir, "allocs.pprof"))
		if err != nil {
			fail(err)
			return
		}
		defer f.Close()
		runtime.GC()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			fail(err)
		}
	}
}
