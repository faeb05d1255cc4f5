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
	s, tenant := seededStore(t, 3000)
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
// users through ranges of indexes, with no scan of the tenant's users:
// the plans of the queries searchUsers makes, on a tenant of a few
// thousand users with fresh statistics. A dense search's walk of the
// users newest first is a range of the users' key bounded by the window's
// oldest user, which the plan query finds searchWindow users below the
// cursor: a page never reads more than a window of users.
func TestSearchUsesIndex(t *testing.T) {
	ctx := context.Background()
	s, tenant := seededStore(t, searchWindow+1000)
	all, err := s.ListUsers(ctx, tenant.ID, directory.UserFilter{})
	if err != nil {
		t.Fatal(err)
	}
	// The plan of each search: the sparse form below denseTerms, else
	// the window's bound, the searchWindow'th user below the cursor.
	for _, c := range []struct {
		prefix, before string
		terms          int
		bound          string
	}{
		{"user12@", "", 1, ""},
		{"user", "", denseTerms, all[searchWindow-1].ID},
		{"user", all[100].ID, denseTerms, all[100+searchWindow].ID},
		{"user", all[1500].ID, denseTerms, ""}, // fewer than a window below
	} {
		lo, hi := directory.PrefixRange(c.prefix)
		p, err := s.plan(ctx, tenant.ID, directory.UserFilter{SearchFrom: lo, SearchTo: hi, Before: c.before})
		if err != nil {
			t.Fatal(err)
		}
		if p != (searchPlan{c.terms, c.bound}) {
			t.Errorf("q=%s before %s: plan %+v, want %+v", c.prefix, c.before, p, searchPlan{c.terms, c.bound})
		}
	}

	explain := func(q string, args ...any) []string {
		t.Helper()
		plan := queryPlan(t, s, q, args...)
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN users") || strings.HasPrefix(step, "SCAN user_search") || step == "USE TEMP B-TREE FOR ORDER BY" {
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
	lo, hi := directory.PrefixRange("user")
	before := all[100].ID
	bound := all[100+searchWindow].ID
	terms := "SEARCH user_search USING PRIMARY KEY (tenant_id=? AND term>? AND term<?)"
	for _, c := range []struct {
		q     string
		args  []any
		steps []string
	}{
		{searchPlanSQL, []any{denseTerms, tenant.ID, searchWindow - 1, tenant.ID, lo, hi, denseTerms},
			[]string{terms, "SEARCH users USING COVERING INDEX sqlite_autoindex_users_1 (tenant_id=?)"}},
		{searchPlanBeforeSQL, []any{denseTerms, tenant.ID, before, searchWindow - 1, tenant.ID, lo, hi, denseTerms},
			[]string{terms, "SEARCH users USING COVERING INDEX sqlite_autoindex_users_1 (tenant_id=? AND id<?)"}},
	} {
		plan := explain(c.q, c.args...)
		for _, step := range c.steps {
			has(plan, step)
		}
	}
	// ListUsers' queries with UserFilter{SearchFrom: …, SearchTo: …, Limit:
	// 21}: the sparse form, the dense one within the window (with and
	// without a cursor), and the sparse form below the window.
	page := func(cond string, args ...any) []string {
		t.Helper()
		q := `SELECT ` + userColumns + ` FROM users WHERE tenant_id = ?` + cond + ` ORDER BY id DESC LIMIT ?`
		return explain(q, append(append([]any{tenant.ID}, args...), 21)...)
	}
	sparse := []string{"SEARCH users USING INDEX sqlite_autoindex_users_1 (tenant_id=? AND id=?)",
		"SEARCH user_search USING PRIMARY KEY (tenant_id=? AND term>? AND term<?)", "LIST SUBQUERY"}
	check := "USING COVERING INDEX user_search_user (tenant_id=? AND user_id=? AND term>? AND term<?)"
	for _, c := range []struct {
		plan  []string
		steps []string
	}{
		{page(sparseSearch, tenant.ID, lo, hi), sparse},
		{page(sparseBelow, tenant.ID, lo, hi, bound), sparse},
		{page(windowFrom+denseSearch, bound, lo, hi),
			[]string{"SEARCH users USING INDEX sqlite_autoindex_users_1 (tenant_id=? AND id>?)", check}},
		{page(` AND id < ?`+windowFrom+denseSearch, before, bound, lo, hi),
			[]string{"SEARCH users USING INDEX sqlite_autoindex_users_1 (tenant_id=? AND id>? AND id<?)", check}},
	} {
		for _, step := range c.steps {
			has(c.plan, step)
		}
	}
}

// TestSearchReadsAWindow searches a prefix only the oldest of a tenant's
// users share, 3,000 of them below 20,000 newer users, for which a walk
// of the users newest first would read all the newer ones (below the
// cursor). It checks the
// answer, and the plan of every query of users the store sends for it:
// each reads a range bounded by the window (users from its bound), or the
// matches from user_search's key, never the tenant's users from the
// newest end on.
func TestSearchReadsAWindow(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := directory.Now()
	tenant := &directory.Tenant{ID: directory.NewID(directory.PrefixTenant, now), Name: "T",
		Plan: directory.DefaultPlan(), Settings: directory.DefaultSettings(), Roles: directory.DefaultRoles(), CreatedAt: now, UpdatedAt: now}
	var old, ids []string
	err = s.InTx(ctx, func(tx directory.Tx) error {
		if err := tx.CreateTenant(ctx, tenant); err != nil {
			return err
		}
		for i := range 23000 {
			name := fmt.Sprintf("Old User %d", i)
			if i >= 3000 {
				name = fmt.Sprintf("New User %d", i)
			}
			u := &directory.User{ID: directory.NewID(directory.PrefixUser, now), TenantID: tenant.ID, Name: name,
				Status: directory.StatusActive, AuthProvider: "local", Roles: []string{}, Metadata: map[string]any{},
				CreatedAt: now, UpdatedAt: now, Version: 1}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			if err := tx.SetSearchTerms(ctx, tenant.ID, u.ID, nil, directory.SearchTerms(u)); err != nil {
				return err
			}
			if i < 3000 {
				old = append(old, u.ID)
			}
			ids = append(ids, u.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	type query struct {
		q    string
		args []any
	}
	var sent []query
	searchQueried = func(q string, args []any) { sent = append(sent, query{q, args}) }
	defer func() { searchQueried = nil }()
	// No cursor, and one with 7,000 newer users below it.
	for _, before := range []string{"", ids[10000]} {
		from, to := directory.PrefixRange("old user")
		sent = nil
		users, err := s.ListUsers(ctx, tenant.ID, directory.UserFilter{SearchFrom: from, SearchTo: to, Before: before, Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for _, u := range users {
			got = append(got, u.ID)
		}
		for i := len(old) - 1; i >= len(old)-20; i-- {
			want = append(want, old[i])
		}
		if !slices.Equal(got, want) {
			t.Fatalf("before %q: %v, want %v", before, got, want)
		}
		if len(sent) == 0 {
			t.Fatal("no query of users sent")
		}
		for _, q := range sent {
			plan := queryPlan(t, s, q.q, q.args...)
			for _, step := range plan {
				// A search of the users' key on the tenant alone, or below
				// the cursor alone, is the walk from the newest end on.
				if strings.HasPrefix(step, "SCAN ") || strings.HasSuffix(step, "sqlite_autoindex_users_1 (tenant_id=?)") ||
					strings.HasSuffix(step, "sqlite_autoindex_users_1 (tenant_id=? AND id<?)") ||
					strings.Contains(step, "user_search_user (tenant_id=? AND user_id<?)") {
					t.Errorf("before %q: a query walks the users: %q\n%s", before, step, q.q)
				}
			}
		}
	}
}

// seededStore returns a store on a new file with one tenant of n users,
// each with an email, a name and their search terms, and fresh statistics.
func seededStore(t *testing.T, n int) (*Store, *directory.Tenant) {
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
		for i := range n {
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
