package loopback

import "testing"

func TestHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true, "[::1]": true,
		"::ffff:127.0.0.1": true, "[::ffff:127.0.0.1]": true, "::1%lo": true,
		"": false, "0.0.0.0": false, "::": false, "192.168.1.20": false, "2001:db8::1": false,
		"localhost.": false, "localhost.evil.example": false, "127.0.0.1.nip.io": false, "::ffff:192.168.1.1": false,
		"localhost:8470": false, "127.0.0.1:8470": false,
	} {
		if got := Host(host); got != want {
			t.Errorf("Host(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestRemote(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:50000": true, "[::1]:443": true, "[::ffff:127.0.0.1]:1": true, "127.0.0.1": true, "::1": true,
		"192.168.1.20:50000": false, "[2001:db8::1]:443": false, "garbage": false, "": false,
		"localhost:80": false, // a peer's address is an IP, never a name
	} {
		if got := Remote(addr); got != want {
			t.Errorf("Remote(%q) = %v, want %v", addr, got, want)
		}
	}
}
