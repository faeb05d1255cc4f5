package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// UsersHoldingRoles returns the roles among roles that at least one user of
// the tenant holds, whatever its status, in the order of roles and without
// repeats. Role names are compared exactly, as JSON values, so no character
// of a name is special.
//
// Roles live in the profile JSON, so this reads every profile of the
// tenant once; it serves a change of the role catalog, which is rare.
func (s *Store) UsersHoldingRoles(ctx context.Context, tenantID string, roles []string) ([]string, error) {
	if len(roles) == 0 {
		return nil, nil
	}
	want, err := encodeJSON(roles)
	if err != nil {
		return nil, fmt.Errorf("sqlite: users holding roles: %w", err)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT DISTINCT r.value
		FROM users u, json_each(u.profile, '$.roles') r
		WHERE u.tenant_id = ? AND r.type = 'text' AND r.value IN (SELECT value FROM json_each(?))`, tenantID, want)
	if err != nil {
		return nil, wrapErr("users holding roles", err)
	}
	held, err := collect(rows, func(sc scanner) (string, error) {
		var r string
		return r, sc.Scan(&r)
	})
	if err != nil {
		return nil, wrapErr("users holding roles", err)
	}
	var out []string
	for _, r := range roles {
		if slices.Contains(held, r) && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// GetPicture returns the user's stored picture, or an error wrapping
// directory.ErrNotFound.
func (s *Store) GetPicture(ctx context.Context, tenantID, userID string) (*directory.Picture, error) {
	var (
		p       directory.Picture
		updated int64
	)
	err := s.read.QueryRowContext(ctx, `SELECT content_type, data, etag, updated_at FROM pictures WHERE tenant_id = ? AND user_id = ?`,
		tenantID, userID).Scan(&p.ContentType, &p.Data, &p.ETag, &updated)
	if err != nil {
		return nil, wrapErr("get picture", err)
	}
	p.UpdatedAt = fromMillis(updated)
	return &p, nil
}

// PutPicture stores or replaces the user's picture. The user must exist.
func (t *tx) PutPicture(ctx context.Context, tenantID, userID string, p *directory.Picture) error {
	data := p.Data
	if data == nil {
		data = []byte{} // the driver binds a nil slice as NULL
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO pictures (tenant_id, user_id, content_type, data, etag, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, user_id) DO UPDATE SET
			content_type = excluded.content_type, data = excluded.data, etag = excluded.etag, updated_at = excluded.updated_at`,
		tenantID, userID, p.ContentType, data, p.ETag, millis(p.UpdatedAt))
	return wrapErr("put picture", err)
}

// DeletePicture deletes the user's picture, if it has one.
func (t *tx) DeletePicture(ctx context.Context, tenantID, userID string) error {
	_, err := t.tx.ExecContext(ctx, `DELETE FROM pictures WHERE tenant_id = ? AND user_id = ?`, tenantID, userID)
	return wrapErr("delete picture", err)
}

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

// CountWriteAtCommit counts the write with AddWrite, which costs SQLite no
// statement of its own (see batch), and checks lim at once; a failed check
// fails the caller's function, after it returns, as its own error would.
func (t *tx) CountWriteAtCommit(tenantID string, periodStart time.Time, lim directory.WriteLimits, c *directory.Counters) {
	got, err := t.AddWrite(context.Background(), tenantID, periodStart)
	switch {
	case err != nil:
		t.failed = err
	case got.ConfigVersion != lim.ConfigVersion:
		t.failed = fmt.Errorf("sqlite: count write: %w", directory.ErrConfigChanged)
	case got.Writes > lim.MaxWrites:
		t.failed = fmt.Errorf("sqlite: count write: %w", directory.ErrWriteQuota)
	default:
		*c = got
	}
}

// DuePurges lists the users, of every tenant, whose status is deleting and
// whose PurgeAfter is not after now: the longest overdue first (by
// PurgeAfter, then tenant and user ID), at most limit of them (all when
// limit <= 0).
func (s *Store) DuePurges(ctx context.Context, now time.Time, n int) ([]directory.UserRef, error) {
	// The literal status lets the planner use the partial index users_purge.
	rows, err := s.read.QueryContext(ctx, `SELECT tenant_id, id FROM users
		WHERE status = 'deleting' AND purge_after <= ?
		ORDER BY purge_after, tenant_id, id LIMIT ?`, millis(now), limit(n))
	if err != nil {
		return nil, wrapErr("due purges", err)
	}
	refs, err := collect(rows, func(sc scanner) (directory.UserRef, error) {
		var r directory.UserRef
		return r, sc.Scan(&r.TenantID, &r.ID)
	})
	return refs, wrapErr("due purges", err)
}

