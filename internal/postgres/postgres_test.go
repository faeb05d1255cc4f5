package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/postgres"
	"github.com/roster-dev/roster/internal/postgres/pgtest"
	"github.com/roster-dev/roster/internal/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := pgtest.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

var _ storetest.Inspector = (*postgres.Store)(nil)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) directory.Store { return pgtest.Open(t) })
}

// TestStoreTwoNodes runs the conformance suite on two stores sharing one
// database, as two Roster nodes do: transactions, claims and attempts
// alternate between the nodes, so the suite's concurrency tests contend
// across two pools.
func TestStoreTwoNodes(t *testing.T) {
	storetest.Run(t, func(t *testing.T) directory.Store {
		u := pgtest.URL(t)
		a, b := open(t, u), open(t, u)
		return &twoNodes{Store: a, other: b}
	})
}

// twoNodes is a directory.Store whose writes alternate between two stores.
type twoNodes struct {
	*postgres.Store
	other *postgres.Store
	n     atomic.Uint64
}

func (s *twoNodes) next() *postgres.Store {
	if s.n.Add(1)%2 == 0 {
		return s.Store
	}
	return s.other
}

func (s *twoNodes) InTx(ctx context.Context, fn func(directory.Tx) error) error {
	return s.next().InTx(ctx, fn)
}

func (s *twoNodes) InCountedTx(ctx context.Context, fn func(directory.Tx) (*directory.WriteCount, error)) (directory.Counters, error) {
	return s.next().InCountedTx(ctx, fn)
}

func (s *twoNodes) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*directory.ClaimedDelivery, error) {
	return s.next().ClaimDeliveries(ctx, now, lease, limit)
}

func (s *twoNodes) FinishAttempt(ctx context.Context, d *directory.Delivery, a *directory.Attempt, next time.Time) error {
	return s.next().FinishAttempt(ctx, d, a, next)
}

// open opens a store on url, closed when t ends.
func open(t *testing.T, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// connect opens a connection to the database at url (a store's URL, with
// pool parameters), closed when t ends.
func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	conn, err := pgx.ConnectConfig(t.Context(), cfg.ConnConfig)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// withParams returns url with the query parameters kv (name, value, …) set.
func withParams(url string, kv ...string) string {
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	for i := 0; i < len(kv); i += 2 {
		url += sep + kv[i] + "=" + kv[i+1]
		sep = "&"
	}
	return url
}

// allVersions returns the versions of the embedded migrations, which a fresh
// database gets.
func allVersions(t *testing.T) []int {
	t.Helper()
	s := open(t, pgtest.EmptyURL(t))
	if len(s.Applied()) == 0 {
		t.Fatalf("Applied on an empty database: got none, want every migration")
	}
	return s.Applied()
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	url := pgtest.EmptyURL(t)
	first := open(t, url)
	want := allVersions(t)
	if got := first.Applied(); !slices.Equal(got, want) {
		t.Errorf("Applied on an empty database: got %v, want %v", got, want)
	}
	if !slices.IsSorted(want) || want[0] != 1 {
		t.Errorf("migration versions %v: want them to start at 1, in order", want)
	}

	// Opening again, or a third time, applies nothing.
	for i := range 2 {
		s := open(t, url)
		if got := s.Applied(); len(got) != 0 {
			t.Errorf("Applied on reopen %d: got %v, want none", i+1, got)
		}
	}
	checkRecorded(t, url, want)
}

// checkRecorded fails the test unless schema_migrations at url records each
// of versions once.
func checkRecorded(t *testing.T, url string, versions []int) {
	t.Helper()
	conn := connect(t, url)
	rows, err := conn.Query(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	var want []int32
	for _, v := range versions {
		want = append(want, int32(v))
	}
	if !slices.Equal(got, want) {
		t.Errorf("schema_migrations: got versions %v, want %v", got, want)
	}
}

// TestMigrateConcurrently opens several stores at once on one empty
// database, as nodes starting together do: the advisory lock has each
// migration applied once, by one of them, and every Open succeeds.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	const nodes = 4
	want := allVersions(t)
	url := pgtest.EmptyURL(t)
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		applied = make([][]int, nodes)
	)
	for i := range nodes {
		wg.Go(func() {
			<-start
			s, err := postgres.Open(t.Context(), url)
			if err != nil {
				t.Errorf("node %d: Open: %v", i, err)
				return
			}
			applied[i] = s.Applied()
			s.Close()
		})
	}
	close(start)
	wg.Wait()

	var all []int
	for _, a := range applied {
		all = append(all, a...)
	}
	slices.Sort(all)
	if !slices.Equal(all, want) {
		t.Errorf("migrations applied by %d nodes together: got %v (per node %v), want each of %v once", nodes, all, applied, want)
	}
	checkRecorded(t, url, want)
}

