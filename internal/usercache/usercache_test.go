package usercache_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/postgres"
	"github.com/roster-dev/roster/internal/postgres/pgtest"
	"github.com/roster-dev/roster/internal/sqlite"
	"github.com/roster-dev/roster/internal/usercache"
	"github.com/roster-dev/roster/internal/wire"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Close()
	os.Exit(code)
}

// backends are the stores the tests run on (ROSTER_TEST_BACKENDS).
func backends() []string {
	return strings.Split(cmp.Or(os.Getenv("ROSTER_TEST_BACKENDS"), "sqlite,postgres"), ",")
}

// rawStore is what both backends' stores are.
type rawStore interface {
	directory.Store
	directory.UserWatcher
}

// database opens stores on one database, each as another node or process
// would: its own connections.
type database func(t *testing.T) rawStore

func onEachStore(t *testing.T, test func(t *testing.T, open database)) {
	for _, b := range backends() {
		t.Run(b, func(t *testing.T) {
			var dsn string
			switch b {
			case "sqlite":
				dsn = filepath.Join(t.TempDir(), "roster.db")
			case "postgres":
				dsn = pgtest.URL(t)
			default:
				t.Fatalf("unknown backend %q", b)
			}
			open := func(t *testing.T) rawStore {
				var s rawStore
				var err error
				if b == "sqlite" {
					s, err = sqlite.Open(context.Background(), dsn)
				} else {
					s, err = postgres.Open(context.Background(), dsn)
				}
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			test(t, open)
		})
	}
}

// node is a Service over a cache over its own store.
type node struct {
	cache *usercache.Store
	svc   *directory.Service
}

// newNode starts a node on a store of the database, its watcher running
// until the test ends, and waits until the cache serves.
func newNode(t *testing.T, open database, opts usercache.Options) *node {
	t.Helper()
	raw := open(t)
	c := usercache.New(raw, raw, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx, func(err error) { t.Errorf("watch: %v", err) })
	}()
	t.Cleanup(func() { cancel(); <-done })
	n := &node{cache: c, svc: directory.NewService(c, directory.Options{Wire: wire.Encoding{}, ConfigTTL: -1})}
	waitServing(t, c)
	return n
}

// waitServing waits until c serves from memory: a read of a missing user
// counts as a miss rather than a bypass.
func waitServing(t *testing.T, c *usercache.Store) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		before := c.Stats().Misses
		c.GetUser(context.Background(), "ten_none", "usr_none")
		if c.Stats().Misses > before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the cache never began to serve")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var generous = directory.Plan{RateLimitRPS: 1e6, RateLimitBurst: 1e6, WritesPerPeriod: 1e9, MaxActiveUsers: 1e9}

