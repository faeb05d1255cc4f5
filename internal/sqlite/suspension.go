package sqlite

import (
	"context"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// InsertSuspension adds s to the user, which must exist.
func (t *tx) InsertSuspension(ctx context.Context, tenantID, userID string, s *directory.Suspension) error {
	var ends any
	if s.EndsAt != nil {
		ends = millis(*s.EndsAt)
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO suspensions (tenant_id, id, user_id, reason, created_at, ends_at)
		VALUES (?, ?, ?, ?, ?, ?)`, tenantID, s.ID, userID, s.Reason, millis(s.CreatedAt), ends)
	return wrapErr("insert suspension", err)
}

// LiftSuspension marks the suspension lifted at at; the row stays, but the
// user no longer lists it. It returns an error wrapping
// directory.ErrNotFound unless id is an unlifted suspension of that user.
func (t *tx) LiftSuspension(ctx context.Context, tenantID, userID, id string, at time.Time) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE suspensions SET lifted_at = ?
		WHERE tenant_id = ? AND id = ? AND user_id = ? AND lifted_at IS NULL`, millis(at), tenantID, id, userID)
	return wrapErr("lift suspension", oneRow(res, err))
}
