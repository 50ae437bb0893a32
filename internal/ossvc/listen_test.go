package ossvc

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bridgedpos/bridged/internal/ossvc/ossvctest"
	"github.com/rs/zerolog"
)

// TestNoOneBindsBesideBridged: while bridged runs, its port cannot be bound
// on either loopback address, nor on the wildcard that covers them.
func TestNoOneBindsBesideBridged(t *testing.T) {
	if !ossvctest.HasIPv6Loopback(t) {
		t.Skip("no IPv6 loopback on this machine")
	}
	lns, err := OpenListeners("127.0.0.1:0", noEnv, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	if len(lns) != 2 {
		t.Fatalf("%d listeners, want 127.0.0.1 and ::1", len(lns))
	}
	_, port, _ := net.SplitHostPort(lns[0].Addr().String())
	if _, p6, _ := net.SplitHostPort(lns[1].Addr().String()); p6 != port || !strings.HasPrefix(lns[1].Addr().String(), "[::1]:") {
		t.Fatalf("listeners %v and %v", lns[0].Addr(), lns[1].Addr())
	}
	for _, addr := range []string{"127.0.0.1:" + port, "[::1]:" + port, "0.0.0.0:" + port, "[::]:" + port, "localhost:" + port} {
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			t.Errorf("%s could be bound while bridged holds the port", addr)
		}
		if ln, err := listenReusePort(addr); err == nil {
			ln.Close()
			t.Errorf("%s could be bound with SO_REUSEPORT while bridged holds the port", addr)
		}
	}
	// The daemon's own refusal names itself as the holder.
	if _, err := OpenListeners("localhost:"+port, noEnv, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "is taken by") {
		t.Errorf("a second bridged on the port: %v", err)
	}
}

func TestListenAddrs(t *testing.T) {
	for host, want := range map[string]string{
		"127.0.0.1": "127.0.0.1 ::1", "localhost": "127.0.0.1 ::1", "[::1]": "127.0.0.1 ::1", "::1": "127.0.0.1 ::1",
		"0.0.0.0": "0.0.0.0 ::1", "192.168.1.5": "192.168.1.5", "::": "::",
	} {
		if got := strings.Join(listenAddrs(host), " "); got != want {
			t.Errorf("listenAddrs(%q) = %q, want %q", host, got, want)
		}
	}
}

// TestActivationListeners: sockets passed the sd_listen_fds way are used
// when LISTEN_PID names this process, and ignored when it names another.
func TestActivationListeners(t *testing.T) {
	if !isLinux() {
		t.Skip("socket activation is systemd's")
	}
	a, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	start := placeFDs(t, a, b) // the two sockets at start, start+1
	env := map[string]string{"LISTEN_PID": fmt.Sprint(os.Getpid()), "LISTEN_FDS": "2", "LISTEN_FDNAMES": "x:y"}
	getenv := func(k string) string { return env[k] }

	if lns, err := activationListeners(func(k string) string {
		if k == "LISTEN_PID" {
			return "1"
		}
		return env[k]
	}, os.Getpid(), start); err != nil || lns != nil {
		t.Fatalf("sockets meant for another process were taken: %v %v", lns, err)
	}
	lns, err := activationListeners(getenv, os.Getpid(), start)
	if err != nil || len(lns) != 2 {
		t.Fatalf("activation: %v %v", lns, err)
	}
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	if lns[0].Addr().String() != a.Addr().String() || lns[1].Addr().String() != b.Addr().String() {
		t.Fatalf("got %v %v, want %v %v", lns[0].Addr(), lns[1].Addr(), a.Addr(), b.Addr())
	}
	if os.Getenv("LISTEN_FDS") != "" {
		t.Error("LISTEN_FDS left for children")
	}
	env["LISTEN_FDS"] = "two"
	if _, err := activationListeners(getenv, os.Getpid(), start); err == nil {
		t.Error("a malformed LISTEN_FDS was taken")
	}
}

func isLinux() bool { return filepath.Separator == '/' && fileExists("/proc/self/fd") }

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
