// Package loopback owns one rule: whether a host, or the address a client
// connected from, is this machine. The config's listen and upstream checks,
// the server's Host guard and the status page's local-only check ask it.
//
// It is a leaf: it must never import bbolt, chi, net/http, or another bridged package.
package loopback
