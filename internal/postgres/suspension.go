package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// InsertSuspension adds s to the user. It returns an error wrapping
// directory.ErrNotFound if the user is not in the tenant.
func (t *tx) InsertSuspension(ctx context.Context, tenantID, userID string, s *directory.Suspension) error {
	// INSERT … SELECT: no row, and no foreign key error aborting the
	// transaction, when the user does not exist.
	tag, err := t.tx.Exec(ctx, `INSERT INTO suspensions (tenant_id, id, user_id, reason, created_at, ends_at)
		SELECT tenant_id, $3, id, $4, $5, $6 FROM users WHERE tenant_id = $1 AND id = $2`,
		tenantID, userID, s.ID, s.Reason, ts(s.CreatedAt), tsPtr(s.EndsAt))
	if err != nil {
		return wrapErr("insert suspension", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: insert suspension: %w", directory.ErrNotFound)
	}
	return nil
}

// LiftSuspension marks the suspension lifted at at, so that the user no
// longer carries it. It returns an error wrapping directory.ErrNotFound
// unless id is an unlifted suspension of the user.
func (t *tx) LiftSuspension(ctx context.Context, tenantID, userID, id string, at time.Time) error {
	tag, err := t.tx.Exec(ctx, `UPDATE suspensions SET lifted_at = $4
		WHERE tenant_id = $1 AND user_id = $2 AND id = $3 AND lifted_at IS NULL`, tenantID, userID, id, ts(at))
	if err != nil {
		return wrapErr("lift suspension", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: lift suspension: %w", directory.ErrNotFound)
	}
	return nil
}
