package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

const (
	endpointColumns  = `tenant_id, id, url, kind, events, fail_open, timeout_ms, secret, created_at, previous_secret, previous_secret_until`
	listEndpointsSQL = `SELECT ` + endpointColumns + ` FROM webhook_endpoints WHERE tenant_id = ? ORDER BY id`

	deliveryColumns = `id, tenant_id, endpoint_id, event_id, user_id, status, attempts, next_attempt_at,
		created_at, delivered_at, last_status, last_error`
	insertDeliverySQL = `INSERT INTO deliveries (` + deliveryColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

// CreateEndpoint inserts e.
func (t *tx) CreateEndpoint(ctx context.Context, e *directory.Endpoint) error {
	events, err := encodeJSON(e.Events)
	if err != nil {
		return fmt.Errorf("sqlite: create endpoint: %w", err)
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO webhook_endpoints (`+endpointColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.TenantID, e.ID, e.URL, e.Kind, events, e.FailOpen, e.TimeoutMS, e.Secret, millis(e.CreatedAt),
		e.PreviousSecret, nullMillis(e.PreviousUntil))
	return wrapErr("create endpoint", err)
}

// GetEndpoint returns the endpoint (SQLite's single writer keeps it as it
// is until the transaction ends), or an error wrapping directory.ErrNotFound
// unless it is the tenant's.
func (t *tx) GetEndpoint(ctx context.Context, tenantID, id string) (*directory.Endpoint, error) {
	row := t.tx.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE tenant_id = ? AND id = ?`, tenantID, id)
	e, err := scanEndpoint(row)
	if err != nil {
		return nil, wrapErr("get endpoint", err)
	}
	return e, nil
}

// SetEndpointSecrets stores e's secrets: Secret, PreviousSecret and
// PreviousUntil. It returns an error wrapping directory.ErrNotFound if the
// endpoint is gone.
func (t *tx) SetEndpointSecrets(ctx context.Context, e *directory.Endpoint) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE webhook_endpoints SET secret = ?, previous_secret = ?, previous_secret_until = ?
		WHERE tenant_id = ? AND id = ?`, e.Secret, e.PreviousSecret, nullMillis(e.PreviousUntil), e.TenantID, e.ID)
	return wrapErr("set endpoint secrets", oneRow(res, err))
}

// CountEndpoints counts the tenant's endpoints of kind. The transaction
// holds the database's one write lock from its start, so the count holds
// until it ends.
func (t *tx) CountEndpoints(ctx context.Context, tenantID, kind string) (int, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM webhook_endpoints WHERE tenant_id = ? AND kind = ?`, tenantID, kind).Scan(&n)
	return n, wrapErr("count endpoints", err)
}

// DeleteEndpoint deletes the endpoint with all its deliveries, delivered or
// not, and their attempts. It returns an error wrapping
// directory.ErrNotFound unless the endpoint is the tenant's.
func (t *tx) DeleteEndpoint(ctx context.Context, tenantID, id string) error {
	// The foreign keys cascade too; the explicit deletes say what goes.
	for _, q := range []string{
		`DELETE FROM delivery_attempts WHERE delivery_id IN
			(SELECT id FROM deliveries WHERE tenant_id = ?1 AND endpoint_id = ?2)`,
		`DELETE FROM deliveries WHERE tenant_id = ?1 AND endpoint_id = ?2`,
	} {
		if _, err := t.tx.ExecContext(ctx, q, tenantID, id); err != nil {
			return wrapErr("delete endpoint", err)
		}
	}
	res, err := t.tx.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE tenant_id = ? AND id = ?`, tenantID, id)
	return wrapErr("delete endpoint", oneRow(res, err))
}

// GetEndpoint returns the endpoint, or an error wrapping
// directory.ErrNotFound unless it is the tenant's.
func (s *Store) GetEndpoint(ctx context.Context, tenantID, id string) (*directory.Endpoint, error) {
	row := s.read.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE tenant_id = ? AND id = ?`, tenantID, id)
	e, err := scanEndpoint(row)
	if err != nil {
		return nil, wrapErr("get endpoint", err)
	}
	return e, nil
}

