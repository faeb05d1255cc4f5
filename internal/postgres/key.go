package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/internal/directory"
)

// keyColumns are what scanKey reads.
const keyColumns = `id, tenant_id, name, scopes, token_hash, prefix, created_at, expires_at, revoked_at, last_used_at, created_by`

func scanKey(row pgx.Row) (*directory.Key, error) {
	var (
		k                          directory.Key
		tenant                     *string
		created                    time.Time
		expires, revoked, lastUsed *time.Time
	)
	if err := row.Scan(&k.ID, &tenant, &k.Name, &k.Scopes, &k.Hash, &k.Prefix, &created, &expires, &revoked, &lastUsed, &k.CreatedBy); err != nil {
		return nil, err
	}
	k.TenantID, k.Created = fromNull(tenant), created.UTC()
	k.ExpiresAt, k.RevokedAt, k.LastUsedAt = utcPtr(expires), utcPtr(revoked), utcPtr(lastUsed)
	return &k, nil
}

// ofTenant is the predicate of the keys (or admin audit entries) of a
// tenant, "" meaning the platform's, with its argument at $n. A platform
// key's tenant_id is NULL, which no equality matches and which IS NOT
// DISTINCT FROM would match without the index; its predicate still takes
// the argument (NULL), so that the statement's others keep their numbers.
func ofTenant(tenantID string, n int) (string, []any) {
	if tenantID == "" {
		return `tenant_id IS NULL AND $` + fmt.Sprint(n) + `::text IS NULL`, []any{nil}
	}
	return `tenant_id = $` + fmt.Sprint(n), []any{tenantID}
}

// newestOfTenant is the query of a page of table's rows of the tenant ("":
// of no tenant), newest first, from the row before the ID before ("": from
// the newest), and its arguments.
func newestOfTenant(columns, table, tenantID, before string, n int) (string, []any) {
	pred, args := ofTenant(tenantID, 1)
	q := `SELECT ` + columns + ` FROM ` + table + ` WHERE ` + pred
	args = append(args, limit(n))
	if before != "" {
		q += ` AND id < $3`
		args = append(args, before)
	}
	return q + ` ORDER BY id DESC LIMIT $2`, args
}

// KeyByHash returns the key whose token hashes to hash, or an error wrapping
// directory.ErrNotFound. A platform key has an empty TenantID.
func (s *Store) KeyByHash(ctx context.Context, hash []byte) (*directory.Key, error) {
	k, err := scanKey(s.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE token_hash = $1`, hash))
	return k, wrapErr("key by hash", err)
}

// KeysVersion returns the version of all keys, which the trigger of
// migration 0016 raises with every change of a key but its last use.
func (s *Store) KeysVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.pool.QueryRow(ctx, `SELECT version FROM key_version`).Scan(&v)
	return v, wrapErr("keys version", err)
}

// GetKey returns a key of the tenant ("": a platform key), or an error
// wrapping directory.ErrNotFound.
func (s *Store) GetKey(ctx context.Context, tenantID, id string) (*directory.Key, error) {
	return getKey(ctx, s.pool, tenantID, id, "")
}

func getKey(ctx context.Context, q querier, tenantID, id, lock string) (*directory.Key, error) {
	pred, args := ofTenant(tenantID, 2)
	k, err := scanKey(q.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = $1 AND `+pred+lock, append([]any{id}, args...)...))
	return k, wrapErr("get key", err)
}

// KeyByID returns the key with id of any tenant, or an error wrapping
// directory.ErrNotFound.
func (s *Store) KeyByID(ctx context.Context, id string) (*directory.Key, error) {
	k, err := scanKey(s.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = $1`, id))
	return k, wrapErr("key by id", err)
}

// ListKeys lists the tenant's keys ("": the platform keys), newest first.
func (s *Store) ListKeys(ctx context.Context, tenantID, before string, n int) ([]*directory.Key, error) {
	q, args := newestOfTenant(keyColumns, "api_keys", tenantID, before, n)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrapErr("list keys", err)
	}
	ks, err := collect(rows, scanKey)
	return ks, wrapErr("list keys", err)
}

// TouchKey records the key's last use, unless a later one is recorded.
func (s *Store) TouchKey(ctx context.Context, id string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)`, id, ts(at))
	return wrapErr("touch key", err)
}

// CreateKey inserts k; an empty TenantID makes a platform key.
func (t *tx) CreateKey(ctx context.Context, k *directory.Key) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO api_keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		k.ID, nullIfEmpty(k.TenantID), k.Name, k.Scopes, k.Hash, k.Prefix, ts(k.Created),
		tsPtr(k.ExpiresAt), tsPtr(k.RevokedAt), tsPtr(k.LastUsedAt), k.CreatedBy)
	return wrapErr("create key", err)
}

// GetKey returns a key of the tenant, its row locked until the transaction
// ends.
func (t *tx) GetKey(ctx context.Context, tenantID, id string) (*directory.Key, error) {
	return getKey(ctx, t.tx, tenantID, id, " FOR NO KEY UPDATE")
}

// UpdateKey stores k's expiry and revocation.
func (t *tx) UpdateKey(ctx context.Context, k *directory.Key) error {
	pred, args := ofTenant(k.TenantID, 4)
	tag, err := t.tx.Exec(ctx, `UPDATE api_keys SET expires_at = $2, revoked_at = $3 WHERE id = $1 AND `+pred,
		append([]any{k.ID, tsPtr(k.ExpiresAt), tsPtr(k.RevokedAt)}, args...)...)
	if err != nil {
		return wrapErr("update key", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: update key: %w", directory.ErrNotFound)
	}
	return nil
}

// CountManagingKeys counts, and locks, the keys usable at now that manage
// the tenant's keys: admin keys, or for tenantID "" platform keys. Under
// READ COMMITTED a lock that waited on a concurrent revocation re-reads the
// row and drops it from the count once it is revoked.
func (t *tx) CountManagingKeys(ctx context.Context, tenantID string, now time.Time) (int, error) {
	pred, args := ofTenant(tenantID, 2)
	admin := ` AND 'admin' = ANY (scopes)`
	if tenantID == "" {
		admin = ""
	}
	rows, err := t.tx.Query(ctx, `SELECT id FROM api_keys WHERE `+pred+admin+`
		AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1) FOR NO KEY UPDATE`, append([]any{ts(now)}, args...)...)
	if err != nil {
		return 0, wrapErr("count managing keys", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return len(ids), wrapErr("count managing keys", err)
}
