// Package pgtest gives each test a PostgreSQL database of its own, migrated
// and empty, so that tests on PostgreSQL run in parallel as they do on
// SQLite files.
//
// The server is the one at $ROSTER_TEST_POSTGRES, by default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable; the role needs
// CREATEDB. When it is not reachable the tests skip, except under CI=true,
// where they fail: CI never skips them.
//
// Databases are cheap to get because they are rarely created. CREATE
// DATABASE writes the whole copy to the WAL and DROP DATABASE forces a
// checkpoint, each a hundred times slower than emptying a database with
// DELETE. So a test's database is recycled
// when the test ends: its connections are ended, its rows deleted, and it
// goes back to a pool for the next test of the same process. A database is
// created only when the pool is empty, as a copy of a template database that
// holds the migrated schema (roster_tmpl_<postgres.SchemaID()>), made once by
// whichever test process needs it first and kept for later runs.
//
// A test process's databases are named roster_test_<run>_<n>, and the
// process holds an advisory lock on <run> while it lives. Close drops them
// (call it from TestMain); those of a process that ended without Close are
// dropped by the next test process to start, which finds their lock free.
// Templates of old schemas stay until dropped by hand, which is safe
// whenever no test runs.
//
// Test databases commit without waiting for the WAL flush
// (synchronous_commit off): a test needs no durability. Stores opened on
// them get the production pool size, and open connections only as they need
// them; the server's max_connections (100 by default) is ample for
// go test's default parallelism.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roster-dev/roster/internal/postgres"
)

// DefaultServer is the server used when ROSTER_TEST_POSTGRES is not set.
const DefaultServer = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Keys of the advisory locks pgtest takes: templateLock while a process
// makes the template, so that test binaries starting together (go test
// ./...) make it once; (runLock, run) for the life of a process, so that
// others can tell its databases are in use.
const (
	templateLock int64 = 0x726f737465727470 // "rostertp"
	runLock      int32 = 0x72746573         // "rtes"
)

var (
	setupOnce sync.Once
	server    *url.URL      // the server URL, parsed
	admin     *pgxpool.Pool // on the server's maintenance database
	lockConn  *pgx.Conn     // holds the run's advisory lock
	run       int32         // this process's run number
	template  string        // the name of the migrated template database
	setupErr  error         // why there is no server or template
	reachable bool          // whether setupErr came after reaching the server

	mu     sync.Mutex
	free   []string // emptied databases ready for a test
	made   []string // every database this process made and has not dropped
	seq    int      // numbers the databases made
	shape  string   // the schema every recycled database must still have
	tables []string // the template's tables, referencing before referenced
)

// URL returns the URL of a migrated, empty database for t alone: the server
// URL with its database name replaced, a URL for postgres.Open and for pgx
// alike. When t ends, connections still open to the
// database are ended and its rows deleted, so t must not change its schema
// (a test of the schema uses EmptyURL): a database whose schema changed is
// dropped rather than reused.
func URL(t testing.TB) string {
	t.Helper()
	ready(t)
	name, err := take()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := recycle(name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return databaseURL(name)
}

// EmptyURL is like URL, for a database without any schema, a copy of
// template0, dropped when t ends: for tests of the migrations.
func EmptyURL(t testing.TB) string {
	t.Helper()
	ready(t)
	mu.Lock()
	seq++
	name := fmt.Sprintf("roster_test_%08x_e%d", uint32(run), seq)
	made = append(made, name)
	mu.Unlock()
	if err := createDatabase(name, "template0"); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := dropDatabase(name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return databaseURL(name)
}

// Open returns a store on a database from URL, closed when t ends.
func Open(t testing.TB) *postgres.Store {
	t.Helper()
	u := URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatalf("pgtest: open: %v", err)
	}
	t.Cleanup(func() { s.Close() }) // before the recycling, registered earlier
	return s
}

// Close drops the databases this process made, and returns the first
// error. Call it from TestMain once the tests have run; without it they are
// dropped by the next test process.
func Close() error {
	mu.Lock()
	names := made
	made, free = nil, nil
	mu.Unlock()
	var errs []error
	for _, name := range names {
		errs = append(errs, dropDatabase(name))
	}
	if lockConn != nil {
		errs = append(errs, lockConn.Close(context.Background()))
	}
	return errors.Join(errs...)
}

// serverURL returns the URL of the test server: $ROSTER_TEST_POSTGRES or
// DefaultServer.
func serverURL() string {
	if u := os.Getenv("ROSTER_TEST_POSTGRES"); u != "" {
		return u
	}
	return DefaultServer
}

// ready sets the package up once and ends t, skipped or failed, if there is
// no server to test on.
func ready(t testing.TB) {
	t.Helper()
	setupOnce.Do(setup)
	if setupErr == nil {
		return
	}
	switch {
	case reachable:
		t.Fatalf("pgtest: %v", setupErr)
	case os.Getenv("CI") == "true":
		t.Fatalf("PostgreSQL not reachable at %s: %v (CI never skips this test: start the server, or set ROSTER_TEST_POSTGRES)",
			server.Redacted(), setupErr)
	default:
		t.Skipf("PostgreSQL not reachable at %s: set ROSTER_TEST_POSTGRES or start it; CI never skips this (%v)",
			server.Redacted(), setupErr)
	}
}

// setup connects to the server, takes the run's lock, drops the databases
// of dead runs and makes sure the template exists.
func setup() {
	var err error
	if server, err = url.Parse(serverURL()); err != nil {
		server = &url.URL{Scheme: "postgres", Host: "(invalid ROSTER_TEST_POSTGRES)"}
		setupErr, reachable = fmt.Errorf("ROSTER_TEST_POSTGRES: %w", err), true
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	cfg, err := pgxpool.ParseConfig(serverURL())
	if err != nil {
		setupErr, reachable = err, true
		return
	}
	if !server.Query().Has("connect_timeout") {
		cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	}
	cfg.MaxConns = 4
	cfg.ConnConfig.RuntimeParams["application_name"] = "roster-pgtest"
	if admin, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		setupErr = err
		return
	}
	if err := admin.Ping(ctx); err != nil {
		setupErr = err
		return
	}
	reachable = true
	if lockConn, err = pgx.ConnectConfig(ctx, cfg.ConnConfig); err != nil {
		setupErr = err
		return
	}
	for {
		var b [4]byte
		rand.Read(b[:])
		run = int32(binary.BigEndian.Uint32(b[:]))
		var ok bool
		if err := lockConn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, runLock, run).Scan(&ok); err != nil {
			setupErr = err
			return
		}
		if ok {
			break
		}
	}
	if err := sweep(ctx); err != nil {
		setupErr = fmt.Errorf("drop the databases of ended test runs: %w", err)
		return
	}
	template = "roster_tmpl_" + postgres.SchemaID()
	if err := ensureTemplate(ctx); err != nil {
		setupErr = fmt.Errorf("template database %s: %w", template, err)
	}
}

