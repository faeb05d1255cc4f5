package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/roster-dev/roster/internal/directory"
)

const (
	auditColumns   = `tenant_id, id, user_id, action, actor_key_id, acting_user_id, request_id, at, changes`
	insertAuditSQL = `INSERT INTO audit (` + auditColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

	eventColumns   = `id, tenant_id, user_id, type, payload, created_at`
	insertEventSQL = `INSERT INTO outbox (` + eventColumns + `, seq) VALUES (?, ?, ?, ?, ?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM outbox))`
)

// InsertAudit inserts a. Its request ID is a.RequestID, or a.Actor.RequestID
// when that is empty; entries read back carry it in both.
func (t *tx) InsertAudit(ctx context.Context, a *directory.AuditEntry) error {
	changes, err := encodeJSON(a.Changes)
	if err != nil {
		return fmt.Errorf("sqlite: insert audit: %w", err)
	}
	requestID := a.RequestID
	if requestID == "" {
		requestID = a.Actor.RequestID
	}
	_, err = t.stmt(t.s.stmts.insertAudit).ExecContext(ctx,
		a.TenantID, a.ID, a.UserID, a.Action, a.Actor.KeyID, a.Actor.ActingUserID, requestID, millis(a.At), changes)
	return wrapErr("insert audit", err)
}

// ListAudit lists a user's audit entries newest first, those whose ID sorts
// below before ("" = from the newest), at most limit of them (all when
// limit <= 0). Values in Changes come back as JSON decodes them: strings,
// json.Number, bool, nil, []any and map[string]any.
func (s *Store) ListAudit(ctx context.Context, tenantID, userID, before string, n int) ([]*directory.AuditEntry, error) {
	q, args := `SELECT `+auditColumns+` FROM audit WHERE tenant_id = ? AND user_id = ? ORDER BY id DESC LIMIT ?`,
		[]any{tenantID, userID, limit(n)}
	if before != "" {
		q, args = `SELECT `+auditColumns+` FROM audit WHERE tenant_id = ? AND user_id = ? AND id < ? ORDER BY id DESC LIMIT ?`,
			[]any{tenantID, userID, before, limit(n)}
	}
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrapErr("list audit", err)
	}
	defer rows.Close()
	var as []*directory.AuditEntry
	for rows.Next() {
		var (
			a       directory.AuditEntry
			at      int64
			changes string
		)
		if err := rows.Scan(&a.TenantID, &a.ID, &a.UserID, &a.Action, &a.Actor.KeyID, &a.Actor.ActingUserID,
			&a.RequestID, &at, &changes); err != nil {
			return nil, wrapErr("list audit", err)
		}
		if err := decodeJSON(changes, &a.Changes); err != nil {
			return nil, fmt.Errorf("sqlite: list audit: entry %s: changes: %w", a.ID, err)
		}
		a.Actor.RequestID, a.At = a.RequestID, fromMillis(at)
		as = append(as, &a)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("list audit", err)
	}
	return as, nil
}

// InsertEvent writes e to the outbox with the given deliveries of it, each
// pending unless its Status says otherwise. A delivery's empty TenantID,
// EventID and UserID are set to e's; a delivery of another event is an
// error.
func (t *tx) InsertEvent(ctx context.Context, e *directory.Event, deliveries []*directory.Delivery) error {
	payload := e.Payload
	if payload == nil {
		payload = []byte{} // the driver binds a nil slice as NULL
	}
	_, err := t.stmt(t.s.stmts.insertEvent).ExecContext(ctx,
		e.ID, e.TenantID, e.UserID, e.Type, payload, millis(e.CreatedAt))
	if err != nil {
		return wrapErr("insert event", err)
	}
	if t.b != nil {
		t.b.eventsRunning++
	}
	if len(deliveries) == 0 {
		return nil
	}
	stmt := t.stmt(t.s.stmts.insertDelivery)
	for _, d := range deliveries {
		for _, f := range []struct {
			dst  *string
			want string
			name string
		}{
			{&d.TenantID, e.TenantID, "tenant"},
			{&d.EventID, e.ID, "event"},
			{&d.UserID, e.UserID, "user"},
		} {
			if *f.dst == "" {
				*f.dst = f.want
			} else if *f.dst != f.want {
				return fmt.Errorf("sqlite: insert event: delivery %s has %s %s, the event %s", d.ID, f.name, *f.dst, f.want)
			}
		}
		if d.Status == "" {
			d.Status = directory.DeliveryPending
		}
		if _, err := stmt.ExecContext(ctx, deliveryArgs(d)...); err != nil {
			return wrapErr("insert event", err)
		}
	}
	return nil
}

// ListEvents lists a tenant's outbox events oldest first, those whose ID
// sorts above after ("" = from the oldest), at most limit of them (all when
// limit <= 0). Only tests read the outbox so (see storetest.Inspector).
func (s *Store) ListEvents(ctx context.Context, tenantID, after string, n int) ([]*directory.Event, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT `+eventColumns+` FROM outbox WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`,
		tenantID, after, limit(n))
	if err != nil {
		return nil, wrapErr("list events", err)
	}
	es, err := collect(rows, scanEvent)
	return es, wrapErr("list events", err)
}

func scanEvent(sc scanner) (*directory.Event, error) {
	var (
		e       directory.Event
		created int64
	)
	if err := sc.Scan(&e.ID, &e.TenantID, &e.UserID, &e.Type, &e.Payload, &created); err != nil {
		return nil, err
	}
	e.CreatedAt = fromMillis(created)
	return &e, nil
}

const adminAuditColumns = `id, tenant_id, action, actor_key_id, request_id, at, target_id, details`

// InsertAdminAudit adds an entry to the admin audit trail.
func (t *tx) InsertAdminAudit(ctx context.Context, e *directory.AdminAuditEntry) error {
	details, err := encodeJSON(e.Details)
	if err != nil {
		return fmt.Errorf("sqlite: insert admin audit: %w", err)
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO admin_audit (`+adminAuditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, nullIfEmpty(e.TenantID), e.Action, e.Actor.KeyID, e.RequestID, millis(e.At), e.TargetID, details)
	return wrapErr("insert admin audit", err)
}

// ListAdminAudit lists the tenant's admin audit entries ("": platform
// keys'), newest first.
func (s *Store) ListAdminAudit(ctx context.Context, tenantID, before string, n int) ([]*directory.AdminAuditEntry, error) {
	q, args := newestOfTenant(adminAuditColumns, "admin_audit", tenantID, before, n)
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrapErr("list admin audit", err)
	}
	es, err := collect(rows, func(sc scanner) (*directory.AdminAuditEntry, error) {
		var (
			e       directory.AdminAuditEntry
			tenant  sql.NullString
			at      int64
			details string
		)
		if err := sc.Scan(&e.ID, &tenant, &e.Action, &e.Actor.KeyID, &e.RequestID, &at, &e.TargetID, &details); err != nil {
			return nil, err
		}
		if err := decodeJSON(details, &e.Details); err != nil {
			return nil, fmt.Errorf("admin audit %s: details: %w", e.ID, err)
		}
		e.TenantID, e.At, e.Actor.RequestID = tenant.String, fromMillis(at), e.RequestID
		return &e, nil
	})
	return es, wrapErr("list admin audit", err)
}
