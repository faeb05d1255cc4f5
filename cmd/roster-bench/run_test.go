package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/bench"
)

// TestSmoke runs the whole tool on SQLite with a few users and short
// cells, and checks that every number it reports is sane.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs roster serve")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"roster-bench", "--users", "300", "--concurrency", "1,4", "--duration", "400ms",
		"--warmup", "100ms", "--ops", "raw,floor,PATCH,GET", "--explain", "--json", "-q"}, func(string) string { return "" }, &stdout, &stderr)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	var rep bench.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("decode report: %v\n%s", err, stdout.String())
	}
	if rep.Backend != "sqlite" || rep.Users != 300 {
		t.Errorf("backend %q, users %d; want sqlite, 300", rep.Backend, rep.Users)
	}
	seen := map[string]bool{}
	for _, r := range rep.Results {
		name := fmt.Sprintf("%s/%d", r.Op, r.Concurrency)
		seen[name] = true
		t.Logf("%-8s %.0f req/s p50 %s p99 %s p99.9 %s errors %d", name, r.RPS, r.Latency.P50, r.Latency.P99, r.Latency.P999, r.Errors)
		if r.Errors != 0 {
			t.Errorf("%s: %d errors, first: %s", name, r.Errors, r.FirstError)
		}
		if r.Requests < 5 || r.RPS <= 0 {
			t.Errorf("%s: %d requests, %.1f/s", name, r.Requests, r.RPS)
		}
		l := r.Latency
		if !(0 < l.P50 && l.P50 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max && l.Max < 10*time.Second) {
			t.Errorf("%s: latencies not ordered or not plausible: %+v", name, l)
		}
		if r.Op != "raw" {
			if r.ServerPeakRSS < 1<<20 || r.ServerPeakRSS > 4<<30 {
				t.Errorf("%s: server peak RSS %d bytes", name, r.ServerPeakRSS)
			}
			if r.ServerCPUPerRequest <= 0 || r.ServerCPUPerRequest > time.Second {
				t.Errorf("%s: server CPU per request %s", name, r.ServerCPUPerRequest)
			}
		}
	}
	for _, want := range []string{"raw/1", "floor/1", "PATCH/1", "GET/1", "raw/4", "floor/4", "PATCH/4", "GET/4"} {
		if !seen[want] {
			t.Errorf("no result for %s", want)
		}
	}
	for _, c := range []int{1, 4} {
		if r := rep.Ratios[c]; r <= 0 || r > 10 {
			t.Errorf("PATCH/raw ratio at %d: %v", c, r)
		}
		if r := rep.FloorRatios[c]; r <= 0 || r > 10 {
			t.Errorf("PATCH/floor ratio at %d: %v", c, r)
		}
	}
	if !strings.Contains(rep.Explain, "USING INDEX users_email_key") {
		t.Errorf("the list-by-email plan does not use users_email_key:\n%s", rep.Explain)
	}

	// The table says the same.
	var table bytes.Buffer
	if err := bench.WriteTable(&table, &rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"PATCH/raw throughput", "PATCH/floor throughput", "p99.9", "server peak RSS"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

// TestCompare compares a build of roster with itself, behind a wrapper
// that records its start: both builds must have served (two processes,
// each spending CPU on its own turns, the other's start recorded), in
// three rounds each, with ratios near 1.
func TestCompare(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs roster serve twice")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin, err := bench.BuildRoster(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "other-ran")
	other := filepath.Join(dir, "other-roster")
	script := fmt.Sprintf("#!/bin/sh\necho \"$1\" >> '%s'\nexec '%s' \"$@\"\n", marker, bin)
	if err := os.WriteFile(other, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err = run(ctx, []string{"roster-bench", "--roster-bin", bin, "--compare", other, "--users", "200", "--concurrency", "2",
		"--duration", "900ms", "--warmup", "100ms", "--ops", "GET", "--json", "-q"}, func(string) string { return "" }, &stdout, &stderr)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	var rep bench.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("decode report: %v\n%s", err, stdout.String())
	}
	c := rep.Compare
	if c == nil {
		t.Fatalf("no comparison in the report:\n%s", stdout.String())
	}
	if c.New != bin || c.Old != other || c.NewPID <= 0 || c.OldPID <= 0 || c.NewPID == c.OldPID {
		t.Errorf("builds %s (pid %d) and %s (pid %d)", c.New, c.NewPID, c.Old, c.OldPID)
	}
	if b, err := os.ReadFile(marker); err != nil || string(b) != "serve\n" {
		t.Errorf("the other build's starts: %q, %v; want one serve", b, err)
	}
	if len(c.Points) != 1 || c.Points[0].Op != "GET" || c.Points[0].Concurrency != 2 {
		t.Fatalf("points %+v, want GET at 2", c.Points)
	}
	p := c.Points[0]
	for name, s := range map[string]bench.Side{"new": p.New, "old": p.Old} {
		if s.Errors != 0 || s.Requests < 10 || len(s.Rounds) != 3 {
			t.Errorf("%s: %d requests, %d errors, %d rounds", name, s.Requests, s.Errors, len(s.Rounds))
		}
		for i, r := range s.Rounds {
			if r.RPS <= 0 || r.ServerCPUPerRequest <= 0 || r.P50 <= 0 {
				t.Errorf("%s, round %d: %+v", name, i+1, r)
			}
		}
	}
	// The same build: a ratio far from 1 would be a fault of the mode (a
	// shared machine moves them some).
	for name, r := range map[string]bench.Ratio{"CPU/req": p.CPU, "req/s": p.RPS, "p50": p.P50} {
		t.Logf("%s: %.3f (%.3f–%.3f)", name, r.Median, r.Min, r.Max)
		if r.Median < 1/2.5 || r.Median > 2.5 || r.Min > r.Max || r.Min <= 0 {
			t.Errorf("%s: ratio %.3f, spread %.3f–%.3f; want near 1", name, r.Median, r.Min, r.Max)
		}
	}
	// The table says so too.
	var table bytes.Buffer
	if err := bench.WriteTable(&table, &rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"comparison, new/old", "spread", other} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

func TestCompareNeedsRounds(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"roster-bench", "--compare", "/bin/true", "--rounds", "2"}, func(string) string { return "" }, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "3 rounds") {
		t.Errorf("--compare with 2 rounds: %v; want an error", err)
	}
}
