package ossvc

import (
	"fmt"
	"io"
	"net"
	"strings"
)

// ReadyNotifier returns runDaemon's onReady callback for systemd: it sends
// READY=1 to $NOTIFY_SOCKET once the journal is recovered and the listener
// accepts, which is what a Type=notify unit waits for. It returns nil (no
// callback) when systemd did not ask.
func ReadyNotifier(getenv func(string) string, stderr io.Writer) func(addr string) {
	socket := getenv("NOTIFY_SOCKET")
	if socket == "" {
		return nil
	}
	return func(addr string) {
		if err := sdNotify(socket, "READY=1\nSTATUS=listening on "+addr); err != nil {
			fmt.Fprintln(stderr, "bridged: sd_notify:", err)
		}
	}
}

// sdNotify sends one state datagram to systemd (sd_notify(3)); a leading @
// names a socket in the abstract namespace.
func sdNotify(socket, state string) error {
	if strings.HasPrefix(socket, "@") {
		socket = "\x00" + socket[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write([]byte(state))
	return err
}
