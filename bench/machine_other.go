//go:build !linux

package main

import "errors"

func fsType(string) string { return "n/a" }

func evict(string) error { return errors.ErrUnsupported }
