package ossvc

import (
	"context"
	"net"
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// listenReusePort binds addr the way a squatter would try to share a port:
// with SO_REUSEPORT (and Go's SO_REUSEADDR).
func listenReusePort(addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1) })
		if err != nil {
			return err
		}
		return serr
	}}
	return lc.Listen(context.Background(), "tcp", addr)
}

// placeFDs duplicates the listeners' sockets to consecutive descriptors, as
// systemd passes them, and returns the first.
func placeFDs(t *testing.T, lns ...net.Listener) int {
	t.Helper()
	const start = 300
	for i, ln := range lns {
		f, err := ln.(*net.TCPListener).File()
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.Dup2(int(f.Fd()), start+i); err != nil {
			t.Fatal(err)
		}
		f.Close()
		fd := start + i
		t.Cleanup(func() { _ = os.NewFile(uintptr(fd), "").Close() })
	}
	return start
}
