package archtest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// closures are the packages whose whole import closure (go list -deps), not
// only their own imports, must stay free of the journal's database, the
// router and HTTP. payment is the domain DESIGN.md §2 keeps apart from all
// three; idempotency and config sit beside it (payment imports the one, the
// other imports payment); apiauth, safetext and publicerr are leaves both
// ends of the API share; secret is the credential type config and upstream
// share; ossvc is the OS service code, kardianos/service and x/sys only. A
// new dependency of any of them that drags bbolt, chi or net/http in through
// a side door fails here, where TestImportRules, which reads only the
// package's own import lines, cannot see it.
var closures = map[string][]string{
	"internal/payment":     {bbolt, chi, http},
	"internal/idempotency": {bbolt, chi, http},
	"internal/config":      {bbolt, chi, http},
	"internal/apiauth":     {bbolt, chi, http},
	"internal/safetext":    {bbolt, chi, http},
	"internal/secret":      {bbolt, chi, http},
	"internal/publicerr":   {bbolt, chi, http},
	"internal/ossvc":       {bbolt, chi, http},
	"internal/health":      {bbolt, chi, http},
}

// TestAPITypeIsStandardLibraryOnly: the wire types' whole closure is the
// standard library, so that any client of the API can take them.
func TestAPITypeIsStandardLibraryOnly(t *testing.T) {
	for _, b := range builds {
		if v := nonStandard("internal/apitype", listDeps(t, b.goos, b.tags)["internal/apitype"]); len(v) != 0 {
			t.Errorf("GOOS=%s tags=%q: %v", b.goos, b.tags, v)
		}
	}
	deps := listDeps(t, "linux", "")
	if len(nonStandard("internal/apiview", deps["internal/apiview"])) == 0 {
		t.Error("apiview's closure (payment and more) was not caught as beyond the standard library")
	}
}

// nonStandard lists the packages of a closure that are not the standard
// library's (whose paths have no dot in their first element).
func nonStandard(pkg string, closure []string) []string {
	var out []string
	for _, dep := range closure {
		first, _, _ := strings.Cut(dep, "/")
		if strings.Contains(first, ".") {
			out = append(out, pkg+" depends on "+dep)
		}
	}
	return out
}

// builds are the builds the closures are checked in: the per-OS files of a
// package and the failpoint tag each choose other imports.
var builds = []struct{ goos, tags string }{{"linux", ""}, {"windows", ""}, {"linux", "failpoint"}}

func TestImportClosures(t *testing.T) {
	for _, b := range builds {
		deps := listDeps(t, b.goos, b.tags)
		for pkg, forbidden := range closures {
			closure, ok := deps[pkg]
			if !ok {
				t.Errorf("closure rule for %s, which does not exist", pkg)
				continue
			}
			for _, v := range closureViolations(pkg, closure, forbidden) {
				t.Errorf("GOOS=%s tags=%q: %s", b.goos, b.tags, v)
			}
		}
	}
}

// TestClosureViolationsAreCaught proves the check fails where a closure
// holds what it must not: the server's holds chi and net/http, the operator
// verbs' holds bbolt through the store.
func TestClosureViolationsAreCaught(t *testing.T) {
	deps := listDeps(t, "linux", "")
	tests := []struct {
		pkg, forbidden string
	}{
		{"internal/server", chi},
		{"internal/server", http},
		{"internal/opscli", bbolt},
		{"internal/store", bbolt},
	}
	for _, tt := range tests {
		if len(closureViolations(tt.pkg, deps[tt.pkg], []string{tt.forbidden})) == 0 {
			t.Errorf("%s's closure holding %s was not caught", tt.pkg, tt.forbidden)
		}
	}
	if v := closureViolations("internal/payment", deps["internal/payment"], []string{bbolt, chi, http}); len(v) != 0 {
		t.Errorf("payment's closure flagged: %v", v)
	}
}

func closureViolations(pkg string, closure, forbidden []string) []string {
	var out []string
	for _, dep := range closure {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				out = append(out, pkg+" depends on "+dep+" (through its imports): forbidden")
			}
		}
	}
	return out
}

// listDeps is every package of the module with its import closure, as go
// list -deps reports it for that OS and those tags.
func listDeps(t *testing.T, goos, tags string) map[string][]string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	cmd := exec.Command(goCmd, "list", "-tags="+tags, "-f", "{{.ImportPath}} {{join .Deps \" \"}}", "./...")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "GOOS="+goos)
	out, err := cmd.Output()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		// go could not be started: under Wine there is no Go toolchain on
		// the Windows side. The closures are the same on every host, and
		// the Linux run checks them.
		t.Skipf("go list needs a Go toolchain to run: %v", err)
	}
	if err != nil {
		t.Fatalf("go list (GOOS=%s, tags %q): %v", goos, tags, err)
	}
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg, ok := strings.CutPrefix(fields[0], module+"/")
		if !ok {
			continue
		}
		deps[pkg] = fields[1:]
	}
	if len(deps) == 0 {
		t.Fatal("go list found no packages: wrong root?")
	}
	return deps
}
