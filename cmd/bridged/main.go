// Command bridged connects cash-register software to card terminals through the
// iyzico Terminal API. main only turns run's error into an exit code; run wires
// everything.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bridged:", err)
		os.Exit(exitCode(err))
	}
}
