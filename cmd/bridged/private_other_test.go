//go:build !windows

package main

import "testing"

// makePrivate: on Unix the tests create their files owner-only already
// (0600, 0700), which is what bridged's access check asks.
func makePrivate(t *testing.T, path string, dir bool) { t.Helper() }
