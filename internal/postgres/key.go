package postgres

import (
	"context"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// KeyByHash returns the key whose token hashes to hash, or an error wrapping
// directory.ErrNotFound. A platform key has an empty TenantID.
func (s *Store) KeyByHash(ctx context.Context, hash []byte) (*directory.Key, error) {
	var (
		k       directory.Key
		tenant  *string
		created time.Time
	)
	err := s.pool.QueryRow(ctx, `SELECT id, tenant_id, name, scopes, token_hash, created_at FROM api_keys WHERE token_hash = $1`, hash).
		Scan(&k.ID, &tenant, &k.Name, &k.Scopes, &k.Hash, &created)
	if err != nil {
		return nil, wrapErr("key by hash", err)
	}
	k.TenantID, k.Created = fromNull(tenant), created.UTC()
	return &k, nil
}

// CreateKey inserts k; an empty TenantID makes a platform key.
func (t *tx) CreateKey(ctx context.Context, k *directory.Key) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO api_keys (id, tenant_id, name, scopes, token_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		k.ID, nullIfEmpty(k.TenantID), k.Name, k.Scopes, k.Hash, ts(k.Created))
	return wrapErr("create key", err)
}