// AllEndpoints lists every tenant's endpoints.
func (s *Store) AllEndpoints(ctx context.Context) ([]*directory.Endpoint, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints ORDER BY tenant_id, id`)
	if err != nil {
		return nil, wrapErr("all endpoints", err)
	}
	es, err := collect(rows, scanEndpoint)
	return es, wrapErr("all endpoints", err)
}

// ListEndpoints lists all of a tenant's endpoints, oldest first.
func (s *Store) ListEndpoints(ctx context.Context, tenantID string) ([]*directory.Endpoint, error) {
	rows, err := s.stmts.readListEndpoints.QueryContext(ctx, tenantID)
	if err != nil {
		return nil, wrapErr("list endpoints", err)
	}
	es, err := collect(rows, scanEndpoint)
	return es, wrapErr("list endpoints", err)
}

func scanEndpoint(sc scanner) (*directory.Endpoint, error) {
	var e directory.Endpoint
	dest, done := endpointDest(&e)
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	if err := done(); err != nil {
		return nil, err
	}
	return &e, nil
}

// endpointDest returns the scan destinations of endpointColumns into e, and
// a function that decodes what they cannot hold directly once scanned.
func endpointDest(e *directory.Endpoint) ([]any, func() error) {
	var (
		events  string
		created int64
		until   sql.NullInt64
	)
	dest := []any{&e.TenantID, &e.ID, &e.URL, &e.Kind, &events, &e.FailOpen, &e.TimeoutMS, &e.Secret, &created, &e.PreviousSecret, &until}
	return dest, func() error {
		if err := decodeJSON(events, &e.Events); err != nil {
			return fmt.Errorf("endpoint %s: events: %w", e.ID, err)
		}
		e.CreatedAt = fromMillis(created)
		e.PreviousUntil = nullTime(until)
		return nil
	}
}

// deliveryArgs are the values of deliveryColumns for d.
func deliveryArgs(d *directory.Delivery) []any {
	var delivered any
	if d.DeliveredAt != nil {
		delivered = millis(*d.DeliveredAt)
	}
	return []any{d.ID, d.TenantID, d.EndpointID, d.EventID, d.UserID, d.Status, d.Attempts, millis(d.NextAttemptAt),
		millis(d.CreatedAt), delivered, d.LastStatus, d.LastError}
}

// deliveryDest returns the scan destinations of deliveryColumns into d, and
// a function that sets d's times once they are scanned.
func deliveryDest(d *directory.Delivery) ([]any, func()) {
	var (
		next, created int64
		delivered     sql.NullInt64
	)
	dest := []any{&d.ID, &d.TenantID, &d.EndpointID, &d.EventID, &d.UserID, &d.Status, &d.Attempts, &next,
		&created, &delivered, &d.LastStatus, &d.LastError}
	return dest, func() {
		d.NextAttemptAt, d.CreatedAt = fromMillis(next), fromMillis(created)
		if delivered.Valid {
			t := fromMillis(delivered.Int64)
			d.DeliveredAt = &t
		}
	}
}

func scanDelivery(sc scanner) (*directory.Delivery, error) {
	var d directory.Delivery
	dest, done := deliveryDest(&d)
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	done()
	return &d, nil
}

// ListDeliveries lists an endpoint's deliveries newest first, those whose
// ID sorts below before ("" = from the newest), at most limit of them (all
// when limit <= 0). Another tenant's endpoint has none.
func (s *Store) ListDeliveries(ctx context.Context, tenantID, endpointID, before string, n int) ([]*directory.Delivery, error) {
	q, args := `SELECT `+deliveryColumns+` FROM deliveries WHERE tenant_id = ? AND endpoint_id = ? ORDER BY id DESC LIMIT ?`,
		[]any{tenantID, endpointID, limit(n)}
	if before != "" {
		q, args = `SELECT `+deliveryColumns+` FROM deliveries WHERE tenant_id = ? AND endpoint_id = ? AND id < ? ORDER BY id DESC LIMIT ?`,
			[]any{tenantID, endpointID, before, limit(n)}
	}
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrapErr("list deliveries", err)
	}
	ds, err := collect(rows, scanDelivery)
	return ds, wrapErr("list deliveries", err)
}

// ListAttempts lists the attempts of the tenant's deliveries among
// deliveryIDs, oldest first (attempts at the same millisecond in the order
// they were recorded).
func (s *Store) ListAttempts(ctx context.Context, tenantID string, deliveryIDs []string) ([]*directory.Attempt, error) {
	if len(deliveryIDs) == 0 {
		return nil, nil
	}
	ids, err := encodeJSON(deliveryIDs)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list attempts: %w", err)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT delivery_id, at, status_code, error, duration_ms FROM delivery_attempts
		WHERE tenant_id = ? AND delivery_id IN (SELECT value FROM json_each(?))
		ORDER BY at, rowid`, tenantID, ids)
	if err != nil {
		return nil, wrapErr("list attempts", err)
	}
	as, err := collect(rows, func(sc scanner) (*directory.Attempt, error) {
		var (
			a  directory.Attempt
			at int64
		)
		if err := sc.Scan(&a.DeliveryID, &at, &a.StatusCode, &a.Error, &a.DurationMS); err != nil {
			return nil, err
		}
		a.At = fromMillis(at)
		return &a, nil
	})
	return as, wrapErr("list attempts", err)
}

