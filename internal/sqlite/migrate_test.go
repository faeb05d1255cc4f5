package sqlite

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/migrations"
)

// TestMigrateActiveUsers makes a database as a release before 0003 left it,
// with users of every status, and checks that 0003 starts each tenant's
// active-user counter at the number of its active users.
func TestMigrateActiveUsers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "roster.db")
	old, ms, i := openBefore(t, path, 3)
	now := directory.Now()
	tenant := func(name string) *directory.Tenant {
		return &directory.Tenant{ID: directory.NewID(directory.PrefixTenant, now), Name: name,
			Plan: directory.DefaultPlan(), Settings: directory.DefaultSettings(), Roles: directory.DefaultRoles(),
			CreatedAt: now, UpdatedAt: now}
	}
	a, b, empty := tenant("A"), tenant("B"), tenant("Empty")
	statuses := map[*directory.Tenant][]string{
		a: {directory.StatusActive, directory.StatusActive, directory.StatusDeactivated, directory.StatusActive, directory.StatusDeleting},
		b: {directory.StatusDeleting, directory.StatusActive},
	}
	err := old.InTx(ctx, func(tx directory.Tx) error {
		for _, tn := range []*directory.Tenant{a, b, empty} {
			if err := tx.CreateTenant(ctx, tn); err != nil {
				return err
			}
			for j, status := range statuses[tn] {
				u := &directory.User{ID: directory.NewID(directory.PrefixUser, now), TenantID: tn.ID,
					Username: fmt.Sprintf("user%d", j), Status: status, AuthProvider: "local",
					CreatedAt: now, UpdatedAt: now, Version: 1}
				if status == directory.StatusDeleting {
					u.PurgeAfter = &now
				}
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("write users at migration 2: %v", err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	var want []int
	for _, m := range ms[i:] {
		want = append(want, m.Version)
	}
	if got := s.Applied(); !slices.Equal(got, want) {
		t.Errorf("Applied: got %v, want %v", got, want)
	}
	for _, c := range []struct {
		tenant *directory.Tenant
		want   int64
	}{{a, 3}, {b, 1}, {empty, 0}} {
		u, err := s.Usage(ctx, c.tenant.ID, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatalf("Usage: %v", err)
		}
		if u.ActiveUsers != c.want {
			t.Errorf("active users of tenant %s after migration 3: got %d, want %d", c.tenant.Name, u.ActiveUsers, c.want)
		}
	}
}

// openBefore makes a database at path as the release before migration
// version left it, and returns a Store on it, which has the statements that
// schema allows (the others stay nil), with the migrations and the index of
// version among them.
func openBefore(t *testing.T, path string, version int) (*Store, []migrations.Migration, int) {
	t.Helper()
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ms, func(m migrations.Migration) bool { return m.Version == version })
	if i < 0 {
		t.Fatalf("no migration %d among %d", version, len(ms))
	}
	old := &Store{}
	if old.write, err = sql.Open("sqlite", dsn(path, "_txlock=immediate")); err != nil {
		t.Fatal(err)
	}
	old.write.SetMaxOpenConns(1)
	if _, err := old.applyMigrations(t.Context(), ms[:i]); err != nil {
		t.Fatalf("migrations before %d: %v", version, err)
	}
	for _, p := range old.stmts.specs(old.write, old.write) {
		stmt, err := p.db.PrepareContext(t.Context(), p.query)
		if err != nil {
			t.Logf("not prepared before migration %d: %v", version, err)
			continue
		}
		*p.dst = stmt
		old.stmts.all = append(old.stmts.all, stmt)
	}
	return old, ms, i
}

// TestMigrateSearch makes a database as a release before 0008 left it and
// checks that 0008 gives its users their search terms.
func TestMigrateSearch(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "roster.db")
	old, _, _ := openBefore(t, path, 8)
	now := directory.Now()
	tn := &directory.Tenant{ID: directory.NewID(directory.PrefixTenant, now), Name: "T",
		Plan: directory.DefaultPlan(), Settings: directory.DefaultSettings(), Roles: directory.DefaultRoles(), CreatedAt: now, UpdatedAt: now}
	named := &directory.User{ID: directory.NewID(directory.PrefixUser, now), TenantID: tn.ID, Email: "Ann.Lee@Example.com",
		Name: "Ann Lee", FamilyName: "Lee", Status: directory.StatusActive, AuthProvider: "local", CreatedAt: now, UpdatedAt: now, Version: 1}
	bare := &directory.User{ID: directory.NewID(directory.PrefixUser, now), TenantID: tn.ID, Username: "bare",
		Status: directory.StatusActive, AuthProvider: "local", CreatedAt: now, UpdatedAt: now, Version: 1}
	err := old.InTx(ctx, func(tx directory.Tx) error {
		if err := tx.CreateTenant(ctx, tn); err != nil {
			return err
		}
		for _, u := range []*directory.User{named, bare} {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("write users before migration 8: %v", err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	for _, u := range []*directory.User{named, bare} {
		rows, err := s.read.QueryContext(ctx, `SELECT term FROM user_search WHERE tenant_id = ? AND user_id = ? ORDER BY term`, tn.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var term string
			if err := rows.Scan(&term); err != nil {
				t.Fatal(err)
			}
			got = append(got, term)
		}
		rows.Close()
		if want := directory.SearchTerms(u); !slices.Equal(got, want) {
			t.Errorf("terms of %s after migration 8: %v, want %v", u.ID, got, want)
		}
	}
}
