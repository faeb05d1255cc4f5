package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// ListFeed lists the tenant's events after the cursor in seq order, which
// is commit order (see migration 0010); a cursor's ID is not needed to
// place it. It returns an error wrapping directory.ErrCursorExpired if
// ExpireEvents removed an event after the cursor.
func (s *Store) ListFeed(ctx context.Context, tenantID string, after directory.FeedCursor, n int) ([]directory.FeedEntry, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT seq, `+eventColumns+` FROM outbox
		WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?`, tenantID, int64(after.Pos), limit(n))
	if err != nil {
		return nil, wrapErr("list feed", err)
	}
	es, err := collect(rows, func(sc scanner) (directory.FeedEntry, error) {
		var (
			e       directory.Event
			seq     int64
			created int64
		)
		if err := sc.Scan(&seq, &e.ID, &e.TenantID, &e.UserID, &e.Type, &e.Payload, &created); err != nil {
			return directory.FeedEntry{}, err
		}
		e.CreatedAt = fromMillis(created)
		return directory.FeedEntry{Event: &e, Cursor: directory.FeedCursor{Pos: uint64(seq), ID: e.ID}}, nil
	})
	if err != nil {
		return nil, wrapErr("list feed", err)
	}
	// After the events: an expiry that committed between the two reads
	// shows here, and the answer is then 410 rather than a page with a
	// hole.
	if after.IsZero() {
		return es, nil
	}
	var expired int64
	err = s.read.QueryRowContext(ctx, `SELECT seq FROM outbox_expired WHERE tenant_id = ?`, tenantID).Scan(&expired)
	switch {
	case err == sql.ErrNoRows:
	case err != nil:
		return nil, wrapErr("list feed", err)
	case uint64(expired) > after.Pos:
		return nil, fmt.Errorf("sqlite: list feed: %w", directory.ErrCursorExpired)
	}
	return es, nil
}

// ExpireEvents removes up to limit of the tenant's events created before
// cutoff without a pending delivery, their deliveries and (by cascade)
// their attempts, but never the event with the largest seq of all
// tenants, which the next seq is counted from.
func (s *Store) ExpireEvents(ctx context.Context, tenantID string, cutoff time.Time, n int) (int, error) {
	var removed int
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, seq FROM outbox o
			WHERE tenant_id = ? AND created_at < ? AND seq < (SELECT max(seq) FROM outbox)
			AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = o.id AND d.status = 'pending')
			ORDER BY seq LIMIT ?`, tenantID, millis(cutoff), limit(n))
		if err != nil {
			return err
		}
		type row struct {
			id  string
			seq int64
		}
		gone, err := collect(rows, func(sc scanner) (row, error) {
			var r row
			return r, sc.Scan(&r.id, &r.seq)
		})
		if err != nil || len(gone) == 0 {
			return err
		}
		for _, r := range gone {
			if _, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE event_id = ?`, r.id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE id = ?`, r.id); err != nil {
				return err
			}
		}
		removed = len(gone)
		_, err = tx.ExecContext(ctx, `INSERT INTO outbox_expired (tenant_id, seq) VALUES (?, ?)
			ON CONFLICT (tenant_id) DO UPDATE SET seq = max(seq, excluded.seq)`, tenantID, gone[len(gone)-1].seq)
		return err
	})
	if err != nil {
		return 0, wrapErr("expire events", err)
	}
	return removed, nil
}