// claimSQL selects the deliveries to claim, with their endpoints and
// payloads: pending, due, and the first pending delivery of their endpoint
// and user by event ID. The order check looks at every pending delivery,
// due or not: an earlier event that is leased to a dispatcher right now,
// or waiting out its back-off, holds back the later ones.
const claimSQL = `SELECT d.id, d.tenant_id, d.endpoint_id, d.event_id, d.user_id, d.status, d.attempts,
		d.next_attempt_at, d.created_at, d.delivered_at, d.last_status, d.last_error,
		e.tenant_id, e.id, e.url, e.kind, e.events, e.fail_open, e.timeout_ms, e.secret, e.created_at, e.previous_secret, e.previous_secret_until,
		o.payload
	FROM deliveries d
	JOIN webhook_endpoints e ON e.tenant_id = d.tenant_id AND e.id = d.endpoint_id
	JOIN outbox o ON o.id = d.event_id
	WHERE d.status = 'pending' AND d.next_attempt_at <= ?1
		AND NOT EXISTS (SELECT 1 FROM deliveries p
			WHERE p.status = 'pending' AND p.tenant_id = d.tenant_id AND p.endpoint_id = d.endpoint_id
				AND p.user_id = d.user_id AND p.event_id < d.event_id)
	ORDER BY d.next_attempt_at, d.id
	LIMIT ?2`

// ClaimDeliveries leases up to limit due pending deliveries, across
// tenants, by setting their NextAttemptAt to now+lease; the claimed
// deliveries carry that time. It selects and updates in one write
// transaction, and SQLite has one writer at a time across processes, so no
// two calls claim the same delivery within its lease.
func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, n int) ([]*directory.ClaimedDelivery, error) {
	until := now.Add(lease)
	var claimed []*directory.ClaimedDelivery
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, claimSQL, millis(now), limit(n))
		if err != nil {
			return err
		}
		claimed, err = collect(rows, func(sc scanner) (*directory.ClaimedDelivery, error) {
			c := &directory.ClaimedDelivery{Delivery: &directory.Delivery{}}
			dest, done := deliveryDest(c.Delivery)
			var e directory.Endpoint
			edest, edone := endpointDest(&e)
			dest = append(append(dest, edest...), &c.Payload)
			if err := sc.Scan(dest...); err != nil {
				return nil, err
			}
			done()
			if err := edone(); err != nil {
				return nil, err
			}
			c.Endpoint = &e
			return c, nil
		})
		if err != nil || len(claimed) == 0 {
			return err
		}
		ids := make([]string, len(claimed))
		for i, c := range claimed {
			ids[i] = c.Delivery.ID
			c.Delivery.NextAttemptAt = fromMillis(millis(until))
		}
		idsJSON, err := encodeJSON(ids)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE deliveries SET next_attempt_at = ? WHERE id IN (SELECT value FROM json_each(?))`,
			millis(until), idsJSON)
		return err
	})
	if err != nil {
		return nil, wrapErr("claim deliveries", err)
	}
	return claimed, nil
}

// FinishAttempt records a, an attempt of d made by whoever claimed d, and
// updates d's row (not d itself): an attempt with an empty Error succeeded
// and makes the delivery delivered at a.At; any other failed, and the
// delivery, still pending, is due again at next. Attempts grows by one
// either way. A late failure of a delivery that another attempt delivered
// leaves it delivered. Once the event's user is purged, a failure's error
// is recorded as directory.PurgedErrorText. a is recorded as d's whatever its DeliveryID. It
// returns an error wrapping directory.ErrNotFound if the delivery is gone
// (its endpoint was deleted) or is not d.TenantID's.
func (s *Store) FinishAttempt(ctx context.Context, d *directory.Delivery, a *directory.Attempt, next time.Time) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		// A failure's text may quote the receiver's answer, which may echo
		// the payload: once the user is purged (PurgeUser, which runs on
		// the same one writer), it is not stored.
		text := a.Error
		if text != "" {
			var exists bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM deliveries d
				JOIN users u ON u.tenant_id = d.tenant_id AND u.id = d.user_id
				WHERE d.tenant_id = ? AND d.id = ?)`, d.TenantID, d.ID).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				text = directory.PurgedErrorText
			}
		}
		var res sql.Result
		var err error
		if a.Error == "" {
			res, err = tx.ExecContext(ctx, `UPDATE deliveries SET status = 'delivered', attempts = attempts + 1,
				delivered_at = coalesce(delivered_at, ?) WHERE tenant_id = ? AND id = ?`,
				millis(a.At), d.TenantID, d.ID)
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE deliveries SET attempts = attempts + 1, last_status = ?, last_error = ?,
				next_attempt_at = ? WHERE tenant_id = ? AND id = ?`,
				a.StatusCode, text, millis(next), d.TenantID, d.ID)
		}
		if err := oneRow(res, err); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO delivery_attempts (delivery_id, tenant_id, at, status_code, error, duration_ms)
			VALUES (?, ?, ?, ?, ?, ?)`, d.ID, d.TenantID, millis(a.At), a.StatusCode, text, a.DurationMS)
		return err
	})
	return wrapErr("finish attempt", err)
}
