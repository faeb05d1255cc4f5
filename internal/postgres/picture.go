package postgres

import (
	"context"
	"fmt"

	"github.com/roster-dev/roster/internal/directory"
)

// GetPicture returns a user's stored picture, or an error wrapping
// directory.ErrNotFound.
func (s *Store) GetPicture(ctx context.Context, tenantID, userID string) (*directory.Picture, error) {
	var p directory.Picture
	err := s.pool.QueryRow(ctx, `SELECT content_type, data, etag, updated_at FROM pictures WHERE tenant_id = $1 AND user_id = $2`,
		tenantID, userID).Scan(&p.ContentType, &p.Data, &p.ETag, &p.UpdatedAt)
	if err != nil {
		return nil, wrapErr("get picture", err)
	}
	p.UpdatedAt = p.UpdatedAt.UTC()
	return &p, nil
}

// PutPicture stores or replaces a user's picture. It returns an error
// wrapping directory.ErrNotFound if the user is not in the tenant.
func (t *tx) PutPicture(ctx context.Context, tenantID, userID string, p *directory.Picture) error {
	data := p.Data
	if data == nil {
		data = []byte{}
	}
	tag, err := t.tx.Exec(ctx, `INSERT INTO pictures (tenant_id, user_id, content_type, data, etag, updated_at)
		SELECT tenant_id, id, $3, $4, $5, $6 FROM users WHERE tenant_id = $1 AND id = $2
		ON CONFLICT (tenant_id, user_id) DO UPDATE SET content_type = excluded.content_type, data = excluded.data,
			etag = excluded.etag, updated_at = excluded.updated_at`,
		tenantID, userID, p.ContentType, data, p.ETag, ts(p.UpdatedAt))
	if err != nil {
		return wrapErr("put picture", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: put picture: %w", directory.ErrNotFound)
	}
	return nil
}

// DeletePicture removes a user's picture; no error if there is none.
func (t *tx) DeletePicture(ctx context.Context, tenantID, userID string) error {
	_, err := t.tx.Exec(ctx, `DELETE FROM pictures WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID)
	return wrapErr("delete picture", err)
}