// TestUniqueViolationMapping checks that only the email and username
// indexes make a *UniqueViolation: a duplicate primary key is another error.
func TestUniqueViolationMapping(t *testing.T) {
	t.Parallel()
	s := pgtest.Open(t)
	ctx := t.Context()
	tn, u := tenantWithUser(t, s, "Alice@Example.com", "alice")
	for _, c := range []struct {
		name  string
		user  *directory.User
		field string // "": not a UniqueViolation
	}{
		{"email", storetest.NewUser(tn.ID, "alice@example.COM", "other"), "email"},
		{"username", storetest.NewUser(tn.ID, "other@example.com", "alice"), "username"},
		{"both", storetest.NewUser(tn.ID, "alice@example.com", "alice"), "any"},
		{"id", func() *directory.User { v := storetest.NewUser(tn.ID, "new@example.com", "new"); v.ID = u.ID; return v }(), ""},
	} {
		err := s.InTx(ctx, func(tx directory.Tx) error { return tx.CreateUser(ctx, c.user) })
		uv, ok := errors.AsType[*directory.UniqueViolation](err)
		switch {
		case err == nil:
			t.Errorf("CreateUser with a taken %s: got nil error", c.name)
		case c.field == "" && ok:
			t.Errorf("CreateUser with a taken %s: got %v, want an error other than UniqueViolation", c.name, err)
		case c.field == "any" && !ok:
			t.Errorf("CreateUser with a taken %s: got %v, want a UniqueViolation", c.name, err)
		case c.field != "" && c.field != "any" && (!ok || uv.Field != c.field):
			t.Errorf("CreateUser with a taken %s: got %v, want UniqueViolation{%q}", c.name, err, c.field)
		}
	}
}

// TestDeadlockRetried makes two transactions lock two tenants in opposite
// orders. PostgreSQL aborts one of them with a deadlock; InTx runs it again,
// and both commit.
func TestDeadlockRetried(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	// Two nodes, so that each transaction has a connection of its own
	// whatever the pool size.
	nodes := []*postgres.Store{open(t, url), open(t, url)}
	ctx := t.Context()
	a, b := newTenant(), newTenant()
	if err := nodes[0].InTx(ctx, func(tx directory.Tx) error {
		if err := tx.CreateTenant(ctx, a); err != nil {
			return err
		}
		return tx.CreateTenant(ctx, b)
	}); err != nil {
		t.Fatalf("InTx: %v", err)
	}

	var (
		wg       sync.WaitGroup
		runs     [2]atomic.Int32
		firstOut sync.WaitGroup // both hold their first lock
	)
	firstOut.Add(2)
	order := [2][2]*directory.Tenant{{a, b}, {b, a}}
	for i := range 2 {
		wg.Go(func() {
			err := nodes[i].InTx(ctx, func(tx directory.Tx) error {
				run := runs[i].Add(1)
				if err := tx.LockTenant(ctx, order[i][0].ID); err != nil {
					return err
				}
				if run == 1 {
					firstOut.Done()
					firstOut.Wait()
				}
				return tx.LockTenant(ctx, order[i][1].ID)
			})
			if err != nil {
				t.Errorf("transaction %d: InTx: %v", i, err)
			}
		})
	}
	wg.Wait()
	if total := runs[0].Load() + runs[1].Load(); total != 3 {
		t.Errorf("transaction functions ran %d and %d times, want 3 runs in all: one deadlock victim run twice",
			runs[0].Load(), runs[1].Load())
	}
}

