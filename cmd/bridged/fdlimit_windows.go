//go:build windows

package main

// fdLimit: Windows has no per-process limit of sockets to keep below.
func fdLimit() int { return 0 }
