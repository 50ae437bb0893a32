package repocheck

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

const modulePath = "github.com/bridgedpos/bridged"

// maxPathLen bounds a tracked path (relative to the repository root). Windows
// refuses paths longer than MAX_PATH (259 characters) unless long paths are
// enabled, which Git for Windows does not do by default; the module cache
// puts about 100 characters before each file of a module
// (C:\Users\<name>\go\pkg\mod\github.com\bridgedpos\bridged@<pseudo-version>\).
const maxPathLen = 150

// reservedNames are the device names Windows reserves in every directory,
// whatever the extension: "nul", "NUL.txt" and "nul.tar.gz" all open the
// device. COM0 and LPT0 are reserved since Windows 11 as well.
var reservedNames = map[string]bool{"CON": true, "PRN": true, "AUX": true, "NUL": true, "CONIN$": true, "CONOUT$": true}

func init() {
	for _, d := range "0123456789¹²³" {
		reservedNames["COM"+string(d)] = true
		reservedNames["LPT"+string(d)] = true
	}
}

// pathProblems returns why Windows (or a Windows checkout) cannot hold these
// slash-separated paths; nil when it can.
func pathProblems(paths []string) []string {
	var probs []string
	seen := map[string]string{} // lower-cased path or directory -> as tracked
	for _, p := range paths {
		if n := len([]rune(p)); n > maxPathLen {
			probs = append(probs, fmt.Sprintf("%s: %d characters, over %d (MAX_PATH once checked out or in the module cache)", p, n, maxPathLen))
		}
		elems := strings.Split(p, "/")
		for i, e := range elems {
			if msg := elemProblem(e); msg != "" {
				probs = append(probs, fmt.Sprintf("%s: %q %s", p, e, msg))
			}
			prefix := strings.Join(elems[:i+1], "/")
			low := strings.ToLower(prefix)
			if other, ok := seen[low]; ok && other != prefix {
				probs = append(probs, fmt.Sprintf("%s: %q and %q differ only in case (one path on Windows and macOS)", p, other, prefix))
				continue
			}
			seen[low] = prefix
		}
	}
	return probs
}

// elemProblem says what is wrong with one path element on Windows, or "".
func elemProblem(e string) string {
	if e == "" {
		return "is empty"
	}
	if len(e) > 255 {
		return "is longer than 255 bytes"
	}
	for _, r := range e {
		if r < 0x20 || strings.ContainsRune(`<>:"\|?*`, r) {
			return fmt.Sprintf("holds %q, which Windows does not allow in a file name", r)
		}
	}
	if strings.HasSuffix(e, ".") || strings.HasSuffix(e, " ") {
		return "ends in a dot or a space, which Windows drops"
	}
	base, _, _ := strings.Cut(e, ".")
	if reservedNames[strings.ToUpper(strings.TrimRight(base, " "))] {
		return "is a device name Windows reserves (CON, PRN, AUX, NUL, COM0-9, LPT0-9, with any extension)"
	}
	return ""
}

// repoRoot returns the root of the git work tree holding this package, or
// skips the test when there is none (a module zip, or no git on PATH).
func repoRoot(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not on PATH: the repository checks read `git ls-files` (under Wine there is no Windows git)")
	}
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skip("not in a git work tree (a module zip or an export): nothing to check")
	}
	return strings.TrimSpace(string(out))
}

// trackedFiles lists the files git tracks (the index), as the next commit
// would hold them; files deleted from the work tree but not from the index
// are left out.
func trackedFiles(t *testing.T, root string) []string {
	t.Helper()
	cmd := exec.Command("git", "-c", "core.quotepath=off", "ls-files", "-z", "--cached")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	var files []string
	for _, p := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		if p == "" {
			continue
		}
		if _, err := os.Lstat(filepath.Join(root, filepath.FromSlash(p))); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		files = append(files, p)
	}
	if len(files) == 0 {
		t.Fatal("git ls-files listed no file")
	}
	return files
}

func TestTrackedPathsAreWindowsSafe(t *testing.T) {
	root := repoRoot(t)
	files := trackedFiles(t, root)
	for _, p := range pathProblems(files) {
		t.Error(p)
	}
	t.Logf("%d tracked files checked", len(files))
}

