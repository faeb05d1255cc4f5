package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/internal/directory"
)

const (
	auditColumns = `tenant_id, id, user_id, action, actor_key_id, acting_user_id, request_id, at, changes`
	eventColumns = `id, tenant_id, user_id, type, payload, created_at`
)

// InsertAudit inserts a, sent with the transaction's next statement (see
// pipeline). Its request ID is a.RequestID, or a.Actor.RequestID when that
// is empty; entries read back carry it in both.
func (t *tx) InsertAudit(ctx context.Context, a *directory.AuditEntry) error {
	changes, err := encodeJSON(a.Changes)
	if err != nil {
		return fmt.Errorf("postgres: insert audit: %w", err)
	}
	requestID := a.RequestID
	if requestID == "" {
		requestID = a.Actor.RequestID
	}
	t.tx.later("insert audit", `INSERT INTO audit (`+auditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		a.TenantID, a.ID, a.UserID, a.Action, a.Actor.KeyID, a.Actor.ActingUserID, requestID, ts(a.At), changes)
	return nil
}

// ListAudit lists a user's audit entries newest first, those whose ID sorts
// below before ("" = from the newest), at most limit of them (all when
// limit <= 0). Values in Changes come back as JSON decodes them: strings,
// json.Number, bool, nil, []any and map[string]any.
func (s *Store) ListAudit(ctx context.Context, tenantID, userID, before string, n int) ([]*directory.AuditEntry, error) {
	q, args := `SELECT `+auditColumns+` FROM audit WHERE tenant_id = $1 AND user_id = $2 ORDER BY id DESC LIMIT $3`,
		[]any{tenantID, userID, limit(n)}
	if before != "" {
		q, args = `SELECT `+auditColumns+` FROM audit WHERE tenant_id = $1 AND user_id = $2 AND id < $3 ORDER BY id DESC LIMIT $4`,
			[]any{tenantID, userID, before, limit(n)}
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrapErr("list audit", err)
	}
	as, err := collect(rows, scanAudit)
	return as, wrapErr("list audit", err)
}

func scanAudit(row pgx.Row) (*directory.AuditEntry, error) {
	var (
		a       directory.AuditEntry
		at      time.Time
		changes []byte
	)
	if err := row.Scan(&a.TenantID, &a.ID, &a.UserID, &a.Action, &a.Actor.KeyID, &a.Actor.ActingUserID,
		&a.RequestID, &at, &changes); err != nil {
		return nil, err
	}
	if err := decodeJSON(changes, &a.Changes); err != nil {
		return nil, fmt.Errorf("entry %s: changes: %w", a.ID, err)
	}
	a.Actor.RequestID, a.At = a.RequestID, at.UTC()
	return &a, nil
}

// InsertEvent writes e to the outbox with the given deliveries of it, each
// pending unless its Status says otherwise. A delivery's empty TenantID,
// EventID and UserID are set to e's; a delivery of another event is an
// error. The event and its deliveries are sent with the transaction's next
// statement (see pipeline).
func (t *tx) InsertEvent(ctx context.Context, e *directory.Event, deliveries []*directory.Delivery) error {
	payload := e.Payload
	if payload == nil {
		payload = []byte{} // pgx sends a nil slice as NULL
	}
	const insertEvent = `INSERT INTO outbox (` + eventColumns + `) VALUES ($1, $2, $3, $4, $5, $6)`
	eventArgs := []any{e.ID, e.TenantID, e.UserID, e.Type, payload, ts(e.CreatedAt)}
	if len(deliveries) == 0 {
		t.tx.later("insert event", insertEvent, eventArgs...)
		return nil
	}

	var c deliveryColumns
	for _, d := range deliveries {
		for _, f := range []struct {
			dst        *string
			want, name string
		}{
			{&d.TenantID, e.TenantID, "tenant"},
			{&d.EventID, e.ID, "event"},
			{&d.UserID, e.UserID, "user"},
		} {
			if *f.dst == "" {
				*f.dst = f.want
			} else if *f.dst != f.want {
				return fmt.Errorf("postgres: insert event: delivery %s has %s %s, the event %s", d.ID, f.name, *f.dst, f.want)
			}
		}
		if d.Status == "" {
			d.Status = directory.DeliveryPending
		}
		c.add(d)
	}
	t.tx.later("insert event", insertEvent, eventArgs...)
	t.tx.later("insert event", `INSERT INTO deliveries (`+deliveryColumnList+`)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[],
			$8::timestamptz[], $9::timestamptz[], $10::timestamptz[], $11::int[], $12::text[])`, c.args()...)
	return nil
}

// ListEvents lists a tenant's outbox events oldest first, those whose ID
// sorts above after ("" = from the oldest), at most limit of them (all when
// limit <= 0). Only tests read the outbox so (see storetest.Inspector).
func (s *Store) ListEvents(ctx context.Context, tenantID, after string, n int) ([]*directory.Event, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT `+eventColumns+` FROM outbox WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		tenantID, after, limit(n))
	if err != nil {
		return nil, wrapErr("list events", err)
	}
	es, err := collect(rows, scanEvent)
	return es, wrapErr("list events", err)
}

func scanEvent(row pgx.Row) (*directory.Event, error) {
	var e directory.Event
	if err := row.Scan(&e.ID, &e.TenantID, &e.UserID, &e.Type, &e.Payload, &e.CreatedAt); err != nil {
		return nil, err
	}
	e.CreatedAt = e.CreatedAt.UTC()
	return &e, nil
}

const adminAuditColumns = `id, tenant_id, action, actor_key_id, request_id, at, target_id, details`

// InsertAdminAudit adds an entry to the admin audit trail.
func (t *tx) InsertAdminAudit(ctx context.Context, e *directory.AdminAuditEntry) error {
	details, err := encodeJSON(e.Details)
	if err != nil {
		return fmt.Errorf("postgres: insert admin audit: %w", err)
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO admin_audit (`+adminAuditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		e.ID, nullIfEmpty(e.TenantID), e.Action, e.Actor.KeyID, e.RequestID, ts(e.At), e.TargetID, details)
	return wrapErr("insert admin audit", err)
}

// ListAdminAudit lists the tenant's admin audit entries ("": platform
// keys'), newest first.
func (s *Store) ListAdminAudit(ctx context.Context, tenantID, before string, n int) ([]*directory.AdminAuditEntry, error) {
	q, args := newestOfTenant(adminAuditColumns, "admin_audit", tenantID, before, n)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrapErr("list admin audit", err)
	}
	es, err := collect(rows, func(row pgx.Row) (*directory.AdminAuditEntry, error) {
		var (
			e       directory.AdminAuditEntry
			tenant  *string
			at      time.Time
			details []byte
		)
		if err := row.Scan(&e.ID, &tenant, &e.Action, &e.Actor.KeyID, &e.RequestID, &at, &e.TargetID, &details); err != nil {
			return nil, err
		}
		if err := decodeJSON(details, &e.Details); err != nil {
			return nil, fmt.Errorf("admin audit %s: details: %w", e.ID, err)
		}
		e.TenantID, e.At, e.Actor.RequestID = fromNull(tenant), at.UTC(), e.RequestID
		return &e, nil
	})
	return es, wrapErr("list admin audit", err)
}
