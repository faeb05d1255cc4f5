package directory

import (
	"crypto/rand"
	"encoding/binary"
	"math/bits"
	mrand "math/rand/v2"
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
	entropies  = make(map[uint64]entropy80, recentMillis)
	millisMade [recentMillis]uint64 // a ring of entropies' keys, to forget the oldest
	nextMade   int
	// random is a ChaCha8 stream keyed from crypto/rand: as unpredictable
	// as its key, without a system call or a fresh buffer per millisecond.
	random = newRandom()
)

// entropy80 is the 80-bit random part of a ULID: hi is its first 16 bits.
type entropy80 struct {
	hi uint16
	lo uint64
}

func newRandom() *mrand.ChaCha8 {
	var seed [32]byte
	_, _ = rand.Read(seed[:]) // crypto/rand.Read never fails (it crashes the program instead)
	return mrand.NewChaCha8(seed)
}

// NewULID returns a new ULID for time t.
func NewULID(t time.Time) ulid.ULID {
	ms := ulid.Timestamp(t)
	entropyMu.Lock()
	e, ok := entropies[ms]
	if ok {
		// A random step of 1 to 2^32, as ulid.Monotonic's default, keeps
		// the next ID of a millisecond unguessable from the previous one.
		var carry uint64
		e.lo, carry = bits.Add64(e.lo, 1+random.Uint64()>>32, 0)
		e.hi += uint16(carry)
	} else {
		if len(entropies) == recentMillis {
			delete(entropies, millisMade[nextMade])
		}
		// The first entropy of a millisecond has its top bit clear, so
		// that no run of IDs within one millisecond can overflow its 80
		// bits (it would take 2^47 of them): 79 random bits are plenty.
		e = entropy80{hi: uint16(random.Uint64()) &^ (1 << 15), lo: random.Uint64()}
		millisMade[nextMade] = ms
		nextMade = (nextMade + 1) % recentMillis
	}
	entropies[ms] = e
	entropyMu.Unlock()
	var id ulid.ULID
	if err := id.SetTime(ms); err != nil {
		panic(err) // as ulid.MustNew: a time past the year 10889
	}
	binary.BigEndian.PutUint16(id[6:], e.hi)
	binary.BigEndian.PutUint64(id[8:], e.lo)
	return id
}

// NewID returns prefix followed by a new ULID for time t.
func NewID(prefix string, t time.Time) string {
	var buf [16 + ulid.EncodedSize]byte // room for every prefix, on the stack
	b := append(buf[:0], prefix...)
	n := len(b)
	b = append(b, make([]byte, ulid.EncodedSize)...)
	_ = NewULID(t).MarshalTextTo(b[n:])
	return string(b)
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
