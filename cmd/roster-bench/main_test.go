package main

import (
	"os"
	"testing"

	"github.com/roster-dev/roster/internal/bench"
)

// TestMain lets this test binary be the floor server that the load test of
// TestSmoke starts: run starts its own command as the floor server, and in
// a test that command is this binary.
func TestMain(m *testing.M) {
	if os.Getenv(bench.FloorEnv) != "" {
		os.Exit(exitCode())
	}
	os.Exit(m.Run())
}
