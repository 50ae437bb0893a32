package main

// A small client of the Chrome DevTools Protocol over --remote-debugging-pipe
// (file descriptors 3 and 4, one JSON message per NUL-terminated frame), so
// that the status page test can fill in the login form and keep the session
// in one real browser. No dependency: the protocol is JSON.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

type browser struct {
	t       *testing.T
	w       io.Writer
	msgs    chan map[string]any
	session string
	mu      sync.Mutex
	next    int
	pending []map[string]any // events read while waiting for an answer
}

func startBrowser(t *testing.T, bin string) *browser {
	t.Helper()
	toChrome, cmdIn, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fromChrome, chromeOut, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a hang guard
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--disable-breakpad", "--hide-scrollbars", "--remote-debugging-pipe", "--user-data-dir="+t.TempDir(), "about:blank")
	cmd.ExtraFiles = []*os.File{toChrome, chromeOut} // fd 3: what Chromium reads; fd 4: what it writes
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	toChrome.Close()
	chromeOut.Close()
	b := &browser{t: t, w: cmdIn, msgs: make(chan map[string]any, 64)}
	go func() {
		r := bufio.NewReader(fromChrome)
		for {
			frame, err := r.ReadBytes(0)
			if err != nil {
				close(b.msgs)
				return
			}
			var m map[string]any
			if json.Unmarshal(frame[:len(frame)-1], &m) == nil {
				b.msgs <- m
			}
		}
	}()
	t.Cleanup(func() {
		cmdIn.Close() // Chromium exits when its pipe closes
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		cancel()
		fromChrome.Close()
		if t.Failed() {
			t.Logf("chromium stderr:\n%s", tail(stderr.String(), 2000))
		}
	})
	target := b.call("", "Target.createTarget", map[string]any{"url": "about:blank"})
	attached := b.call("", "Target.attachToTarget", map[string]any{"targetId": target["targetId"], "flatten": true})
	b.session, _ = attached["sessionId"].(string)
	b.call(b.session, "Page.enable", nil)
	b.call(b.session, "Network.enable", nil)
	return b
}

// call sends one command and returns its result.
func (b *browser) call(session, method string, params any) map[string]any {
	b.t.Helper()
	b.mu.Lock()
	b.next++
	id := b.next
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	raw, _ := json.Marshal(msg)
	if _, err := b.w.Write(append(raw, 0)); err != nil {
		b.t.Fatalf("%s: %v", method, err)
	}
	deadline := time.After(time.Minute) // a hang guard, not a timing assertion
	for {
		select {
		case m, ok := <-b.msgs:
			if !ok {
				b.t.Fatalf("%s: Chromium closed the pipe", method)
			}
			if n, isAnswer := m["id"].(float64); isAnswer && int(n) == id {
				if e, failed := m["error"]; failed {
					b.t.Fatalf("%s: %v", method, e)
				}
				res, _ := m["result"].(map[string]any)
				return res
			}
			b.pending = append(b.pending, m)
		case <-deadline:
			b.t.Fatalf("%s: no answer", method)
		}
	}
}

// waitLoad waits for the page's load event (one read since the last wait).
func (b *browser) waitLoad() {
	b.t.Helper()
	for i, m := range b.pending {
		if m["method"] == "Page.loadEventFired" {
			b.pending = append(b.pending[:i:i], b.pending[i+1:]...)
			return
		}
	}
	deadline := time.After(time.Minute) // a hang guard
	for {
		select {
		case m, ok := <-b.msgs:
			if !ok {
				b.t.Fatal("Chromium closed the pipe")
			}
			if m["method"] == "Page.loadEventFired" {
				return
			}
		case <-deadline:
			b.t.Fatal("the page did not load")
		}
	}
}

func (b *browser) navigate(url string) {
	b.t.Helper()
	b.pending = nil
	b.call(b.session, "Page.navigate", map[string]any{"url": url})
	b.waitLoad()
}

func (b *browser) viewport(w, h int) {
	b.t.Helper()
	b.call(b.session, "Emulation.setDeviceMetricsOverride", map[string]any{"width": w, "height": h, "deviceScaleFactor": 1, "mobile": false})
}

// eval runs a JavaScript expression in the page and returns its value as text.
func (b *browser) eval(expr string) string {
	b.t.Helper()
	res := b.call(b.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
	v, _ := res["result"].(map[string]any)
	switch x := v["value"].(type) {
	case string:
		return x
	case nil:
		return ""
	default:
		raw, _ := json.Marshal(x)
		return string(raw)
	}
}

func (b *browser) cookie(url, name string) map[string]any {
	b.t.Helper()
	res := b.call(b.session, "Network.getCookies", map[string]any{"urls": []string{url}})
	list, _ := res["cookies"].([]any)
	for _, c := range list {
		if m, ok := c.(map[string]any); ok && m["name"] == name {
			return m
		}
	}
	return nil
}

// screenshot checks that the page renders as a real picture and keeps it
// when BRIDGED_SCREENSHOT_DIR is set.
func (b *browser) screenshot(name string, width, height int) {
	b.t.Helper()
	res := b.call(b.session, "Page.captureScreenshot", map[string]any{"format": "png"})
	data, _ := res["data"].(string)
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		b.t.Fatalf("screenshot %s is not a PNG: %v", name, err)
	}
	if bd := img.Bounds(); bd.Dx() != width || bd.Dy() != height {
		b.t.Fatalf("screenshot %s is %dx%d, want %dx%d", name, bd.Dx(), bd.Dy(), width, height)
	}
	if n := colours(img); n < 32 {
		b.t.Fatalf("screenshot %s has %d colours: an empty or failed render", name, n)
	}
	if dir := os.Getenv("BRIDGED_SCREENSHOT_DIR"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
			b.t.Fatal(err)
		}
		b.t.Logf("screenshot: %s", filepath.Join(dir, name))
	}
}

func jsString(s string) string { return strconv.Quote(s) }
