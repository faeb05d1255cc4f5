// Package usercache keeps users in memory, so that reading one (a GET, the
// read before every write) costs no database round trip.
//
// It is a directory.Store that wraps another and serves its GetUser from a
// cache bounded in bytes. What the cache returns is never older than what
// this node has committed, and never older than another node's or process's
// commit by more than Options.Bound. A user's version names its stored
// state (every change of the user, its suspensions and picture included,
// writes a new version), and the cache keeps a user only while nothing
// newer is known:
//   - A transaction of this node that writes a user whole (CreateUser,
//     UpdateUser) keeps the user as written when it commits, before the
//     write is answered; one that changes a user otherwise (a suspension,
//     a picture, a purge), or fails, drops it. TestKeptAsStored checks,
//     over every kind of write, that what is kept equals what the store
//     returns.
//   - The store's UserWatcher reports every user committed anywhere, with
//     its version when it knows it, and the cache drops what it holds of
//     each if older: this node's own writes, reported back, cost nothing.
//     Entries are served only while the watcher has reported within the
//     bound (it polls every Options.Interval, a tenth of the bound by
//     default). When it stops, or fails, nothing is served from memory
//     until it has caught up again, and then only what was read after.
//   - A read from the store, or a write, in flight while a change is
//     reported keeps nothing older than that change: each user being read
//     or written has a flight whose floor every reported change raises.
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
		err := s.watcher.WatchUsers(ctx, s.interval, s.changed, s.markSynced)
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
	u, f := sh.get(k)
	if u != nil {
		s.hits.Add(1)
		return cloneUser(u), nil
	}
	s.misses.Add(1)
	return s.read(ctx, sh, k, f, tenantID, id)
}

// read reads the user from the store and keeps it, as of the flight f.
func (s *Store) read(ctx context.Context, sh *shard, k string, f *flight, tenantID, id string) (*directory.User, error) {
	u, err := s.Store.GetUser(ctx, tenantID, id)
	if err != nil {
		sh.drop(k, f)
		return nil, err
	}
	sh.put(k, cloneUser(u), f, false)
	return u, nil
}

// StoredUser reads the user from the store, and keeps it.
func (s *Store) StoredUser(ctx context.Context, tenantID, id string) (*directory.User, error) {
	k := key(tenantID, id)
	sh := s.shard(k)
	sh.changed(k, gone) // what it holds may be older than what the store returns
	if !s.live() {
		return s.Store.GetUser(ctx, tenantID, id)
	}
	return s.read(ctx, sh, k, sh.board(k), tenantID, id)
}

// changed takes in changes of users: what is kept of each, if older, is
// dropped.
func (s *Store) changed(changes []directory.UserChange) {
	for _, c := range changes {
		version := c.Version
		if version <= 0 {
			version = gone
		}
		k := key(c.TenantID, c.ID)
		s.shard(k).changed(k, version)
	}
}

// clear drops every user, and serves none until the watcher reports again.
func (s *Store) clear() {
	s.synced.Store(0)
	for i := range s.shards {
		s.shards[i].clear()
	}
}

// InTx runs fn with a transaction that follows the users it writes: when
// it commits, the users it wrote whole are kept as written, and the others
// it changed are dropped; when it fails, all of them are dropped.
func (s *Store) InTx(ctx context.Context, fn func(directory.Tx) error) error {
	tx := &following{s: s}
	err := s.Store.InTx(ctx, func(inner directory.Tx) error {
		tx.begin(inner)
		return fn(tx)
	})
	tx.end(err == nil)
	return err
}

// InCountedTx is InTx for a counted write.
func (s *Store) InCountedTx(ctx context.Context, fn func(directory.Tx) (*directory.WriteCount, error)) (directory.Counters, error) {
	tx := &following{s: s}
	c, err := s.Store.InCountedTx(ctx, func(inner directory.Tx) (*directory.WriteCount, error) {
		tx.begin(inner)
		return fn(tx)
	})
	tx.end(err == nil)
	return c, err
}

// following is a transaction that follows the users whose stored form its
// writes change. The store may run fn more than once, and only the last
// run commits: each run begins again what it keeps, but every user any run
// wrote stays boarded until the end, which only drops a user more.
type following struct {
	directory.Tx
	s  *Store
	mu sync.Mutex // fn may write from several goroutines
	// users are the users any run wrote, with their flights.
	users map[string]*written
}

type written struct {
	sh *shard
	f  *flight
	// live says the cache was serving when the user was first written: a
	// user written otherwise is never kept, since the watcher may since
	// have missed a later change.
	live bool
	// user is the user as the last run wrote it whole (CreateUser,
	// UpdateUser), and version its version; partial says the run also
	// changed it otherwise (a suspension, its picture, its purge), so that
	// user is not all of what is stored.
	user    *directory.User
	version int64
	partial bool
}

// begin starts a run of fn on inner.
func (t *following) begin(inner directory.Tx) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Tx = inner
	for _, w := range t.users {
		w.user, w.version, w.partial = nil, 0, false
	}
}

// wrote notes that the run wrote the user: whole as u, or otherwise when u
// is nil.
func (t *following) wrote(tenantID, id string, u *directory.User) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := key(tenantID, id)
	w := t.users[k]
	if w == nil {
		if t.users == nil {
			t.users = map[string]*written{}
		}
		sh := t.s.shard(k)
		w = &written{sh: sh, f: sh.board(k), live: t.s.live()}
		t.users[k] = w
	}
	if u == nil {
		w.partial = true
		return
	}
	w.user, w.version = cloneUser(u), u.Version
}

// end keeps or drops what the transaction wrote, once it committed or
// failed.
func (t *following) end(committed bool) {
	for k, w := range t.users {
		switch {
		case committed && w.user != nil && !w.partial && w.live && t.s.live():
			w.sh.put(k, w.user, w.f, true)
		case committed && w.version > 0:
			w.sh.changed(k, w.version)
			w.sh.drop(k, w.f)
		default:
			w.sh.changed(k, gone)
			w.sh.drop(k, w.f)
		}
	}
}

func (t *following) CreateUser(ctx context.Context, u *directory.User) error {
	t.wrote(u.TenantID, u.ID, u)
	return t.Tx.CreateUser(ctx, u)
}

func (t *following) UpdateUser(ctx context.Context, u *directory.User, prevVersion int64) error {
	t.wrote(u.TenantID, u.ID, u)
	return t.Tx.UpdateUser(ctx, u, prevVersion)
}

func (t *following) PurgeUser(ctx context.Context, tenantID, userID string, scrubbed func(e *directory.Event) []byte) error {
	t.wrote(tenantID, userID, nil)
	return t.Tx.PurgeUser(ctx, tenantID, userID, scrubbed)
}

func (t *following) InsertSuspension(ctx context.Context, tenantID, userID string, sus *directory.Suspension) error {
	t.wrote(tenantID, userID, nil)
	return t.Tx.InsertSuspension(ctx, tenantID, userID, sus)
}

func (t *following) LiftSuspension(ctx context.Context, tenantID, userID, id string, at time.Time) error {
	t.wrote(tenantID, userID, nil)
	return t.Tx.LiftSuspension(ctx, tenantID, userID, id, at)
}

func (t *following) PutPicture(ctx context.Context, tenantID, userID string, p *directory.Picture) error {
	t.wrote(tenantID, userID, nil)
	return t.Tx.PutPicture(ctx, tenantID, userID, p)
}

func (t *following) DeletePicture(ctx context.Context, tenantID, userID string) error {
	t.wrote(tenantID, userID, nil)
	return t.Tx.DeletePicture(ctx, tenantID, userID)
}
