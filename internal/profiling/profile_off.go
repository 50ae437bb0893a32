//go:build !pprof

// Package profiling is the daemon's profiling build for the bench (go run
// ./bench -profile DIR): with the pprof tag, Start writes CPU and allocation
// profiles (profile_on.go); production builds compile none of it. It imports
// nothing of bridged.
package profiling

import "io"

// Start does nothing in production builds (profile_on.go is the bench's
// profiling build); the func it returns stops nothing.
func Start(func(string) string, io.Writer) func() { return func() {} }
