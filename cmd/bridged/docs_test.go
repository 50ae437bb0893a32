package main

// docs/api.md's shell examples, run as a reader would: `bridged demo`, the
// export line it prints, then every sh block in order in one shell. A block
// after the comment "<!-- example: vuk507" runs against a demo in that mode.
// Only the port changes (the demo listens on a free one here); curl fails on
// an HTTP error (--fail-with-body), and the event stream is cut after a while.

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

type docExample struct {
	line int
	mode string // vuk509 or vuk507
	code string
}

func apiExamples(t *testing.T) []docExample {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []docExample
	lines := strings.Split(string(raw), "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```sh" {
			continue
		}
		mode := "vuk509"
		if i > 0 && strings.HasPrefix(strings.TrimSpace(lines[i-1]), "<!-- example: vuk507") {
			mode = "vuk507"
		}
		indent := lines[i][:strings.Index(lines[i], "```")]
		start := i
		var code []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			code = append(code, strings.TrimPrefix(lines[i], indent))
		}
		out = append(out, docExample{line: start + 1, mode: mode, code: strings.Join(code, "\n")})
	}
	return out
}

func TestAPIGuideExamplesRun(t *testing.T) {
	realCurl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	for _, tool := range []string{"bash", "openssl", "grep", "sed", "cut", "head", "mktemp", "tr"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	examples := apiExamples(t)
	if len(examples) < 12 {
		t.Fatalf("only %d sh examples in docs/api.md", len(examples))
	}
	// curl as the examples call it, failing on an HTTP error.
	shim := t.TempDir()
	script := "#!/bin/sh\n" +
		"case \" $* \" in\n" +
		"  *\" -sN \"*) " + realCurl + " --max-time 2 \"$@\"; rc=$?; [ $rc -eq 28 ] && exit 0; exit $rc ;;\n" +
		"esac\n" +
		"exec " + realCurl + " --fail-with-body \"$@\"\n"
	if err := os.WriteFile(filepath.Join(shim, "curl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"vuk509", "vuk507"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			var out safeBuffer
			a := testApp(noEnv, &out, io.Discard)
			done := make(chan error, 1)
			go func() { done <- a.main(ctx, []string{"demo", "--listen", "127.0.0.1:0", "--mode", mode}) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("demo: %v", err)
				}
			}()
			text := waitFor(t, &out, "Press Ctrl-C")
			export := regexp.MustCompile(`(?m)^\s*(export BRIDGED_KEY=\S+ BRIDGED_KEY_NAME=\S+)$`).FindStringSubmatch(text)
			addr := regexp.MustCompile(`status page: http://(\S+)/`).FindStringSubmatch(text)
			if export == nil || addr == nil {
				t.Fatalf("the demo printed no export line or address:\n%s", text)
			}
			var sh strings.Builder
			sh.WriteString("set -e\nexport PATH=" + shim + ":$PATH\n" + export[1] + "\n")
			n := 0
			for _, ex := range examples {
				if ex.mode != mode {
					continue
				}
				n++
				sh.WriteString("echo '=== docs/api.md line " + strconv.Itoa(ex.line) + "'\n")
				sh.WriteString(strings.ReplaceAll(ex.code, "127.0.0.1:8470", addr[1]) + "\necho\n")
			}
			got, err := exec.Command("bash", "-c", sh.String()).CombinedOutput()
			if err != nil {
				t.Fatalf("the examples of docs/api.md (%s) failed: %v\n%s", mode, err, got)
			}
			t.Logf("%d examples ran", n)
			for _, bad := range []string{`"code":"`, "not bridged's answer"} {
				if strings.Contains(string(got), bad) && !strings.Contains(string(got), `"error":{"code"`) {
					t.Errorf("an example answered a problem (%s):\n%s", bad, got)
				}
			}
			if !strings.Contains(string(got), `"status":"approved"`) {
				t.Errorf("no approved payment in:\n%s", got)
			}
		})
	}
}
