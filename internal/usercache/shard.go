package usercache

import (
	"container/list"
	"math"
	"sync"

	"github.com/roster-dev/roster/internal/directory"
)

// gone is the version a change of unknown version is taken to make: the
// user may be anything now, or gone, so nothing older may be kept.
const gone = math.MaxInt64

// shard is one part of the cache: a map with a least-recently-used list,
// bounded in bytes, and the users being read or written.
type shard struct {
	mu    sync.Mutex
	max   int64
	bytes int64
	users map[string]*list.Element
	lru   list.List // of *entry, most recently used first
	// flights holds a flight for each user being read from the store, or
	// written by one of this node's transactions, while that lasts.
	flights map[string]*flight
}

type entry struct {
	key  string
	user *directory.User
	size int64
}

// A flight is what the reads and writes of one user in flight share: the
// least version any of them may put. Every change reported while they are
// in flight raises it to that change's version, so that what was read or
// written before the change is not kept after it.
type flight struct {
	tickets int
	floor   int64
}

func (sh *shard) init(max int64) {
	sh.max = max
	sh.users = map[string]*list.Element{}
	sh.flights = map[string]*flight{}
}

// get returns the cached user of k; or, when there is none, nil and the
// flight that the read of k from the store must give back to put or drop.
func (sh *shard) get(k string) (*directory.User, *flight) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if el := sh.users[k]; el != nil {
		sh.lru.MoveToFront(el)
		return el.Value.(*entry).user, nil
	}
	return nil, sh.take(k)
}

// board returns the flight of a write of k, for put or drop.
func (sh *shard) board(k string) *flight {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.take(k)
}

// take joins k's flight. sh.mu must be held.
func (sh *shard) take(k string) *flight {
	f := sh.flights[k]
	if f == nil {
		f = &flight{}
		sh.flights[k] = f
	}
	f.tickets++
	return f
}

// land gives back a ticket of k's flight f. sh.mu must be held.
func (sh *shard) land(k string, f *flight) {
	if f.tickets--; f.tickets == 0 {
		delete(sh.flights, k)
	}
}

// drop gives back the ticket of a read or write that puts nothing.
func (sh *shard) drop(k string, f *flight) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.land(k, f)
}

// put gives back the ticket f and caches u as k, unless a change to a
// version above u's was reported during the flight, or what is cached is
// as new; it makes room by dropping the least recently used users. A
// commit's put (committed) also raises the flight's floor to u's version:
// the reads in flight may have read the user as it was before the commit.
func (sh *shard) put(k string, u *directory.User, f *flight, committed bool) {
	size := sizeOf(u) + int64(len(k))
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.land(k, f)
	if u.Version < f.floor {
		return
	}
	if committed {
		f.floor = u.Version
	}
	if el := sh.users[k]; el != nil {
		if el.Value.(*entry).user.Version >= u.Version {
			sh.lru.MoveToFront(el)
			return
		}
		sh.remove(el)
	}
	if size > sh.max {
		return
	}
	for sh.bytes+size > sh.max {
		sh.remove(sh.lru.Back())
	}
	sh.users[k] = sh.lru.PushFront(&entry{key: k, user: u, size: size})
	sh.bytes += size
}

func (sh *shard) remove(el *list.Element) {
	e := sh.lru.Remove(el).(*entry)
	delete(sh.users, e.key)
	sh.bytes -= e.size
}

// changed takes in that k was committed at version (gone when unknown): it
// drops what is cached of k if older, and raises the floor of k's flight.
func (sh *shard) changed(k string, version int64) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if f := sh.flights[k]; f != nil {
		f.floor = max(f.floor, version)
	}
	if el := sh.users[k]; el != nil && el.Value.(*entry).user.Version < version {
		sh.remove(el)
	}
}

// clear drops every user, as if each had changed to an unknown version.
func (sh *shard) clear() {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for _, f := range sh.flights {
		f.floor = gone
	}
	clear(sh.users)
	sh.lru.Init()
	sh.bytes = 0
}

func (sh *shard) size() (int64, int) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.bytes, len(sh.users)
}
