package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// usageSQL reads a tenant's writes in a period and its active-user counter.
// countersSQL reads the same, stored, count with the tenant's active-user
// counter and config version, or no row if the tenant does not exist.
// addWritesSQL adds a batch's writes to the count (see batch).
const (
	usageSQL = `SELECT
		coalesce((SELECT writes FROM usage WHERE tenant_id = ? AND period_start = ?), 0),
		coalesce((SELECT active_users FROM tenants WHERE id = ?), 0)`
	countersSQL = `SELECT coalesce((SELECT writes FROM usage WHERE tenant_id = ?1 AND period_start = ?2), 0),
		active_users, config_version FROM tenants WHERE id = ?1`
	addWritesSQL = `INSERT INTO usage (tenant_id, period_start, writes) VALUES (?1, ?2, ?3)
		ON CONFLICT (tenant_id, period_start) DO UPDATE SET writes = writes + ?3`
)

// Usage returns the tenant's writes in the period starting at periodStart
// (0 if none was counted) and its active-user counter, both read in one
// statement, so of one moment. A missing tenant has none of either.
func (s *Store) Usage(ctx context.Context, tenantID string, periodStart time.Time) (*directory.Usage, error) {
	u := &directory.Usage{PeriodStart: fromMillis(millis(periodStart))}
	err := s.stmts.readUsage.QueryRowContext(ctx, tenantID, millis(periodStart), tenantID).Scan(&u.Writes, &u.ActiveUsers)
	if err != nil {
		return nil, wrapErr("usage", err)
	}
	return u, nil
}

// CountActiveUsers returns the tenant's active-user counter, which only
// AddActiveUsers moves. It returns an error wrapping directory.ErrNotFound
// if the tenant does not exist.
func (t *tx) CountActiveUsers(ctx context.Context, tenantID string) (int64, error) {
	var n int64
	if err := t.tx.QueryRowContext(ctx, `SELECT active_users FROM tenants WHERE id = ?`, tenantID).Scan(&n); err != nil {
		return 0, wrapErr("count active users", err)
	}
	return n, nil
}

// AddActiveUsers adds delta to the tenant's active-user counter. It returns
// an error wrapping directory.ErrNotFound if the tenant does not exist.
func (t *tx) AddActiveUsers(ctx context.Context, tenantID string, delta int64) error {
	t.b.forgetCounters()
	res, err := t.tx.ExecContext(ctx, `UPDATE tenants SET active_users = active_users + ? WHERE id = ?`, delta, tenantID)
	return wrapErr("add active users", oneRow(res, err))
}

// AddWrite counts one write of the tenant in the period starting at
// periodStart and returns the period's count with the tenant's active-user
// counter and config version, as this transaction sees them.
//
// The count is kept by the batch and stored before its COMMIT, so that a
// batch of writes of one tenant reads the counters once and stores them
// once, rather than upserting and reading the tenant's usage row per write
// on the one writer, whose every statement delays the whole batch. No other
// transaction can read or write between: the batch holds SQLite's one write
// lock from its BEGIN IMMEDIATE to its COMMIT.
func (t *tx) AddWrite(ctx context.Context, tenantID string, periodStart time.Time) (directory.Counters, error) {
	k := usageKey{tenantID, millis(periodStart)}
	c, ok := t.b.counters[k]
	if !ok {
		err := t.stmt(t.s.stmts.counters).QueryRowContext(ctx, tenantID, k.period).Scan(&c.Writes, &c.ActiveUsers, &c.ConfigVersion)
		if err != nil {
			return directory.Counters{}, wrapErr("add write", err)
		}
		t.b.counters[k] = c
	}
	t.b.running[k]++
	c.Writes += t.b.kept[k] + t.b.running[k]
	return c, nil
}

// countWrite counts the write of InCountedTx with AddWrite and checks it
// against its limits.
func (t *tx) countWrite(wc directory.WriteCount) (directory.Counters, error) {
	c, err := t.AddWrite(context.Background(), wc.TenantID, wc.PeriodStart)
	switch {
	case err != nil:
		return directory.Counters{}, err
	case c.ConfigVersion != wc.Limits.ConfigVersion:
		return directory.Counters{}, fmt.Errorf("sqlite: count write: %w", directory.ErrConfigChanged)
	case c.Writes > wc.Limits.MaxWrites:
		return directory.Counters{}, fmt.Errorf("sqlite: count write: %w", directory.ErrWriteQuota)
	}
	return c, nil
}
