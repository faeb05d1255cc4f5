package pgtest_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/internal/postgres/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := pgtest.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// connect opens a connection to the database at u, closed when t ends.
func connect(t *testing.T, u string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func database(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(p.Path, "/")
}

func count(t *testing.T, conn *pgx.Conn, table string) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// TestRecycled checks that a database comes back empty but migrated, and
// that connections a test left open do not keep it from being reused.
func TestRecycled(t *testing.T) {
	var first string
	var migrations int
	t.Run("write", func(t *testing.T) {
		u := pgtest.URL(t)
		first = database(t, u)
		conn := connect(t, u)
		migrations = count(t, conn, "schema_migrations")
		if migrations == 0 {
			t.Fatalf("schema_migrations is empty: the database is not migrated")
		}
		if _, err := conn.Exec(t.Context(), `INSERT INTO tenants (id, name, plan, settings, roles, policies, created_at, updated_at)
			VALUES ('ten_1', 'Acme', '{}', '{}', NULL, '', now(), now())`); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(t.Context(), `INSERT INTO users (tenant_id, id, email_verified, name, given_name, family_name, picture,
			bio, birthdate, company, website, country, locale, zoneinfo, consent_method, is_owner, status, auth_provider,
			created_at, updated_at, version)
			VALUES ('ten_1', 'usr_1', false, '', '', '', '', '', '', '', '', '', '', '', '', false, 'active', '', now(), now(), 1)`); err != nil {
			t.Fatal(err)
		}
		// Left open on purpose, inside a transaction.
		left, err := pgx.Connect(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := left.Exec(context.Background(), `BEGIN; SELECT * FROM tenants FOR UPDATE`); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("reuse", func(t *testing.T) {
		u := pgtest.URL(t)
		if got := database(t, u); got != first {
			t.Errorf("database: got %s, want %s again", got, first)
		}
		conn := connect(t, u)
		for _, table := range []string{"tenants", "users"} {
			if n := count(t, conn, table); n != 0 {
				t.Errorf("%s of a recycled database: got %d rows, want none", table, n)
			}
		}
		if n := count(t, conn, "schema_migrations"); n != migrations {
			t.Errorf("schema_migrations of a recycled database: got %d rows, want %d", n, migrations)
		}
		var off string
		if err := conn.QueryRow(t.Context(), `SHOW synchronous_commit`).Scan(&off); err != nil || off != "off" {
			t.Errorf("synchronous_commit: got %q, %v; want off", off, err)
		}
	})
}

// TestSchemaChangeNotReused checks that a database whose schema a test
// changed is dropped, not handed to another test.
func TestSchemaChangeNotReused(t *testing.T) {
	var changed string
	t.Run("change", func(t *testing.T) {
		u := pgtest.URL(t)
		changed = database(t, u)
		if _, err := connect(t, u).Exec(t.Context(), `ALTER TABLE tenants ADD COLUMN extra integer`); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("next", func(t *testing.T) {
		u := pgtest.URL(t)
		if got := database(t, u); got == changed {
			t.Errorf("got the database whose schema changed, %s, again", got)
		}
		var n int
		if err := connect(t, u).QueryRow(t.Context(), `SELECT count(*) FROM pg_database WHERE datname = $1`, changed).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("the database whose schema changed, %s, still exists", changed)
		}
	})
}

func TestEmptyURL(t *testing.T) {
	conn := connect(t, pgtest.EmptyURL(t))
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("tables in an EmptyURL database: got %d, want none", n)
	}
}

func TestOpen(t *testing.T) {
	s := pgtest.Open(t)
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if got := s.Applied(); len(got) != 0 {
		t.Errorf("Applied of a store on a test database: got %v, want none (migrated already)", got)
	}
}