func (n *node) tenant(t *testing.T) *directory.Tenant {
	t.Helper()
	out, err := n.svc.CreateTenant(context.Background(), directory.TenantInput{Name: "Cache", Plan: &generous}, false, directory.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	return out.Tenant
}

func (n *node) create(t *testing.T, ten *directory.Tenant, email string) *directory.User {
	t.Helper()
	w, err := n.svc.CreateUser(context.Background(), ten, []byte(`{"email": "`+email+`"}`), directory.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return w.User
}

func (n *node) rename(ten *directory.Tenant, id, name string, opts directory.WriteOptions) (*directory.User, error) {
	w, err := n.svc.UpdateUser(context.Background(), ten, id, directory.BodyJSON, []byte(`{"name": "`+name+`"}`), opts)
	if err != nil {
		return nil, err
	}
	return w.User, nil
}

func (n *node) get(t *testing.T, ten *directory.Tenant, id string) *directory.User {
	t.Helper()
	u, err := n.svc.GetUser(context.Background(), ten.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestServesFromMemory: the second read of a user is a hit, equal to the
// first, and what a caller does to the user it got changes nothing cached.
func TestServesFromMemory(t *testing.T) {
	onEachStore(t, func(t *testing.T, open database) {
		n := newNode(t, open, usercache.Options{})
		ten := n.tenant(t)
		id := n.create(t, ten, "ada@example.com").ID
		first := n.get(t, ten, id)
		before := n.cache.Stats()
		second := n.get(t, ten, id)
		if got := n.cache.Stats(); got.Hits != before.Hits+1 || got.Misses != before.Misses {
			t.Fatalf("second read: stats %+v after %+v, want one hit more", got, before)
		}
		if second.Email != "ada@example.com" || second.Version != first.Version {
			t.Fatalf("hit %+v, want %+v", second, first)
		}
		second.Email = "changed@example.com"
		second.Roles = append(second.Roles, "intruder")
		if third := n.get(t, ten, id); third.Email != "ada@example.com" || len(third.Roles) != len(first.Roles) {
			t.Fatalf("a caller's change reached the cache: %+v", third)
		}
	})
}

// TestNeverStaleAfterALocalCommit: on the node that wrote, every read that
// begins after a write has returned sees it, with readers racing writers.
func TestNeverStaleAfterALocalCommit(t *testing.T) {
	onEachStore(t, func(t *testing.T, open database) {
		// A watcher that reports once an hour: only the node's own
		// forgetting can keep its reads up to date.
		n := newNode(t, open, usercache.Options{Bound: time.Hour, Interval: time.Hour})
		ten := n.tenant(t)
		var ids []string
		for i := range 4 {
			ids = append(ids, n.create(t, ten, fmt.Sprintf("u%d@example.com", i)).ID)
		}
		var acked [4]atomic.Int64 // the last version a write returned, per user
		for i, id := range ids {
			acked[i].Store(n.get(t, ten, id).Version)
		}
		ctx, stop := context.WithTimeout(context.Background(), 2*time.Second)
		defer stop()
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Go(func() {
				for k := 0; ctx.Err() == nil; k++ {
					u, err := n.rename(ten, id, fmt.Sprintf("Name %d", k), directory.WriteOptions{})
					if err != nil {
						t.Errorf("write: %v", err)
						return
					}
					acked[i].Store(u.Version)
				}
			})
		}
		var reads atomic.Int64
		for range 4 {
			wg.Go(func() {
				for k := 0; ctx.Err() == nil; k++ {
					i := k % len(ids)
					want := acked[i].Load()
					u, err := n.svc.GetUser(ctx, ten.ID, ids[i])
					if err != nil {
						if ctx.Err() == nil {
							t.Errorf("read: %v", err)
						}
						return
					}
					if u.Version < want {
						t.Errorf("read version %d of %s after a write of version %d had returned", u.Version, ids[i], want)
						return
					}
					reads.Add(1)
				}
			})
		}
		wg.Wait()
		if st := n.cache.Stats(); st.Hits == 0 || reads.Load() == 0 {
			t.Fatalf("stats %+v after %d reads: the reads never hit, the test proves nothing", st, reads.Load())
		}
	})
}

// TestSeesOtherNodesWritesWithinTheBound races writers on two nodes against
// readers on both: a read never returns a version older than one a write on
// the other node returned more than the bound before the read began.
func TestSeesOtherNodesWritesWithinTheBound(t *testing.T) {
	onEachStore(t, func(t *testing.T, open database) {
		const bound = 200 * time.Millisecond
		nodes := []*node{newNode(t, open, usercache.Options{Bound: bound}), newNode(t, open, usercache.Options{Bound: bound})}
		ten := nodes[0].tenant(t)
		var ids []string
		for i := range 3 {
			ids = append(ids, nodes[0].create(t, ten, fmt.Sprintf("u%d@example.com", i)).ID)
		}
		type ack struct {
			at      time.Time
			version int64
		}
		var mu sync.Mutex
		acks := map[string][]ack{} // per user, in the order the writes returned
		ctx, stop := context.WithTimeout(context.Background(), 3*time.Second)
		defer stop()
		var wg sync.WaitGroup
		for w, n := range nodes {
			wg.Go(func() {
				for k := 0; ctx.Err() == nil; k++ {
					id := ids[k%len(ids)]
					u, err := n.rename(ten, id, fmt.Sprintf("Node %d %d", w, k), directory.WriteOptions{})
					if err != nil {
						t.Errorf("write: %v", err)
						return
					}
					mu.Lock()
					acks[id] = append(acks[id], ack{time.Now(), u.Version})
					mu.Unlock()
					time.Sleep(time.Duration(k%7) * time.Millisecond)
				}
			})
		}
		// required returns the highest version of id a write returned
		// before at.
		required := func(id string, at time.Time) int64 {
			mu.Lock()
			defer mu.Unlock()
			var v int64
			for _, a := range acks[id] {
				if a.at.Before(at) && a.version > v {
					v = a.version
				}
			}
			return v
		}
		var checked atomic.Int64
		for _, n := range nodes {
			wg.Go(func() {
				for k := 0; ctx.Err() == nil; k++ {
					id := ids[k%len(ids)]
					began := time.Now()
					u, err := n.svc.GetUser(ctx, ten.ID, id)
					if err != nil {
						if ctx.Err() == nil {
							t.Errorf("read: %v", err)
						}
						return
					}
					if want := required(id, began.Add(-bound)); u.Version < want {
						t.Errorf("read version %d of %s; version %d had been written more than %v before", u.Version, id, want, bound)
						return
					}
					checked.Add(1)
				}
			})
		}
		wg.Wait()
		var hits int64
		for _, n := range nodes {
			hits += n.cache.Stats().Hits
		}
		if hits == 0 || checked.Load() == 0 {
			t.Fatalf("%d hits in %d reads: the reads never came from memory, the test proves nothing", hits, checked.Load())
		}
		// And in the end each node sees the last write, wherever it was made.
		time.Sleep(bound)
		for _, id := range ids {
			want := required(id, time.Now())
			for i, n := range nodes {
				if got := n.get(t, ten, id).Version; got != want {
					t.Errorf("node %d reads version %d of %s, want the last written, %d", i, got, id, want)
				}
			}
		}
	})
}

// TestNothingServedWhileTheWatcherIsBehind: once the watcher stops, reads go
// to the database after the bound, so another node's write shows.
func TestNothingServedWhileTheWatcherIsBehind(t *testing.T) {
	onEachStore(t, func(t *testing.T, open database) {
		const bound = 100 * time.Millisecond
		raw := open(t)
		c := usercache.New(raw, raw, usercache.Options{Bound: bound})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); c.Run(ctx, func(error) {}) }()
		waitServing(t, c)
		reader := directory.NewService(c, directory.Options{Wire: wire.Encoding{}})
		other := newNode(t, open, usercache.Options{})
		ten := other.tenant(t)
		id := other.create(t, ten, "ada@example.com").ID
		if _, err := reader.GetUser(context.Background(), ten.ID, id); err != nil {
			t.Fatal(err)
		}
		cancel()
		<-done
		time.Sleep(bound)
		u, err := other.rename(ten, id, "Renamed", directory.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := reader.GetUser(context.Background(), ten.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != u.Version || got.Name != "Renamed" {
			t.Fatalf("with the watcher stopped: read %+v, want version %d", got, u.Version)
		}
		if c.Stats().Bypassed == 0 {
			t.Fatal("no read bypassed the cache")
		}
	})
}

// TestARefusalIsDecidedOnTheStoredUser: a node whose memory of a user is
// behind another node's write (here, for as long as its watcher does not
// report) still accepts a write whose If-Match names the version stored,
// rather than answering 412 from memory.
func TestARefusalIsDecidedOnTheStoredUser(t *testing.T) {
	onEachStore(t, func(t *testing.T, open database) {
		stale := newNode(t, open, usercache.Options{Bound: time.Hour, Interval: time.Hour})
		other := newNode(t, open, usercache.Options{})
		ten := other.tenant(t)
		id := other.create(t, ten, "ada@example.com").ID
		old := stale.get(t, ten, id)
		u, err := other.rename(ten, id, "Elsewhere", directory.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := stale.get(t, ten, id); got.Version != old.Version {
			t.Fatalf("the stale node read version %d; the test needs it to serve %d from memory", got.Version, old.Version)
		}
		next, err := stale.rename(ten, id, "Here", directory.WriteOptions{IfMatch: &directory.Precondition{Versions: []int64{u.Version}}})
		if err != nil {
			t.Fatalf("If-Match with the stored version, on the stale node: %v", err)
		}
		if next.Version != u.Version+1 || next.Name != "Here" {
			t.Fatalf("wrote %+v", next)
		}
		// And If-Match with the version it remembers is 412: it is stale.
		_, err = stale.rename(ten, id, "Again", directory.WriteOptions{IfMatch: &directory.Precondition{Versions: []int64{old.Version}}})
		var de *directory.Error
		if !errors.As(err, &de) || de.Code != directory.ECodePreconditionFailed {
			t.Fatalf("If-Match with an old version: %v, want precondition_failed", err)
		}
	})
}

// TestBoundedInBytes: the cache holds no more than its bound, dropping the
// least recently read users.
func TestBoundedInBytes(t *testing.T) {
	onEachStore(t, func(t *testing.T, open database) {
		const limit = 64 << 10
		n := newNode(t, open, usercache.Options{Bytes: limit})
		ten := n.tenant(t)
		var ids []string
		for i := range 300 {
			ids = append(ids, n.create(t, ten, fmt.Sprintf("user%03d@example.com", i)).ID)
		}
		for _, id := range ids {
			n.get(t, ten, id)
		}
		st := n.cache.Stats()
		if st.Bytes > limit || st.Users == 0 || st.Users == len(ids) {
			t.Fatalf("after reading %d users into %d bytes: %+v", len(ids), limit, st)
		}
		// The last read are kept.
		before := n.cache.Stats().Hits
		n.get(t, ten, ids[len(ids)-1])
		if n.cache.Stats().Hits != before+1 {
			t.Fatal("the most recently read user was dropped")
		}
	})
}

// slowStore holds a GetUser until released, to make a read race a write.
type slowStore struct {
	rawStore
	hold    atomic.Bool
	reading chan struct{}
	release chan struct{}
}

func (s *slowStore) GetUser(ctx context.Context, tenantID, id string) (*directory.User, error) {
	u, err := s.rawStore.GetUser(ctx, tenantID, id)
	if s.hold.CompareAndSwap(true, false) {
		s.reading <- struct{}{}
		<-s.release
	}
	return u, err
}

// quietNode is a node over a cache of store whose watcher reports once and
// then once an hour: the cache learns only of this node's own writes.
func quietNode(t *testing.T, store rawStore) *node {
	t.Helper()
	c := usercache.New(store, store, usercache.Options{Bound: time.Hour, Interval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx, func(error) {}) }()
	t.Cleanup(func() { cancel(); <-done })
	waitServing(t, c)
	return &node{cache: c, svc: directory.NewService(c, directory.Options{Wire: wire.Encoding{}})}
}

// TestAReadRacingAWriteKeepsNothing: a read that got the user before a write
// committed, and returns after, does not leave the old user in memory,
// whether the write keeps the user it wrote (a rename) or cannot (a
// suspension: the cache holds no user at all until read again).
func TestAReadRacingAWriteKeepsNothing(t *testing.T) {
	writes := []struct {
		name  string
		write func(n *node, ten *directory.Tenant, id string) (*directory.User, error)
	}{
		{"rename", func(n *node, ten *directory.Tenant, id string) (*directory.User, error) {
			return n.rename(ten, id, "Renamed", directory.WriteOptions{})
		}},
		{"suspend", func(n *node, ten *directory.Tenant, id string) (*directory.User, error) {
			w, _, err := n.svc.SuspendUser(context.Background(), ten, id, directory.SuspensionInput{Reason: "test"}, directory.WriteOptions{})
			if err != nil {
				return nil, err
			}
			return w.User, nil
		}},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			onEachStore(t, func(t *testing.T, open database) {
				slow := &slowStore{rawStore: open(t), reading: make(chan struct{}), release: make(chan struct{})}
				n := quietNode(t, slow)
				ten := n.tenant(t)
				// Created around the cache, so that the first read is the store's.
				around := &node{svc: directory.NewService(slow.rawStore, directory.Options{Wire: wire.Encoding{}})}
				id := around.create(t, ten, "ada@example.com").ID

				slow.hold.Store(true)
				read := make(chan *directory.User)
				go func() {
					u, _ := n.svc.GetUser(context.Background(), ten.ID, id)
					read <- u
				}()
				<-slow.reading // the read has the old user, not yet returned
				u, err := w.write(n, ten, id)
				if err != nil {
					t.Fatal(err)
				}
				close(slow.release)
				if old := <-read; old.Version >= u.Version {
					t.Fatalf("the racing read got version %d, not the old one: the test proves nothing", old.Version)
				}
				if got := n.get(t, ten, id); got.Version != u.Version {
					t.Fatalf("after the racing read returned, version %d is served; the write made %d", got.Version, u.Version)
				}
			})
		})
	}
}

// TestKeptAsStored: a user a write keeps in memory is the user the store
// returns, field for field, after every kind of write. The cache keeps what
// a transaction wrote rather than reading it again, so a field the store
// normalizes (a time's precision, a number's form, an empty map) would
// differ here.
func TestKeptAsStored(t *testing.T) {
	onEachStore(t, func(t *testing.T, open database) {
		raw := open(t)
		n := quietNode(t, raw)
		c, ctx := n.cache, context.Background()
		ten := n.tenant(t)
		ten, err := n.svc.SetRoles(ctx, ten, []string{"admin", "member", "viewer"})
		if err != nil {
			t.Fatal(err)
		}

		rng := rand.New(rand.NewPCG(1, 2))
		pick := func(vs ...string) string { return vs[rng.IntN(len(vs))] }
		value := func() string {
			return pick(`"plain"`, `"Zoë \u00e9\ud83d\ude00"`, `1.50`, `1e3`, `-0`, `12345678901234567890`, `true`, `null`,
				`[]`, `{}`, `[1, "two", {"three": 3.0}]`, `{"nested": {"deep": [null, false]}}`)
		}
		object := func() string {
			var b strings.Builder
			b.WriteString("{")
			for i := range rng.IntN(4) {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, `"%s": %s`, pick("plan", "seats", "theme", "tags", "x"), value())
			}
			b.WriteString("}")
			return b.String()
		}
		member := func() string {
			switch rng.IntN(12) {
			case 0:
				return `"email": "` + pick("a", "b", "c") + fmt.Sprint(rng.IntN(1000)) + `@example.com"`
			case 1:
				return `"username": "` + pick("ada", "bob", "cy") + fmt.Sprint(rng.IntN(1000)) + `"`
			case 2:
				return `"roles": ` + pick(`[]`, `["member"]`, `["admin", "viewer"]`)
			case 3:
				return `"metadata": ` + object()
			case 4:
				return `"secure_metadata": ` + object()
			case 5:
				return `"birthdate": ` + pick(`"1990-02-28"`, `null`)
			case 6:
				return `"locale": ` + pick(`"fr-CA"`, `"en"`, `null`)
			case 7:
				return `"zoneinfo": ` + pick(`"Europe/Paris"`, `null`)
			case 8:
				return `"website": ` + pick(`"https://example.com/a"`, `null`)
			case 9:
				return `"email_verified": ` + pick(`true`, `false`)
			default:
				return `"name": ` + pick(`"Ada Lovelace"`, `"  Zoë  "`, `null`, `"名前"`)
			}
		}
		body := func() []byte {
			parts := make([]string, 1+rng.IntN(3))
			for i := range parts {
				parts[i] = member()
			}
			return []byte("{" + strings.Join(parts, ", ") + "}")
		}

		var ids []string
		deleting := map[string]bool{}
		ops := map[string]int{}
		kept := 0
		for range 800 {
			var (
				w   *directory.Written
				err error
				op  string
			)
			opts := directory.WriteOptions{}
			if len(ids) == 0 || rng.IntN(8) == 0 {
				op = "create"
				w, err = n.svc.CreateUser(ctx, ten, body(), opts)
			} else {
				id := ids[rng.IntN(len(ids))]
				choice := rng.IntN(12)
				switch {
				case deleting[id] && rng.IntN(4) > 0:
					choice = 5 // restore, mostly: a user being deleted refuses the rest
				case choice == 4 && rng.IntN(3) > 0:
					choice = 11 // delete less often
				}
				switch choice {
				case 0:
					op = "deactivate"
					w, err = n.svc.DeactivateUser(ctx, ten, id, opts)
				case 1:
					op = "reactivate"
					w, err = n.svc.ReactivateUser(ctx, ten, id, opts)
				case 2:
					op = "suspend"
					w, _, err = n.svc.SuspendUser(ctx, ten, id, directory.SuspensionInput{Reason: "r", EndsAt: pick("", "2099-01-01T00:00:00Z")}, opts)
				case 3:
					op = "unsuspend"
					var u *directory.User
					if u, err = n.svc.GetUser(ctx, ten.ID, id); err == nil && len(u.Suspensions) > 0 {
						w, err = n.svc.UnsuspendUser(ctx, ten, id, u.Suspensions[0].ID, opts)
					}
				case 4:
					op = "delete"
					w, err = n.svc.DeleteUser(ctx, ten, id, opts)
				case 5:
					op = "restore"
					w, err = n.svc.RestoreUser(ctx, ten, id, opts)
				case 6:
					op = "json-patch"
					w, err = n.svc.UpdateUser(ctx, ten, id, directory.BodyJSONPatch, []byte(`[{"op": "add", "path": "/metadata/`+
						pick("plan", "added")+`", "value": `+strings.ReplaceAll(value(), "null", "0")+`}]`), opts)
				case 7:
					op = "replace"
					w, err = n.svc.UpdateUser(ctx, ten, id, directory.BodyReplace, body(), opts)
				case 8:
					op = "merge-patch"
					w, err = n.svc.UpdateUser(ctx, ten, id, directory.BodyMergePatch, body(), opts)
				default:
					op = "patch"
					w, err = n.svc.UpdateUser(ctx, ten, id, directory.BodyJSON, body(), opts)
				}
			}
			if err != nil || w == nil {
				ops[op+" refused"]++
				if testing.Verbose() && err != nil {
					t.Logf("%s refused: %v", op, err)
				}
				continue
			}
			ops[op]++
			deleting[w.User.ID] = w.User.Status == directory.StatusDeleting
			if op == "create" {
				ids = append(ids, w.User.ID)
			}
			before := c.Stats()
			got, err := c.GetUser(ctx, ten.ID, w.User.ID)
			if err != nil {
				t.Fatal(err)
			}
			if c.Stats().Hits == before.Hits {
				continue // not kept: a suspension, say; read below next time
			}
			kept++
			want, err := raw.GetUser(ctx, ten.ID, w.User.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := differ(got, want); diff != "" {
				t.Fatalf("after %s, memory and the store differ: %s", op, diff)
			}
		}
		t.Logf("%d writes kept and compared; operations: %v", kept, ops)
		for _, op := range []string{"create", "patch", "merge-patch", "replace", "json-patch", "deactivate", "reactivate", "delete", "restore"} {
			if ops[op] == 0 {
				t.Errorf("no %s succeeded: the test does not cover it", op)
			}
		}
		if kept < 300 {
			t.Errorf("only %d writes were kept", kept)
		}
	})
}

// differ names the fields of two users that differ, and how, or is "".
func differ(got, want *directory.User) string {
	var out []string
	g, w := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	for i := range g.NumField() {
		if !reflect.DeepEqual(g.Field(i).Interface(), w.Field(i).Interface()) {
			out = append(out, fmt.Sprintf("%s: %#v, stored %#v", g.Type().Field(i).Name, g.Field(i).Interface(), w.Field(i).Interface()))
		}
	}
	return strings.Join(out, "; ")
}

// TestOwnWritesStayKept: the watcher reports this node's own writes back,
// with their versions, and what the node kept of them stays: a write
// followed by reads costs no read of the store.
func TestOwnWritesStayKept(t *testing.T) {
	onEachStore(t, func(t *testing.T, open database) {
		n := newNode(t, open, usercache.Options{Interval: 10 * time.Millisecond})
		ten := n.tenant(t)
		id := n.create(t, ten, "ada@example.com").ID
		u, err := n.rename(ten, id, "Renamed", directory.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond) // many polls: the watcher has reported both writes
		before := n.cache.Stats()
		if got := n.get(t, ten, id); got.Version != u.Version {
			t.Fatalf("version %d served, the write made %d", got.Version, u.Version)
		}
		if after := n.cache.Stats(); after.Hits != before.Hits+1 {
			t.Fatalf("the read after the node's own write went to the store: %+v, then %+v", before, after)
		}
	})
}
