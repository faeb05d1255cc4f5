package directory

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"
)

// keyCache keeps the keys that requests authenticated with, by the hash of
// their token, each with the version of all keys (Store.KeysVersion) read
// before the key was. A kept key serves a request only while the version,
// read after the request began, is still that one. Every change of a key
// but its last use raises the version in the change's transaction, on
// whichever node or process made it, so a revoked key's next request
// anywhere reads the key again and is refused: the guarantee of reading the
// key every time, for one small read instead of the key's.
//
// Unknown tokens are not kept: each costs a read of the store, as before.
type keyCache struct {
	versions freshRead

	mu   sync.RWMutex
	keys map[[sha256.Size]byte]keptKey
}

// keptKey is a key and the version of all keys read before it was.
type keptKey struct {
	key     *Key
	version int64
}

// maxKeptKeys bounds the keys a node keeps (about 300 bytes each); when
// full, it forgets them all and reads them again.
const maxKeptKeys = 4096

func newKeyCache(store Store) *keyCache {
	return &keyCache{
		versions: freshRead{read: store.KeysVersion},
		keys:     map[[sha256.Size]byte]keptKey{},
	}
}

// key returns the key whose token hashes to hash, as stored when the
// request began or later. The key is shared: callers must not change it.
func (c *keyCache) key(ctx context.Context, store Store, hash []byte) (*Key, error) {
	v, err := c.versions.get(ctx)
	if err != nil {
		return nil, err
	}
	id := [sha256.Size]byte(hash)
	c.mu.RLock()
	kept, ok := c.keys[id]
	c.mu.RUnlock()
	if ok && kept.version == v {
		return kept.key, nil
	}
	k, err := store.KeyByHash(ctx, hash)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if old, ok := c.keys[id]; !ok || old.version < v {
		if !ok && len(c.keys) >= maxKeptKeys {
			clear(c.keys)
		}
		c.keys[id] = keptKey{key: k, version: v}
	}
	c.mu.Unlock()
	return k, nil
}

// versionReadTimeout bounds one shared read of the keys' version: it
// answers many requests, so it runs on no request's context.
const versionReadTimeout = 5 * time.Second

// freshRead shares a read among concurrent callers without ever answering
// a caller with a read that began before it called. A caller starts the
// read when none runs; otherwise it waits for the next one, which starts
// when the running one ends and answers every caller that came while it
// ran. Under load, one read answers many requests; a lone caller pays for
// one read. An error carries no stale version, so the running read's error
// answers its waiters too: a store that stalls fails them after one read's
// timeout, not two.
type freshRead struct {
	read func(context.Context) (int64, error)

	mu      sync.Mutex
	running *readRound // nil when no read runs
	next    *readRound // the callers waiting for the read after the running one
}

// readRound is one read and what it answered.
type readRound struct {
	done    chan struct{} // closed when the read has answered; made by its first waiter
	version int64
	err     error
}

// get returns the result of a read that began after it was called.
func (f *freshRead) get(ctx context.Context) (int64, error) {
	f.mu.Lock()
	if f.running == nil {
		r := &readRound{}
		f.running = r
		f.mu.Unlock()
		f.run(r)
		return r.version, r.err
	}
	running := f.running
	if running.done == nil {
		running.done = make(chan struct{})
	}
	if f.next == nil {
		f.next = &readRound{done: make(chan struct{})}
	}
	r := f.next
	f.mu.Unlock()
	ran := running.done
	for {
		select {
		case <-r.done:
			return r.version, r.err
		case <-ran:
			if running.err != nil {
				return 0, running.err
			}
			ran = nil // its version is too old: wait for r
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// run reads for round r, answers it, and starts the round that waited for
// it, if any, in a goroutine of its own.
func (f *freshRead) run(r *readRound) {
	ctx, cancel := context.WithTimeout(context.Background(), versionReadTimeout)
	r.version, r.err = f.read(ctx)
	cancel()
	f.mu.Lock()
	if r.done != nil {
		close(r.done)
	}
	next := f.next
	f.next, f.running = nil, next
	f.mu.Unlock()
	if next != nil {
		go f.run(next)
	}
}
