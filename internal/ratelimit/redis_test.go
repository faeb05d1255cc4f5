package ratelimit_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/roster-dev/roster/internal/ratelimit"
)

// redisURL is the Redis the tests use: ROSTER_TEST_REDIS, or a local one.
func redisURL() string {
	if u := os.Getenv("ROSTER_TEST_REDIS"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// newRedisClient connects to the test Redis, or skips the test when there is
// none, except in CI, where a missing Redis is a failure.
func newRedisClient(tb testing.TB) *redis.Client {
	tb.Helper()
	url := redisURL()
	opt, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("ROSTER_TEST_REDIS=%q: %v", url, err)
	}
	opt.ContextTimeoutEnabled = true
	c := redis.NewClient(opt)
	tb.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("Redis not reachable at %s: %v; CI never skips this", url, err)
		}
		tb.Skipf("Redis not reachable at %s (set ROSTER_TEST_REDIS to use another): %v; CI never skips this", url, err)
	}
	return c
}

// testPrefix returns a key prefix of the test's own, so that parallel runs do
// not share buckets, and deletes the test's keys when it ends.
func testPrefix(tb testing.TB, c *redis.Client) string {
	tb.Helper()
	prefix := "roster-test:ratelimit:" + rand.Text() + ":"
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("clean up %s*: %v", prefix, err)
			return
		}
		if len(keys) > 0 {
			if err := c.Del(ctx, keys...).Err(); err != nil {
				tb.Errorf("clean up %s*: %v", prefix, err)
			}
		}
	})
	return prefix
}

// TestRedisNodesShareBuckets: two limiters with two clients, as on two nodes,
// take from one bucket.
func TestRedisNodesShareBuckets(t *testing.T) {
	c1, c2 := newRedisClient(t), newRedisClient(t)
	prefix := testPrefix(t, c1)
	node1, node2 := ratelimit.NewRedis(c1, prefix), ratelimit.NewRedis(c2, prefix)

	for i, call := range []struct {
		node      ratelimit.Limiter
		allowed   bool
		remaining int
	}{
		{node1, true, 2},
		{node2, true, 1},
		{node1, true, 0},
		{node2, false, 0},
		{node1, false, 0},
	} {
		d, err := call.node.Allow(t.Context(), "tenant", 0.001, 3)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if d.Allowed != call.allowed || d.Remaining != call.remaining {
			t.Errorf("call %d: Allowed, Remaining = %v, %d; want %v, %d", i, d.Allowed, d.Remaining, call.allowed, call.remaining)
		}
	}
}

// TestRedisBucketExpires: a bucket lives about as long as it takes to refill,
// plus a margin, so idle keys leave Redis.
func TestRedisBucketExpires(t *testing.T) {
	c := newRedisClient(t)
	prefix := testPrefix(t, c)
	lim := ratelimit.NewRedis(c, prefix)
	if _, err := lim.Allow(t.Context(), "ip", 2, 5); err != nil {
		t.Fatal(err)
	}
	// One token taken at 2/s: full again in 500 ms, expires a second later.
	ttl, err := c.PTTL(t.Context(), prefix+"ip").Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 1400*time.Millisecond || ttl > 1500*time.Millisecond {
		t.Errorf("PTTL = %v, want in (1.4s, 1.5s]", ttl)
	}
	fields, err := c.HGetAll(t.Context(), prefix+"ip").Result()
	if err != nil {
		t.Fatal(err)
	}
	if tokens, _ := strconv.ParseFloat(fields["tokens"], 64); tokens < 4 || tokens >= 5 || fields["rate"] != "2" || fields["burst"] != "5" {
		t.Errorf("bucket = %v, want tokens 4, rate 2, burst 5", fields)
	}
}

// TestRedisScriptCacheFlushed: after SCRIPT FLUSH (a restart, a failover),
// EVALSHA fails with NOSCRIPT and the limiter falls back to EVAL.
func TestRedisScriptCacheFlushed(t *testing.T) {
	c := newRedisClient(t)
	lim := ratelimit.NewRedis(c, testPrefix(t, c))
	for i := range 3 {
		if i == 1 {
			if err := c.ScriptFlush(t.Context()).Err(); err != nil {
				t.Fatal(err)
			}
		}
		d, err := lim.Allow(t.Context(), "k", 1, 10)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if want := 9 - i; d.Remaining != want {
			t.Errorf("call %d: Remaining = %d, want %d", i, d.Remaining, want)
		}
	}
}

// TestRedisHugeWait: a tiny rate with a huge burst caps the waits instead of
// overflowing them.
func TestRedisHugeWait(t *testing.T) {
	c := newRedisClient(t)
	lim := ratelimit.NewRedis(c, testPrefix(t, c))
	d, err := lim.Allow(t.Context(), "k", 1e-9, 10_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Allowed || d.Remaining != 9_999_999 || d.Reset.Before(time.Now().Add(30*365*24*time.Hour)) {
		t.Errorf("Decision = %+v, want allowed, 9999999 remaining, a reset decades away", d)
	}
}

func BenchmarkRedisAllow(b *testing.B) {
	c := newRedisClient(b)
	lim := ratelimit.NewRedis(c, testPrefix(b, c))
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("tenant-%d", i)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := lim.Allow(b.Context(), keys[i%len(keys)], 1e6, 1_000_000); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := lim.Allow(context.Background(), keys[i%len(keys)], 1e6, 1_000_000); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
}