// nodesWithTenant returns two stores on one new database, as two Roster nodes,
// and a tenant created in it.
func nodesWithTenant(t *testing.T) ([]*postgres.Store, *directory.Tenant) {
	t.Helper()
	url := pgtest.URL(t)
	nodes := []*postgres.Store{open(t, url), open(t, url)}
	tn := newTenant()
	if err := nodes[0].InTx(t.Context(), func(tx directory.Tx) error { return tx.CreateTenant(t.Context(), tn) }); err != nil {
		t.Fatalf("InTx: %v", err)
	}
	return nodes, tn
}

// holdTenantLock runs a transaction on s that takes LockTenant of the
// tenant and holds it until release is called, then runs then (if not nil);
// done receives the transaction's outcome. It returns once the lock is held.
func holdTenantLock(t *testing.T, s *postgres.Store, tenantID string, then func(directory.Tx) error) (release func(), done <-chan error) {
	t.Helper()
	locked, released, result := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		result <- s.InTx(t.Context(), func(tx directory.Tx) error {
			if err := tx.LockTenant(t.Context(), tenantID); err != nil {
				return err
			}
			close(locked)
			<-released
			if then == nil {
				return nil
			}
			return then(tx)
		})
	}()
	select {
	case <-locked:
	case err := <-result:
		t.Fatalf("LockTenant: %v", err)
	}
	return func() { close(released) }, result
}