// InsertSuspension adds s to the user, which must exist.
func (t *tx) InsertSuspension(ctx context.Context, tenantID, userID string, s *directory.Suspension) error {
	var ends any
	if s.EndsAt != nil {
		ends = millis(*s.EndsAt)
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO suspensions (tenant_id, id, user_id, reason, created_at, ends_at)
		VALUES (?, ?, ?, ?, ?, ?)`, tenantID, s.ID, userID, s.Reason, millis(s.CreatedAt), ends)
	return wrapErr("insert suspension", err)
}

// LiftSuspension marks the suspension lifted at at; the row stays, but the
// user no longer lists it. It returns an error wrapping
// directory.ErrNotFound unless id is an unlifted suspension of that user.
func (t *tx) LiftSuspension(ctx context.Context, tenantID, userID, id string, at time.Time) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE suspensions SET lifted_at = ?
		WHERE tenant_id = ? AND id = ? AND user_id = ? AND lifted_at IS NULL`, millis(at), tenantID, id, userID)
	return wrapErr("lift suspension", oneRow(res, err))
}

// PurgeUser erases the user: it deletes its row, picture and suspensions
// (lifted ones too), sets every from and to of its audit entries' changes
// to null, replaces the payload of each of its outbox events by
// scrubbed(event), which is called with the event as stored, and the error
// text of those events' deliveries and attempts by
// directory.PurgedErrorText. Pending deliveries of those events will
// deliver the scrubbed payloads. The WAL still holds the rows as they were
// until ErasePurged, which the purge worker calls next. It returns
// an error wrapping directory.ErrNotFound if the user is not in the tenant.
func (t *tx) PurgeUser(ctx context.Context, tenantID, userID string, scrubbed func(e *directory.Event) []byte) error {
	if err := t.purgeUser(ctx, tenantID, userID, scrubbed); err != nil {
		return wrapErr("purge user", err)
	}
	return nil
}

func (t *tx) purgeUser(ctx context.Context, tenantID, userID string, scrubbed func(e *directory.Event) []byte) error {
	// The foreign keys cascade too; the explicit deletes say what goes.
	for _, q := range []string{
		`DELETE FROM pictures WHERE tenant_id = ? AND user_id = ?`,
		`DELETE FROM suspensions WHERE tenant_id = ? AND user_id = ?`,
	} {
		if _, err := t.tx.ExecContext(ctx, q, tenantID, userID); err != nil {
			return err
		}
	}
	res, err := t.tx.ExecContext(ctx, `DELETE FROM users WHERE tenant_id = ? AND id = ?`, tenantID, userID)
	if err := oneRow(res, err); err != nil {
		return err
	}

	// Audit entries keep their skeleton: who did what when, to which fields.
	rows, err := t.tx.QueryContext(ctx, `SELECT id, changes FROM audit WHERE tenant_id = ? AND user_id = ?`, tenantID, userID)
	if err != nil {
		return err
	}
	type audit struct{ id, changes string }
	entries, err := collect(rows, func(sc scanner) (audit, error) {
		var a audit
		return a, sc.Scan(&a.id, &a.changes)
	})
	if err != nil {
		return err
	}
	for _, a := range entries {
		var changes map[string]json.RawMessage
		if err := json.Unmarshal([]byte(a.changes), &changes); err != nil {
			return fmt.Errorf("audit entry %s: changes: %w", a.id, err)
		}
		if changes == nil {
			continue
		}
		blank := make(map[string]directory.Change, len(changes))
		for field := range changes {
			blank[field] = directory.Change{}
		}
		enc, err := encodeJSON(blank)
		if err != nil {
			return fmt.Errorf("audit entry %s: changes: %w", a.id, err)
		}
		if _, err := t.tx.ExecContext(ctx, `UPDATE audit SET changes = ? WHERE tenant_id = ? AND id = ?`, enc, tenantID, a.id); err != nil {
			return err
		}
	}

	rows, err = t.tx.QueryContext(ctx, `SELECT `+eventColumns+` FROM outbox WHERE tenant_id = ? AND user_id = ? ORDER BY id`, tenantID, userID)
	if err != nil {
		return err
	}
	events, err := collect(rows, scanEvent)
	if err != nil {
		return err
	}
	for _, e := range events {
		payload := scrubbed(e)
		if payload == nil {
			payload = []byte{}
		}
		if _, err := t.tx.ExecContext(ctx, `UPDATE outbox SET payload = ? WHERE id = ? AND tenant_id = ?`, payload, e.ID, tenantID); err != nil {
			return err
		}
	}

	// Receivers' answers may have put anything in the error text of the
	// events' deliveries and attempts, personal data echoed back included.
	for _, q := range []string{
		`UPDATE delivery_attempts SET error = ?1 WHERE error <> '' AND delivery_id IN
			(SELECT d.id FROM outbox o JOIN deliveries d ON d.event_id = o.id WHERE o.tenant_id = ?2 AND o.user_id = ?3)`,
		`UPDATE deliveries SET last_error = ?1 WHERE last_error <> '' AND event_id IN
			(SELECT id FROM outbox WHERE tenant_id = ?2 AND user_id = ?3)`,
	} {
		if _, err := t.tx.ExecContext(ctx, q, directory.PurgedErrorText, tenantID, userID); err != nil {
			return err
		}
	}
	t.s.erase.pending.Store(true)
	return nil
}
