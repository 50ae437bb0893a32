package archtest

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/bridgedpos/bridged"

// rule says what one package's non-test code may not import. Bridged packages
// not listed in allowBridged are forbidden; forbidden lists outside packages.
type rule struct {
	allowBridged []string
	forbidden    []string
}

var (
	bbolt = "go.etcd.io/bbolt"
	chi   = "github.com/go-chi/chi"
	http  = "net/http"
)

// rules is DESIGN.md §2: cmd wires everything; server -> payment; store and
// upstream -> payment; payment imports no bbolt, chi or net/http; the simulator
// stands alone; nothing imports cmd, nor server save where a rule lists it.
// Issue 19 moved the service and operator verbs out of cmd/bridged into
// ossvc and opscli (docs/decisions.md); cmd still wires everything.
var rules = map[string]rule{
	"internal/payment":     {allowBridged: []string{"internal/idempotency", "internal/backoff", "internal/publicerr"}, forbidden: []string{bbolt, chi, http}},
	"internal/idempotency": {forbidden: []string{bbolt, chi, http}},
	"internal/config":      {allowBridged: []string{"internal/payment", "internal/loopback", "internal/secret"}, forbidden: []string{bbolt, chi, http}},
	"internal/store":       {allowBridged: []string{"internal/payment", "internal/idempotency"}, forbidden: []string{chi, http}},
	// storesim runs a shop's journal through time for the steady-state test and the bench.
	"internal/store/storesim": {allowBridged: []string{"internal/store", "internal/payment"}, forbidden: []string{chi, http}},
	"internal/upstream":       {allowBridged: []string{"internal/payment", "internal/backoff", "internal/secret", "internal/health"}, forbidden: []string{bbolt, chi}},
	"internal/simulator":      {forbidden: []string{bbolt}},
	// simtest starts the simulator for other packages' tests.
	"internal/simulator/simtest": {allowBridged: []string{"internal/simulator"}, forbidden: []string{bbolt}},
	"internal/server": {allowBridged: []string{"internal/payment", "internal/idempotency", "internal/apiauth", "internal/safetext", "internal/loopback",
		"internal/apitype", "internal/apiview", "internal/health", "internal/publicerr"}, forbidden: []string{bbolt}},
	// apitype is the local API's wire types, a leaf of the standard library
	// only (TestAPITypeIsStandardLibraryOnly): the server encodes them, the
	// operator verbs and the bench decode them. apiview builds the
	// operation's from the domain, for the server and the verbs alike.
	"internal/apitype": {forbidden: []string{bbolt, chi, http}},
	"internal/apiview": {allowBridged: []string{"internal/payment", "internal/apitype"}, forbidden: []string{bbolt, chi, http}},
	// apiauth is the signed-request scheme both ends use; safetext escapes
	// outside text for terminals, CSV and the page. Neither imports bridged.
	"internal/apiauth":  {forbidden: []string{bbolt, chi, http}},
	"internal/safetext": {forbidden: []string{bbolt, chi, http}},
	// publicerr is "safe to show" as a type: payment builds its refusals
	// with it, the server's one error writer reads only its public part.
	"internal/publicerr": {forbidden: []string{bbolt, chi, http}},
	// loopback is the one "is this machine" check: config, server and the simulator's command ask it.
	"internal/loopback": {forbidden: []string{bbolt, chi, http}},
	// health is the two reports the iyzico client gives the server
	// (upstream satisfies server.TokenReporter and UpstreamReporter): a leaf.
	"internal/health": {forbidden: []string{bbolt, chi, http}},
	// backoff is the one doubling backoff: the reconciler and the token owner use it.
	"internal/backoff": {forbidden: []string{bbolt, chi, http}},
	// secret is the one credential type: config reads secrets into it, upstream carries it to the OAuth2 form and header.
	"internal/secret":   {forbidden: []string{bbolt, chi, http}},
	"internal/archtest": {},
	// The proof suites' support: the harness runs the real binary and scans
	// what it captured; nothing in the product imports either.
	"proof/harness": {allowBridged: []string{"proof/scan", "internal/store"}},
	"proof/scan":    {},
	// The benchmark harness drives the real binary, the simulator and the
	// store; nothing imports it.
	"bench": {allowBridged: []string{"internal/payment", "internal/idempotency", "internal/store", "internal/store/storesim", "internal/upstream", "internal/secret", "internal/simulator", "proof/harness",
		"internal/apitype"}},
	// metrics owns the Prometheus registry; the wiring feeds it through hooks.
	"internal/metrics": {allowBridged: []string{"internal/payment"}, forbidden: []string{bbolt, chi}},
	// failpoint holds the daemon's test seams: it names payment's and
	// upstream's option types, and wraps HTTP (its build-tagged half arms
	// faults on the transport and the handler); never the journal's bbolt.
	"internal/failpoint": {allowBridged: []string{"internal/payment", "internal/upstream"}, forbidden: []string{bbolt, chi}},
	// ossvc is bridged as an OS service (kardianos/service, systemd, the
	// Windows SCM and ACLs, the listener): handed the loaded config, never
	// the journal, the payment service or HTTP.
	"internal/ossvc": {allowBridged: []string{"internal/config"}, forbidden: []string{bbolt, chi, http}},
	// opscli is the operator verbs: the signed client of a running daemon
	// (apiauth, safetext for what it prints), the journal itself when none
	// runs (store, payment), iyzico's login check of doctor (upstream), and
	// the service verbs over ossvc. It reads the daemon's answers as the wire
	// types (apitype), and shows the journal as the API would (apiview);
	// never the server, never chi.
	"internal/opscli": {allowBridged: []string{"internal/config", "internal/payment", "internal/store", "internal/upstream",
		"internal/apitype", "internal/apiview", "internal/apiauth", "internal/safetext", "internal/ossvc"}, forbidden: []string{chi}},
	// ossvctest is the stand-ins the tests of ossvc and cmd/bridged share
	// (a service manager, systemd's notify socket); only tests import it.
	"internal/ossvc/ossvctest": {forbidden: []string{bbolt, chi, http}},
	// profiling (the bench's pprof build) writes profiles and knows nothing of bridged.
	"internal/profiling": {forbidden: []string{bbolt, chi, http}},
}