// TestLockTenantSerializesCounts shows why InTx runs at READ COMMITTED: a
// transaction that waited in LockTenant for another to commit reads the
// active-user counter as that one left it, at its first try. (At REPEATABLE
// READ its snapshot, taken before the wait, would miss the move; PostgreSQL
// then fails the lock with a serialization error, and only InTx's retry
// would read the counter right, which the count of tries catches.)
func TestLockTenantSerializesCounts(t *testing.T) {
	t.Parallel()
	nodes, tn := nodesWithTenant(t)
	ctx := t.Context()

	release, done := holdTenantLock(t, nodes[0], tn.ID, func(tx directory.Tx) error {
		if err := tx.CreateUser(ctx, storetest.NewUser(tn.ID, "alice@example.com", "alice")); err != nil {
			return err
		}
		return tx.AddActiveUsers(ctx, tn.ID, 1)
	})
	time.AfterFunc(200*time.Millisecond, release) // the other transaction is waiting then
	var counted int64
	tries := 0
	err := nodes[1].InTx(ctx, func(tx directory.Tx) error {
		tries++
		// A first statement, which would fix a REPEATABLE READ snapshot
		// before the lock.
		if _, err := tx.CountActiveUsers(ctx, tn.ID); err != nil {
			return err
		}
		if err := tx.LockTenant(ctx, tn.ID); err != nil {
			return err
		}
		var err error
		counted, err = tx.CountActiveUsers(ctx, tn.ID)
		return err
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the locking transaction: %v", err)
	}
	if counted != 1 || tries != 1 {
		t.Errorf("CountActiveUsers after waiting in LockTenant: got %d in %d tries, want 1 (the user the lock holder counted) in 1", counted, tries)
	}
}

// TestLockTenantLetsOtherWritesThrough checks that LockTenant holds back
// only the transactions that lock the tenant too: another transaction that
// writes rows referencing the tenant (whose foreign key checks share-lock
// its row) goes on meanwhile.
func TestLockTenantLetsOtherWritesThrough(t *testing.T) {
	t.Parallel()
	nodes, tn := nodesWithTenant(t)
	ctx := t.Context()
	release, done := holdTenantLock(t, nodes[0], tn.ID, nil)
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err := nodes[1].InTx(wctx, func(tx directory.Tx) error {
		u := storetest.NewUser(tn.ID, "bob@example.com", "bob")
		if err := tx.CreateUser(wctx, u); err != nil {
			return err
		}
		if _, err := tx.AddWrite(wctx, tn.ID, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)); err != nil {
			return err
		}
		return tx.InsertEvent(wctx, &directory.Event{ID: directory.NewID(directory.PrefixEvent, u.CreatedAt),
			TenantID: tn.ID, UserID: u.ID, Type: directory.EventUserCreated, Payload: []byte(`{}`), CreatedAt: u.CreatedAt}, nil)
	})
	release()
	if err != nil {
		t.Errorf("a write of the tenant while another transaction holds LockTenant: %v (want it not to wait)", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the locking transaction: %v", err)
	}
}

// TestAddActiveUsersWaitsForLockTenant checks that a move of the
// active-user counter waits while another transaction holds LockTenant to
// check it against the quota, and then adds to what that one left.
func TestAddActiveUsersWaitsForLockTenant(t *testing.T) {
	t.Parallel()
	nodes, tn := nodesWithTenant(t)
	ctx := t.Context()
	release, done := holdTenantLock(t, nodes[0], tn.ID, func(tx directory.Tx) error { return tx.AddActiveUsers(ctx, tn.ID, 1) })
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	err := nodes[1].InTx(wctx, func(tx directory.Tx) error { return tx.AddActiveUsers(wctx, tn.ID, -5) })
	if err == nil {
		t.Errorf("AddActiveUsers while another transaction holds LockTenant: got nil, want it to wait until its context ends")
	}
	added := make(chan error)
	go func() {
		added <- nodes[1].InTx(ctx, func(tx directory.Tx) error { return tx.AddActiveUsers(ctx, tn.ID, 2) })
	}()
	time.Sleep(100 * time.Millisecond) // the addition is waiting now
	release()
	if err := <-done; err != nil {
		t.Fatalf("the locking transaction: %v", err)
	}
	if err := <-added; err != nil {
		t.Fatalf("AddActiveUsers after the lock was released: %v", err)
	}
	u, err := nodes[0].Usage(ctx, tn.ID, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatalf("Usage: %v", err)
	}
	if u.ActiveUsers != 3 {
		t.Errorf("Usage.ActiveUsers: got %d, want 3 (+1 under the lock, +2 after it; the -5 timed out)", u.ActiveUsers)
	}
}

// TestUnavailable checks that a server that cannot be reached makes Open
// return ErrUnavailable, and soon: at once when the port is closed, within
// the connect timeout when nothing answers.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	// A server that accepts connections and never says a word.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})

	for _, c := range []struct {
		name   string
		url    string
		within time.Duration
	}{
		{"closed port", "postgres://postgres@" + closedAddr + "/roster?sslmode=disable", 2 * time.Second},
		{"silent server", "postgres://postgres@" + silent.Addr().String() + "/roster?sslmode=disable&connect_timeout=1", 3 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			s, err := postgres.Open(t.Context(), c.url)
			elapsed := time.Since(start)
			if err == nil {
				s.Close()
				t.Fatalf("Open: got a store, want an error")
			}
			if !errors.Is(err, directory.ErrUnavailable) {
				t.Errorf("Open: got error %v, want ErrUnavailable", err)
			}
			if elapsed > c.within {
				t.Errorf("Open took %v, want at most %v", elapsed, c.within)
			}
		})
	}
}

// TestUnavailableDefaultTimeout checks that without connect_timeout in the
// URL a silent server still fails Open, after the store's default timeout.
func TestUnavailableDefaultTimeout(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits for the 5 s default connect timeout")
	}
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	start := time.Now()
	_, err = postgres.Open(context.Background(), "postgres://postgres@"+silent.Addr().String()+"/roster?sslmode=disable")
	if !errors.Is(err, directory.ErrUnavailable) {
		t.Errorf("Open: got error %v, want ErrUnavailable", err)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("Open took %v, want about 5 s", elapsed)
	}
}

