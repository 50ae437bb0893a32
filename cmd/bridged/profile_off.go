//go:build !pprof

package main

import "io"

// startProfiling does nothing in production builds (profile_on.go is the
// bench's profiling build).
func startProfiling(func(string) string, io.Writer) func() { return func() {} }
