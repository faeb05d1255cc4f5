package ratelimit_test

import (
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/ratelimit"
)

// clock is the time a backend's buckets go by, as a test sees it.
type clock interface {
	Now() time.Time
	Sleep(time.Duration)
}

// fakeClock stands still until told to move: Memory's tests are exact.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Sleep(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// realClock is the wall clock: Redis times buckets with its own clock.
type realClock struct{}

func (realClock) Now() time.Time        { return time.Now() }
func (realClock) Sleep(d time.Duration) { time.Sleep(d) }

// backend makes a fresh Limiter for one test and tells how precisely its
// durations can be checked.
type backend struct {
	name string
	open func(t *testing.T) (ratelimit.Limiter, clock)
	// tolerance is how far Reset and RetryAfter may be from the exact value:
	// time passes between the steps of a real-clock test, and Redis rounds
	// to milliseconds.
	tolerance time.Duration
}

func backends() []backend {
	return []backend{
		{
			name: "memory",
			open: func(t *testing.T) (ratelimit.Limiter, clock) {
				c := newFakeClock()
				return ratelimit.NewMemory(c.Now), c
			},
			tolerance: time.Microsecond, // float rounding only
		},
		{
			name: "redis",
			open: func(t *testing.T) (ratelimit.Limiter, clock) {
				c := newRedisClient(t)
				return ratelimit.NewRedis(c, testPrefix(t, c)), realClock{}
			},
			tolerance: 100 * time.Millisecond,
		},
	}
}

// step is one Allow call of a scenario and the Decision it must return.
type step struct {
	sleep     time.Duration // before the call
	key       string
	rate      float64
	burst     int
	allowed   bool
	remaining int
	reset     time.Duration // Reset, from the time of the call
	retry     time.Duration // RetryAfter
}

// TestBehaviour runs the same scenarios against every backend: Memory and
// Redis must behave alike.
func TestBehaviour(t *testing.T) {
	scenarios := []struct {
		name  string
		steps []step
	}{
		{
			name: "burst then refusal then refill",
			steps: []step{
				{key: "a", rate: 2, burst: 5, allowed: true, remaining: 4, reset: 500 * time.Millisecond},
				{key: "a", rate: 2, burst: 5, allowed: true, remaining: 3, reset: 1000 * time.Millisecond},
				{key: "a", rate: 2, burst: 5, allowed: true, remaining: 2, reset: 1500 * time.Millisecond},
				{key: "a", rate: 2, burst: 5, allowed: true, remaining: 1, reset: 2000 * time.Millisecond},
				{key: "a", rate: 2, burst: 5, allowed: true, remaining: 0, reset: 2500 * time.Millisecond},
				{key: "a", rate: 2, burst: 5, allowed: false, remaining: 0, reset: 2500 * time.Millisecond, retry: 500 * time.Millisecond},
				// 600 ms refill 1.2 tokens: one is taken, 0.2 left.
				{sleep: 600 * time.Millisecond, key: "a", rate: 2, burst: 5, allowed: true, remaining: 0, reset: 2400 * time.Millisecond},
				{key: "a", rate: 2, burst: 5, allowed: false, remaining: 0, reset: 2400 * time.Millisecond, retry: 400 * time.Millisecond},
			},
		},
		{
			name: "a new rate applies at once",
			steps: []step{
				{key: "b", rate: 0.5, burst: 2, allowed: true, remaining: 1, reset: 2 * time.Second},
				{key: "b", rate: 0.5, burst: 2, allowed: true, remaining: 0, reset: 4 * time.Second},
				{key: "b", rate: 0.5, burst: 2, allowed: false, remaining: 0, reset: 4 * time.Second, retry: 2 * time.Second},
				// The plan is raised: the next token is a millisecond away, not two seconds.
				{key: "b", rate: 1000, burst: 2, allowed: false, remaining: 0, reset: 2 * time.Millisecond, retry: time.Millisecond},
				{sleep: 10 * time.Millisecond, key: "b", rate: 1000, burst: 2, allowed: true, remaining: 1, reset: time.Millisecond},
			},
		},
		{
			name: "a lower rate applies at once",
			steps: []step{
				{key: "f", rate: 2, burst: 1, allowed: true, remaining: 0, reset: 500 * time.Millisecond},
				{key: "f", rate: 0.5, burst: 1, allowed: false, remaining: 0, reset: 2 * time.Second, retry: 2 * time.Second},
				// At the old rate, 600 ms would have refilled the bucket; at
				// the new one, 0.3 tokens.
				{sleep: 600 * time.Millisecond, key: "f", rate: 0.5, burst: 1, allowed: false, remaining: 0, reset: 1400 * time.Millisecond, retry: 1400 * time.Millisecond},
			},
		},
		{
			name: "a new burst applies at once",
			steps: []step{
				{key: "c", rate: 1, burst: 10, allowed: true, remaining: 9, reset: time.Second},
				// Nine tokens, capped at the new burst of 3; one taken.
				{key: "c", rate: 1, burst: 3, allowed: true, remaining: 2, reset: time.Second},
				// A larger burst does not add tokens: it lets more accumulate.
				{key: "c", rate: 1, burst: 10, allowed: true, remaining: 1, reset: 9 * time.Second},
			},
		},
		{
			name: "buckets are independent",
			steps: []step{
				{key: "d", rate: 1, burst: 1, allowed: true, remaining: 0, reset: time.Second},
				{key: "d", rate: 1, burst: 1, allowed: false, remaining: 0, reset: time.Second, retry: time.Second},
				{key: "e", rate: 1, burst: 1, allowed: true, remaining: 0, reset: time.Second},
			},
		},
	}
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					lim, clk := be.open(t)
					for i, s := range sc.steps {
						clk.Sleep(s.sleep)
						before := clk.Now()
						got, err := lim.Allow(t.Context(), s.key, s.rate, s.burst)
						after := clk.Now()
						if err != nil {
							t.Fatalf("step %d: Allow: %v", i, err)
						}
						checkDecision(t, i, s, got, before, after, be.tolerance)
					}
				})
			}
			t.Run("invalid limits", func(t *testing.T) {
				lim, _ := be.open(t)
				for _, l := range []struct {
					rate  float64
					burst int
				}{{0, 1}, {-1, 1}, {math.NaN(), 1}, {math.Inf(1), 1}, {1, 0}, {1, -5}} {
					if _, err := lim.Allow(t.Context(), "k", l.rate, l.burst); !errors.Is(err, ratelimit.ErrInvalidLimit) {
						t.Errorf("Allow(rate %v, burst %d): err = %v, want ErrInvalidLimit", l.rate, l.burst, err)
					}
				}
			})
		})
	}
}

