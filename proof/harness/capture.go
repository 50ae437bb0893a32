package harness

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/bridgedpos/bridged/proof/scan"
)

// Capture is the folder where one test keeps what the daemon said. With
// PROOF_CAPTURE_DIR set it lives there (and stays, for the final scan of all
// suites); otherwise in the test's temporary directory. Either way it is
// scanned for secrets and card numbers when the test ends.
type Capture struct {
	Dir string

	mu      sync.Mutex
	needles map[string]bool
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// NewCapture makes the capture folder of t under suite, and scans it when t
// ends: a finding fails t.
func NewCapture(t *testing.T, suite string) *Capture {
	t.Helper()
	dir := t.TempDir()
	if root := os.Getenv("PROOF_CAPTURE_DIR"); root != "" {
		dir = filepath.Join(root, suite, unsafeName.ReplaceAllString(t.Name(), "_"))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	c := &Capture{Dir: dir, needles: map[string]bool{}}
	t.Cleanup(func() {
		c.writeNeedles(t)
		r, err := scan.Dir(dir)
		if err != nil {
			t.Errorf("scan %s: %v", dir, err)
			return
		}
		for _, f := range r.Findings {
			t.Errorf("secret scan: %s", f)
		}
	})
	return c
}

// Secret adds values the scan must not find (tokens, keys, passwords).
func (c *Capture) Secret(values ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range values {
		if v != "" {
			c.needles[v] = true
		}
	}
}

// File opens (appending) a file of the capture.
func (c *Capture) File(t testing.TB, name string) *os.File {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(c.Dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Append adds one line to a file of the capture.
func (c *Capture) Append(t testing.TB, name, line string) {
	t.Helper()
	f := c.File(t, name)
	defer f.Close()
	if _, err := f.WriteString(strings.TrimRight(line, "\n") + "\n"); err != nil {
		t.Fatal(err)
	}
}

func (c *Capture) writeNeedles(t *testing.T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for n := range c.needles {
		b.WriteString(n + "\n")
	}
	if err := os.WriteFile(filepath.Join(c.Dir, scan.NeedlesFile), []byte(b.String()), 0o600); err != nil {
		t.Errorf("write needles: %v", err)
	}
}

// Summary reports a suite's one-line figures: in the test log, and appended
// to the file PROOF_SUMMARY names (CI prints that file at the end).
func Summary(t testing.TB, line string) {
	t.Helper()
	t.Log(line)
	path := os.Getenv("PROOF_SUMMARY")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Error(err)
	}
}

// EnvInt reads a suite's size from the environment: def when name is unset,
// and a failed test when it is set to anything but a positive number.
func EnvInt(t testing.TB, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, s)
	}
	return n
}