func TestImportRules(t *testing.T) {
	root := filepath.Join("..", "..")
	imports := collectImports(t, root)
	if len(imports) == 0 {
		t.Fatal("found no packages: wrong root?")
	}
	for pkg, imps := range imports {
		for _, v := range violations(pkg, imps) {
			t.Error(v)
		}
	}
	for pkg := range rules {
		if _, ok := imports[pkg]; !ok {
			t.Errorf("rule for %s, which does not exist", pkg)
		}
	}
}

// TestViolationsAreCaught proves the checker itself fails on broken rules.
func TestViolationsAreCaught(t *testing.T) {
	tests := []struct {
		pkg, imp string
	}{
		{"internal/payment", "go.etcd.io/bbolt"},
		{"internal/payment", "net/http"},
		{"internal/payment", module + "/internal/store"},
		{"internal/server", module + "/internal/store"},
		{"internal/server", module + "/internal/upstream"},
		{"internal/store", module + "/internal/server"},
		{"internal/upstream", module + "/internal/simulator"},
		{"internal/simulator", module + "/internal/payment"},
		{"internal/config", module + "/cmd/bridged"},
		{"internal/newpkg", module + "/internal/server"},
		{"internal/ossvc", module + "/internal/server"},
		{"internal/ossvc", module + "/internal/opscli"},
		{"internal/opscli", module + "/cmd/bridged"},
		{"internal/opscli", module + "/internal/server"},
		{"internal/apitype", module + "/internal/payment"},
		{"internal/apitype", "net/http"},
		{"internal/apiview", module + "/internal/server"},
	}
	for _, tt := range tests {
		if len(violations(tt.pkg, []string{tt.imp})) == 0 {
			t.Errorf("%s importing %s was not caught", tt.pkg, tt.imp)
		}
	}
	if v := violations("internal/server", []string{module + "/internal/payment", "net/http"}); len(v) != 0 {
		t.Errorf("allowed imports flagged: %v", v)
	}
}

func violations(pkg string, imps []string) []string {
	var out []string
	r, known := rules[pkg]
	for _, imp := range imps {
		if rel, ok := strings.CutPrefix(imp, module+"/"); ok {
			switch {
			case strings.HasPrefix(pkg, "cmd/"):
				if strings.HasPrefix(rel, "cmd/") {
					out = append(out, pkg+" imports "+imp+": nothing imports cmd")
				}
			case strings.HasPrefix(rel, "cmd/") || (rel == "internal/server" && !contains(r.allowBridged, rel)):
				out = append(out, pkg+" imports "+imp+": nothing imports cmd or server")
			case !known:
				out = append(out, pkg+" has no import rule: add one to archtest before it imports "+imp)
			case !contains(r.allowBridged, rel):
				out = append(out, pkg+" imports "+imp+": not allowed by DESIGN.md §2")
			}
			continue
		}
		for _, f := range r.forbidden {
			if imp == f || strings.HasPrefix(imp, f+"/") {
				out = append(out, pkg+" imports "+imp+": forbidden")
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// collectImports parses the imports of every non-test Go file under root,
// grouped by package directory relative to root.
func collectImports(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			out[rel] = append(out[rel], p)
		}
		if _, ok := out[rel]; !ok {
			out[rel] = nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k := range out {
		sort.Strings(out[k])
	}
	return out
}