func checkDecision(t *testing.T, i int, s step, got ratelimit.Decision, before, after time.Time, tol time.Duration) {
	t.Helper()
	if got.Allowed != s.allowed || got.Remaining != s.remaining {
		t.Errorf("step %d: Allowed, Remaining = %v, %d; want %v, %d", i, got.Allowed, got.Remaining, s.allowed, s.remaining)
	}
	if got.Limit != s.rate || got.Burst != s.burst {
		t.Errorf("step %d: Limit, Burst = %v, %d; want %v, %d", i, got.Limit, got.Burst, s.rate, s.burst)
	}
	if lo, hi := before.Add(s.reset-tol), after.Add(s.reset+tol); got.Reset.Before(lo) || got.Reset.After(hi) {
		t.Errorf("step %d: Reset = call + %v, want call + %v (± %v)", i, got.Reset.Sub(before), s.reset, tol)
	}
	if s.allowed {
		if got.RetryAfter != 0 {
			t.Errorf("step %d: RetryAfter = %v on an allowed request, want 0", i, got.RetryAfter)
		}
		return
	}
	// Never zero on a refusal, never more than one token's refill time
	// (plus Redis's rounding up to the millisecond).
	if limit := time.Duration(float64(time.Second)/s.rate) + time.Millisecond; got.RetryAfter <= 0 || got.RetryAfter > limit {
		t.Errorf("step %d: RetryAfter = %v, want in (0, %v]", i, got.RetryAfter, limit)
	}
	if d := got.RetryAfter - s.retry; d < -tol || d > tol {
		t.Errorf("step %d: RetryAfter = %v, want %v (± %v)", i, got.RetryAfter, s.retry, tol)
	}
}

// TestConcurrency is the atomicity proof: 200 concurrent requests on a bucket
// of 100 that barely refills get exactly 100 tokens.
func TestConcurrency(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			lim, _ := be.open(t)
			var allowed, denied atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, 200)
			for range 50 {
				wg.Go(func() {
					for range 4 {
						d, err := lim.Allow(t.Context(), "shared", 0.001, 100)
						switch {
						case err != nil:
							errs <- err
						case d.Allowed:
							allowed.Add(1)
						default:
							denied.Add(1)
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("Allow: %v", err)
			}
			if got, want := allowed.Load(), int64(100); got != want {
				t.Errorf("allowed %d of 200, want %d (denied %d)", got, want, denied.Load())
			}
		})
	}
}

// TestRemainingNeverAboveBurst: whatever the plan does between calls (a
// burst raised or lowered, a rate changed, time passing), Remaining is from
// 0 to the burst of the call, the X-RateLimit-Limit it is shown with.
func TestRemainingNeverAboveBurst(t *testing.T) {
	plans := []struct {
		rate  float64
		burst int
		sleep time.Duration
	}{
		{1000, 50, 0}, {1000, 3, 0}, {1000, 50, 20 * time.Millisecond}, {0.5, 1, 0}, {1e6, 100, 5 * time.Millisecond},
		{2, 7, 0}, {1000, 2, 30 * time.Millisecond}, {1e6, 1000, 10 * time.Millisecond}, {1, 1, 0}, {1000, 20, 0},
	}
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			lim, clk := be.open(t)
			for round := range 3 {
				for i, p := range plans {
					clk.Sleep(p.sleep)
					for range 3 {
						d, err := lim.Allow(t.Context(), "k", p.rate, p.burst)
						if err != nil {
							t.Fatalf("Allow: %v", err)
						}
						if d.Remaining < 0 || d.Remaining > d.Burst || d.Burst != p.burst {
							t.Errorf("round %d, plan %d (rate %v, burst %d): Remaining %d, Burst %d", round, i, p.rate, p.burst, d.Remaining, d.Burst)
						}
					}
				}
			}
		})
	}
}
