// Package harness runs the real bridged binary for the proof suites: it
// builds it (with the failpoint tag when asked), writes its config, starts it
// against a simulator, waits for it to be ready, kills it with SIGKILL, and
// captures what it said (logs, answers, journal exports) for the secret
// scanner. It is test support: nothing in the product imports it.
package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

var (
	buildMu  sync.Mutex
	builtBin = map[string]string{} // tags -> path
	buildDir string
)

// Main runs a suite's tests and removes the binaries built for it.
func Main(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// Binary builds cmd/bridged with the given build tags ("" for none) once per
// test process and returns its path.
func Binary(tb testing.TB, tags string) string {
	tb.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := builtBin[tags]; ok {
		return p
	}
	root, err := ModuleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	if buildDir == "" {
		if buildDir, err = os.MkdirTemp("", "bridged-proof-bin-"); err != nil {
			tb.Fatal(err)
		}
	}
	name := "bridged"
	if tags != "" {
		name += "-" + strings.ReplaceAll(tags, ",", "-")
	}
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	out := filepath.Join(buildDir, name)
	if _, err := exec.LookPath("go"); err != nil && runtime.GOOS == "windows" {
		// The Windows test binaries run under Wine in CI, which has no Go
		// toolchain to build the daemon with (docs/windows.md).
		tb.Skip("the proof suites build bridged with go, which is not on this Windows PATH")
	}
	args := []string{"build", "-o", out}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command("go", append(args, "./cmd/bridged")...)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build bridged (tags %q): %v\n%s", tags, err, b)
	}
	builtBin[tags] = out
	return out
}

// ModuleRoot finds the directory holding go.mod, from the working directory up.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}
