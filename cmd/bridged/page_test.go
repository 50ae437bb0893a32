package main

// The status page (GET /) rendered by a real headless Chromium against the
// whole daemon and the simulator: the DOM carries each part's verdict and the
// screenshot is a real picture. Skipped when no Chromium is installed, unless
// BRIDGED_CHROMIUM names one (.ci/ui.sh does, and fails on a skip).

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/simulator"
)

// chromiumPath finds the browser: $BRIDGED_CHROMIUM, or one on PATH.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("BRIDGED_CHROMIUM"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("BRIDGED_CHROMIUM=%s: %v", p, err)
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium found (chromium, chromium-browser or google-chrome on PATH, or BRIDGED_CHROMIUM): the status page browser test needs one; .ci/ui.sh installs it")
	return ""
}

// chromium runs one headless Chromium with its own profile and returns stdout.
func chromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--disable-breakpad", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, tail(stderr.String(), 2000))
	}
	return stdout.Bytes()
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// render loads url at width x height, checks the screenshot and returns the DOM.
func render(t *testing.T, bin, url, name string, width, height int) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), name)
	start := time.Now()
	dom := chromium(t, bin, "--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height), "--screenshot="+file, "--dump-dom", url)
	t.Logf("%s: rendered in %s, DOM %d bytes", name, time.Since(start).Round(time.Millisecond), len(dom))
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", name, err)
	}
	if b := img.Bounds(); b.Dx() != width || b.Dy() != height {
		t.Fatalf("screenshot %s is %dx%d, want %dx%d", name, b.Dx(), b.Dy(), width, height)
	}
	if n := colours(img); n < 32 {
		t.Fatalf("screenshot %s has %d colours: an empty or failed render", name, n)
	}
	if dir := os.Getenv("BRIDGED_SCREENSHOT_DIR"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", filepath.Join(dir, name))
	}
	return string(dom)
}

// colours counts the distinct colours of img, up to 1000.
func colours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
			if len(seen) >= 1000 {
				return len(seen)
			}
		}
	}
	return len(seen)
}

