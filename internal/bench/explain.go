package bench

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the driver internal/sqlite uses

	"github.com/roster-dev/roster/internal/directory"
)

// The stores' list-by-email queries (GET /v1/users?email=…, limit 100), as
// sqlite.Store.ListUsers and postgres.Store.ListUsers build them for a
// filter on email only. The user columns are left out: they change what is
// read from the row found, not how it is found. The stores' own tests
// (internal/sqlite and internal/postgres, bench_test.go) check the same
// plans on the exact query text.
const (
	sqliteListByEmail   = `SELECT id FROM users WHERE tenant_id = ? AND email_key = ? ORDER BY id DESC LIMIT ?`
	postgresListByEmail = `SELECT u.id FROM users u WHERE u.tenant_id = $1 AND u.email_key = $2 ORDER BY u.id DESC LIMIT $3`
)

// Explain returns the query plan of the list-by-email query on the
// database db (a SQLite file path or sqlite: DSN, or a postgres:// URL):
// EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL, the query first.
func Explain(ctx context.Context, db, tenantID, emailKey string) (string, error) {
	if isPostgres(db) {
		conn, err := pgx.Connect(ctx, db)
		if err != nil {
			return "", fmt.Errorf("explain: %w", err)
		}
		defer conn.Close(ctx)
		// Fresh statistics, as autovacuum would have them after a bulk load.
		if _, err := conn.Exec(ctx, `ANALYZE users`); err != nil {
			return "", fmt.Errorf("explain: %w", err)
		}
		rows, err := conn.Query(ctx, `EXPLAIN `+postgresListByEmail, tenantID, emailKey, 101)
		if err != nil {
			return "", fmt.Errorf("explain: %w", err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return "", fmt.Errorf("explain: %w", err)
		}
		return "EXPLAIN " + postgresListByEmail + "\n" + strings.Join(lines, "\n"), nil
	}
	conn, err := sql.Open("sqlite", "file:"+strings.TrimPrefix(db, "sqlite:")+"?mode=ro")
	if err != nil {
		return "", fmt.Errorf("explain: %w", err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, `EXPLAIN QUERY PLAN `+sqliteListByEmail, tenantID, emailKey, 101)
	if err != nil {
		return "", fmt.Errorf("explain: %w", err)
	}
	defer rows.Close()
	var b strings.Builder
	b.WriteString("EXPLAIN QUERY PLAN " + sqliteListByEmail)
	for rows.Next() {
		var id, parent, notUsed int
		var detail string
		if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
			return "", fmt.Errorf("explain: %w", err)
		}
		b.WriteString("\n" + detail)
	}
	return b.String(), rows.Err()
}

// Analyze runs VACUUM (ANALYZE) on the PostgreSQL database db's tables of
// users, as autovacuum would some time after a bulk load: fresh
// statistics, and the visibility map and hint bits set, so that index-only
// scans skip the heap and the first reads do not rewrite the pages.
func Analyze(ctx context.Context, db string) error {
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `VACUUM (ANALYZE) users, user_search, tenants`); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// The stores' search queries (GET /v1/users?q=…&limit=20, no cursor), as
// ListUsers builds them (internal/sqlite and internal/postgres, search.go):
// the count of the terms in the prefix's range, capped at denseTerms, with
// the bound of the window of the searchWindow newest users when the cap is
// reached, picks the sparse form (collect the matching IDs from
// user_search's primary key) or the dense one (the users of the window with
// a term in the range), followed, when the window holds less than the page,
// by the sparse form below the bound. The user columns are all of the
// row's (the stores also read a user's suspensions per row found, which
// does not change how rows are found).
const (
	denseTerms   = 2000
	searchWindow = 4000

	sqliteSearchPlan   = `SELECT n, CASE WHEN n >= ? THEN (SELECT id FROM users WHERE tenant_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?) END FROM (SELECT count(*) AS n FROM (SELECT 1 FROM user_search WHERE tenant_id = ? AND term >= ? AND term < ? LIMIT ?))`
	sqliteSparseSearch = `SELECT * FROM users WHERE tenant_id = ? AND id IN (SELECT user_id FROM user_search WHERE tenant_id = ? AND term >= ? AND term < ?) ORDER BY id DESC LIMIT 21 OFFSET 0`
	sqliteDenseSearch  = `SELECT * FROM users WHERE tenant_id = ? AND id >= ? AND EXISTS (SELECT 1 FROM user_search s WHERE s.tenant_id = users.tenant_id AND s.user_id = users.id AND s.term >= ? AND s.term < ?) ORDER BY id DESC LIMIT 21 OFFSET 0`
	sqliteSparseBelow  = `SELECT * FROM users WHERE tenant_id = ? AND id IN (SELECT user_id FROM user_search WHERE tenant_id = ? AND term >= ? AND term < ? AND +user_id < ?) ORDER BY id DESC LIMIT 21 OFFSET 0`

	postgresSearchPlan = `SELECT t.n, CASE WHEN t.n >= $4 THEN (SELECT u.id FROM users u WHERE u.tenant_id = $1 ORDER BY u.id DESC LIMIT 1 OFFSET $5) END FROM (SELECT count(*) AS n FROM (SELECT 1 FROM user_search WHERE tenant_id = $1 AND term >= $2 AND term < $3 LIMIT $4) AS c) AS t`
	postgresSparse     = `SELECT u.* FROM (SELECT DISTINCT s.user_id FROM user_search s WHERE s.tenant_id = $1 AND s.term >= $2 AND s.term < $3%s ORDER BY s.user_id DESC) AS m CROSS JOIN LATERAL (SELECT u.* FROM users u WHERE u.tenant_id = $1 AND u.id = m.user_id OFFSET 0) AS u ORDER BY m.user_id DESC LIMIT 21`
	postgresDense      = `SELECT u.* FROM users u WHERE u.tenant_id = $1 AND u.id >= $2 AND EXISTS (SELECT 1 FROM user_search s WHERE s.tenant_id = u.tenant_id AND s.user_id = u.id AND (s.term || '') COLLATE "C" >= $3 AND (s.term || '') COLLATE "C" < $4 OFFSET 0) ORDER BY u.id DESC LIMIT 21 OFFSET 0`
)

var (
	postgresSparseSearch = fmt.Sprintf(postgresSparse, "")
	postgresSparseBelow  = fmt.Sprintf(postgresSparse, " AND s.user_id < $4")
)

// ExplainSearch returns, for each search query q, the plans of the queries
// a store makes for GET /v1/users?q=q&limit=20 on the database db: the
// count of terms, then the sparse or dense form the count picks. On
// PostgreSQL they are EXPLAIN (ANALYZE, BUFFERS), run on the data as it
// is; on SQLite EXPLAIN QUERY PLAN.
func ExplainSearch(ctx context.Context, db, tenantID string, queries ...string) (string, error) {
	var b strings.Builder
	if isPostgres(db) {
		conn, err := pgx.Connect(ctx, db)
		if err != nil {
			return "", fmt.Errorf("explain search: %w", err)
		}
		defer conn.Close(ctx)
		explain := func(q string, args ...any) error {
			rows, err := conn.Query(ctx, `EXPLAIN (ANALYZE, BUFFERS) `+q, args...)
			if err != nil {
				return err
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			b.WriteString("EXPLAIN (ANALYZE, BUFFERS) " + q + "\n" + strings.Join(lines, "\n") + "\n")
			return nil
		}
		for _, q := range queries {
			from, to := directory.PrefixRange(q)
			var n int
			var bound *string
			if err := conn.QueryRow(ctx, postgresSearchPlan, tenantID, from, to, denseTerms, searchWindow-1).Scan(&n, &bound); err != nil {
				return "", fmt.Errorf("explain search: %w", err)
			}
			fmt.Fprintf(&b, "\n-- q=%s: %d terms in the range (capped at %d): the %s form\n", q, n, denseTerms, form(n, bound != nil))
			if err := explain(postgresSearchPlan, tenantID, from, to, denseTerms, searchWindow-1); err != nil {
				return "", fmt.Errorf("explain search: %w", err)
			}
			var err error
			switch {
			case n < denseTerms:
				err = explain(postgresSparseSearch, tenantID, from, to)
			case bound == nil:
				err = explain(postgresDense, tenantID, "", from, to)
			default:
				var found int
				if err = conn.QueryRow(ctx, `SELECT count(*) FROM (`+postgresDense+`) AS p`, tenantID, *bound, from, to).Scan(&found); err == nil {
					err = explain(postgresDense, tenantID, *bound, from, to)
				}
				if err == nil && found < 21 {
					fmt.Fprintf(&b, "-- the window holds %d of the page: the sparse form below it\n", found)
					err = explain(postgresSparseBelow, tenantID, from, to, *bound)
				}
			}
			if err != nil {
				return "", fmt.Errorf("explain search: %w", err)
			}
		}
		return strings.TrimSpace(b.String()), nil
	}
	conn, err := sql.Open("sqlite", "file:"+strings.TrimPrefix(db, "sqlite:")+"?mode=ro")
	if err != nil {
		return "", fmt.Errorf("explain search: %w", err)
	}
	defer conn.Close()
	explain := func(q string, args ...any) error {
		rows, err := conn.QueryContext(ctx, `EXPLAIN QUERY PLAN `+q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		b.WriteString("EXPLAIN QUERY PLAN " + q)
		for rows.Next() {
			var id, parent, notUsed int
			var detail string
			if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
				return err
			}
			b.WriteString("\n" + detail)
		}
		b.WriteString("\n")
		return rows.Err()
	}
	for _, q := range queries {
		from, to := directory.PrefixRange(q)
		var n int
		var bound sql.NullString
		if err := conn.QueryRowContext(ctx, sqliteSearchPlan, denseTerms, tenantID, searchWindow-1, tenantID, from, to, denseTerms).Scan(&n, &bound); err != nil {
			return "", fmt.Errorf("explain search: %w", err)
		}
		fmt.Fprintf(&b, "\n-- q=%s: %d terms in the range (capped at %d): the %s form\n", q, n, denseTerms, form(n, bound.Valid))
		if err := explain(sqliteSearchPlan, denseTerms, tenantID, searchWindow-1, tenantID, from, to, denseTerms); err != nil {
			return "", fmt.Errorf("explain search: %w", err)
		}
		var err error
		switch {
		case n < denseTerms:
			err = explain(sqliteSparseSearch, tenantID, tenantID, from, to)
		default:
			var found int
			if err = conn.QueryRowContext(ctx, `SELECT count(*) FROM (`+sqliteDenseSearch+`)`, tenantID, bound.String, from, to).Scan(&found); err == nil {
				err = explain(sqliteDenseSearch, tenantID, bound.String, from, to)
			}
			if err == nil && bound.Valid && found < 21 {
				fmt.Fprintf(&b, "-- the window holds %d of the page: the sparse form below it\n", found)
				err = explain(sqliteSparseBelow, tenantID, tenantID, from, to, bound.String)
			}
		}
		if err != nil {
			return "", fmt.Errorf("explain search: %w", err)
		}
	}
	return strings.TrimSpace(b.String()), nil
}

func form(n int, windowed bool) string {
	switch {
	case n < denseTerms:
		return "sparse"
	case windowed:
		return "dense (windowed)"
	}
	return "dense"
}
