package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

const (
	idempotencyColumns = `tenant_id, key, fingerprint, claim, done, status, headers, body, created_at, expires_at`
	// claimIdempotencySQL inserts a running entry, or takes over one that
	// expired or whose request was abandoned (?7 now, ?8 stale before).
	claimIdempotencySQL = `INSERT INTO idempotency (` + idempotencyColumns + `)
		VALUES (?1, ?2, ?3, ?4, 0, 0, NULL, NULL, ?5, ?6)
		ON CONFLICT (tenant_id, key) DO UPDATE SET
			fingerprint = excluded.fingerprint, claim = excluded.claim, done = 0, status = 0,
			headers = NULL, body = NULL, created_at = excluded.created_at, expires_at = excluded.expires_at
		WHERE idempotency.expires_at <= ?7 OR (idempotency.done = 0 AND idempotency.created_at < ?8)`
)

// ClaimIdempotency inserts e as a running entry unless a live one holds its
// key, and returns the entry the key has now. The insert and the read are
// one write transaction, which SQLite serializes with every other.
func (s *Store) ClaimIdempotency(ctx context.Context, e *directory.IdempotencyEntry, staleBefore, now time.Time) (*directory.IdempotencyEntry, error) {
	var got *directory.IdempotencyEntry
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, claimIdempotencySQL, e.TenantID, e.Key, e.Fingerprint, e.Claim,
			millis(e.CreatedAt), millis(e.ExpiresAt), millis(now), millis(staleBefore))
		if err != nil {
			return err
		}
		got, err = scanIdempotency(tx.QueryRowContext(ctx, `SELECT `+idempotencyColumns+` FROM idempotency WHERE tenant_id = ? AND key = ?`, e.TenantID, e.Key))
		return err
	})
	if err != nil {
		return nil, wrapErr("claim idempotency key", err)
	}
	return got, nil
}

// CompleteIdempotency stores the answer of the request that holds the key.
func (s *Store) CompleteIdempotency(ctx context.Context, e *directory.IdempotencyEntry) error {
	return wrapErr("complete idempotency key", s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE idempotency SET done = 1, status = ?, headers = ?, body = ?, user_id = NULLIF(?, '')
			WHERE tenant_id = ? AND key = ? AND claim = ? AND done = 0`,
			e.Status, e.Header, e.Body, e.UserID, e.TenantID, e.Key, e.Claim)
		return oneRow(res, err)
	}))
}

// ReleaseIdempotency deletes the running entry claim holds.
func (s *Store) ReleaseIdempotency(ctx context.Context, tenantID, key, claim string) error {
	return wrapErr("release idempotency key", s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM idempotency WHERE tenant_id = ? AND key = ? AND claim = ? AND done = 0`, tenantID, key, claim)
		return err
	}))
}

// DeleteExpiredIdempotency deletes up to limit expired entries.
func (s *Store) DeleteExpiredIdempotency(ctx context.Context, now time.Time, limit int) (int, error) {
	var n int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM idempotency WHERE (tenant_id, key) IN (SELECT tenant_id, key FROM idempotency WHERE expires_at <= ? LIMIT ?)`, millis(now), limit)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, wrapErr("delete expired idempotency keys", err)
	}
	return int(n), nil
}

func scanIdempotency(row *sql.Row) (*directory.IdempotencyEntry, error) {
	var e directory.IdempotencyEntry
	var created, expires int64
	if err := row.Scan(&e.TenantID, &e.Key, &e.Fingerprint, &e.Claim, &e.Done, &e.Status, &e.Header, &e.Body, &created, &expires); err != nil {
		return nil, fmt.Errorf("scan idempotency entry: %w", err)
	}
	e.CreatedAt, e.ExpiresAt = fromMillis(created), fromMillis(expires)
	return &e, nil
}
