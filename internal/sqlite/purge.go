package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

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
		`DELETE FROM idempotency WHERE tenant_id = ? AND user_id = ?`,
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
