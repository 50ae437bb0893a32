//go:build !linux

package main

import (
	"errors"
	"time"
)

func fsType(string) string { return "n/a" }

func evict(string) error { return errors.ErrUnsupported }

func ownCPU() (time.Duration, bool) { return 0, false }
