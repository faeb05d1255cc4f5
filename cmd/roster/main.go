// Command roster serves and administers a Roster user directory.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// gcPercent is the garbage collector's goal (GOGC) when the environment sets
// none: the heap may grow to five times what is live before a collection,
// rather than twice. A node's live heap is small (a few MiB) and every
// request allocates, so at Go's default of 100 a loaded node collects
// dozens of times a second, and the collector's work and its assists stall
// SQLite's single writer. The price is a larger peak RSS, still far below
// what a node may use (docs/performance.md). GOGC, and GOMEMLIMIT for a
// hard budget, still apply when set.
const gcPercent = 400

// baseMemory is the soft memory limit of a serving node, besides its user
// cache, when GOMEMLIMIT is not set: the limit is baseMemory and twice the
// cache's bound (its estimate of a user's size is below the heap's). The
// users a node keeps are live heap, which gcPercent would let the heap grow
// to five times over; with the limit the collector runs when the heap
// reaches it instead.
const baseMemory = 24 << 20

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		limitServeMemory = func(cacheBytes int64) { debug.SetMemoryLimit(baseMemory + 2*max(cacheBytes, 0)) }
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "roster:", err)
		os.Exit(exitCode(err))
	}
}
