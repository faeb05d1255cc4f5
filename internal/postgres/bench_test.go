package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/internal/bench"
	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/postgres"
	"github.com/roster-dev/roster/internal/postgres/pgtest"
)

// TestListByEmailUsesIndex checks that listing a tenant's users by email
// (GET /v1/users?email=…) is one scan of the users_email_key index and no
// sequential scan of users. It runs the store's own query (ListUsers with
// an email filter) on a tenant of a few thousand users with fresh
// statistics, and reads which scans it made from the server's per-index and
// per-table counters, so it checks the very query the store sends.
// seededEmail is the email of the 43rd user bench.SeedUsers writes.
const seededEmail = "user0000042@bench.example"

func TestListByEmailUsesIndex(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	s := open(t, url)
	tenant := newTenant()
	if err := s.InTx(ctx, func(tx directory.Tx) error { return tx.CreateTenant(ctx, tenant) }); err != nil {
		t.Fatal(err)
	}
	if _, err := bench.SeedUsers(ctx, s, tenant.ID, 3000, 0); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `ANALYZE users`); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `EXPLAIN SELECT u.id FROM users u WHERE u.tenant_id = $1 AND u.email_key = $2 ORDER BY u.id DESC LIMIT $3`,
		tenant.ID, seededEmail, 101)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("plan of the same predicate:\n%s", strings.Join(plan, "\n"))

	// Scans counted so far; the server publishes a backend's counters
	// within about a second of its transaction.
	counters := func() (idx, seq int64) {
		t.Helper()
		err := conn.QueryRow(ctx, `SELECT
				(SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'users_email_key'),
				(SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'users')`).Scan(&idx, &seq)
		if err != nil {
			t.Fatal(err)
		}
		return idx, seq
	}
	settle := func(idx, seq int64) (int64, int64) {
		// Wait until the counters stop moving.
		for range 30 {
			time.Sleep(200 * time.Millisecond)
			if _, err := conn.Exec(ctx, `SELECT pg_stat_clear_snapshot()`); err != nil {
				t.Fatal(err)
			}
			i, s := counters()
			if i == idx && s == seq {
				return i, s
			}
			idx, seq = i, s
		}
		return idx, seq
	}
	idx0, seq0 := settle(counters())
	users, err := s.ListUsers(ctx, tenant.ID, directory.UserFilter{EmailKey: directory.EmailKey(seededEmail), Limit: 101})
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 {
		t.Fatalf("listed %d users, want 1", len(users))
	}
	s.Close() // the pool's connections end, and publish their counters
	var idx1, seq1 int64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if idx1, seq1 = settle(counters()); idx1 > idx0 {
			break
		}
	}
	if idx1 != idx0+1 {
		t.Errorf("users_email_key scans: %d, want 1", idx1-idx0)
	}
	if seq1 != seq0 {
		t.Errorf("sequential scans of users: %d, want 0", seq1-seq0)
	}
}

// TestSearchUsesIndex checks that both conditions of a search (GET
// /v1/users?q=…: a rare prefix, then one every user shares) have a plan
// that reads users and user_search through their indexes only. On a tenant
// of a few thousand users the planner rightly prefers to read the small
// heap of users whole, so the plans are asked for with sequential scans
// priced out (enable_seqscan off): a plan that still has one has no index
// to take instead. The store's answers on the seeded users are checked too.
func TestSearchUsesIndex(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	s := open(t, url)
	tenant := newTenant()
	if err := s.InTx(ctx, func(tx directory.Tx) error { return tx.CreateTenant(ctx, tenant) }); err != nil {
		t.Fatal(err)
	}
	if _, err := bench.SeedUsers(ctx, s, tenant.ID, 3000, 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		prefix string
		want   int
	}{{"user000001", 10}, {"user", 21}, {"bench user 2999", 1}} {
		from, to := directory.PrefixRange(c.prefix)
		users, err := s.ListUsers(ctx, tenant.ID, directory.UserFilter{SearchFrom: from, SearchTo: to, Limit: 21})
		if err != nil {
			t.Fatal(err)
		}
		if len(users) != c.want {
			t.Errorf("q=%s: %d users, want %d", c.prefix, len(users), c.want)
		}
	}

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `ANALYZE users; ANALYZE user_search; SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	from, to := directory.PrefixRange("user00000")
	for _, c := range []struct {
		cond  string
		args  []any
		index string
	}{
		{fmt.Sprintf(postgres.SparseSearch, 1, 2, 3), []any{tenant.ID, from, to}, "user_search"},
		// PostgreSQL may turn either into the same semi-join.
		{fmt.Sprintf(postgres.DenseSearch, 2, 3), []any{tenant.ID, from, to}, "user_search"},
	} {
		rows, err := conn.Query(ctx, `EXPLAIN SELECT u.id FROM users u WHERE u.tenant_id = $1`+c.cond+` ORDER BY u.id DESC LIMIT 21`, c.args...)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(plan, "\n")
		t.Logf("plan:\n%s", text)
		if strings.Contains(text, "Seq Scan") || !strings.Contains(text, c.index) || !strings.Contains(text, "users_pkey") {
			t.Errorf("the plan does not read users_pkey and an index of %s, or scans a table:\n%s", c.index, text)
		}
	}
}
