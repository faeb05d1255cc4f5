package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/internal/directory"
)

const (
	idempotencyColumns = `tenant_id, key, fingerprint, claim, done, status, headers, body, created_at, expires_at`
	// claimIdempotencySQL inserts a running entry, or takes over one that
	// expired or whose request was abandoned ($7 now, $8 stale before). It
	// returns no row when a live entry holds the key.
	claimIdempotencySQL = `INSERT INTO idempotency (` + idempotencyColumns + `)
		VALUES ($1, $2, $3, $4, false, 0, NULL, NULL, $5, $6)
		ON CONFLICT (tenant_id, key) DO UPDATE SET
			fingerprint = excluded.fingerprint, claim = excluded.claim, done = false, status = 0,
			headers = NULL, body = NULL, created_at = excluded.created_at, expires_at = excluded.expires_at
		WHERE idempotency.expires_at <= $7 OR (NOT idempotency.done AND idempotency.created_at < $8)
		RETURNING ` + idempotencyColumns
)

// ClaimIdempotency inserts e as a running entry unless a live one holds its
// key, and returns the entry the key has now. The upsert is atomic; when it
// leaves a live entry, that entry is read next, and if it is gone by then
// (its request released it), the claim is tried again.
func (s *Store) ClaimIdempotency(ctx context.Context, e *directory.IdempotencyEntry, staleBefore, now time.Time) (*directory.IdempotencyEntry, error) {
	for {
		got, err := scanIdempotency(s.pool.QueryRow(ctx, claimIdempotencySQL, e.TenantID, e.Key, e.Fingerprint, e.Claim,
			ts(e.CreatedAt), ts(e.ExpiresAt), ts(now), ts(staleBefore)))
		if !errors.Is(err, pgx.ErrNoRows) {
			return got, wrapErr("claim idempotency key", err)
		}
		got, err = scanIdempotency(s.pool.QueryRow(ctx, `SELECT `+idempotencyColumns+` FROM idempotency WHERE tenant_id = $1 AND key = $2`, e.TenantID, e.Key))
		if !errors.Is(err, pgx.ErrNoRows) {
			return got, wrapErr("claim idempotency key", err)
		}
	}
}

// CompleteIdempotency stores the answer of the request that holds the key.
func (s *Store) CompleteIdempotency(ctx context.Context, e *directory.IdempotencyEntry) error {
	tag, err := s.pool.Exec(ctx, `UPDATE idempotency SET done = true, status = $1, headers = $2, body = $3, user_id = NULLIF($7, '')
		WHERE tenant_id = $4 AND key = $5 AND claim = $6 AND NOT done`,
		e.Status, e.Header, e.Body, e.TenantID, e.Key, e.Claim, e.UserID)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return wrapErr("complete idempotency key", err)
}

// ReleaseIdempotency deletes the running entry claim holds.
func (s *Store) ReleaseIdempotency(ctx context.Context, tenantID, key, claim string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM idempotency WHERE tenant_id = $1 AND key = $2 AND claim = $3 AND NOT done`, tenantID, key, claim)
	return wrapErr("release idempotency key", err)
}

// DeleteExpiredIdempotency deletes up to limit expired entries.
func (s *Store) DeleteExpiredIdempotency(ctx context.Context, now time.Time, limit int) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency WHERE (tenant_id, key) IN
		(SELECT tenant_id, key FROM idempotency WHERE expires_at <= $1 LIMIT $2)`, ts(now), limit)
	if err != nil {
		return 0, wrapErr("delete expired idempotency keys", err)
	}
	return int(tag.RowsAffected()), nil
}

func scanIdempotency(row pgx.Row) (*directory.IdempotencyEntry, error) {
	var e directory.IdempotencyEntry
	if err := row.Scan(&e.TenantID, &e.Key, &e.Fingerprint, &e.Claim, &e.Done, &e.Status, &e.Header, &e.Body, &e.CreatedAt, &e.ExpiresAt); err != nil {
		return nil, err
	}
	e.CreatedAt, e.ExpiresAt = e.CreatedAt.UTC(), e.ExpiresAt.UTC()
	return &e, nil
}
