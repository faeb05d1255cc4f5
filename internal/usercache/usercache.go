// Package usercache keeps users in memory, so that reading one (a GET, the
// read before every write) costs no database round trip.
//
// It is a directory.Store that wraps another and serves its GetUser from a
// cache bounded in bytes. What the cache returns is never older than what
// this node has committed, and never older than another node's or process's
// commit by more than Options.Bound:
//   - A transaction of this node that writes a user (Tx.UpdateUser,
//     PurgeUser, a suspension) forgets the user as it returns, before the
//     write is answered.
//   - The store's UserWatcher reports every user committed anywhere, and the
//     cache forgets each; entries are served only while the watcher has
//     reported within the bound (it polls every Options.Interval, a tenth of
//     the bound by default). When it stops, or fails, nothing is served from
//     memory until it has caught up again, and then only what was read after.
//   - A read that raced with a forgetting (it began before, it would store
//     what it read after) does not store what it read: each shard counts its
//     forgettings, and a read stores its user only if the count has not
//     moved since it began.
//
// Transactions read users through Tx.GetUser, which locks the row and is
// never cached; writes decided on a cached user carry its version, which the
// store checks, so a user changed meanwhile costs a retry, never a lost
// update.
package usercache

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// DefaultBytes is the default bound of the cache: room for about 15,000
// users of a few fields and some metadata.
const DefaultBytes = 16 << 20

// shards splits the cache so that concurrent requests rarely wait on one
// another's lock.
const shards = 16

// Options tune a cache.
type Options struct {
	// Bytes bounds the memory the cached users take, as estimated by
	// sizeOf; 0 is DefaultBytes.
	Bytes int64
	// Bound is how long after another node's commit this node may still
	// answer from memory what that commit changed; 0 is
	// directory.DefaultConfigTTL, the bound of the configuration cache.
	Bound time.Duration
	// Interval is how often the watcher reports; 0 is a tenth of Bound.
	Interval time.Duration
}

// Stats are the cache's counters since it was made.
type Stats struct {
	Hits, Misses int64
	// Bypassed counts reads made while the watcher was behind.
	Bypassed int64
	Bytes    int64
	Users    int
}

// Store is a directory.Store whose GetUser is served from memory.
type Store struct {
	directory.Store
	watcher  directory.UserWatcher
	bound    time.Duration
	interval time.Duration
	seed     maphash.Seed
	shards   [shards]shard

	// synced is when the watcher last reported (UnixNano); 0 while it has
	// not since the cache was last cleared.
	synced                 atomic.Int64
	hits, misses, bypassed atomic.Int64
}

var (
	_ directory.Store     = (*Store)(nil)
	_ directory.UserCache = (*Store)(nil)
)

// New wraps store, whose users watcher reports. The cache serves nothing
// until Run's watcher has reported once.
func New(store directory.Store, watcher directory.UserWatcher, opts Options) *Store {
	if opts.Bytes <= 0 {
		opts.Bytes = DefaultBytes
	}
	if opts.Bound <= 0 {
		opts.Bound = directory.DefaultConfigTTL
	}
	if opts.Interval <= 0 {
		opts.Interval = opts.Bound / 10
	}
	s := &Store{Store: store, watcher: watcher, bound: opts.Bound, interval: opts.Interval, seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].init(opts.Bytes / shards)
	}
	return s
}

