//go:build !linux

package ossvc

import (
	"net"
	"testing"
)

func listenReusePort(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }

func placeFDs(t *testing.T, lns ...net.Listener) int {
	t.Skip("socket activation is systemd's")
	return 0
}