// TestUnavailableAfterDisconnect ends a store's connections from the server
// side, as a restart or failover does: the next call fails with
// ErrUnavailable, and the store recovers once the server is back.
func TestUnavailableAfterDisconnect(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	s := open(t, url)
	ctx := t.Context()
	tn := newTenant()
	if err := s.InTx(ctx, func(tx directory.Tx) error { return tx.CreateTenant(ctx, tn) }); err != nil {
		t.Fatalf("InTx: %v", err)
	}

	admin := connect(t, url)
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		t.Fatalf("terminate: %v", err)
	}

	_, err := s.GetTenant(ctx, tn.ID)
	if err != nil && !errors.Is(err, directory.ErrUnavailable) {
		t.Errorf("GetTenant on a connection the server ended: got %v, want ErrUnavailable (or nil if the pool noticed)", err)
	}
	t.Logf("GetTenant on a connection the server ended: %v", err)
	// The pool drops the broken connection and opens another.
	if _, err := s.GetTenant(ctx, tn.ID); err != nil {
		t.Errorf("GetTenant once the server is back: %v", err)
	}
}

func TestPing(t *testing.T) {
	t.Parallel()
	s := pgtest.Open(t)
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	s.Close()
	if err := s.Ping(t.Context()); err == nil {
		t.Errorf("Ping of a closed store: got nil, want an error")
	}
}

func TestOpenBadURL(t *testing.T) {
	t.Parallel()
	for _, url := range []string{
		"",
		"sqlite:roster.db",
		"/var/lib/roster.db",
		"mysql://root@localhost/roster",
		"host=localhost dbname=roster",
		"postgres://localhost/roster?pool_max_conns=zero",
	} {
		s, err := postgres.Open(t.Context(), url)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q): got a store, want an error", url)
			continue
		}
		if errors.Is(err, directory.ErrUnavailable) {
			t.Errorf("Open(%q): got %v, want a configuration error, not ErrUnavailable", url, err)
		}
	}
}

func TestOpenHidesPassword(t *testing.T) {
	t.Parallel()
	_, err := postgres.Open(t.Context(), "postgres://roster:s3cret-pw@127.0.0.1:1/roster?sslmode=disable&pool_max_conns=zero")
	if err == nil {
		t.Fatal("Open: got nil error")
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("Open's error shows the password: %v", err)
	}
}

// TestTimesInUTC reads times through a session whose time zone is not UTC:
// they still come back in UTC, to the millisecond written.
func TestTimesInUTC(t *testing.T) {
	t.Parallel()
	s := open(t, withParams(pgtest.URL(t), "timezone", "Asia/Kathmandu"))
	ctx := t.Context()
	tn := newTenant()
	tn.CreatedAt = time.Date(2026, 2, 3, 4, 5, 6, 789_654_321, time.FixedZone("UTC-3", -3*3600))
	if err := s.InTx(ctx, func(tx directory.Tx) error { return tx.CreateTenant(ctx, tn) }); err != nil {
		t.Fatalf("InTx: %v", err)
	}
	got, err := s.GetTenant(ctx, tn.ID)
	if err != nil {
		t.Fatalf("GetTenant: %v", err)
	}
	want := time.Date(2026, 2, 3, 7, 5, 6, 789_000_000, time.UTC) // truncated to the millisecond
	if !got.CreatedAt.Equal(want) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt: got %s, want %s", got.CreatedAt.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
	}
}

