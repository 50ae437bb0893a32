package ossvc

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// exclusiveControl: Linux refuses a second bind of an address that a
// listening socket holds (bridged sets no SO_REUSEPORT), so nothing to add.
func exclusiveControl(network, address string, c syscall.RawConn) error { return nil }

func isAddrInUse(err error) bool { return false }

// portOwner names the holder of a listening TCP address from /proc: the
// socket's user (always known), and its process when this user may see it.
func portOwner(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return ""
	}
	ip := net.ParseIP(host)
	table, want := "/proc/net/tcp", ""
	if ip.To4() != nil {
		want = procIPv4(ip.To4())
	} else {
		table, want = "/proc/net/tcp6", procIPv6(ip)
	}
	uid, inode, ok := listeningSocket(table, want, p)
	if !ok && ip.To4() != nil {
		// A dual-stack socket on [::] holds the IPv4 address too.
		uid, inode, ok = listeningSocket("/proc/net/tcp6", procIPv6(net.IPv6unspecified), p)
	}
	if !ok {
		// The wildcard of the same family.
		if ip.To4() != nil {
			uid, inode, ok = listeningSocket("/proc/net/tcp", procIPv4(net.IPv4zero.To4()), p)
		} else {
			uid, inode, ok = listeningSocket("/proc/net/tcp6", procIPv6(net.IPv6unspecified), p)
		}
	}
	if !ok {
		return ""
	}
	who := "user " + uid
	if u, err := user.LookupId(uid); err == nil {
		who = "user " + u.Username
	}
	if pid, comm := socketProcess(inode); pid != "" {
		return fmt.Sprintf("process %s (%s) of %s", pid, comm, who)
	}
	return "a process of " + who
}

// listeningSocket finds a LISTEN (state 0A) entry for local address want
// (as /proc writes it) and port; it returns its uid and inode.
func listeningSocket(table, want string, port int) (uid, inode string, ok bool) {
	f, err := os.Open(table)
	if err != nil {
		return "", "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	local := fmt.Sprintf("%s:%04X", want, port)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != "0A" || !strings.EqualFold(fields[1], local) {
			continue
		}
		return fields[7], fields[9], true
	}
	return "", "", false
}

// procIPv4 writes an IPv4 address as /proc/net/tcp does: the 32-bit word in
// host byte order (little-endian here), in hex.
func procIPv4(ip net.IP) string {
	return fmt.Sprintf("%02X%02X%02X%02X", ip[3], ip[2], ip[1], ip[0])
}

// procIPv6: four 32-bit words, each in host byte order.
func procIPv6(ip net.IP) string {
	ip = ip.To16()
	var b strings.Builder
	for w := 0; w < 16; w += 4 {
		fmt.Fprintf(&b, "%02X%02X%02X%02X", ip[w+3], ip[w+2], ip[w+1], ip[w])
	}
	return b.String()
}

// socketProcess finds the process holding socket inode among those whose
// descriptors this user may read.
func socketProcess(inode string) (pid, comm string) {
	target := "socket:[" + inode + "]"
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range procs {
		fds, err := os.ReadDir(filepath.Join(dir, "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if l, err := os.Readlink(filepath.Join(dir, "fd", fd.Name())); err == nil && l == target {
				c, _ := os.ReadFile(filepath.Join(dir, "comm"))
				return filepath.Base(dir), strings.TrimSpace(string(c))
			}
		}
	}
	return "", ""
}
