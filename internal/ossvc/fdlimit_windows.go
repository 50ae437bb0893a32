//go:build windows

package ossvc

// FDLimit: Windows has no per-process limit of sockets to keep below.
func FDLimit() int { return 0 }