// TestAbortedTransactionNotCommitted checks what happens when fn ignores a
// database error: PostgreSQL has aborted the transaction, so InTx commits
// nothing and says so.
func TestAbortedTransactionNotCommitted(t *testing.T) {
	t.Parallel()
	s := pgtest.Open(t)
	ctx := t.Context()
	tn, _ := tenantWithUser(t, s, "alice@example.com", "alice")
	bob := storetest.NewUser(tn.ID, "bob@example.com", "bob")
	err := s.InTx(ctx, func(tx directory.Tx) error {
		if err := tx.CreateUser(ctx, bob); err != nil {
			return err
		}
		_ = tx.CreateUser(ctx, storetest.NewUser(tn.ID, "alice@example.com", "alice2")) // ignored
		return nil
	})
	if err == nil {
		t.Errorf("InTx whose fn ignored a unique violation: got nil error, want one")
	}
	if _, err := s.GetUser(ctx, tn.ID, bob.ID); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("GetUser of a user created in the aborted transaction: got %v, want ErrNotFound", err)
	}
}

// TestDeliveryOfAnotherTenantsEndpoint checks the foreign key that ties a
// delivery to an endpoint of its own tenant: InsertEvent refuses a delivery
// to another tenant's endpoint or to no endpoint, and writes nothing.
func TestDeliveryOfAnotherTenantsEndpoint(t *testing.T) {
	t.Parallel()
	s := pgtest.Open(t)
	ctx := t.Context()
	a, b := newTenant(), newTenant()
	at := directory.Now()
	theirs := &directory.Endpoint{ID: directory.NewID(directory.PrefixEndpoint, at), TenantID: b.ID, URL: "https://b.example.com/",
		Kind: directory.EndpointEvents, TimeoutMS: 1000, Secret: "whsec_x", CreatedAt: at}
	u := storetest.NewUser(a.ID, "alice@example.com", "alice")
	if err := s.InTx(ctx, func(tx directory.Tx) error {
		for _, tn := range []*directory.Tenant{a, b} {
			if err := tx.CreateTenant(ctx, tn); err != nil {
				return err
			}
		}
		if err := tx.CreateEndpoint(ctx, theirs); err != nil {
			return err
		}
		return tx.CreateUser(ctx, u)
	}); err != nil {
		t.Fatalf("InTx: %v", err)
	}
	for _, endpointID := range []string{theirs.ID, directory.NewID(directory.PrefixEndpoint, at)} {
		e := &directory.Event{ID: directory.NewID(directory.PrefixEvent, at), TenantID: a.ID, UserID: u.ID,
			Type: directory.EventUserCreated, Payload: []byte(`{}`), CreatedAt: at}
		d := &directory.Delivery{ID: directory.NewID(directory.PrefixDelivery, at), EndpointID: endpointID, NextAttemptAt: at, CreatedAt: at}
		err := s.InTx(ctx, func(tx directory.Tx) error { return tx.InsertEvent(ctx, e, []*directory.Delivery{d}) })
		if err == nil {
			t.Errorf("InsertEvent with a delivery to endpoint %s: got nil error, want a refusal", endpointID)
		}
		// The refusal comes with the next statement waited for (see
		// pipeline), which reports it as the insert's.
		var countErr error
		err = s.InTx(ctx, func(tx directory.Tx) error {
			if err := tx.InsertEvent(ctx, e, []*directory.Delivery{d}); err != nil {
				return err
			}
			_, countErr = tx.AddWrite(ctx, a.ID, at)
			return countErr
		})
		if err == nil || countErr == nil || !strings.Contains(countErr.Error(), "insert event") {
			t.Errorf("AddWrite after InsertEvent with a delivery to endpoint %s: got %v (InTx: %v), want the insert's refusal", endpointID, countErr, err)
		}
		es, err := s.ListEvents(ctx, a.ID, "", 0)
		if err != nil {
			t.Fatalf("ListEvents: %v", err)
		}
		if len(es) != 0 {
			t.Errorf("ListEvents after a refused InsertEvent: got %d events, want none", len(es))
		}
	}
}

func newTenant() *directory.Tenant {
	at := directory.Now()
	return &directory.Tenant{
		ID:        directory.NewID(directory.PrefixTenant, at),
		Name:      "Acme",
		Plan:      directory.DefaultPlan(),
		Settings:  directory.DefaultSettings(),
		Roles:     directory.DefaultRoles(),
		CreatedAt: at,
		UpdatedAt: at,
	}
}

