package ratelimit_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/roster-dev/roster/internal/ratelimit"
)

func newCounter() prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: "ratelimit_errors_total", Help: "test"})
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// logLines returns a logger writing JSON lines to a buffer, and a function
// that counts them.
func logLines() (*slog.Logger, func() int) {
	var buf bytes.Buffer
	return slog.New(slog.NewJSONHandler(&buf, nil)), func() int { return strings.Count(buf.String(), "\n") }
}

// TestFailOpenRedisDown: with Redis unreachable, requests are allowed, each
// failure is counted, and the log is not flooded.
func TestFailOpenRedisDown(t *testing.T) {
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // nothing listens on port 1
	t.Cleanup(func() { down.Close() })
	errs := newCounter()
	log, lines := logLines()
	lim := ratelimit.FailOpen(ratelimit.NewRedis(down, "roster-test:"), log, errs)

	// A deadline far longer than FailOpen's own: if the call returns before
	// it, FailOpen did not wait on the dead Redis.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for i := range 3 {
		d, err := lim.Allow(ctx, "tenant", 5, 10)
		if err != nil {
			t.Fatalf("call %d: err = %v, want none", i, err)
		}
		if ctx.Err() != nil {
			t.Fatalf("call %d: returned after the caller's deadline", i)
		}
		if !d.Allowed || d.Limit != 5 || d.Burst != 10 || d.Remaining != 9 || d.RetryAfter != 0 || d.Reset.IsZero() {
			t.Errorf("call %d: Decision = %+v, want the best-effort guess: allowed, limit 5, 9 remaining", i, d)
		}
	}
	if got := counterValue(t, errs); got != 3 {
		t.Errorf("error counter = %v, want 3", got)
	}
	if got := lines(); got != 1 {
		t.Errorf("%d log lines, want 1", got)
	}
}

// hangingLimiter never answers, whatever its context says, like a client
// that does not apply a context's deadline to a socket that went silent.
type hangingLimiter struct {
	release  chan struct{}
	deadline chan time.Time
}

func (h hangingLimiter) Allow(ctx context.Context, _ string, _ float64, _ int) (ratelimit.Decision, error) {
	dl, _ := ctx.Deadline()
	h.deadline <- dl
	<-h.release
	return ratelimit.Decision{}, errors.New("too late")
}

// TestFailOpenBackendHangs: FailOpen gives the backend a short deadline and
// returns at it even if the backend does not.
func TestFailOpenBackendHangs(t *testing.T) {
	h := hangingLimiter{release: make(chan struct{}), deadline: make(chan time.Time, 1)}
	t.Cleanup(func() { close(h.release) })
	errs := newCounter()
	log, _ := logLines()
	lim := ratelimit.FailOpen(h, log, errs)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	d, err := lim.Allow(ctx, "tenant", 5, 10)
	if err != nil || !d.Allowed {
		t.Fatalf("Allow = %+v, %v; want allowed, no error", d, err)
	}
	if ctx.Err() != nil {
		t.Fatal("returned after the caller's deadline")
	}
	// FailOpen gave the backend a deadline of its own, well before the caller's.
	outer, _ := ctx.Deadline()
	if dl := <-h.deadline; dl.IsZero() || !dl.Before(outer) {
		t.Errorf("backend's deadline = %v, want one before the caller's %v", dl, outer)
	}
	if got := counterValue(t, errs); got != 1 {
		t.Errorf("error counter = %v, want 1", got)
	}
}

type failingLimiter struct{}

func (failingLimiter) Allow(context.Context, string, float64, int) (ratelimit.Decision, error) {
	return ratelimit.Decision{}, errors.New("connection refused")
}

// TestFailOpenLogsRarely: a thousand failures, one log line, every one counted.
func TestFailOpenLogsRarely(t *testing.T) {
	errs := newCounter()
	log, lines := logLines()
	lim := ratelimit.FailOpen(failingLimiter{}, log, errs)
	for range 1000 {
		if d, err := lim.Allow(t.Context(), "ip", 1, 1); err != nil || !d.Allowed || d.Remaining != 0 {
			t.Fatalf("Allow = %+v, %v; want allowed, 0 remaining", d, err)
		}
	}
	if got := counterValue(t, errs); got != 1000 {
		t.Errorf("error counter = %v, want 1000", got)
	}
	if got := lines(); got != 1 {
		t.Errorf("%d log lines, want 1", got)
	}
}

// TestFailOpenCallerCancelled: a request whose caller went away is not a
// backend failure.
func TestFailOpenCallerCancelled(t *testing.T) {
	errs := newCounter()
	log, lines := logLines()
	lim := ratelimit.FailOpen(failingLimiter{}, log, errs)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if d, err := lim.Allow(ctx, "ip", 1, 1); err != nil || !d.Allowed {
		t.Fatalf("Allow = %+v, %v; want allowed", d, err)
	}
	if got := counterValue(t, errs); got != 0 {
		t.Errorf("error counter = %v, want 0", got)
	}
	if got := lines(); got != 0 {
		t.Errorf("%d log lines, want 0", got)
	}
}

// TestFailOpenPassesDecisions: when the backend answers, its Decision is
// returned as it is, refusals included.
func TestFailOpenPassesDecisions(t *testing.T) {
	clk := newFakeClock()
	errs := newCounter()
	log, _ := logLines()
	lim := ratelimit.FailOpen(ratelimit.NewMemory(clk.Now), log, errs)
	for i, want := range []bool{true, true, false} {
		d, err := lim.Allow(t.Context(), "k", 1, 2)
		if err != nil || d.Allowed != want {
			t.Errorf("call %d: Allowed = %v, %v; want %v", i, d.Allowed, err, want)
		}
	}
	if got := counterValue(t, errs); got != 0 {
		t.Errorf("error counter = %v, want 0", got)
	}
}
