//go:build !windows

package ossvc

import "syscall"

// FDLimit is the process's limit of open files (Go raised the soft limit to
// the hard one at start), or 0 when it cannot be read.
func FDLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	if rl.Cur > 1<<30 {
		return 1 << 30
	}
	return int(rl.Cur)
}
