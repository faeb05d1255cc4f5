package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roster-dev/roster/internal/directory"
)

// PurgeUser erases a user: its row goes, and with it (ON DELETE CASCADE) its
// picture and suspensions; in each of its audit entries every from and to
// value becomes null, the rest staying; and the payload of each of its
// outbox events becomes scrubbed(event), and the error text of their
// deliveries and attempts directory.PurgedErrorText. It returns an error
// wrapping directory.ErrNotFound if the user is not in the tenant, having
// changed nothing, so purging twice is harmless.
func (t *tx) PurgeUser(ctx context.Context, tenantID, userID string, scrubbed func(e *directory.Event) []byte) error {
	// The DELETE comes first: it locks the user, so a concurrent purge of
	// the same user waits here and then finds it gone.
	tag, err := t.tx.Exec(ctx, `DELETE FROM users WHERE tenant_id = $1 AND id = $2`, tenantID, userID)
	if err != nil {
		return wrapErr("purge user", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: purge user: %w", directory.ErrNotFound)
	}
	// The answers kept for Idempotency-Key retries that are about the user.
	if _, err := t.tx.Exec(ctx, `DELETE FROM idempotency WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID); err != nil {
		return wrapErr("purge user: idempotency keys", err)
	}
	if err := t.scrubAudit(ctx, tenantID, userID); err != nil {
		return err
	}
	if err := t.scrubEvents(ctx, tenantID, userID, scrubbed); err != nil {
		return err
	}
	return t.scrubDeliveryErrors(ctx, tenantID, userID)
}

// scrubDeliveryErrors replaces the error text of the deliveries of the
// user's events and of their attempts, which receivers' answers may have
// filled with anything, personal data echoed back included.
func (t *tx) scrubDeliveryErrors(ctx context.Context, tenantID, userID string) error {
	_, err := t.tx.Exec(ctx, `UPDATE delivery_attempts a SET error = $3
		FROM outbox o JOIN deliveries d ON d.event_id = o.id
		WHERE o.tenant_id = $1 AND o.user_id = $2 AND a.delivery_id = d.id AND a.error <> ''`,
		tenantID, userID, directory.PurgedErrorText)
	if err != nil {
		return wrapErr("purge user: delivery attempts", err)
	}
	_, err = t.tx.Exec(ctx, `UPDATE deliveries d SET last_error = $3
		FROM outbox o
		WHERE o.tenant_id = $1 AND o.user_id = $2 AND d.event_id = o.id AND d.last_error <> ''`,
		tenantID, userID, directory.PurgedErrorText)
	return wrapErr("purge user: deliveries", err)
}

// scrubAudit nulls every from and to value in the user's audit entries.
// The JSON is rewritten in Go rather than with jsonb functions, which refuse
// some valid JSON text (\u0000).
func (t *tx) scrubAudit(ctx context.Context, tenantID, userID string) error {
	rows, err := t.tx.Query(ctx, `SELECT id, changes FROM audit WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID)
	if err != nil {
		return wrapErr("purge user: audit", err)
	}
	var ids, scrubbed []string
	for rows.Next() {
		var (
			id      string
			raw     []byte
			changes map[string]directory.Change
		)
		if err := rows.Scan(&id, &raw); err != nil {
			rows.Close()
			return wrapErr("purge user: audit", err)
		}
		if err := decodeJSON(raw, &changes); err != nil {
			rows.Close()
			return fmt.Errorf("postgres: purge user: audit entry %s: %w", id, err)
		}
		for field := range changes {
			changes[field] = directory.Change{}
		}
		s, err := encodeJSON(changes)
		if err != nil {
			rows.Close()
			return fmt.Errorf("postgres: purge user: audit entry %s: %w", id, err)
		}
		ids, scrubbed = append(ids, id), append(scrubbed, s)
	}
	if err := rows.Err(); err != nil {
		return wrapErr("purge user: audit", err)
	}
	if len(ids) == 0 {
		return nil
	}
	_, err = t.tx.Exec(ctx, `UPDATE audit a SET changes = v.changes
		FROM unnest($2::text[], $3::text[]) AS v (id, changes)
		WHERE a.tenant_id = $1 AND a.id = v.id`, tenantID, ids, scrubbed)
	return wrapErr("purge user: audit", err)
}

// scrubEvents replaces the payload of each of the user's outbox events by
// scrubbed(event).
func (t *tx) scrubEvents(ctx context.Context, tenantID, userID string, scrubbed func(e *directory.Event) []byte) error {
	rows, err := t.tx.Query(ctx, `SELECT `+eventColumns+` FROM outbox WHERE tenant_id = $1 AND user_id = $2 ORDER BY id`, tenantID, userID)
	if err != nil {
		return wrapErr("purge user: events", err)
	}
	events, err := collect(rows, scanEvent)
	if err != nil {
		return wrapErr("purge user: events", err)
	}
	if len(events) == 0 {
		return nil
	}
	ids, payloads := make([]string, len(events)), make([][]byte, len(events))
	for i, e := range events {
		ids[i], payloads[i] = e.ID, scrubbed(e)
		if payloads[i] == nil {
			payloads[i] = []byte{}
		}
	}
	_, err = t.tx.Exec(ctx, `UPDATE outbox o SET payload = v.payload
		FROM unnest($2::text[], $3::bytea[]) AS v (id, payload)
		WHERE o.tenant_id = $1 AND o.id = v.id`, tenantID, ids, payloads)
	return wrapErr("purge user: events", err)
}

// DuePurges lists the users whose status is deleting and whose PurgeAfter
// is not after now, across tenants, soonest PurgeAfter first, at most limit
// of them (all when limit <= 0). It is a plain read: several nodes may list
// the same user, and purging it twice is harmless, since PurgeUser of a
// purged user returns ErrNotFound and changes nothing.
func (s *Store) DuePurges(ctx context.Context, now time.Time, n int) ([]directory.UserRef, error) {
	rows, err := s.pool.Query(ctx, `SELECT tenant_id, id FROM users
		WHERE status = 'deleting' AND purge_after <= $1
		ORDER BY purge_after, tenant_id, id LIMIT $2`, ts(now), limit(n))
	if err != nil {
		return nil, wrapErr("due purges", err)
	}
	refs, err := collect(rows, func(row pgx.Row) (directory.UserRef, error) {
		var r directory.UserRef
		err := row.Scan(&r.TenantID, &r.ID)
		return r, err
	})
	return refs, wrapErr("due purges", err)
}