// sweep drops the test databases of runs whose process is gone: those
// whose run lock it can take.
func sweep(ctx context.Context) error {
	rows, err := admin.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'roster\_test\_%'`)
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	byRun := map[int32][]string{}
	for _, name := range names {
		var r uint32
		if _, err := fmt.Sscanf(strings.TrimPrefix(name, "roster_test_"), "%08x_", &r); err != nil {
			continue // not named by this package
		}
		byRun[int32(r)] = append(byRun[int32(r)], name)
	}
	for r, names := range byRun {
		if r == run {
			continue
		}
		var gone bool
		if err := lockConn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, runLock, r).Scan(&gone); err != nil {
			return err
		}
		if !gone {
			continue // its process is still running
		}
		for _, name := range names {
			if err := dropDatabase(name); err != nil {
				return err
			}
		}
		if _, err := lockConn.Exec(ctx, `SELECT pg_advisory_unlock($1, $2)`, runLock, r); err != nil {
			return err
		}
	}
	return nil
}

// ensureTemplate makes the template database unless it exists. A template
// is complete once marked IS_TEMPLATE; one that is not was left half made by
// a process that died, and is made again.
func ensureTemplate(ctx context.Context) error {
	conn, err := admin.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, templateLock); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, templateLock)

	var complete bool
	err = conn.QueryRow(ctx, `SELECT datistemplate FROM pg_database WHERE datname = $1`, template).Scan(&complete)
	switch {
	case err == nil && complete:
		return nil
	case err == nil:
		if _, err := conn.Exec(ctx, `DROP DATABASE `+ident(template)+` WITH (FORCE)`); err != nil {
			return err
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return err
	}
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+ident(template)+` TEMPLATE template0`); err != nil {
		return err
	}
	s, err := postgres.Open(ctx, databaseURL(template))
	if err != nil {
		return err
	}
	s.Close()
	_, err = conn.Exec(ctx, `ALTER DATABASE `+ident(template)+` IS_TEMPLATE true`)
	return err
}

// take returns a database from the pool, or makes one.
func take() (string, error) {
	mu.Lock()
	if n := len(free); n > 0 {
		name := free[n-1]
		free = free[:n-1]
		mu.Unlock()
		return name, nil
	}
	seq++
	name := fmt.Sprintf("roster_test_%08x_%d", uint32(run), seq)
	made = append(made, name)
	first := shape == ""
	mu.Unlock()

	if err := createDatabase(name, template); err != nil {
		return "", err
	}
	if first {
		// The first copy tells what every recycled database must look like
		// (the template itself cannot be read: a connection to it would make
		// concurrent copies fail).
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := connect(ctx, name)
		if err != nil {
			return "", err
		}
		defer conn.Close(ctx)
		s, ts, err := describe(ctx, conn)
		if err != nil {
			return "", fmt.Errorf("describe %s: %w", name, err)
		}
		mu.Lock()
		shape, tables = s, ts
		mu.Unlock()
	}
	return name, nil
}

// recycle ends the connections to the database name, deletes its rows and
// puts it back in the pool; or drops it if its schema is not the template's.
func recycle(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name); err != nil {
		return fmt.Errorf("end the connections to %s: %w", name, err)
	}
	conn, err := connect(ctx, name)
	if err != nil {
		return fmt.Errorf("empty %s: %w", name, err)
	}
	defer conn.Close(ctx)

	mu.Lock()
	want, ts := shape, tables
	mu.Unlock()
	got, _, err := describe(ctx, conn)
	if err != nil {
		return fmt.Errorf("empty %s: %w", name, err)
	}
	if got != want {
		conn.Close(ctx)
		return dropDatabase(name)
	}
	// DELETE, not TRUNCATE: on tables this small it takes a fraction of a
	// millisecond where TRUNCATE, which makes new files, takes tens.
	b := &pgx.Batch{}
	for _, table := range ts {
		b.Queue(`DELETE FROM ` + ident(table))
	}
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("empty %s: %w", name, err)
	}
	mu.Lock()
	free = append(free, name)
	mu.Unlock()
	return nil
}

// describe returns a digest of the schema of the database conn is on
// (tables, columns, indexes, constraints; not the rows of schema_migrations,
// which are kept) and its tables other than schema_migrations and
// key_version, whose one row migration 0016 made, each after the tables
// whose rows reference its rows.
func describe(ctx context.Context, conn *pgx.Conn) (string, []string, error) {
	var digest string
	err := conn.QueryRow(ctx, `SELECT md5(coalesce(string_agg(d, ';' ORDER BY d), '')) FROM (
			SELECT c.relname || '.' || coalesce(a.attname, '') || ':' || c.relkind::text || ':' || coalesce(format_type(a.atttypid, a.atttypmod), '') AS d
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
			WHERE n.nspname = 'public'
			UNION ALL
			SELECT conrelid::regclass::text || ':' || conname || ':' || pg_get_constraintdef(oid)
			FROM pg_constraint WHERE connamespace = 'public'::regnamespace
		) s`).Scan(&digest)
	if err != nil {
		return "", nil, err
	}
	rows, err := conn.Query(ctx, `SELECT c.relname,
			coalesce(array_agg(DISTINCT r.relname) FILTER (WHERE r.relname IS NOT NULL AND r.relname <> c.relname), '{}')
		FROM pg_class c
		LEFT JOIN pg_constraint f ON f.confrelid = c.oid AND f.contype = 'f'
		LEFT JOIN pg_class r ON r.oid = f.conrelid
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname NOT IN ('schema_migrations', 'key_version')
		GROUP BY c.relname ORDER BY c.relname`)
	if err != nil {
		return "", nil, err
	}
	referencedBy := map[string][]string{}
	var names []string
	for rows.Next() {
		var name string
		var refs []string
		if err := rows.Scan(&name, &refs); err != nil {
			return "", nil, err
		}
		names, referencedBy[name] = append(names, name), refs
	}
	if err := rows.Err(); err != nil {
		return "", nil, err
	}
	// Depth-first: a table comes after every table that references it.
	var order []string
	state := map[string]int{} // 1: visiting, 2: placed
	var visit func(string) error
	visit = func(name string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("foreign keys form a cycle through %s", name)
		case 2:
			return nil
		}
		state[name] = 1
		for _, ref := range referencedBy[name] {
			if err := visit(ref); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, name)
		return nil
	}
	for _, name := range names {
		if err := visit(name); err != nil {
			return "", nil, err
		}
	}
	return digest, order, nil
}

// createDatabase creates the database name as a copy of from.
//
// Its sessions do not wait for the WAL to reach the disk when they commit
// (synchronous_commit off, which CREATE DATABASE does not copy from the
// template): a test needs no durability, and its writes get several times
// faster.
func createDatabase(name, from string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The names are ours: quoting them is enough to keep this safe.
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+ident(name)+` TEMPLATE `+ident(from)); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	if _, err := admin.Exec(ctx, `ALTER DATABASE `+ident(name)+` SET synchronous_commit = off`); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

func dropDatabase(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := admin.Exec(ctx, `DROP DATABASE IF EXISTS `+ident(name)+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	mu.Lock()
	for i, m := range made {
		if m == name {
			made = append(made[:i], made[i+1:]...)
			break
		}
	}
	mu.Unlock()
	return nil
}

// databaseURL returns the server URL with its database replaced by name.
func databaseURL(name string) string {
	u := *server
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

// connect opens a connection of pgtest's own to the database name.
func connect(ctx context.Context, name string) (*pgx.Conn, error) {
	cfg := admin.Config().ConnConfig.Copy()
	cfg.Database = name
	return pgx.ConnectConfig(ctx, cfg)
}

// ident quotes a name as an SQL identifier.
func ident(name string) string { return pgx.Identifier{name}.Sanitize() }
