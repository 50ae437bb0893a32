package ossvc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/rs/zerolog"
)

// The ECR must be able to trust the port it calls: whoever holds it receives
// the ECR's requests (with a Bearer key, the key itself) and can answer
// "approved". So bridged holds every loopback address the name localhost may
// resolve to, 127.0.0.1 and ::1, on its port, and refuses to start when
// either is taken, naming the owner where the system can tell. Under systemd
// the sockets come from bridged.socket (socket activation), so the port stays
// held across restarts and upgrades; on Windows each socket is bound with
// SO_EXCLUSIVEADDRUSE (listen_windows.go), so no other program can bind the
// same port beside it.

// PortTaken is a listen address held by another program.
type PortTaken struct {
	addr  string
	owner string // who holds it, or "" when the system does not say
	err   error
}

func (e *PortTaken) Error() string {
	who := "another program"
	if e.owner != "" {
		who = e.owner
	}
	return fmt.Sprintf("listen on %s: the address is taken by %s; bridged does not start beside it, because whoever holds the port "+
		"receives the ECR's requests: stop that program, or change listen in the config (%v)", e.addr, who, e.err)
}

func (e *PortTaken) Unwrap() error { return e.err }

// OpenListeners returns the API's listeners: the sockets systemd passed
// (LISTEN_FDS), or every address listenAddrs gives for the configured listen.
func OpenListeners(listen string, getenv func(string) string, log zerolog.Logger) ([]net.Listener, error) {
	lns, err := activationListeners(getenv, os.Getpid(), listenFDsStart)
	if err != nil || len(lns) > 0 {
		if err == nil {
			checkActivated(lns, listen, log)
		}
		return lns, err
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("listen %q: %w", listen, err)
	}
	addrs := listenAddrs(host)
	// With port 0 the first bind picks the port and the others take the same;
	// should one of those be taken meanwhile, start over with a new port.
	for attempt := 0; ; attempt++ {
		lns, err := bindAll(addrs, port, log)
		var taken *PortTaken
		if port == "0" && errors.As(err, &taken) && attempt < 10 {
			continue
		}
		return lns, err
	}
}

// listenAddrs are the addresses to hold for a configured host: localhost,
// 127.0.0.1 and ::1 mean both loopback addresses; 0.0.0.0 (all IPv4) takes
// ::1 too, so that no program can sit on IPv6 localhost; anything else is
// held as given.
func listenAddrs(host string) []string {
	switch strings.ToLower(strings.Trim(host, "[]")) {
	case "localhost", "127.0.0.1", "::1":
		return []string{"127.0.0.1", "::1"}
	case "0.0.0.0":
		return []string{"0.0.0.0", "::1"}
	}
	return []string{host}
}

func bindAll(addrs []string, port string, log zerolog.Logger) ([]net.Listener, error) {
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}
	for i, a := range addrs {
		addr := net.JoinHostPort(a, port)
		ln, err := listenTCP(addr)
		switch {
		case err == nil:
			lns = append(lns, ln)
			if port == "0" {
				_, port, _ = net.SplitHostPort(ln.Addr().String())
			}
		case errors.Is(err, syscall.EADDRINUSE) || isAddrInUse(err):
			closeAll()
			return nil, &PortTaken{addr: addr, owner: portOwner(addr), err: err}
		case i > 0 && a == "::1" && noIPv6(err):
			// This machine has no IPv6 loopback: nobody can bind it either.
			log.Warn().Str("address", addr).Err(err).Msg("no IPv6 loopback on this machine: listening on IPv4 only")
		default:
			closeAll()
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
	}
	return lns, nil
}

func noIPv6(err error) bool {
	return errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT) || errors.Is(err, syscall.EPROTONOSUPPORT)
}

// The sd_listen_fds(3) protocol: LISTEN_PID names this process, LISTEN_FDS
// counts the sockets from file descriptor 3 on.
const listenFDsStart = 3

func activationListeners(getenv func(string) string, pid, start int) ([]net.Listener, error) {
	if getenv("LISTEN_PID") == "" {
		return nil, nil
	}
	if p, err := strconv.Atoi(getenv("LISTEN_PID")); err != nil || p != pid {
		return nil, nil // meant for another process
	}
	n, err := strconv.Atoi(getenv("LISTEN_FDS"))
	if err != nil || n < 1 || n > 16 {
		return nil, fmt.Errorf("socket activation: LISTEN_FDS=%q is not a number of sockets", getenv("LISTEN_FDS"))
	}
	// The sockets are this process's alone: a child must not take them.
	for _, v := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		_ = os.Unsetenv(v)
	}
	var lns []net.Listener
	for fd := start; fd < start+n; fd++ {
		f := os.NewFile(uintptr(fd), "LISTEN_FD_"+strconv.Itoa(fd))
		ln, err := net.FileListener(f)
		_ = f.Close() // FileListener holds its own duplicate
		if err != nil {
			for _, l := range lns {
				_ = l.Close()
			}
			return nil, fmt.Errorf("socket activation: descriptor %d is not a listening socket: %w", fd, err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// checkActivated warns when systemd's sockets are not the configured listen
// address: the operator verbs look for the daemon there.
func checkActivated(lns []net.Listener, listen string, log zerolog.Logger) {
	_, port, _ := net.SplitHostPort(listen)
	var got []string
	match := false
	for _, ln := range lns {
		got = append(got, ln.Addr().String())
		if _, p, _ := net.SplitHostPort(ln.Addr().String()); p == port {
			match = true
		}
	}
	ev := log.Info()
	if !match {
		ev = log.Warn()
	}
	ev = ev.Strs("sockets", got).Str("listen", listen)
	if match {
		ev.Msg("listening on the sockets systemd passed (bridged.socket)")
	} else {
		ev.Msg("the sockets systemd passed are not on the port of listen: the operator commands look for bridged at listen; " +
			"make bridged.socket and the config agree (systemctl edit bridged.socket)")
	}
}

// listenTCP binds one address with the platform's exclusive-use option.
func listenTCP(addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: exclusiveControl}
	return lc.Listen(context.Background(), "tcp", addr)
}
