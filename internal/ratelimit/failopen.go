package ratelimit

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const (
	// FailOpenTimeout bounds each call to the wrapped Limiter: a rate limit
	// check must not add more than this to a request's latency.
	FailOpenTimeout = 100 * time.Millisecond
	// FailOpenLogEvery is the least time between two log lines about failures.
	FailOpenLogEvery = 10 * time.Second
)

// FailOpen returns a Limiter that lets requests through when primary fails
// (its backend is down, slow or unreachable), so that the rate limiter can
// never fail a request or hold it up for more than FailOpenTimeout.
//
// Each call to primary gets a context with a deadline FailOpenTimeout away,
// and FailOpen returns at that deadline even if primary does not. When primary
// returns an error, the request is allowed with a best-effort Decision: the
// backend's state is unknown, so it is that of a full bucket from which this
// request took a token (Limit rate, Remaining burst-1, Reset one token's
// refill time away). Every failure increments errors; at most one line per
// FailOpenLogEvery is logged, at warning level, with the number of failures
// since the previous line. A caller's own cancellation is not counted as a
// failure. Allow never returns an error.
//
// errors and log may be nil (no counting, slog.Default()).
func FailOpen(primary Limiter, log *slog.Logger, errors prometheus.Counter) Limiter {
	if log == nil {
		log = slog.Default()
	}
	return &failOpen{primary: primary, log: log, errors: errors}
}

type failOpen struct {
	primary Limiter
	log     *slog.Logger
	errors  prometheus.Counter

	nextLog  atomic.Int64 // unix nanoseconds before which no failure is logged
	unlogged atomic.Int64 // failures since the last log line
}

type allowResult struct {
	d   Decision
	err error
}

// Allow takes a token from primary's bucket, or lets the request through when
// primary fails. It never returns an error.
func (f *failOpen) Allow(ctx context.Context, key string, rate float64, burst int) (Decision, error) {
	cctx, cancel := context.WithTimeout(ctx, FailOpenTimeout)
	defer cancel()

	// Not every client honours a context's deadline on a socket that stopped
	// answering (go-redis does only with ContextTimeoutEnabled), so the call
	// runs on its own goroutine and is abandoned at the deadline. It ends when
	// the client's own timeout fires; its result goes to a buffered channel
	// that nobody needs to read.
	done := make(chan allowResult, 1)
	go func() {
		d, err := f.primary.Allow(cctx, key, rate, burst)
		done <- allowResult{d, err}
	}()
	var err error
	select {
	case res := <-done:
		if res.err == nil {
			return res.d, nil
		}
		err = res.err
	case <-cctx.Done():
		err = cctx.Err()
	}
	if ctx.Err() == nil {
		f.failed(err)
	}
	return guess(time.Now(), rate, burst), nil
}

func (f *failOpen) failed(err error) {
	if f.errors != nil {
		f.errors.Inc()
	}
	n := f.unlogged.Add(1)
	now := time.Now().UnixNano()
	next := f.nextLog.Load()
	if now < next || !f.nextLog.CompareAndSwap(next, now+int64(FailOpenLogEvery)) {
		return
	}
	f.unlogged.Add(-n)
	f.log.Warn("rate limiter unavailable: allowing requests without a limit", "err", err, "failures", n)
}

// guess is the Decision for a request allowed without knowing the bucket's
// state: that of a full bucket from which it took one token.
func guess(now time.Time, rate float64, burst int) Decision {
	d := Decision{Allowed: true, Limit: rate, Burst: burst, Remaining: max(burst-1, 0), Reset: now}
	if validLimit(rate, burst) {
		d.Reset = now.Add(seconds(1 / rate))
	}
	return d
}
