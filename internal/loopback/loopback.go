package loopback

import (
	"net"
	"net/netip"
	"strings"
)

// Host reports whether host (a name or an IP literal, with or without the
// brackets of an IPv6 literal) is this machine: "localhost" in any case, or a
// loopback address (127.0.0.0/8, ::1, also written IPv4-mapped as
// ::ffff:127.0.0.1). Any other name is not: bridged does not resolve it.
func Host(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && a.Unmap().IsLoopback()
}

// Remote reports whether addr, a client's host:port (http.Request.RemoteAddr)
// or a bare IP, is a loopback address. A name is not: a peer's address is
// always an IP.
func Remote(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && a.Unmap().IsLoopback()
}
