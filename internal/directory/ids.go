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

var (
	entropyMu sync.Mutex
	// entropy is monotonic so IDs made in the same millisecond still sort in
	// the order they were made: lists are ordered by ID.
	entropy = ulid.Monotonic(rand.Reader, 0)
)

// NewULID returns a new ULID for time t.
func NewULID(t time.Time) ulid.ULID {
	entropyMu.Lock()
	defer entropyMu.Unlock()
	return ulid.MustNew(ulid.Timestamp(t), entropy)
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
