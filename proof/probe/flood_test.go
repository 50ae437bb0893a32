package probe

// The keyless flood: any program on the PC can open connections to bridged
// without a key. Before the connection limits, 20,000 idle keep-alive
// connections to /healthz reached the process's descriptor limit, a sale got
// no answer for 30 s and memory stayed at ~450 MB. Here two helper processes
// (this test binary again, each with its own descriptor limit) hold
// PROOF_FLOOD_CONNS keyless connections between them, one on 127.0.0.1 and
// one on ::1, re-opening every one bridged closes, for a bounded time, and
// then stop by themselves. Meanwhile the ECR's sales must keep answering, and
// afterwards the daemon's memory must come back to within twice its idle
// figure. CI runs 20,000 connections for 12 s (.ci/proof.sh:
// PROOF_FLOOD_CONNS, PROOF_FLOOD_SECONDS); the plain run 2,000 for 4 s.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/simulator"
	"github.com/bridgedpos/bridged/internal/simulator/simtest"
	"github.com/bridgedpos/bridged/proof/harness"
)

const (
	floodAddrEnv  = "BRIDGED_FLOOD_ADDR"
	floodConnsEnv = "BRIDGED_FLOOD_CONNS"
	floodForEnv   = "BRIDGED_FLOOD_FOR"
)

func TestFlood(t *testing.T) {
	if os.Getenv(floodAddrEnv) != "" {
		t.Skip("a flood helper runs TestFloodHelper only")
	}
	conns := harness.EnvInt(t, "PROOF_FLOOD_CONNS", 2000)
	bin := harness.Binary(t, "")
	sim, srv := simtest.Start(t, simulator.Config{Devices: []string{device}})
	capture := harness.NewCapture(t, "flood")
	capture.Secret(harness.DefaultKey, harness.OpsKey, "sim-secret", "sim-password")
	defer func() { capture.Secret(sim.IssuedSecrets()...) }()
	cfg := harness.WriteConfig(t, t.TempDir(), harness.Config{UpstreamURL: srv.URL,
		Terminals: []harness.Terminal{{ID: "lane-1", Device: device}}})
	d, err := harness.Start(t, bin, cfg, nil, capture, "daemon.log")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(d.Addr)
	ecr := harness.NewECR(t, d.Addr, harness.DefaultKey, capture, 30*time.Second)
	seq, tries := 0, 0
	// A sale as an ECR makes it: on a new connection, and when the call gets
	// no answer (a refused or cut connection), the same request with the
	// same key again (UntilFinal); the time is to the final answer.
	sale := func() time.Duration {
		t.Helper()
		seq++
		ref := fmt.Sprintf("FLOOD-%03d", seq)
		start := time.Now()
		as := ecr.UntilFinal("/v1/payments", ref, map[string]any{"amount": "10.00", "reference": ref}, 10, 30*time.Second, nil)
		took := time.Since(start)
		tries += len(as)
		if last := as[len(as)-1]; last.Status != "approved" {
			t.Fatalf("sale %s: %v after %v and %d tries", ref, last, took, len(as))
		}
		return took
	}
	// An ECR that keeps its connection open between calls, as most do: once
	// it has presented its key the connection is never closed for keyless ones.
	kept := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Minute}}
	keptSale := func() time.Duration {
		t.Helper()
		seq++
		ref := fmt.Sprintf("FLOOD-%03d", seq)
		req, _ := http.NewRequest("POST", "http://"+d.Addr+"/v1/payments", strings.NewReader(`{"amount":"10.00","reference":"`+ref+`"}`))
		req.Header.Set("Authorization", "Bearer "+harness.DefaultKey)
		req.Header.Set("Idempotency-Key", ref)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := kept.Do(req)
		if err != nil {
			t.Fatalf("sale %s on the kept connection: %v", ref, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 || !strings.Contains(string(body), `"status":"approved"`) {
			t.Fatalf("sale %s on the kept connection: %d %s", ref, resp.StatusCode, body)
		}
		return time.Since(start)
	}
	var before, keptBefore []time.Duration
	for i := 0; i < 5; i++ {
		before = append(before, sale())
		keptBefore = append(keptBefore, keptSale())
	}
	idle := rssKB(t, d.Pid())

	// The flood: half the connections on each loopback address.
	addrs := []string{net.JoinHostPort("127.0.0.1", port), net.JoinHostPort("::1", port)}
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		addrs = addrs[:1] // no IPv6 loopback here
	} else {
		ln.Close()
	}
	floodFor := time.Duration(harness.EnvInt(t, "PROOF_FLOOD_SECONDS", 4)) * time.Second
	var helpers []*floodHelper
	for _, a := range addrs {
		helpers = append(helpers, startFloodHelper(t, a, conns/len(addrs), floodFor))
	}
	for _, h := range helpers {
		h.waitReady(t)
	}
	// Every connection asked for has been opened once; the helpers keep
	// re-opening what bridged closes. Sales now, each on a new connection.
	var during, keptDuring []time.Duration
	tries = 0
	peakFDs, peakRSS := 0, 0
	for i := 0; i < 5; i++ {
		during = append(during, sale())
		keptDuring = append(keptDuring, keptSale())
		peakFDs = max(peakFDs, openFDs(d.Pid()))
		peakRSS = max(peakRSS, rssKB(t, d.Pid()))
	}
	duringTries := tries
	var opened int64
	for _, h := range helpers {
		opened += h.wait(t)
	}
	after := sale()

	// Memory back near its idle figure: wait for it (a hang guard bounds the wait).
	deadline := time.Now().Add(90 * time.Second)
	rss := rssKB(t, d.Pid())
	for rss > 2*idle && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		rss = rssKB(t, d.Pid())
	}
	if rss > 2*idle {
		t.Errorf("RSS %d KiB after the flood, more than twice the idle %d KiB", rss, idle)
	}
	if opened < int64(conns) {
		t.Errorf("the helpers opened %d connections, fewer than the %d asked for", opened, conns)
	}
	for _, d := range append(during, keptDuring...) {
		// The hang guard of a sale, not a figure: before the limits a sale
		// got no answer for 30 s.
		if d > 10*time.Second {
			t.Errorf("a sale during the flood took %v", d)
		}
	}
	harness.Summary(t, fmt.Sprintf("flood: %d keyless idle connections held open against bridged for %v (%d connections opened in all, each re-opened when bridged closed it); "+
		"sales on the ECR's kept-alive connection: median %v during against %v before (×%.1f); sales on new connections: 5 approved in %d calls, median %v during against %v before (×%.1f), %v after; "+
		"peak %d descriptors; RSS %d KiB idle, %d KiB peak, %d KiB after (×%.2f idle)",
		conns, floodFor, opened, median(keptDuring).Round(time.Millisecond), median(keptBefore).Round(time.Millisecond),
		float64(median(keptDuring))/float64(median(keptBefore)), duringTries, median(during).Round(time.Millisecond), median(before).Round(time.Millisecond),
		float64(median(during))/float64(median(before)), after.Round(time.Millisecond), peakFDs, idle, peakRSS, rss, float64(rss)/float64(idle)))
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// rssKB is the process's resident memory (VmRSS), in KiB.
func rssKB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

