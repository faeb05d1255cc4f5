package sqlite

import (
	"database/sql"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/roster-dev/roster/internal/directory"
)

// TestPragmas checks the settings on every connection of both pools, not
// only the first: each pool is drained of all the connections it may open.
func TestPragmas(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	for _, p := range []struct {
		name      string
		db        *sql.DB
		queryOnly int
	}{
		{"write", s.write, 0},
		{"read", s.read, 1},
	} {
		n := p.db.Stats().MaxOpenConnections
		if p.name == "write" && n != 1 {
			t.Errorf("write pool: got %d max connections, want 1", n)
		}
		if p.name == "read" && n < 2 {
			t.Errorf("read pool: got %d max connections, want several", n)
		}
		var conns []*sql.Conn
		for range n {
			c, err := p.db.Conn(ctx)
			if err != nil {
				t.Fatalf("%s pool: Conn: %v", p.name, err)
			}
			conns = append(conns, c)
		}
		for i, c := range conns {
			for _, want := range []struct {
				pragma string
				value  any
			}{
				{"journal_mode", "wal"},
				{"synchronous", int64(2)}, // FULL
				{"busy_timeout", int64(busyTimeout)},
				{"foreign_keys", int64(1)},
				{"secure_delete", int64(1)},
				{"query_only", int64(p.queryOnly)},
			} {
				var got any
				if err := c.QueryRowContext(ctx, "PRAGMA "+want.pragma).Scan(&got); err != nil {
					t.Fatalf("%s pool, connection %d: PRAGMA %s: %v", p.name, i, want.pragma, err)
				}
				if got != want.value {
					t.Errorf("%s pool, connection %d: PRAGMA %s: got %v, want %v", p.name, i, want.pragma, got, want.value)
				}
			}
		}
		for _, c := range conns {
			c.Close()
		}
	}

	if _, err := s.read.ExecContext(ctx, `INSERT INTO tenants (id, name, plan, settings, roles, created_at, updated_at) VALUES ('t', 'n', '{}', '{}', '[]', 0, 0)`); err == nil {
		t.Errorf("write through the read pool: got nil error, want a refusal")
	}
}

func TestMigrationFiles(t *testing.T) {
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	var versions []int
	for _, m := range ms {
		versions = append(versions, m.Version)
	}
	// Numbered 1, 2, 3, … with no gap, so that a missing file shows.
	for i, v := range versions {
		if v != i+1 {
			t.Errorf("migration versions: got %v, want 1, 2, 3, …", versions)
			break
		}
	}
	if !slices.IsSorted(versions) {
		t.Errorf("migration versions: got %v, want them in order", versions)
	}
}

// TestBusyIsUnavailable checks that a lock held beyond the busy timeout is
// reported as directory.ErrUnavailable, with a connection that does not wait.
func TestBusyIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "roster.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	holder, err := s.write.BeginTx(ctx, nil) // BEGIN IMMEDIATE: takes the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback()

	impatient, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer impatient.Close()
	_, err = impatient.BeginTx(ctx, nil)
	if err == nil {
		t.Fatalf("BEGIN IMMEDIATE while another connection writes: got nil error, want SQLITE_BUSY")
	}
	if got := wrapErr("begin", err); !errors.Is(got, directory.ErrUnavailable) {
		t.Errorf("wrapErr(%v): got %v, want ErrUnavailable", err, got)
	}
}

func TestUniqueField(t *testing.T) {
	for _, c := range []struct{ msg, want string }{
		{"constraint failed: UNIQUE constraint failed: users.tenant_id, users.email_key (2067)", "email"},
		{"constraint failed: UNIQUE constraint failed: users.tenant_id, users.username (2067)", "username"},
		{"constraint failed: UNIQUE constraint failed: users.tenant_id, users.id (1555)", ""},
		{"constraint failed: UNIQUE constraint failed: api_keys.token_hash (2067)", ""},
		{"something else", ""},
	} {
		if got := uniqueField(c.msg); got != c.want {
			t.Errorf("uniqueField(%q): got %q, want %q", c.msg, got, c.want)
		}
	}
}

// TestDecodeStringsAsDecodeJSON: decodeStrings answers what decodeJSON
// does, on the arrays its fast path splits and on those it leaves to
// encoding/json.
func TestDecodeStringsAsDecodeJSON(t *testing.T) {
	for _, s := range []string{
		`[]`, `null`, `["admin"]`, `["users:read","users:write"]`, `[""]`, `["a","","b"]`,
		`[ "a" ]`, `["a", "b"]`, `["a\"b"]`, `["\u00e9"]`, `["é"]`, `["a",]`, `[,]`, `["a"`, `["a""b"]`,
		`[1]`, `["a",1]`, `{}`, ``, `[null]`,
	} {
		got, gotErr := decodeStrings(s)
		var want []string
		wantErr := decodeJSON(s, &want)
		if (gotErr != nil) != (wantErr != nil) || !reflect.DeepEqual(got, want) || (got == nil) != (want == nil) {
			t.Errorf("decodeStrings(%#q) = %#v, %v; decodeJSON: %#v, %v", s, got, gotErr, want, wantErr)
		}
	}
}
