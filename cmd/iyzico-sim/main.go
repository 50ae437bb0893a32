// Command iyzico-sim serves a stateful simulator of the iyzico Terminal API on
// loopback, for development, tests and demos. It is never part of a bridged
// installation: there is no iyzico sandbox to reach, so this stands in for it.
//
//	iyzico-sim -listen 127.0.0.1:0
//
// prints "iyzico-sim listening on http://127.0.0.1:PORT" as its first line and
// serves until SIGINT or SIGTERM. See docs/simulator.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := exitCode(run(ctx, os.Args[1:], os.Stdout, os.Stderr), os.Stderr)
	stop()
	os.Exit(code)
}
