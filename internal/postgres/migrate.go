package postgres

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/internal/migrations"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLock is the key of the transaction-level advisory lock that every
// migration transaction takes first, so that nodes starting together against
// one database apply each migration once, one after the other. Its value is
// "roster" in ASCII, unlikely to be another application's key.
const migrationLock int64 = 0x726f73746572

// loadMigrations returns the embedded migrations in order.
func loadMigrations() ([]migrations.Migration, error) {
	return migrations.Load(migrationFiles, "migrations")
}

// SchemaID returns a digest of the embedded migrations, names and contents:
// two binaries with the same SchemaID create the same schema. Test helpers
// key template databases on it.
func SchemaID() string {
	ms, err := loadMigrations()
	if err != nil {
		return "invalid"
	}
	h := sha256.New()
	for _, m := range ms {
		fmt.Fprintf(h, "%s\x00%d\x00%s\x00", m.Name, len(m.SQL), m.SQL)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// migrate applies, in order, each migration not yet recorded in
// schema_migrations, each in its own transaction with its record, and
// returns the versions it applied.
//
// Every transaction takes the advisory lock first and only then looks at
// schema_migrations, so a node that waited for another sees its record and
// skips the migration. A migration that fails rolls back whole (PostgreSQL's
// DDL is transactional), leaving the schema at the previous version.
func (s *Store) migrate(ctx context.Context) ([]int, error) {
	ms, err := loadMigrations()
	if err != nil {
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	// CREATE TABLE IF NOT EXISTS is not safe against a concurrent twin (both
	// may pass the check), hence the lock here too.
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer     NOT NULL PRIMARY KEY,
		applied_at timestamptz NOT NULL
	)`
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, create)
		return err
	})
	if err != nil {
		return nil, wrapErr("migrate", err)
	}
	return migrations.Apply(ms, func(m migrations.Migration) (bool, error) { return s.applyMigration(ctx, m) })
}

// applyMigration applies m unless it is recorded already, and reports
// whether it applied it.
func (s *Store) applyMigration(ctx context.Context, m migrations.Migration) (bool, error) {
	done := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.Version).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return nil
		}
		// Without arguments pgx sends the file with the simple protocol,
		// which runs several statements.
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
			m.Version, ts(time.Now())); err != nil {
			return err
		}
		done = true
		return nil
	})
	if err != nil {
		return false, wrapErr("migrate "+m.Name, err)
	}
	return done, nil
}
