// Package ratelimit is Roster's request rate limiter (docs/design.md §8): one token
// bucket per key (a tenant, or a client IP), whose rate and burst the caller
// passes on every call, so that a change of a tenant's plan applies at once.
//
// A bucket holds at most burst tokens and starts full. It refills
// continuously at rate tokens per second; each request takes one token, and is
// refused when less than one is left. When the rate or the burst of a bucket
// changes, the time elapsed so far is refilled at the old values and the new
// ones apply from that call on (the tokens are capped at the new burst).
//
// Two implementations: [Memory], in-process buckets for a single node, and
// [Redis], buckets shared by every node that uses the same Redis. [FailOpen]
// wraps a Limiter whose backend can fail, so that a request is never refused,
// failed or held up because the rate limiter's backend is down.
//
// A [Decision] carries what the HTTP layer needs for its headers:
// X-RateLimit-Limit (Burst, the requests a full bucket allows at once),
// X-RateLimit-Remaining (Remaining, from 0 to Burst), X-RateLimit-Reset
// (Reset) and, on a refusal, Retry-After (RetryAfter rounded up to whole
// seconds, at least 1).
package ratelimit

import (
	"context"
	"errors"
	"math"
	"time"
)

// Limiter takes tokens from named token buckets.
type Limiter interface {
	// Allow takes one token from the bucket named key, whose rate (tokens per
	// second) and burst (capacity) are given on each call: a tenant's plan can
	// change at any time, and the new values take effect at once.
	//
	// A refusal is not an error: it is a Decision with Allowed false. Returns
	// ErrInvalidLimit if rate is not a positive finite number or burst is
	// below 1, and, for a Limiter with a remote backend, the backend's error or
	// the context's.
	Allow(ctx context.Context, key string, rate float64, burst int) (Decision, error)
}

// Decision is the outcome of one Allow call.
type Decision struct {
	// Allowed reports whether a token was taken.
	Allowed bool
	// Limit is the bucket's refill rate, in requests per second.
	Limit float64
	// Burst is the bucket's capacity.
	Burst int
	// Remaining is the number of whole tokens left after this request:
	// never more than Burst, also just after the burst was lowered.
	Remaining int
	// Reset is when the bucket will be full again, if no request takes from it.
	Reset time.Time
	// RetryAfter is, when Allowed is false, how long until one token is
	// available; zero when Allowed is true.
	RetryAfter time.Duration
}

// ErrInvalidLimit is returned by Allow for a rate that is not a positive
// finite number or a burst below 1.
var ErrInvalidLimit = errors.New("ratelimit: rate must be a positive finite number and burst at least 1")

// maxWait caps the durations the limiters compute (Reset, RetryAfter, the
// Redis TTL): with a tiny rate and a huge burst, the time to refill would
// overflow a time.Duration. About 31.7 years is "never" for a client.
const maxWait = 1e12 * time.Millisecond

func validLimit(rate float64, burst int) bool {
	return rate > 0 && !math.IsInf(rate, 1) && burst >= 1 // rate > 0 is false for NaN
}

// seconds converts a number of seconds to a Duration, rounded up to the
// nanosecond so that a wait is never announced shorter than it is, and capped
// at maxWait.
func seconds(s float64) time.Duration {
	if s <= 0 {
		return 0
	}
	if s >= maxWait.Seconds() {
		return maxWait
	}
	return time.Duration(math.Ceil(s * float64(time.Second)))
}