func TestStatusPageChromium(t *testing.T) {
	bin := chromiumPath(t)
	e := startE2E(t, e2eOpts{terminals: 2})

	// lane-1: an approved sale, a declined one (.51) with a hostile reference,
	// then a charge whose answer is lost while iyzico's status service fails.
	ok := e.pay("ok", `{"amount":"149.90","reference":"ECR-OK","terminal":"lane-1"}`)
	expect(t, ok, 201, "status", "approved")
	expect(t, e.pay("dec", `{"amount":"10.51","reference":"<script>alert(1)</script>","terminal":"lane-1"}`), 201, "status", "declined")
	// A reference with a right-to-left override reads as written, escaped.
	expect(t, e.pay("bidi", `{"amount":"12.00","reference":"ECR\u202e1-TPIECER","terminal":"lane-1"}`), 201, "status", "approved")
	// lane-2: a sale and an end of day whose totals match.
	expect(t, e.pay("l2", `{"amount":"80.00","reference":"ECR-L2","terminal":"lane-2"}`), 201, "status", "approved")
	expect(t, e.call("POST", "/v1/terminals/lane-2/end-of-day", ``), 201, "status", "approved", "match", "true")

	e.sim.Inject(simulator.Fault{Op: simulator.OpPayment, Device: "DEV001", Kind: simulator.FaultCommitThenDrop})
	e.sim.Inject(simulator.Fault{Op: simulator.OpQuery, Kind: simulator.FaultHTTPStatus, Status: 503, Times: 1000})
	lost := e.pay("lost", `{"amount":"40.00","reference":"ECR-LOST","terminal":"lane-1"}`)
	expect(t, lost, 202, "status", "unknown")

	// Without a key, the browser gets the login form and nothing else.
	login := render(t, bin, e.base+"/", "login.png", 1280, 900)
	if !strings.Contains(login, `action="/login"`) || strings.Contains(login, "ECR-OK") || strings.Contains(login, "lane-1") {
		t.Fatalf("the page without a key is not the bare login form:\n%s", login)
	}

	// In one browser: log in with the operator's key through the form.
	b := startBrowser(t, bin)
	b.viewport(1280, 900)
	b.navigate(e.base + "/")
	b.eval(`document.getElementById("key").value = ` + jsString(e.ops) + `; document.forms[0].submit(); true`)
	b.waitLoad()
	dom := b.eval("document.documentElement.outerHTML")
	b.screenshot("status.png", 1280, 900)

	// The session lives in a cookie the page's scripts cannot read, sent to
	// this site only; the key is stored nowhere.
	if c := b.eval("document.cookie"); c != "" {
		t.Errorf("a cookie readable by scripts: %q", c)
	}
	cookie := b.cookie(e.base, "bridged_session")
	if cookie == nil || cookie["httpOnly"] != true || cookie["sameSite"] != "Strict" || strings.Contains(fmt.Sprint(cookie), e.ops) {
		t.Errorf("the session cookie: %v", cookie)
	}

	find := func(what, pattern string) string {
		t.Helper()
		m := regexp.MustCompile(pattern).FindString(dom)
		if m == "" {
			t.Errorf("%s: /%s/ not in the DOM", what, pattern)
		}
		return m
	}
	// A blocked terminal degrades the service; once the reconciler's status
	// query has met the 503, iyzico reads unreachable and the service fails.
	overall := find("service status", `(?s)id="overall" data-status="(degraded|fail)".*?(DEGRADED|FAIL)`)
	if strings.Contains(overall, `"fail"`) && !regexp.MustCompile(`data-part="iyzico connection" data-status="fail"`).MatchString(dom) {
		t.Errorf("the service fails, but not for iyzico's connection: %s", overall)
	}
	find("logged in as", `id="user">key ops<`)
	find("lane-1 blocked", `data-terminal="lane-1" data-state="blocked" data-status="degraded"`)
	find("lane-2 idle", `data-terminal="lane-2" data-state="idle" data-status="ok"`)
	find("lane-2 end of day", `(?s)data-eod="lane-2".*?80\.00 TRY \(1\).*?✓ match`)
	open := find("open transactions", `(?s)id="open".*?id="recent"`)
	if !strings.Contains(open, `data-op="`+lost.str("id")+`" data-status="unknown"`) || !strings.Contains(open, "ECR-LOST") {
		t.Errorf("the unknown sale is not among the open transactions: %s", open)
	}
	recent := find("recent transactions", `(?s)id="recent".*?id="eod"`)
	for _, want := range []string{`data-op="` + ok.str("id") + `" data-status="approved"`, `data-status="declined"`, "149.90", "10.51", "552879******0008", "10051",
		"ECR&lt;U+202E&gt;1-TPIECER"} {
		if !strings.Contains(recent, want) {
			t.Errorf("recent transactions: %q missing", want)
		}
	}
	if strings.Contains(dom, "\u202e") {
		t.Error("a raw right-to-left override on the page")
	}
	if !strings.Contains(recent, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the hostile reference is not shown as text")
	}
	if strings.Contains(strings.ToLower(dom), "<script") {
		t.Error("a script element in the DOM")
	}
	for _, secret := range []string{e.key, e.ops, "sim-secret", "sim-password", "5528790000000008"} {
		if strings.Contains(dom, secret) {
			t.Errorf("%q in the status page", secret)
		}
	}
	// A phone-sized window: the same content, stacked, in the same session.
	b.viewport(390, 1200)
	b.navigate(e.base + "/")
	if narrow := b.eval("document.documentElement.outerHTML"); !strings.Contains(narrow, lost.str("id")) {
		t.Error("the narrow render lacks the unknown sale")
	}
	b.screenshot("status-narrow.png", 390, 1200)

	// Log out: the form again, and the old session opens nothing.
	b.eval(`document.querySelector("form.logout").submit(); true`)
	b.waitLoad()
	if after := b.eval("document.documentElement.outerHTML"); !strings.Contains(after, `action="/login"`) || strings.Contains(after, "ECR-OK") {
		t.Errorf("after logging out:\n%s", after)
	}
}
