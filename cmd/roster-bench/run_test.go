package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
