package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/internal/directory"
)

const endpointColumns = `tenant_id, id, url, kind, events, fail_open, timeout_ms, secret, created_at, previous_secret, previous_secret_until`

// CreateEndpoint stores e.
func (t *tx) CreateEndpoint(ctx context.Context, e *directory.Endpoint) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO webhook_endpoints (`+endpointColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		e.TenantID, e.ID, e.URL, e.Kind, e.Events, e.FailOpen, e.TimeoutMS, e.Secret, ts(e.CreatedAt), e.PreviousSecret, e.PreviousUntil)
	return wrapErr("create endpoint", err)
}

// GetEndpoint returns the endpoint, its row locked until the transaction
// ends, or an error wrapping directory.ErrNotFound unless it is the
// tenant's.
func (t *tx) GetEndpoint(ctx context.Context, tenantID, id string) (*directory.Endpoint, error) {
	e, err := scanEndpoint(t.tx.QueryRow(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE`, tenantID, id))
	if err != nil {
		return nil, wrapErr("get endpoint", err)
	}
	return e, nil
}

// SetEndpointSecrets stores e's secrets: Secret, PreviousSecret and
// PreviousUntil. It returns an error wrapping directory.ErrNotFound if the
// endpoint is gone.
func (t *tx) SetEndpointSecrets(ctx context.Context, e *directory.Endpoint) error {
	tag, err := t.tx.Exec(ctx, `UPDATE webhook_endpoints SET secret = $1, previous_secret = $2, previous_secret_until = $3
		WHERE tenant_id = $4 AND id = $5`, e.Secret, e.PreviousSecret, e.PreviousUntil, e.TenantID, e.ID)
	if err != nil {
		return wrapErr("set endpoint secrets", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: set endpoint secrets: %w", directory.ErrNotFound)
	}
	return nil
}

// AllEndpoints lists every tenant's endpoints.
func (s *Store) AllEndpoints(ctx context.Context) ([]*directory.Endpoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints ORDER BY tenant_id, id`)
	if err != nil {
		return nil, wrapErr("all endpoints", err)
	}
	es, err := collect(rows, scanEndpoint)
	return es, wrapErr("all endpoints", err)
}

// CountEndpoints counts the tenant's endpoints of kind. Under READ
// COMMITTED the statement sees every endpoint committed before it started:
// after LockTenant, those of the transactions that held the lock before.
func (t *tx) CountEndpoints(ctx context.Context, tenantID, kind string) (int, error) {
	var n int
	err := t.tx.QueryRow(ctx, `SELECT count(*) FROM webhook_endpoints WHERE tenant_id = $1 AND kind = $2`, tenantID, kind).Scan(&n)
	return n, wrapErr("count endpoints", err)
}

// DeleteEndpoint removes the endpoint with its deliveries, pending or not,
// and their attempts. It returns an error wrapping directory.ErrNotFound
// unless the endpoint is the tenant's.
func (t *tx) DeleteEndpoint(ctx context.Context, tenantID, id string) error {
	tag, err := t.tx.Exec(ctx, `DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if err != nil {
		return wrapErr("delete endpoint", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: delete endpoint: %w", directory.ErrNotFound)
	}
	return nil
}

// GetEndpoint returns the endpoint, or an error wrapping
// directory.ErrNotFound unless it is the tenant's.
func (s *Store) GetEndpoint(ctx context.Context, tenantID, id string) (*directory.Endpoint, error) {
	e, err := scanEndpoint(s.pool.QueryRow(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if err != nil {
		return nil, wrapErr("get endpoint", err)
	}
	return e, nil
}

// ListEndpoints lists all of a tenant's endpoints, oldest first.
func (s *Store) ListEndpoints(ctx context.Context, tenantID string) ([]*directory.Endpoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY id`, tenantID)
	if err != nil {
		return nil, wrapErr("list endpoints", err)
	}
	es, err := collect(rows, scanEndpoint)
	return es, wrapErr("list endpoints", err)
}

func scanEndpoint(row pgx.Row) (*directory.Endpoint, error) {
	var e directory.Endpoint
	if err := row.Scan(endpointDest(&e)...); err != nil {
		return nil, err
	}
	e.CreatedAt, e.PreviousUntil = e.CreatedAt.UTC(), utcPtr(e.PreviousUntil)
	return &e, nil
}

// endpointDest returns the scan destinations of endpointColumns into e.
func endpointDest(e *directory.Endpoint) []any {
	return []any{&e.TenantID, &e.ID, &e.URL, &e.Kind, &e.Events, &e.FailOpen, &e.TimeoutMS, &e.Secret, &e.CreatedAt, &e.PreviousSecret, &e.PreviousUntil}
}

// deliveryColumnList are the columns of deliveries in the order of
// deliveryColumns.args and scanDelivery.
const deliveryColumnList = `id, tenant_id, endpoint_id, event_id, user_id, status, attempts, next_attempt_at, created_at,
	delivered_at, last_status, last_error`

// deliveryColumns holds deliveries column by column, to insert them all in
// one statement with unnest.
type deliveryColumns struct {
	id, tenant, endpoint, event, user, status []string
	attempts, lastStatus                      []int
	next, created                             []time.Time
	delivered                                 []*time.Time
	lastError                                 []string
}

func (c *deliveryColumns) add(d *directory.Delivery) {
	c.id = append(c.id, d.ID)
	c.tenant = append(c.tenant, d.TenantID)
	c.endpoint = append(c.endpoint, d.EndpointID)
	c.event = append(c.event, d.EventID)
	c.user = append(c.user, d.UserID)
	c.status = append(c.status, d.Status)
	c.attempts = append(c.attempts, d.Attempts)
	c.next = append(c.next, ts(d.NextAttemptAt))
	c.created = append(c.created, ts(d.CreatedAt))
	c.delivered = append(c.delivered, tsPtr(d.DeliveredAt))
	c.lastStatus = append(c.lastStatus, d.LastStatus)
	c.lastError = append(c.lastError, d.LastError)
}

func (c *deliveryColumns) args() []any {
	return []any{c.id, c.tenant, c.endpoint, c.event, c.user, c.status, c.attempts, c.next, c.created,
		c.delivered, c.lastStatus, c.lastError}
}

func scanDelivery(row pgx.Row) (*directory.Delivery, error) {
	var (
		d         directory.Delivery
		delivered *time.Time
	)
	if err := row.Scan(&d.ID, &d.TenantID, &d.EndpointID, &d.EventID, &d.UserID, &d.Status, &d.Attempts,
		&d.NextAttemptAt, &d.CreatedAt, &delivered, &d.LastStatus, &d.LastError); err != nil {
		return nil, err
	}
	d.NextAttemptAt, d.CreatedAt, d.DeliveredAt = d.NextAttemptAt.UTC(), d.CreatedAt.UTC(), utcPtr(delivered)
	return &d, nil
}

// ListDeliveries lists an endpoint's deliveries newest first, those whose ID
// sorts below before ("" = from the newest), at most limit of them (all
// when limit <= 0).
func (s *Store) ListDeliveries(ctx context.Context, tenantID, endpointID, before string, n int) ([]*directory.Delivery, error) {
	q, args := `SELECT `+deliveryColumnList+` FROM deliveries WHERE tenant_id = $1 AND endpoint_id = $2
		ORDER BY id DESC LIMIT $3`, []any{tenantID, endpointID, limit(n)}
	if before != "" {
		q, args = `SELECT `+deliveryColumnList+` FROM deliveries WHERE tenant_id = $1 AND endpoint_id = $2 AND id < $3
			ORDER BY id DESC LIMIT $4`, []any{tenantID, endpointID, before, limit(n)}
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrapErr("list deliveries", err)
	}
	ds, err := collect(rows, scanDelivery)
	return ds, wrapErr("list deliveries", err)
}

// ListAttempts lists the attempts of the tenant's deliveries among
// deliveryIDs, oldest first.
func (s *Store) ListAttempts(ctx context.Context, tenantID string, deliveryIDs []string) ([]*directory.Attempt, error) {
	if len(deliveryIDs) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT delivery_id, at, status_code, error, duration_ms FROM delivery_attempts
		WHERE tenant_id = $1 AND delivery_id = ANY ($2) ORDER BY at, seq`, tenantID, deliveryIDs)
	if err != nil {
		return nil, wrapErr("list attempts", err)
	}
	as, err := collect(rows, func(row pgx.Row) (*directory.Attempt, error) {
		var a directory.Attempt
		if err := row.Scan(&a.DeliveryID, &a.At, &a.StatusCode, &a.Error, &a.DurationMS); err != nil {
			return nil, err
		}
		a.At = a.At.UTC()
		return &a, nil
	})
	return as, wrapErr("list attempts", err)
}

// claimSQL leases due deliveries in one statement. The CTE picks them,
// soonest due first, skipping any another dispatcher has locked (SKIP
// LOCKED) and any with an earlier pending delivery for the same endpoint and
// user, whether that one is due, leased elsewhere, or waiting to be retried;
// the UPDATE moves their next attempt to the end of the lease and returns
// them with their endpoint and payload, in the order they were picked.
//
// A row that another dispatcher claimed and committed after this statement
// began is either still locked (skipped) or, once unlocked, checked again
// by PostgreSQL against next_attempt_at <= now on its new version, which it
// then fails: no delivery is claimed twice within a lease.
const claimSQL = `WITH due AS (
		SELECT d.id, d.next_attempt_at AS due_at FROM deliveries d
		WHERE d.status = 'pending' AND d.next_attempt_at <= $1
			AND NOT EXISTS (SELECT 1 FROM deliveries p
				WHERE p.status = 'pending' AND p.tenant_id = d.tenant_id AND p.endpoint_id = d.endpoint_id
					AND p.user_id = d.user_id AND p.event_id < d.event_id)
		ORDER BY d.next_attempt_at, d.id
		LIMIT $3
		FOR UPDATE OF d SKIP LOCKED
	), claimed AS (
		UPDATE deliveries d SET next_attempt_at = $2
		FROM due, webhook_endpoints w, outbox o
		WHERE d.id = due.id AND w.tenant_id = d.tenant_id AND w.id = d.endpoint_id AND o.id = d.event_id
		RETURNING due.due_at, d.id, d.tenant_id, d.endpoint_id, d.event_id, d.user_id, d.status, d.attempts,
			d.next_attempt_at, d.created_at, d.delivered_at, d.last_status, d.last_error,
			w.tenant_id AS w_tenant_id, w.id AS w_id, w.url, w.kind, w.events, w.fail_open, w.timeout_ms, w.secret, w.previous_secret, w.previous_secret_until,
			w.created_at AS w_created_at, o.payload
	)
	SELECT id, tenant_id, endpoint_id, event_id, user_id, status, attempts, next_attempt_at, created_at,
		delivered_at, last_status, last_error,
		w_tenant_id, w_id, url, kind, events, fail_open, timeout_ms, secret, w_created_at, previous_secret, previous_secret_until, payload
	FROM claimed ORDER BY due_at, id`

// ClaimDeliveries leases up to limit pending deliveries (all when limit <=
// 0) that are due at now, across tenants, soonest due first, by setting their NextAttemptAt to
// now+lease; see claimSQL for why no two dispatchers, on any node, claim
// one delivery at once. A delivery is claimed only when no pending delivery
// of an earlier event exists for the same endpoint and user.
func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, n int) ([]*directory.ClaimedDelivery, error) {
	rows, err := s.pool.Query(ctx, claimSQL, ts(now), ts(now.Add(lease)), limit(n))
	if err != nil {
		return nil, wrapErr("claim deliveries", err)
	}
	cs, err := collect(rows, func(row pgx.Row) (*directory.ClaimedDelivery, error) {
		var (
			d         directory.Delivery
			e         directory.Endpoint
			delivered *time.Time
			c         = directory.ClaimedDelivery{Delivery: &d, Endpoint: &e}
		)
		dest := append([]any{&d.ID, &d.TenantID, &d.EndpointID, &d.EventID, &d.UserID, &d.Status, &d.Attempts,
			&d.NextAttemptAt, &d.CreatedAt, &delivered, &d.LastStatus, &d.LastError}, endpointDest(&e)...)
		if err := row.Scan(append(dest, &c.Payload)...); err != nil {
			return nil, err
		}
		d.NextAttemptAt, d.CreatedAt, d.DeliveredAt = d.NextAttemptAt.UTC(), d.CreatedAt.UTC(), utcPtr(delivered)
		e.CreatedAt, e.PreviousUntil = e.CreatedAt.UTC(), utcPtr(e.PreviousUntil)
		return &c, nil
	})
	if err != nil {
		return nil, wrapErr("claim deliveries", err)
	}
	return cs, nil
}

// FinishAttempt records an attempt a of the claimed delivery d, updating
// d's row (not d itself). Either way Attempts grows. An attempt with an
// empty Error delivers the delivery at a.At; any other leaves it pending,
// due again at next, with a's status and error as LastStatus and LastError
// (directory.PurgedErrorText instead of the error once the event's user is
// purged). A late failure of a delivery that another attempt delivered
// leaves it delivered. a is recorded as d's whatever its DeliveryID. It
// returns an error wrapping directory.ErrNotFound if the delivery is gone
// (its endpoint was deleted meanwhile).
func (s *Store) FinishAttempt(ctx context.Context, d *directory.Delivery, a *directory.Attempt, next time.Time) error {
	if a.Error == "" {
		return wrapErr("finish attempt", finishAttempt(ctx, s.pool, d, a, "", next))
	}
	// A failure's text may quote the receiver's answer, which may echo the
	// payload: a user's personal data. The user's row is locked first (KEY
	// SHARE, for which updates of the user do not wait, but PurgeUser's
	// DELETE does), so that a purge comes either after this attempt, and
	// erases its text, or before, and then the text is not stored. Both
	// take the user's row before the delivery's: no deadlock.
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		text := directory.PurgedErrorText
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM deliveries d
			JOIN users u ON u.tenant_id = d.tenant_id AND u.id = d.user_id
			WHERE d.tenant_id = $1 AND d.id = $2
			FOR KEY SHARE OF u`, d.TenantID, d.ID).Scan(&one)
		switch {
		case err == nil:
			text = a.Error
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		return finishAttempt(ctx, tx, d, a, text, next)
	})
	return wrapErr("finish attempt", err)
}

// finishAttempt is FinishAttempt's one statement, which records a with
// the error text text.
func finishAttempt(ctx context.Context, q interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}, d *directory.Delivery, a *directory.Attempt, text string, next time.Time) error {
	var seq int64
	return q.QueryRow(ctx, `WITH d AS (
			UPDATE deliveries SET
				status = CASE WHEN $3 THEN 'delivered' ELSE status END,
				delivered_at = CASE WHEN $3 THEN coalesce(delivered_at, $4) ELSE delivered_at END,
				attempts = attempts + 1,
				next_attempt_at = CASE WHEN $3 THEN next_attempt_at ELSE $5 END,
				last_status = CASE WHEN $3 THEN last_status ELSE $6 END,
				last_error = CASE WHEN $3 THEN last_error ELSE $7 END
			WHERE tenant_id = $1 AND id = $2
			RETURNING tenant_id, id
		)
		INSERT INTO delivery_attempts (tenant_id, delivery_id, at, status_code, error, duration_ms)
		SELECT tenant_id, id, $4, $6, $7, $8 FROM d
		RETURNING seq`,
		d.TenantID, d.ID, a.Error == "", ts(a.At), ts(next), a.StatusCode, text, a.DurationMS).Scan(&seq)
}