// Run runs the watcher until ctx ends, starting it again a second after it
// fails; report is told of each failure.
func (s *Store) Run(ctx context.Context, report func(error)) {
	for {
		err := s.watcher.WatchUsers(ctx, s.interval, s.forget, s.markSynced)
		s.clear() // changes may have been missed from here on
		if ctx.Err() != nil {
			return
		}
		report(err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// Stats returns the cache's counters.
func (s *Store) Stats() Stats {
	st := Stats{Hits: s.hits.Load(), Misses: s.misses.Load(), Bypassed: s.bypassed.Load()}
	for i := range s.shards {
		b, n := s.shards[i].size()
		st.Bytes += b
		st.Users += n
	}
	return st
}

func (s *Store) markSynced(at time.Time) { s.synced.Store(at.UnixNano()) }

// live reports whether the watcher has reported within the bound.
func (s *Store) live() bool {
	at := s.synced.Load()
	return at != 0 && time.Since(time.Unix(0, at)) < s.bound
}

// key is the cache key of a user.
func key(tenantID, id string) string { return tenantID + "/" + id }

func (s *Store) shard(k string) *shard {
	return &s.shards[maphash.String(s.seed, k)%shards]
}

// GetUser returns the user from memory when it can, else from the store,
// and keeps it. The caller owns what it gets: a copy.
func (s *Store) GetUser(ctx context.Context, tenantID, id string) (*directory.User, error) {
	if !s.live() {
		s.bypassed.Add(1)
		return s.Store.GetUser(ctx, tenantID, id)
	}
	k := key(tenantID, id)
	sh := s.shard(k)
	u, epoch := sh.get(k)
	if u != nil {
		s.hits.Add(1)
		return cloneUser(u), nil
	}
	s.misses.Add(1)
	u, err := s.Store.GetUser(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	sh.put(k, cloneUser(u), epoch)
	return u, nil
}

// StoredUser reads the user from the store, and keeps it.
func (s *Store) StoredUser(ctx context.Context, tenantID, id string) (*directory.User, error) {
	k := key(tenantID, id)
	sh := s.shard(k)
	sh.forget(k) // what it holds is older than what the store returns
	_, epoch := sh.get(k)
	u, err := s.Store.GetUser(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if s.live() {
		sh.put(k, cloneUser(u), epoch)
	}
	return u, nil
}

// forget drops users from the cache.
func (s *Store) forget(refs []directory.UserRef) {
	for _, r := range refs {
		k := key(r.TenantID, r.ID)
		s.shard(k).forget(k)
	}
}

// clear drops every user, and serves none until the watcher reports again.
func (s *Store) clear() {
	s.synced.Store(0)
	for i := range s.shards {
		s.shards[i].clear()
	}
}

// InTx runs fn with a transaction that notes the users it writes, and
// forgets them when the transaction is over, committed or not.
func (s *Store) InTx(ctx context.Context, fn func(directory.Tx) error) error {
	tx := &noting{}
	defer func() { s.forget(tx.users) }()
	return s.Store.InTx(ctx, func(inner directory.Tx) error {
		tx.Tx = inner
		return fn(tx)
	})
}

// InCountedTx is InTx for a counted write.
func (s *Store) InCountedTx(ctx context.Context, fn func(directory.Tx) (*directory.WriteCount, error)) (directory.Counters, error) {
	tx := &noting{}
	defer func() { s.forget(tx.users) }()
	return s.Store.InCountedTx(ctx, func(inner directory.Tx) (*directory.WriteCount, error) {
		tx.Tx = inner
		return fn(tx)
	})
}

// noting is a transaction that notes the users whose stored form its writes
// change. The store may run fn more than once; the notes of every run are
// kept, which only forgets a user more.
type noting struct {
	directory.Tx
	mu    sync.Mutex // fn may write from several goroutines
	users []directory.UserRef
}

func (t *noting) note(tenantID, id string) {
	t.mu.Lock()
	t.users = append(t.users, directory.UserRef{TenantID: tenantID, ID: id})
	t.mu.Unlock()
}

func (t *noting) UpdateUser(ctx context.Context, u *directory.User, prevVersion int64) error {
	t.note(u.TenantID, u.ID)
	return t.Tx.UpdateUser(ctx, u, prevVersion)
}

func (t *noting) PurgeUser(ctx context.Context, tenantID, userID string, scrubbed func(e *directory.Event) []byte) error {
	t.note(tenantID, userID)
	return t.Tx.PurgeUser(ctx, tenantID, userID, scrubbed)
}

func (t *noting) InsertSuspension(ctx context.Context, tenantID, userID string, sus *directory.Suspension) error {
	t.note(tenantID, userID)
	return t.Tx.InsertSuspension(ctx, tenantID, userID, sus)
}

func (t *noting) LiftSuspension(ctx context.Context, tenantID, userID, id string, at time.Time) error {
	t.note(tenantID, userID)
	return t.Tx.LiftSuspension(ctx, tenantID, userID, id, at)
}