func openFDs(pid int) int {
	es, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(es)
}

// floodHelper is one helper process.
type floodHelper struct {
	cmd   *exec.Cmd
	lines chan string
	done  chan struct{}
}

func startFloodHelper(t *testing.T, addr string, n int, d time.Duration) *floodHelper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFloodHelper$", "-test.v")
	cmd.Env = append(os.Environ(), floodAddrEnv+"="+addr, floodConnsEnv+"="+strconv.Itoa(n), floodForEnv+"="+d.String())
	stdin, err := cmd.StdinPipe() // the helper stops when this closes: the parent died
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &floodHelper{cmd: cmd, lines: make(chan string, 16), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "flood: ") {
				h.lines <- l
			}
		}
		close(h.lines)
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	go func() { _ = cmd.Wait(); close(h.done) }()
	return h
}

func (h *floodHelper) waitReady(t *testing.T) {
	t.Helper()
	for l := range h.lines {
		if strings.HasPrefix(l, "flood: ready") {
			return
		}
	}
	t.Fatal("a flood helper ended before it was ready")
}

// wait returns how many connections the helper opened, once it has stopped by itself.
func (h *floodHelper) wait(t *testing.T) (opened int64) {
	t.Helper()
	for l := range h.lines {
		if _, err := fmt.Sscanf(l, "flood: done opened=%d", &opened); err == nil {
			<-h.done
			return opened
		}
	}
	t.Fatal("a flood helper ended without its report")
	return 0
}

// TestFloodHelper is the helper process: it holds BRIDGED_FLOOD_CONNS
// keyless keep-alive connections to BRIDGED_FLOOD_ADDR, each idle after one
// GET /healthz, re-opens each that bridged closes, and stops after
// BRIDGED_FLOOD_FOR, or when its parent goes (standard input closes).
func TestFloodHelper(t *testing.T) {
	addr := os.Getenv(floodAddrEnv)
	if addr == "" {
		t.Skip("run by TestFlood")
	}
	n, _ := strconv.Atoi(os.Getenv(floodConnsEnv))
	d, _ := time.ParseDuration(os.Getenv(floodForEnv))
	stop := make(chan struct{})
	var once sync.Once
	halt := func() { once.Do(func() { close(stop) }) }
	time.AfterFunc(d, halt)
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); halt() }()

	var opened atomic.Int64
	var firstWave sync.WaitGroup
	var all sync.WaitGroup
	dials := make(chan struct{}, 256) // dials at once
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	for i := 0; i < n; i++ {
		firstWave.Add(1)
		all.Add(1)
		go func() {
			defer all.Done()
			first := true
			for {
				select {
				case <-stop:
					if first {
						firstWave.Done()
					}
					return
				default:
				}
				dials <- struct{}{}
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				<-dials
				if err == nil {
					opened.Add(1)
					mu.Lock()
					open[c] = true
					mu.Unlock()
					_, err = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
				}
				if first {
					first = false
					firstWave.Done()
				}
				if err == nil {
					buf := make([]byte, 4096)
					for err == nil { // the answer, then idle until bridged closes it
						_, err = c.Read(buf)
					}
				}
				if c != nil {
					mu.Lock()
					delete(open, c)
					mu.Unlock()
					c.Close()
				}
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		}()
	}
	firstWave.Wait()
	fmt.Println("flood: ready")
	<-stop
	mu.Lock()
	for c := range open {
		c.Close() // wakes the readers
	}
	mu.Unlock()
	all.Wait()
	fmt.Printf("flood: done opened=%d\n", opened.Load())
}
