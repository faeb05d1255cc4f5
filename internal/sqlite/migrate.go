package sqlite

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/roster-dev/roster/internal/migrations"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// loadMigrations returns the embedded migrations in order.
func loadMigrations() ([]migrations.Migration, error) {
	return migrations.Load(migrationFiles, "migrations")
}

// migrate applies, in order, each migration not yet recorded in
// schema_migrations, each in its own transaction with its record, and returns
// the versions it applied. Each transaction checks the record again after
// taking the write lock, so two processes opening a new file at once apply
// each migration once.
func (s *Store) migrate(ctx context.Context) ([]int, error) {
	ms, err := loadMigrations()
	if err != nil {
		return nil, fmt.Errorf("sqlite: migrate: %w", err)
	}
	return s.applyMigrations(ctx, ms)
}

// applyMigrations is migrate with the given migrations, which tests use to
// make a database of an earlier schema.
func (s *Store) applyMigrations(ctx context.Context, ms []migrations.Migration) ([]int, error) {
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		applied_at INTEGER NOT NULL -- unix milliseconds
	) STRICT`
	if _, err := s.write.ExecContext(ctx, create); err != nil {
		return nil, wrapErr("migrate", err)
	}
	return migrations.Apply(ms, func(m migrations.Migration) (bool, error) { return s.applyMigration(ctx, m) })
}

// applyMigration applies m unless it is recorded already, and reports
// whether it applied it.
func (s *Store) applyMigration(ctx context.Context, m migrations.Migration) (bool, error) {
	op := "migrate " + m.Name
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return false, wrapErr(op, err)
	}
	defer tx.Rollback()

	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return false, wrapErr(op, err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, wrapErr(op, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		m.Version, time.Now().UnixMilli()); err != nil {
		return false, wrapErr(op, err)
	}
	if err := tx.Commit(); err != nil {
		return false, wrapErr(op, err)
	}
	return true, nil
}
