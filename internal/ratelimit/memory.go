package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// DefaultMaxBuckets is how many buckets NewMemory keeps at most: a few
// megabytes, and far more than the tenants and active client IPs of one node.
const DefaultMaxBuckets = 1 << 16

// trimPerCall is how many idle full buckets one Allow call evicts, at most,
// from the least recently used end of its shard. More than one, so that the
// sweep outpaces the arrival of new keys.
const trimPerCall = 2

// Memory is a Limiter whose buckets live in this process. It is safe for
// concurrent use; Allow never blocks on anything but a short critical
// section, and returns an error only for an invalid limit.
//
// Its memory is bounded. Buckets are kept in least-recently-used order in
// shards; each call evicts idle buckets that have refilled completely from the
// least recently used end of its shard (forgetting a full bucket changes
// nothing: a new bucket starts full), and when a shard is at its share of the
// cap, the least recently used bucket is evicted, full or not. Under a flood
// of distinct keys (client IPs) that fills the cap, an evicted bucket that was
// not yet full comes back full, a bounded leniency. Use separate Memory
// limiters for per-tenant and per-IP buckets, so that such a flood cannot
// evict a tenant's bucket.
type Memory struct {
	now    func() time.Time
	seed   maphash.Seed
	shards []memShard
}

type memShard struct {
	mu      sync.Mutex
	buckets map[string]*memBucket
	lru     memBucket // sentinel of a circular list: lru.next is the most recently used, lru.prev the least
	max     int
	_       [64]byte // keeps neighbouring shards' locks off one cache line
}

type memBucket struct {
	key        string
	tokens     float64
	last       time.Time // when tokens was computed
	rate       float64   // the rate and burst in force since last
	burst      int
	prev, next *memBucket
}

// NewMemory returns an in-process Limiter that keeps at most
// DefaultMaxBuckets buckets. now is its clock; nil means time.Now.
func NewMemory(now func() time.Time) *Memory {
	return NewMemoryCapped(now, DefaultMaxBuckets)
}

// NewMemoryCapped is NewMemory with a cap of maxBuckets buckets (at least 1).
func NewMemoryCapped(now func() time.Time, maxBuckets int) *Memory {
	if now == nil {
		now = time.Now
	}
	maxBuckets = max(maxBuckets, 1)
	n := 64
	for n > 1 && maxBuckets/n < 64 {
		n /= 2
	}
	m := &Memory{now: now, seed: maphash.MakeSeed(), shards: make([]memShard, n)}
	for i := range m.shards {
		s := &m.shards[i]
		s.buckets = make(map[string]*memBucket)
		s.lru.next, s.lru.prev = &s.lru, &s.lru
		s.max = maxBuckets / n
	}
	return m
}

// Allow takes one token from the bucket named key. The context is not used:
// nothing here waits. Returns ErrInvalidLimit if rate is not a positive finite
// number or burst is below 1.
func (m *Memory) Allow(_ context.Context, key string, rate float64, burst int) (Decision, error) {
	if !validLimit(rate, burst) {
		return Decision{}, ErrInvalidLimit
	}
	now := m.now()
	s := &m.shards[maphash.String(m.seed, key)%uint64(len(m.shards))]

	s.mu.Lock()
	b := s.buckets[key]
	if b == nil {
		if len(s.buckets) >= s.max {
			s.remove(s.lru.prev)
		}
		b = &memBucket{key: key, tokens: float64(burst), last: now}
		s.buckets[key] = b
	} else {
		b.refill(now)
		s.unlink(b)
	}
	s.pushFront(b)
	tokens := min(b.tokens, float64(burst))
	allowed := tokens >= 1
	if allowed {
		tokens--
	}
	b.tokens, b.rate, b.burst = tokens, rate, burst
	s.trim(now)
	s.mu.Unlock()

	d := Decision{
		Allowed:   allowed,
		Limit:     rate,
		Burst:     burst,
		Remaining: int(tokens),
		Reset:     now.Add(seconds((float64(burst) - tokens) / rate)),
	}
	if !allowed {
		d.RetryAfter = seconds((1 - tokens) / rate)
	}
	return d, nil
}

// Len returns the number of buckets held.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.buckets)
		s.mu.Unlock()
	}
	return n
}

// refill brings b's tokens up to now at b's own rate and burst. A clock that
// went backwards refills nothing and keeps b.last, so that the span is not
// counted twice.
func (b *memBucket) refill(now time.Time) {
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(float64(b.burst), b.tokens+elapsed.Seconds()*b.rate)
		b.last = now
	}
}

// fullAt reports whether b has refilled completely by now.
func (b *memBucket) fullAt(now time.Time) bool {
	return b.tokens+now.Sub(b.last).Seconds()*b.rate >= float64(b.burst)
}

// trim evicts up to trimPerCall idle full buckets from the least recently
// used end. It stops at the first bucket that is not full: this is a cheap
// sweep, not an exact one, and the cap bounds the rest.
func (s *memShard) trim(now time.Time) {
	for range trimPerCall {
		b := s.lru.prev
		if b == &s.lru || b == s.lru.next || !b.fullAt(now) {
			return
		}
		s.remove(b)
	}
}

func (s *memShard) pushFront(b *memBucket) {
	b.prev, b.next = &s.lru, s.lru.next
	s.lru.next.prev = b
	s.lru.next = b
}

func (s *memShard) unlink(b *memBucket) {
	b.prev.next, b.next.prev = b.next, b.prev
	b.prev, b.next = nil, nil
}

func (s *memShard) remove(b *memBucket) {
	s.unlink(b)
	delete(s.buckets, b.key)
}
