package sqlite

import (
	"context"

	"github.com/roster-dev/roster/internal/directory"
)

// GetPicture returns the user's stored picture, or an error wrapping
// directory.ErrNotFound.
func (s *Store) GetPicture(ctx context.Context, tenantID, userID string) (*directory.Picture, error) {
	var (
		p       directory.Picture
		updated int64
	)
	err := s.read.QueryRowContext(ctx, `SELECT content_type, data, etag, updated_at FROM pictures WHERE tenant_id = ? AND user_id = ?`,
		tenantID, userID).Scan(&p.ContentType, &p.Data, &p.ETag, &updated)
	if err != nil {
		return nil, wrapErr("get picture", err)
	}
	p.UpdatedAt = fromMillis(updated)
	return &p, nil
}

// PutPicture stores or replaces the user's picture. The user must exist.
func (t *tx) PutPicture(ctx context.Context, tenantID, userID string, p *directory.Picture) error {
	data := p.Data
	if data == nil {
		data = []byte{} // the driver binds a nil slice as NULL
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO pictures (tenant_id, user_id, content_type, data, etag, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, user_id) DO UPDATE SET
			content_type = excluded.content_type, data = excluded.data, etag = excluded.etag, updated_at = excluded.updated_at`,
		tenantID, userID, p.ContentType, data, p.ETag, millis(p.UpdatedAt))
	return wrapErr("put picture", err)
}

// DeletePicture deletes the user's picture, if it has one.
func (t *tx) DeletePicture(ctx context.Context, tenantID, userID string) error {
	_, err := t.tx.ExecContext(ctx, `DELETE FROM pictures WHERE tenant_id = ? AND user_id = ?`, tenantID, userID)
	return wrapErr("delete picture", err)
}
