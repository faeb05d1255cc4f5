package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// Usage returns the tenant's writes counted for the period starting at
// periodStart (0 if none was), and its active-user counter, both read in one
// statement, so of one moment. PeriodEnd is left zero. A missing tenant has
// none of either.
func (s *Store) Usage(ctx context.Context, tenantID string, periodStart time.Time) (*directory.Usage, error) {
	u := directory.Usage{PeriodStart: ts(periodStart).UTC()}
	err := s.pool.QueryRow(ctx, `SELECT
			coalesce((SELECT sum(writes) FROM usage WHERE tenant_id = $1 AND period_start = $2), 0)::bigint,
			coalesce((SELECT active_users FROM tenants WHERE id = $1), 0)`,
		tenantID, ts(periodStart)).Scan(&u.Writes, &u.ActiveUsers)
	if err != nil {
		return nil, wrapErr("usage", err)
	}
	return &u, nil
}

// CountActiveUsers returns the tenant's active-user counter, which only
// AddActiveUsers moves. It returns an error wrapping directory.ErrNotFound if
// the tenant does not exist.
func (t *tx) CountActiveUsers(ctx context.Context, tenantID string) (int64, error) {
	var n int64
	err := t.tx.QueryRow(ctx, `SELECT active_users FROM tenants WHERE id = $1`, tenantID).Scan(&n)
	return n, wrapErr("count active users", err)
}

// AddActiveUsers adds delta to the tenant's active-user counter. It returns
// an error wrapping directory.ErrNotFound if the tenant does not exist.
//
// The UPDATE locks the tenant's row FOR NO KEY UPDATE until the transaction
// ends, the lock LockTenant takes: a transaction that checks the counter
// after LockTenant sees every committed move of it, and foreign key checks
// (FOR KEY SHARE) of other writes of the tenant do not wait. Concurrent
// additions queue on the row and none is lost, as READ COMMITTED re-reads
// the row's latest version after the wait.
func (t *tx) AddActiveUsers(ctx context.Context, tenantID string, delta int64) error {
	tag, err := t.tx.Exec(ctx, `UPDATE tenants SET active_users = active_users + $2 WHERE id = $1`, tenantID, delta)
	if err != nil {
		return wrapErr("add active users", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: add active users: %w", directory.ErrNotFound)
	}
	return nil
}

// writeShards is how many rows a tenant's write count of a period is split
// over (see migration 0004).
const writeShards = 16

// AddWrite counts one write in the period starting at periodStart, in a
// shard picked at random, and returns, in one round trip, the period's
// count including it with the tenant's active-user counter and config
// version. The upsert is atomic, so concurrent writers never lose a count,
// even without LockTenant.
//
// The count is this write's shard as updated plus the other shards as
// committed when the statement started (READ COMMITTED), this transaction's
// own earlier counts included. Writes of the same tenant in flight at once
// in other shards are not in it, so at the quota's boundary writes in
// flight together may pass it by at most their number (bounded by the
// nodes' connection pools); a write that starts after they commit sees
// them all. SQLite, whose writes never overlap, counts exactly.
func (t *tx) AddWrite(ctx context.Context, tenantID string, periodStart time.Time) (directory.Counters, error) {
	var (
		c               directory.Counters
		active, version *int64
	)
	err := t.tx.QueryRow(ctx, `WITH bump AS (
			INSERT INTO usage (tenant_id, period_start, shard, writes) VALUES ($1, $2, $3, 1)
			ON CONFLICT (tenant_id, period_start, shard) DO UPDATE SET writes = usage.writes + 1
			RETURNING writes)
		SELECT (SELECT writes FROM bump)
				+ coalesce((SELECT sum(writes) FROM usage WHERE tenant_id = $1 AND period_start = $2 AND shard <> $3), 0)::bigint,
			(SELECT active_users FROM tenants WHERE id = $1), (SELECT config_version FROM tenants WHERE id = $1)`,
		tenantID, ts(periodStart), rand.IntN(writeShards)).Scan(&c.Writes, &active, &version)
	if err == nil && version == nil {
		err = directory.ErrNotFound
	}
	if err != nil {
		return c, wrapErr("add write", err)
	}
	c.ActiveUsers, c.ConfigVersion = *active, *version
	return c, nil
}

// countAtCommit counts the write of InCountedTx with roster_count_write
// (migration 0005), which checks its limits in the database, sent with the
// transaction's next statement waited for or its COMMIT (see pipeline): the
// count of an update costs no round trip of its own. Its row lands in *c
// when it is sent.
func (t *tx) countAtCommit(wc directory.WriteCount, c *directory.Counters) {
	t.tx.laterRow([]any{&c.Writes, &c.ActiveUsers, &c.ConfigVersion}, "count write",
		`SELECT o_writes, o_active, o_version FROM roster_count_write($1, $2, $3, $4, $5)`,
		wc.TenantID, ts(wc.PeriodStart), int16(rand.IntN(writeShards)), wc.Limits.ConfigVersion, wc.Limits.MaxWrites)
}
