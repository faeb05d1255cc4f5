package ratelimit

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed tokenbucket.lua
var tokenBucketLua string

// Redis is a Limiter whose buckets live in Redis, shared by every node that
// uses the same Redis and key prefix: all nodes see one bucket per key.
//
// One Lua script does each call's read, refill, take and write, so a bucket is
// updated atomically however many nodes call at once, and it times the refill
// with the Redis server's clock, so the nodes' clocks do not matter. A bucket
// expires once it would be full again, so idle keys cost Redis nothing.
//
// Allow waits for Redis as long as the client lets it: give the client
// ContextTimeoutEnabled so that the context's deadline bounds socket reads and
// writes too, and wrap the Redis limiter in FailOpen.
type Redis struct {
	client redis.UniversalClient
	prefix string
	script *redis.Script
}

// NewRedis returns a Limiter that keeps the bucket named key in the Redis hash
// prefix+key (for example prefix "roster:ratelimit:").
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix, script: redis.NewScript(tokenBucketLua)}
}

// Allow takes one token from the bucket named key. It runs the script by its
// digest (EVALSHA) and sends the script's text only when Redis does not have
// it cached. Returns ErrInvalidLimit if rate is not a positive finite number
// or burst is below 1, and otherwise any error of the client or the context.
func (r *Redis) Allow(ctx context.Context, key string, rate float64, burst int) (Decision, error) {
	if !validLimit(rate, burst) {
		return Decision{}, ErrInvalidLimit
	}
	res, err := r.script.Run(ctx, r.client, []string{r.prefix + key}, rate, burst).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("rate limit: %w", err)
	}
	if len(res) != 4 {
		return Decision{}, fmt.Errorf("rate limit: the script returned %d values, want 4", len(res))
	}
	// reset and retry are durations, not instants, so that Reset is on this
	// node's clock, the one its Date header and its clients go by.
	d := Decision{
		Allowed:   res[0] == 1,
		Limit:     rate,
		Burst:     burst,
		Remaining: int(res[1]),
		Reset:     time.Now().Add(time.Duration(res[2]) * time.Millisecond),
	}
	if !d.Allowed {
		d.RetryAfter = time.Duration(res[3]) * time.Millisecond
	}
	return d, nil
}
