package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// keyColumns are what scanKey reads.
const keyColumns = `id, tenant_id, name, scopes, token_hash, prefix, created_at, expires_at, revoked_at, last_used_at, created_by`

const keyByHashSQL = `SELECT ` + keyColumns + ` FROM api_keys WHERE token_hash = ?`

func scanKey(sc scanner) (*directory.Key, error) {
	var (
		k                          directory.Key
		tenant                     sql.NullString
		scopes                     string
		created                    int64
		expires, revoked, lastUsed sql.NullInt64
	)
	err := sc.Scan(&k.ID, &tenant, &k.Name, &scopes, &k.Hash, &k.Prefix, &created, &expires, &revoked, &lastUsed, &k.CreatedBy)
	if err != nil {
		return nil, err
	}
	if k.Scopes, err = decodeStrings(scopes); err != nil {
		return nil, fmt.Errorf("key %s: scopes: %w", k.ID, err)
	}
	k.TenantID, k.Created = tenant.String, fromMillis(created)
	k.ExpiresAt, k.RevokedAt, k.LastUsedAt = nullTime(expires), nullTime(revoked), nullTime(lastUsed)
	return &k, nil
}

// KeyByHash returns the key whose token hashes to hash, or an error wrapping
// directory.ErrNotFound. A platform key has an empty TenantID.
func (s *Store) KeyByHash(ctx context.Context, hash []byte) (*directory.Key, error) {
	k, err := scanKey(s.stmts.readKeyByHash.QueryRowContext(ctx, hash))
	return k, wrapErr("key by hash", err)
}

// tenantIs is the predicate of a row's tenant: "" (NULL) is none, as of a
// platform key.
const tenantIs = `tenant_id IS ?`

// newestOfTenant is the query of a page of table's rows of the tenant ("":
// of no tenant), newest first, from the row before the ID before ("": from
// the newest), and its arguments.
func newestOfTenant(columns, table, tenantID, before string, n int) (string, []any) {
	q, args := `SELECT `+columns+` FROM `+table+` WHERE `+tenantIs, []any{nullIfEmpty(tenantID)}
	if before != "" {
		q, args = q+` AND id < ?`, append(args, before)
	}
	return q + ` ORDER BY id DESC LIMIT ?`, append(args, limit(n))
}

// GetKey returns a key of the tenant ("": a platform key), or an error
// wrapping directory.ErrNotFound.
func (s *Store) GetKey(ctx context.Context, tenantID, id string) (*directory.Key, error) {
	k, err := scanKey(s.read.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE `+tenantIs+` AND id = ?`, nullIfEmpty(tenantID), id))
	return k, wrapErr("get key", err)
}

// KeyByID returns the key with id of any tenant, or an error wrapping
// directory.ErrNotFound.
func (s *Store) KeyByID(ctx context.Context, id string) (*directory.Key, error) {
	k, err := scanKey(s.read.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = ?`, id))
	return k, wrapErr("key by id", err)
}

// ListKeys lists the tenant's keys ("": the platform keys), newest first.
func (s *Store) ListKeys(ctx context.Context, tenantID, before string, n int) ([]*directory.Key, error) {
	q, args := newestOfTenant(keyColumns, "api_keys", tenantID, before, n)
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrapErr("list keys", err)
	}
	ks, err := collect(rows, scanKey)
	return ks, wrapErr("list keys", err)
}

// TouchKey records the key's last use, unless a later one is recorded.
func (s *Store) TouchKey(ctx context.Context, id string, at time.Time) error {
	return wrapErr("touch key", s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`,
			millis(at), id, millis(at))
		return err
	}))
}

// CreateKey inserts k; an empty TenantID makes a platform key.
func (t *tx) CreateKey(ctx context.Context, k *directory.Key) error {
	scopes, err := encodeJSON(k.Scopes)
	if err != nil {
		return fmt.Errorf("sqlite: create key: %w", err)
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO api_keys (`+keyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, nullIfEmpty(k.TenantID), k.Name, scopes, k.Hash, k.Prefix, millis(k.Created),
		nullMillis(k.ExpiresAt), nullMillis(k.RevokedAt), nullMillis(k.LastUsedAt), k.CreatedBy)
	return wrapErr("create key", err)
}

// GetKey returns a key of the tenant as this transaction sees it; the one
// writer of SQLite serializes transactions, so it is locked as a lock would.
func (t *tx) GetKey(ctx context.Context, tenantID, id string) (*directory.Key, error) {
	k, err := scanKey(t.tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE `+tenantIs+` AND id = ?`, nullIfEmpty(tenantID), id))
	return k, wrapErr("get key", err)
}

// UpdateKey stores k's expiry and revocation.
func (t *tx) UpdateKey(ctx context.Context, k *directory.Key) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE api_keys SET expires_at = ?, revoked_at = ? WHERE `+tenantIs+` AND id = ?`,
		nullMillis(k.ExpiresAt), nullMillis(k.RevokedAt), nullIfEmpty(k.TenantID), k.ID)
	if err != nil {
		return wrapErr("update key", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlite: update key: %w", directory.ErrNotFound)
	}
	return nil
}

// CountManagingKeys counts the keys usable at now that manage the tenant's
// keys: admin keys, or for tenantID "" platform keys.
func (t *tx) CountManagingKeys(ctx context.Context, tenantID string, now time.Time) (int, error) {
	q := `SELECT count(*) FROM api_keys WHERE tenant_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)
		AND EXISTS (SELECT 1 FROM json_each(scopes) WHERE value = 'admin')`
	args := []any{tenantID, millis(now)}
	if tenantID == "" {
		q = `SELECT count(*) FROM api_keys WHERE tenant_id IS NULL AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)`
		args = args[1:]
	}
	var n int
	err := t.tx.QueryRowContext(ctx, q, args...).Scan(&n)
	return n, wrapErr("count managing keys", err)
}
