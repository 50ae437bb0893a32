//go:build !failpoint

package main

import "io"

// failpointSeams is empty in production builds: the daemon has no test hooks.
func failpointSeams(io.Writer) (seams, error) { return seams{}, nil }
