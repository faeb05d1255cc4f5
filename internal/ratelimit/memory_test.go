package ratelimit_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/ratelimit"
)

// TestMemoryBounded: a flood of distinct keys (client IPs) does not grow the
// limiter past its cap.
func TestMemoryBounded(t *testing.T) {
	for _, tc := range []struct {
		name string
		lim  *ratelimit.Memory
		max  int
	}{
		{"default cap", ratelimit.NewMemory(newFakeClock().Now), ratelimit.DefaultMaxBuckets},
		{"small cap", ratelimit.NewMemoryCapped(newFakeClock().Now, 1000), 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range 100_000 {
				// No bucket refills: none can be evicted as idle and full.
				if _, err := tc.lim.Allow(t.Context(), "ip-"+strconv.Itoa(i), 1, 10); err != nil {
					t.Fatal(err)
				}
				if i%10_000 == 0 {
					if n := tc.lim.Len(); n > tc.max {
						t.Fatalf("after %d keys: %d buckets, want at most %d", i+1, n, tc.max)
					}
				}
			}
			if n := tc.lim.Len(); n > tc.max || n < tc.max*9/10 {
				t.Errorf("after 100000 keys: %d buckets, want at most %d and near it", n, tc.max)
			}
		})
	}
}

// TestMemoryEvictsIdleFullBuckets: buckets that have refilled completely are
// swept away by later calls, before the cap is reached.
func TestMemoryEvictsIdleFullBuckets(t *testing.T) {
	clk := newFakeClock()
	lim := ratelimit.NewMemoryCapped(clk.Now, 64) // one shard: the sweep's order is known
	for i := range 20 {
		if _, err := lim.Allow(t.Context(), "old-"+strconv.Itoa(i), 10, 1); err != nil {
			t.Fatal(err)
		}
	}
	clk.Sleep(time.Second) // every old bucket is full again
	for i := range 10 {
		if _, err := lim.Allow(t.Context(), "new-"+strconv.Itoa(i), 10, 1); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := lim.Len(), 10; got != want {
		t.Errorf("Len = %d, want %d (the 20 idle full buckets swept, the 10 new ones kept)", got, want)
	}
}

// TestMemoryEvictsLeastRecentlyUsed: at the cap, a bucket in use survives a
// flood of new keys; its state is not lost.
func TestMemoryEvictsLeastRecentlyUsed(t *testing.T) {
	clk := newFakeClock()
	lim := ratelimit.NewMemoryCapped(clk.Now, 64)
	if d, _ := lim.Allow(t.Context(), "hot", 1, 1); !d.Allowed {
		t.Fatal("first call refused")
	}
	for i := range 1000 {
		if _, err := lim.Allow(t.Context(), "cold-"+strconv.Itoa(i), 1, 1); err != nil {
			t.Fatal(err)
		}
		if d, _ := lim.Allow(t.Context(), "hot", 1, 1); d.Allowed {
			t.Fatalf("after %d cold keys: the hot bucket was forgotten and came back full", i+1)
		}
	}
	if n := lim.Len(); n > 64 {
		t.Errorf("Len = %d, want at most 64", n)
	}
}

// TestMemoryClockBackwards: a clock that steps back refills nothing, and the
// span is not counted twice when it catches up.
func TestMemoryClockBackwards(t *testing.T) {
	clk := newFakeClock()
	lim := ratelimit.NewMemory(clk.Now)
	lim.Allow(t.Context(), "k", 1, 1)
	clk.Sleep(-10 * time.Second)
	if d, _ := lim.Allow(t.Context(), "k", 1, 1); d.Allowed {
		t.Error("allowed after the clock stepped back")
	}
	clk.Sleep(10*time.Second + 500*time.Millisecond)
	if d, _ := lim.Allow(t.Context(), "k", 1, 1); d.Allowed {
		t.Error("allowed 0.5 s after the last refill at 1/s")
	}
	clk.Sleep(500 * time.Millisecond)
	if d, _ := lim.Allow(t.Context(), "k", 1, 1); !d.Allowed {
		t.Error("refused 1 s after the last refill at 1/s")
	}
}

// TestMemoryRealClock: a nil clock is the wall clock.
func TestMemoryRealClock(t *testing.T) {
	lim := ratelimit.NewMemory(nil)
	before := time.Now()
	d, err := lim.Allow(t.Context(), "k", 1, 2)
	if err != nil || !d.Allowed || d.Reset.Before(before.Add(time.Second)) || d.Reset.After(time.Now().Add(time.Second)) {
		t.Errorf("Allow = %+v, %v; want allowed, reset a second from now", d, err)
	}
}

func BenchmarkMemoryAllow(b *testing.B) {
	lim := ratelimit.NewMemory(nil)
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "tenant-" + strconv.Itoa(i)
	}
	for _, plan := range []struct {
		name  string
		rate  float64
		burst int
	}{
		{"default plan", 100, 200},    // buckets run dry: most calls are refusals
		{"huge plan", 1e6, 1_000_000}, // buckets refill in microseconds: idle ones are evicted and made anew
	} {
		b.Run(plan.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					lim.Allow(b.Context(), keys[i%len(keys)], plan.rate, plan.burst)
					i++
				}
			})
		})
	}
}
