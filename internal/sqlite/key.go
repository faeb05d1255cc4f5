package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/roster-dev/roster/internal/directory"
)

const keyByHashSQL = `SELECT id, tenant_id, name, scopes, token_hash, created_at FROM api_keys WHERE token_hash = ?`

// KeyByHash returns the key whose token hashes to hash, or an error wrapping
// directory.ErrNotFound. A platform key has an empty TenantID.
func (s *Store) KeyByHash(ctx context.Context, hash []byte) (*directory.Key, error) {
	var (
		k       directory.Key
		tenant  sql.NullString
		scopes  string
		created int64
	)
	err := s.stmts.readKeyByHash.QueryRowContext(ctx, hash).Scan(&k.ID, &tenant, &k.Name, &scopes, &k.Hash, &created)
	if err != nil {
		return nil, wrapErr("key by hash", err)
	}
	if err := decodeJSON(scopes, &k.Scopes); err != nil {
		return nil, fmt.Errorf("sqlite: key by hash: key %s: scopes: %w", k.ID, err)
	}
	k.TenantID, k.Created = tenant.String, fromMillis(created)
	return &k, nil
}

// CreateKey inserts k; an empty TenantID makes a platform key.
func (t *tx) CreateKey(ctx context.Context, k *directory.Key) error {
	scopes, err := encodeJSON(k.Scopes)
	if err != nil {
		return fmt.Errorf("sqlite: create key: %w", err)
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO api_keys (id, tenant_id, name, scopes, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID, nullIfEmpty(k.TenantID), k.Name, scopes, k.Hash, millis(k.Created))
	return wrapErr("create key", err)
}
