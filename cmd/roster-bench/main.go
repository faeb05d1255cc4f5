// Command roster-bench is Roster's load test. It starts `roster serve` on
// loopback in a child process (or targets a running server), seeds users,
// measures the storage layer's own update transaction, drives PATCH and GET
// at several concurrencies, and reports requests/s, latency percentiles,
// the server's CPU per request and peak RSS, and the ratio of HTTP PATCH
// throughput to the raw store rate. See docs/performance.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() { os.Exit(exitCode()) }

// exitCode runs the command as main does and returns its exit status.
func exitCode() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "roster-bench:", err)
		return 1
	}
	return 0
}