// TestModuleZips builds the module zip the Go module proxy would serve for a
// tag of this tree (golang.org/x/mod/zip, the go command's own code): a file
// it refuses makes `go install github.com/bridgedpos/bridged/...@vX` fail
// for everyone.
func TestModuleZips(t *testing.T) {
	root := repoRoot(t)
	var files []zip.File
	for _, p := range trackedFiles(t, root) {
		files = append(files, repoFile{root: root, path: p})
	}
	cf, err := zip.CheckFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range cf.Invalid {
		t.Errorf("the module zip refuses %s: %v", f.Path, f.Err)
	}
	if err := cf.SizeError; err != nil {
		t.Errorf("the module zip is too large: %v", err)
	}
	if err := zip.Create(io.Discard, module.Version{Path: modulePath, Version: "v0.0.1"}, files); err != nil {
		t.Errorf("module zip: %v", err)
	}
	t.Logf("module zip: %d files, %d omitted (in nested modules or vendor)", len(cf.Valid), len(cf.Omitted))
}

// TestCheckersCatchBadPaths proves both checks fail on what they are for.
func TestCheckersCatchBadPaths(t *testing.T) {
	bad := []string{
		"internal/payment/testdata/fuzz/FuzzParseMoney/nul",
		"docs/CON.md",
		"a/aux.tar.gz",
		"a/Com1",
		"a/lpt9.txt",
		"a/nul .txt",
		"a/trailing.",
		"a/trailing ",
		"a/what?.txt",
		"a/colon:name",
		"a/back\\slash",
		"a/tab\there",
		strings.Repeat("x/", 80) + "f",
	}
	for _, p := range bad {
		if len(pathProblems([]string{p})) == 0 {
			t.Errorf("%q was not caught", p)
		}
	}
	for _, pair := range [][]string{
		{"README.md", "readme.md"},
		{"docs/a.md", "Docs/b.md"},
	} {
		if len(pathProblems(pair)) == 0 {
			t.Errorf("case collision %q was not caught", pair)
		}
	}
	good := []string{"internal/payment/testdata/fuzz/FuzzParseMoney/nul_byte", "docs/console.md", "a/auxiliary", "a/com10", "a/.gitignore", "a/nulls.go"}
	if p := pathProblems(good); len(p) != 0 {
		t.Errorf("good paths flagged: %q", p)
	}

	zipOf := func(paths ...string) error {
		files := []zip.File{memFile{"go.mod", "module " + modulePath + "\n"}}
		for _, p := range paths {
			files = append(files, memFile{p, "x"})
		}
		return zip.Create(io.Discard, module.Version{Path: modulePath, Version: "v0.0.1"}, files)
	}
	for _, paths := range [][]string{
		{"internal/payment/testdata/fuzz/FuzzParseMoney/nul"},
		{"a/README", "A/readme"},
	} {
		if zipOf(paths...) == nil {
			t.Errorf("the module zip took %q", paths)
		}
	}
	if err := zipOf("a/README", "a/nul_byte"); err != nil {
		t.Errorf("the module zip refused good files: %v", err)
	}
}

// repoFile is a tracked file for zip.Create.
type repoFile struct{ root, path string }

func (f repoFile) Path() string { return f.path }
func (f repoFile) Lstat() (os.FileInfo, error) {
	return os.Lstat(filepath.Join(f.root, filepath.FromSlash(f.path)))
}
func (f repoFile) Open() (io.ReadCloser, error) {
	return os.Open(filepath.Join(f.root, filepath.FromSlash(f.path)))
}

// memFile is a file made up by a test.
type memFile struct{ path, data string }

func (f memFile) Path() string                { return f.path }
func (f memFile) Lstat() (os.FileInfo, error) { return memInfo{f}, nil }
func (f memFile) Open() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader([]byte(f.data))), nil
}

type memInfo struct{ f memFile }

func (i memInfo) Name() string       { return filepath.Base(i.f.path) }
func (i memInfo) Size() int64        { return int64(len(i.f.data)) }
func (i memInfo) Mode() fs.FileMode  { return 0o644 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }

// TestMutantsStillApply: every patch of proof/mutants applies to the tree
// as it is (git apply --check, which writes nothing). .ci/mutants.sh runs
// them at the end of CI and fails on a patch that no longer applies; a change
// that moves the code a mutant breaks must move its patch too, and this says
// so in the first minutes of `go test ./...`.
func TestMutantsStillApply(t *testing.T) {
	root := repoRoot(t)
	patches, err := filepath.Glob(filepath.Join(root, "proof", "mutants", "*.patch"))
	if err != nil || len(patches) == 0 {
		t.Fatalf("no mutants under proof/mutants: %v", err)
	}
	for _, p := range patches {
		cmd := exec.Command("git", "apply", "--check", p)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s no longer applies (update it to the code it breaks): %v\n%s", filepath.Base(p), err, out)
		}
	}
}
