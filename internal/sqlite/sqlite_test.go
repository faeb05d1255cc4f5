package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/sqlite"
	"github.com/roster-dev/roster/internal/storetest"
)

// open opens a store on a new file in t's temporary directory.
var _ storetest.Inspector = (*sqlite.Store)(nil)

func open(t testing.TB) *sqlite.Store {
	t.Helper()
	return openPath(t, filepath.Join(t.TempDir(), "roster.db"))
}

func openPath(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) directory.Store { return open(t) })
}

func TestOpenMigrates(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "roster.db")
	s := openPath(t, path)
	if got, want := s.Applied(), []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}; !slices.Equal(got, want) {
		t.Errorf("Applied after the first Open: got %v, want %v", got, want)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openPath(t, path)
	if got := s.Applied(); len(got) != 0 {
		t.Errorf("Applied after a second Open: got %v, want none", got)
	}

	db := rawDB(t, path)
	rows, err := db.Query(`SELECT version, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var versions []int
	for rows.Next() {
		var v int
		var at int64
		if err := rows.Scan(&v, &at); err != nil {
			t.Fatal(err)
		}
		if at <= 0 {
			t.Errorf("schema_migrations %d: got applied_at %d, want a time", v, at)
		}
		versions = append(versions, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}; !slices.Equal(versions, want) {
		t.Errorf("schema_migrations: got versions %v, want %v", versions, want)
	}
}

func TestOpenSameFileTwice(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "roster.db")
	s1 := openPath(t, path)
	s2 := openPath(t, path)

	// Writers in both stores at once wait for each other's lock instead of
	// failing with SQLITE_BUSY.
	var wg sync.WaitGroup
	for i, s := range []*sqlite.Store{s1, s2, s1, s2} {
		wg.Go(func() {
			for j := range 10 {
				tn := &directory.Tenant{ID: directory.NewID(directory.PrefixTenant, directory.Now()), Name: fmt.Sprintf("%d-%d", i, j)}
				if err := s.InTx(ctx, func(tx directory.Tx) error { return tx.CreateTenant(ctx, tn) }); err != nil {
					t.Errorf("writer %d: CreateTenant: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()

	for i, s := range []*sqlite.Store{s1, s2} {
		n, err := s.CountTenants(ctx)
		if err != nil {
			t.Fatalf("store %d: CountTenants: %v", i+1, err)
		}
		if n != 40 {
			t.Errorf("store %d: CountTenants: got %d, want 40", i+1, n)
		}
	}
}

func TestOpenDSN(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, arg, file string
	}{
		{"plain", filepath.Join(dir, "plain.db"), filepath.Join(dir, "plain.db")},
		{"prefix", "sqlite:" + filepath.Join(dir, "prefixed.db"), filepath.Join(dir, "prefixed.db")},
		{"prefix relative", "sqlite:relative.db", filepath.Join(dir, "relative.db")},
		{"odd characters", filepath.Join(dir, "a?b#c%20d&e.db"), filepath.Join(dir, "a?b#c%20d&e.db")},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Chdir(dir)
			openPath(t, c.arg)
			if _, err := os.Stat(c.file); err != nil {
				t.Errorf("Open(%q): want the database at %s: %v", c.arg, c.file, err)
			}
		})
	}
}

func TestOpenRefusesMemory(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"", ":memory:", "sqlite::memory:", "sqlite:"} {
		if s, err := sqlite.Open(t.Context(), path); err == nil {
			s.Close()
			t.Errorf("Open(%q): got nil error, want a refusal", path)
		}
	}
}

func TestForeignKeysEnforced(t *testing.T) {
	t.Parallel()
	s := open(t)
	u := &directory.User{ID: directory.NewID(directory.PrefixUser, directory.Now()), TenantID: "ten_missing",
		Username: "alice", Status: directory.StatusActive, Version: 1}
	err := s.InTx(t.Context(), func(tx directory.Tx) error { return tx.CreateUser(t.Context(), u) })
	if err == nil {
		t.Fatalf("CreateUser in a missing tenant: got nil error, want a foreign key violation")
	}
	var uv *directory.UniqueViolation
	if errors.As(err, &uv) {
		t.Errorf("CreateUser in a missing tenant: got %v, want a foreign key violation", err)
	}
}

// rawDB opens path with the driver directly, for looking behind the store.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func BenchmarkUpdateTx(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		s, tn, users := benchStore(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := updateTx(b.Context(), s, tn.ID, users[i%len(users)].ID); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		s, tn, users := benchStore(b)
		b.ReportAllocs()
		var (
			mu   sync.Mutex
			next int
		)
		b.RunParallel(func(pb *testing.PB) {
			mu.Lock()
			u := users[next%len(users)]
			next++
			mu.Unlock()
			for pb.Next() {
				if err := updateTx(context.Background(), s, tn.ID, u.ID); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkGetUser(b *testing.B) {
	s, tn, users := benchStore(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.GetUser(context.Background(), tn.ID, users[i%len(users)].ID); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// benchStore returns a store with a tenant of 1000 users with typical
// profiles.
func benchStore(b testing.TB) (*sqlite.Store, *directory.Tenant, []*directory.User) {
	b.Helper()
	s := open(b)
	ctx := b.Context()
	now := directory.Now()
	tn := &directory.Tenant{ID: directory.NewID(directory.PrefixTenant, now), Name: "bench",
		Plan: directory.DefaultPlan(), Settings: directory.DefaultSettings(), Roles: directory.DefaultRoles(), CreatedAt: now, UpdatedAt: now}
	users := make([]*directory.User, 1000)
	err := s.InTx(ctx, func(tx directory.Tx) error {
		if err := tx.CreateTenant(ctx, tn); err != nil {
			return err
		}
		for i := range users {
			u := &directory.User{
				ID: directory.NewID(directory.PrefixUser, now), TenantID: tn.ID,
				Email: fmt.Sprintf("user%d@example.com", i), Username: fmt.Sprintf("user%d", i),
				Name: "Some User", GivenName: "Some", FamilyName: "User", Locale: "en-US", Country: "US",
				Roles:    []string{"member"},
				Metadata: map[string]any{"theme": "dark", "plan": "pro", "seats": 12},
				Status:   directory.StatusActive, AuthProvider: "local", CreatedAt: now, UpdatedAt: now, Version: 1,
			}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			users[i] = u
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return s, tn, users
}

// updateTx is the write path of a user update: read, write, audit, event.
func updateTx(ctx context.Context, s *sqlite.Store, tenantID, userID string) error {
	return s.InTx(ctx, func(tx directory.Tx) error {
		u, err := tx.GetUser(ctx, tenantID, userID)
		if err != nil {
			return err
		}
		prev, now := u.Version, directory.Now()
		old := u.Name
		u.Name = fmt.Sprintf("User %d", prev)
		u.Version, u.UpdatedAt = prev+1, now
		if err := tx.UpdateUser(ctx, u, prev); err != nil {
			return err
		}
		a := &directory.AuditEntry{ID: directory.NewID(directory.PrefixAudit, now), TenantID: tenantID, UserID: userID,
			Action: directory.EventUserUpdated, Actor: directory.Actor{KeyID: "key_bench"}, RequestID: "req", At: now,
			Changes: map[string]directory.Change{"name": {From: old, To: u.Name}}}
		if err := tx.InsertAudit(ctx, a); err != nil {
			return err
		}
		e := &directory.Event{ID: directory.NewID(directory.PrefixEvent, now), TenantID: tenantID, UserID: userID,
			Type: directory.EventUserUpdated, Payload: []byte(`{"type":"user.updated","data":{}}`), CreatedAt: now}
		return tx.InsertEvent(ctx, e, nil)
	})
}

// BenchmarkKeysVersion measures the read every authenticated request makes
// of the keys' version (directory.keyCache), one at a time.
func BenchmarkKeysVersion(b *testing.B) {
	s := open(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.KeysVersion(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}
