package probe

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/simulator"
	"github.com/bridgedpos/bridged/internal/simulator/simtest"
	"github.com/bridgedpos/bridged/proof/harness"
)

// TestSocketActivation runs the real binary the way bridged.socket does, with
// systemd's own systemd-socket-activate: the port is held (127.0.0.1 and ::1)
// before bridged runs, the first connection starts it, and it serves on the
// sockets it was passed (LISTEN_FDS) instead of binding its own.
func TestSocketActivation(t *testing.T) {
	activate, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Skip("systemd-socket-activate is not installed")
	}
	bin := harness.Binary(t, "")
	_, srv := simtest.Start(t, simulator.Config{Devices: []string{device}})
	capture := harness.NewCapture(t, "activation")
	capture.Secret(harness.DefaultKey, harness.OpsKey, "sim-secret", "sim-password")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	addrs := []string{"127.0.0.1:" + port}
	if l6, err := net.Listen("tcp", "[::1]:"+port); err == nil {
		l6.Close()
		addrs = append(addrs, "[::1]:"+port)
	}
	cfg := harness.WriteConfig(t, t.TempDir(), harness.Config{UpstreamURL: srv.URL, Listen: "127.0.0.1:" + port,
		Terminals: []harness.Terminal{{ID: "lane-1", Device: device}}})
	args := []string{}
	for _, a := range addrs {
		args = append(args, "-l", a)
	}
	cmd := exec.Command(activate, append(args, bin, "run", "-c", cfg)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	logf := capture.File(t, "daemon.log")
	lines := make(chan string, 256)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			_, _ = io.WriteString(logf, sc.Text()+"\n")
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitLine := func(what string) string {
		t.Helper()
		deadline := time.After(30 * time.Second) // a hang guard
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("the process ended before %q", what)
				}
				if strings.Contains(l, what) {
					return l
				}
			case <-deadline:
				t.Fatalf("no %q", what)
			}
		}
	}
	waitLine("Listening on")
	// The sockets are held before bridged runs: nobody else can bind them.
	for _, a := range addrs {
		if l, err := net.Listen("tcp", a); err == nil {
			l.Close()
			t.Errorf("%s could be bound while the socket unit holds it", a)
		}
	}
	// The first connection starts bridged, which answers on it.
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get("http://" + addrs[len(addrs)-1] + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/healthz through the passed socket: %d", resp.StatusCode)
	}
	if l := waitLine(`"message":"listening on the sockets systemd passed`); !strings.Contains(l, port) {
		t.Errorf("bridged did not say it took the passed sockets: %s", l)
	}
	ecr := harness.NewECR(t, "127.0.0.1:"+port, harness.DefaultKey, capture, 30*time.Second)
	if a := ecr.Do("POST", "/v1/payments", "ACT-1", map[string]any{"amount": "10.00", "reference": "ACT-1"}, 10); a.Status != "approved" {
		t.Fatalf("a sale through the passed socket: %v", a)
	}
	harness.Summary(t, "socket activation: systemd-socket-activate held "+strings.Join(addrs, " and ")+" before bridged ran; bridged served a sale on the passed sockets")
}
