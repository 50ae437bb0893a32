//go:build !windows

package main

import "testing"

// makePrivate: on Unix the tests create their files owner-only already
// (0600, 0700), which is what bridged's access check asks.
func makePrivate(t *testing.T, path string, dir bool) { t.Helper() }

// forThisPlatform: test configs need nothing more on Unix.
func forThisPlatform(body string) string { return body }

// skipWhereACLsAreNotKept: Unix keeps file modes.
func skipWhereACLsAreNotKept(t *testing.T) { t.Helper() }
