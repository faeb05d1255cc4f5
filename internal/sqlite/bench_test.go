package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/directory"
)

// TestListByEmailUsesIndex checks that listing a tenant's users by email
// (GET /v1/users?email=…) is one search of the users_email_key index, with
// no scan of the tenant's users, however many there are: the plan of
// ListUsers' query, as it builds it for an email filter, on a tenant of a
// few thousand users with fresh statistics.
func TestListByEmailUsesIndex(t *testing.T) {
	s, tenant := seededStore(t)
	// ListUsers with UserFilter{EmailKey: …, Limit: 101}.
	q := `SELECT ` + userColumns + ` FROM users WHERE tenant_id = ? AND email_key = ? ORDER BY id DESC LIMIT ?`
	plan := queryPlan(t, s, q, tenant.ID, "user42@example.com", 101)
	if len(plan) == 0 || !strings.HasPrefix(plan[0], "SEARCH users USING INDEX users_email_key (tenant_id=? AND email_key=?)") {
		t.Errorf("the users are not found by a search of users_email_key; plan:\n%s", strings.Join(plan, "\n"))
	}
	// Only the correlated subqueries that read a found user's suspensions
	// may follow; nothing scans or sorts the users.
	for _, step := range plan {
		if strings.HasPrefix(step, "SCAN users") || step == "USE TEMP B-TREE FOR ORDER BY" {
			t.Errorf("the plan scans or sorts the users: %q", step)
		}
	}
}

// TestSearchUsesIndex checks that a search (GET /v1/users?q=…) reads the
// users through a range of user_search's primary key, with no scan of the
// tenant's users: the plan of ListUsers' query, as it builds it for a
// search, on a tenant of a few thousand users with fresh statistics.
func TestSearchUsesIndex(t *testing.T) {
	ctx := context.Background()
	s, tenant := seededStore(t)
	// ListUsers with UserFilter{SearchFrom: …, SearchTo: …, Limit: 21}: a
	// sparse search, then a dense one.
	explain := func(cond string, args ...any) []string {
		t.Helper()
		q := `SELECT ` + userColumns + ` FROM users WHERE tenant_id = ?` + cond + ` ORDER BY id DESC LIMIT ?`
		plan := queryPlan(t, s, q, append(append([]any{tenant.ID}, args...), 21)...)
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN ") || step == "USE TEMP B-TREE FOR ORDER BY" {
				t.Errorf("the plan scans a table or sorts: %q", step)
			}
		}
		return plan
	}
	has := func(plan []string, step string) {
		t.Helper()
		if !slices.ContainsFunc(plan, func(s string) bool { return strings.Contains(s, step) }) {
			t.Errorf("the plan has no step %q:\n%s", step, strings.Join(plan, "\n"))
		}
	}
	for _, c := range []struct {
		prefix string
		cond   string
		args   func(lo, hi string) []any
		steps  []string
	}{
		{"user12@", sparseSearch, func(lo, hi string) []any { return []any{tenant.ID, lo, hi} },
			[]string{"SEARCH user_search USING PRIMARY KEY (tenant_id=? AND term>? AND term<?)", "LIST SUBQUERY"}},
		{"user", denseSearch, func(lo, hi string) []any { return []any{lo, hi} },
			[]string{"SEARCH users USING INDEX sqlite_autoindex_users_1 (tenant_id=?)",
				"USING COVERING INDEX user_search_user (tenant_id=? AND user_id=? AND term>? AND term<?)"}},
	} {
		lo, hi := directory.PrefixRange(c.prefix)
		got, args, err := s.searchCond(ctx, "", nil, tenant.ID, lo, hi)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.cond {
			t.Errorf("q=%s: condition %s, want %s", c.prefix, got, c.cond)
		}
		if !slices.Equal(args, c.args(lo, hi)) {
			t.Errorf("q=%s: arguments %v", c.prefix, args)
		}
		plan := explain(c.cond, c.args(lo, hi)...)
		for _, step := range c.steps {
			has(plan, step)
		}
	}
}

// seededStore returns a store on a new file with one tenant of 3,000 users,
// each with an email, a name and their search terms, and fresh statistics.
func seededStore(t *testing.T) (*Store, *directory.Tenant) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	now := directory.Now()
	tenant := &directory.Tenant{ID: directory.NewID(directory.PrefixTenant, now), Name: "T",
		Plan: directory.DefaultPlan(), Settings: directory.DefaultSettings(), Roles: directory.DefaultRoles(), CreatedAt: now, UpdatedAt: now}
	err = s.InTx(ctx, func(tx directory.Tx) error {
		if err := tx.CreateTenant(ctx, tenant); err != nil {
			return err
		}
		for i := range 3000 {
			u := &directory.User{ID: directory.NewID(directory.PrefixUser, now), TenantID: tenant.ID,
				Email: fmt.Sprintf("user%d@example.com", i), Name: fmt.Sprintf("User %d", i), Status: directory.StatusActive,
				AuthProvider: "local", Roles: []string{}, Metadata: map[string]any{}, CreatedAt: now, UpdatedAt: now, Version: 1}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			if err := tx.SetSearchTerms(ctx, tenant.ID, u.ID, nil, directory.SearchTerms(u)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	return s, tenant
}

// queryPlan returns the steps of EXPLAIN QUERY PLAN for q with args, and
// logs them.
func queryPlan(t *testing.T, s *Store, q string, args ...any) []string {
	t.Helper()
	rows, err := s.read.QueryContext(context.Background(), `EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("plan:\n%s", strings.Join(plan, "\n"))
	return plan
}
