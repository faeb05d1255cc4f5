package directory

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// ID prefixes (§1).
const (
	PrefixTenant     = "ten_"
	PrefixUser       = "usr_"
	PrefixKey        = "key_"
	PrefixEndpoint   = "whe_"
	PrefixSuspension = "sus_"
	PrefixEvent      = "evt_"
	PrefixAudit      = "aud_"
	PrefixDelivery   = "dlv_"
)

// recentMillis is how many milliseconds keep their own monotonic entropy.
const recentMillis = 64

var (
	entropyMu sync.Mutex
	// entropies are monotonic per millisecond, so IDs made for the same
	// millisecond sort in the order they were made even when IDs for other
	// milliseconds are made between them (a request that took its time
	// before another's, or a test's fixed clock): lists are ordered by ID.
	// One shared monotonic source would start afresh at each change of
	// millisecond and could go backwards on the way back.
	entropies  = make(map[uint64]*ulid.MonotonicEntropy, recentMillis)
	millisMade [recentMillis]uint64 // a ring of entropies' keys, to forget the oldest
	nextMade   int
)

// NewULID returns a new ULID for time t.
func NewULID(t time.Time) ulid.ULID {
	ms := ulid.Timestamp(t)
	entropyMu.Lock()
	defer entropyMu.Unlock()
	e, ok := entropies[ms]
	if !ok {
		if len(entropies) == recentMillis {
			delete(entropies, millisMade[nextMade])
		}
		e = ulid.Monotonic(rand.Reader, 0)
		entropies[ms], millisMade[nextMade] = e, ms
		nextMade = (nextMade + 1) % recentMillis
	}
	return ulid.MustNew(ms, e)
}

// NewID returns prefix followed by a new ULID for time t.
func NewID(prefix string, t time.Time) string {
	return prefix + NewULID(t).String()
}

// ValidID reports whether id is prefix followed by a well-formed ULID.
func ValidID(prefix, id string) bool {
	if len(id) != len(prefix)+ulid.EncodedSize || id[:len(prefix)] != prefix {
		return false
	}
	_, err := ulid.ParseStrict(id[len(prefix):])
	return err == nil
}

// Now returns the current time at the millisecond precision Roster stores
// and returns (§1).
func Now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
