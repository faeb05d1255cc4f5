package usercache

import (
	"container/list"
	"sync"

	"github.com/roster-dev/roster/internal/directory"
)

// shard is one part of the cache: a map with a least-recently-used list,
// bounded in bytes.
type shard struct {
	mu    sync.Mutex
	max   int64
	bytes int64
	users map[string]*list.Element
	lru   list.List // of *entry, most recently used first
	// epoch counts the forgettings of this shard; a read stores what it
	// read only if epoch has not moved since it began.
	epoch uint64
}

type entry struct {
	key  string
	user *directory.User
	size int64
}

func (sh *shard) init(max int64) {
	sh.max = max
	sh.users = map[string]*list.Element{}
}

// get returns the cached user of k, or nil and the epoch to put it with.
func (sh *shard) get(k string) (*directory.User, uint64) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if el := sh.users[k]; el != nil {
		sh.lru.MoveToFront(el)
		return el.Value.(*entry).user, sh.epoch
	}
	return nil, sh.epoch
}

// put caches u as k, unless the shard forgot a user since epoch, and makes
// room by dropping the least recently used users.
func (sh *shard) put(k string, u *directory.User, epoch uint64) {
	size := sizeOf(u) + int64(len(k))
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.epoch != epoch || size > sh.max {
		return
	}
	if el := sh.users[k]; el != nil {
		sh.remove(el)
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

func (sh *shard) forget(k string) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.epoch++
	if el := sh.users[k]; el != nil {
		sh.remove(el)
	}
}

func (sh *shard) clear() {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.epoch++
	clear(sh.users)
	sh.lru.Init()
	sh.bytes = 0
}

func (sh *shard) size() (int64, int) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.bytes, len(sh.users)
}
