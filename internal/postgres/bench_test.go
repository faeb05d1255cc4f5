package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/internal/bench"
	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/postgres"
	"github.com/roster-dev/roster/internal/postgres/pgtest"
	"github.com/roster-dev/roster/internal/storetest"
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
		{fmt.Sprintf(postgres.WindowSearch, 2, 3, 4), []any{tenant.ID, "", from, to}, "user_search"},
		// The dense form within a window, below a cursor.
		{` AND u.id < $2` + fmt.Sprintf(postgres.WindowSearch, 3, 4, 5),
			[]any{tenant.ID, "usr_~", "usr_", from, to}, "user_search"},
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

// TestSearchReadsAWindow searches a prefix only the oldest of a tenant's
// users share, 3,000 of them below 20,000 newer users: the dense walk of
// the users newest first would read all 20,000 newer ones for the first
// page. The store reads at most a window of them (its bound, then the
// walk) and takes the rest of the page from the matches. The server's
// per-index counters of the test's own database tell the entries the
// store's very queries read.
func TestSearchReadsAWindow(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	s := open(t, url)
	tenant := newTenant()
	if err := s.InTx(ctx, func(tx directory.Tx) error { return tx.CreateTenant(ctx, tenant) }); err != nil {
		t.Fatal(err)
	}
	old, err := bench.SeedUsers(ctx, s, tenant.ID, 3000, 0) // named "Bench User i"
	if err != nil {
		t.Fatal(err)
	}
	const newer = 20000
	for i := 0; i < newer; i += 5000 {
		var users []*directory.User
		for j := i; j < i+5000; j++ {
			users = append(users, storetest.NewUser(tenant.ID, "", fmt.Sprintf("new%05d", j)))
		}
		if err := s.CopyUsers(ctx, users); err != nil {
			t.Fatal(err)
		}
	}
	if err := bench.Analyze(ctx, url); err != nil {
		t.Fatal(err)
	}
	s.Close() // the seeding connections publish their counters
	s = open(t, url)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// Index entries read so far; the server publishes a backend's
	// counters within about a second of its transaction.
	counters := func() (pkey, search, seq int64) {
		t.Helper()
		err := conn.QueryRow(ctx, `SELECT
				(SELECT idx_tup_read FROM pg_stat_user_indexes WHERE indexrelname = 'users_pkey'),
				(SELECT sum(idx_tup_read) FROM pg_stat_user_indexes WHERE relname = 'user_search')::bigint,
				(SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'users')`).Scan(&pkey, &search, &seq)
		if err != nil {
			t.Fatal(err)
		}
		return pkey, search, seq
	}
	settle := func() (int64, int64, int64) {
		p, q, r := counters()
		for range 30 {
			time.Sleep(200 * time.Millisecond)
			if _, err := conn.Exec(ctx, `SELECT pg_stat_clear_snapshot()`); err != nil {
				t.Fatal(err)
			}
			p1, q1, r1 := counters()
			if p1 == p && q1 == q && r1 == r {
				break
			}
			p, q, r = p1, q1, r1
		}
		return p, q, r
	}
	pkey0, search0, seq0 := settle()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		if p, q, r := settle(); p == pkey0 && q == search0 && r == seq0 {
			break
		}
		pkey0, search0, seq0 = counters()
	}
	from, to := directory.PrefixRange("Bench User")
	users, err := s.ListUsers(ctx, tenant.ID, directory.UserFilter{SearchFrom: from, SearchTo: to, Limit: 20})
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
		t.Fatalf("q=Bench User: %v, want %v", got, want)
	}
	s.Close() // the pool's connections end, and publish their counters
	var pkey1, search1, seq1 int64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if pkey1, search1, seq1 = settle(); pkey1 > pkey0 {
			break
		}
	}
	t.Logf("index entries read: users_pkey %d, user_search's indexes %d", pkey1-pkey0, search1-search0)
	if n := pkey1 - pkey0; n == 0 || n > 2*postgres.SearchWindow+100 {
		t.Errorf("users_pkey entries read: %d, want at most two windows (%d)", n, 2*postgres.SearchWindow)
	}
	// The count (up to 2,000), the window's check of its users' terms
	// (about one term each here), the 3,000 matches.
	if n := search1 - search0; n > 2000+postgres.SearchWindow+3000+100 {
		t.Errorf("user_search entries read: %d", n)
	}
	if seq1 != seq0 {
		t.Errorf("sequential scans of users: %d, want 0", seq1-seq0)
	}
}
