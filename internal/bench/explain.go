package bench

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the driver internal/sqlite uses
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

// Analyze runs ANALYZE on the PostgreSQL database db's tables of users.
func Analyze(ctx context.Context, db string) error {
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `ANALYZE users, user_search, tenants`); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}