// tenantWithUser creates, in one transaction on s, a tenant and its user
// with email and username.
func tenantWithUser(t *testing.T, s *postgres.Store, email, username string) (*directory.Tenant, *directory.User) {
	t.Helper()
	ctx := t.Context()
	tn := newTenant()
	u := storetest.NewUser(tn.ID, email, username)
	if err := s.InTx(ctx, func(tx directory.Tx) error {
		if err := tx.CreateTenant(ctx, tn); err != nil {
			return err
		}
		return tx.CreateUser(ctx, u)
	}); err != nil {
		t.Fatalf("create a tenant and its user: %v", err)
	}
	return tn, u
}

// TestTransactionRoundTrips counts the requests a store sends the database
// for the transactions of an update: BEGIN goes with the first statement,
// and the audit entry and the event with the next statement waited for, or
// with the COMMIT.
func TestTransactionRoundTrips(t *testing.T) {
	ctx := t.Context()
	var writes atomic.Int64
	s, err := postgres.OpenConfigured(ctx, pgtest.URL(t), func(cfg *pgxpool.Config) {
		cfg.MaxConns = 1
		cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
		cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			return countingConn{c, &writes}, err
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	tn, u := tenantWithUser(t, s, "alice@example.com", "alice")
	period := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	update := func(tx directory.Tx) error {
		next := *u
		next.Name, next.Version = fmt.Sprintf("Alice %d", u.Version), u.Version+1
		if err := tx.UpdateUser(ctx, &next, u.Version); err != nil {
			return err
		}
		u = &next
		if err := tx.InsertAudit(ctx, storetest.NewAudit(u, directory.EventUserUpdated)); err != nil {
			return err
		}
		return tx.InsertEvent(ctx, storetest.NewEvent(u, directory.EventUserUpdated), nil)
	}
	for _, c := range []struct {
		name  string
		fn    func(directory.Tx) error
		count bool // run by InCountedTx, which counts a write at the commit
		want  int64
	}{
		{"nothing", func(directory.Tx) error { return nil }, false, 0},
		// BEGIN + UPDATE; INSERT audit + INSERT event + COMMIT.
		{"update", update, false, 2},
		// BEGIN + UPDATE; the INSERTs + the count; COMMIT.
		{"update and count", func(tx directory.Tx) error {
			if err := update(tx); err != nil {
				return err
			}
			_, err := tx.AddWrite(ctx, tn.ID, period)
			return err
		}, false, 3},
		// BEGIN + UPDATE; the INSERTs + the count + COMMIT.
		{"update and count at commit", update, true, 2},
	} {
		// The first run prepares the statements the connection has not
		// seen yet, in round trips of their own.
		for run := 1; run <= 2; run++ {
			writes.Store(0)
			var err error
			if c.count {
				var got directory.Counters
				got, err = s.InCountedTx(ctx, func(tx directory.Tx) (*directory.WriteCount, error) {
					return &directory.WriteCount{TenantID: tn.ID, PeriodStart: period,
						Limits: directory.WriteLimits{ConfigVersion: tn.ConfigVersion, MaxWrites: 100}}, c.fn(tx)
				})
				// After the two runs of "update and count".
				want := directory.Counters{Writes: 2 + int64(run), ConfigVersion: tn.ConfigVersion}
				if err == nil && got != want {
					t.Errorf("%s, run %d: counters %+v, want %+v", c.name, run, got, want)
				}
			} else {
				err = s.InTx(ctx, c.fn)
			}
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		if got := writes.Load(); got != c.want {
			t.Errorf("%s: %d requests sent, want %d", c.name, got, c.want)
		}
	}
	got, err := s.GetUser(ctx, tn.ID, u.ID)
	if err != nil || got.Version != u.Version {
		t.Errorf("GetUser after the updates: got %+v, %v; want version %d", got, err, u.Version)
	}
	if es, err := s.ListEvents(ctx, tn.ID, "", 0); err != nil || len(es) != 6 {
		t.Errorf("ListEvents after the updates: got %d, %v; want 6 events", len(es), err)
	}
}

// countingConn counts the writes to a connection: pgx writes each request
// (a query, or a batch of them) to the socket in one.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// TestFinishAttemptDuringPurge: an attempt that fails while the purge of
// its event's user is under way (on another node) waits for the purge and
// then records no error text: the purge has erased the text of the
// attempts before it, and the user's row, which FinishAttempt locks, is
// gone. Without the lock it would record the receiver's text after the
// purge had scrubbed what was there.
func TestFinishAttemptDuringPurge(t *testing.T) {
	t.Parallel()
	nodes, tn := nodesWithTenant(t)
	ctx := t.Context()
	at := directory.Now()
	u := storetest.NewUser(tn.ID, "zelda@example.com", "zelda")
	ep := &directory.Endpoint{ID: directory.NewID(directory.PrefixEndpoint, at), TenantID: tn.ID, URL: "https://hooks.example.com/",
		Kind: directory.EndpointEvents, TimeoutMS: 1000, Secret: "whsec_x", CreatedAt: at}
	e := &directory.Event{ID: directory.NewID(directory.PrefixEvent, at), TenantID: tn.ID, UserID: u.ID,
		Type: directory.EventUserCreated, Payload: []byte(`{"email":"zelda@example.com"}`), CreatedAt: at}
	d := &directory.Delivery{ID: directory.NewID(directory.PrefixDelivery, at), TenantID: tn.ID, EndpointID: ep.ID, EventID: e.ID,
		UserID: u.ID, Status: directory.DeliveryPending, NextAttemptAt: at, CreatedAt: at}
	if err := nodes[0].InTx(ctx, func(tx directory.Tx) error {
		if err := tx.CreateEndpoint(ctx, ep); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.InsertEvent(ctx, e, []*directory.Delivery{d})
	}); err != nil {
		t.Fatalf("InTx: %v", err)
	}

	purged, release, purgeDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		purgeDone <- nodes[0].InTx(ctx, func(tx directory.Tx) error {
			if err := tx.PurgeUser(ctx, tn.ID, u.ID, func(*directory.Event) []byte { return []byte(`{}`) }); err != nil {
				return err
			}
			close(purged)
			<-release
			return nil
		})
	}()
	select {
	case <-purged:
	case err := <-purgeDone:
		t.Fatalf("PurgeUser: %v", err)
	}
	finished := make(chan error, 1)
	go func() {
		finished <- nodes[1].FinishAttempt(ctx, d, &directory.Attempt{At: at, Error: `malformed HTTP response "no zelda@example.com here"`}, at)
	}()
	var finishErr error
	select {
	case finishErr = <-finished:
		t.Errorf("FinishAttempt returned (%v) before the purge committed, want it to wait", finishErr)
		close(release)
	case <-time.After(300 * time.Millisecond):
		close(release)
		finishErr = <-finished
	}
	if err := <-purgeDone; err != nil {
		t.Fatalf("PurgeUser: %v", err)
	}
	if finishErr != nil {
		t.Fatalf("FinishAttempt: %v", finishErr)
	}
	as, err := nodes[0].ListAttempts(ctx, tn.ID, []string{d.ID})
	if err != nil || len(as) != 1 {
		t.Fatalf("ListAttempts: got %d attempts, error %v; want 1, nil", len(as), err)
	}
	if as[0].Error != directory.PurgedErrorText {
		t.Errorf("attempt recorded after the purge: error %q, want %q", as[0].Error, directory.PurgedErrorText)
	}
	ds, err := nodes[0].ListDeliveries(ctx, tn.ID, ep.ID, "", 0)
	if err != nil || len(ds) != 1 || ds[0].LastError != directory.PurgedErrorText {
		t.Errorf("delivery after the purge: %+v (error %v), want LastError %q", ds, err, directory.PurgedErrorText)
	}
}
