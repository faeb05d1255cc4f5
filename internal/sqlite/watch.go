package sqlite

import (
	"context"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

var _ directory.UserWatcher = (*Store)(nil)

// watchBatch bounds how many changes one query of WatchUsers reads.
const watchBatch = 1000

// WatchUsers follows the outbox: every change of a user's row writes the
// user's event in the same transaction, and the one writer gives each event
// a seq in commit order (migration 0010), so the events after the last seq
// seen are the users changed since, by this process or another one on the
// same file. Each poll is one indexed read (outbox_seq), of nothing when
// nothing changed; each change comes with the user's version as of the
// read, which is at least the event's (0 once the user is gone).
func (s *Store) WatchUsers(ctx context.Context, interval time.Duration, changed func([]directory.UserChange), synced func(at time.Time)) error {
	var last int64
	if err := s.read.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM outbox`).Scan(&last); err != nil {
		return wrapErr("watch users", err)
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		at := time.Now()
		for {
			refs, next, err := s.changedSince(ctx, last)
			if err != nil {
				return err
			}
			if len(refs) > 0 {
				changed(refs)
			}
			last = next
			if len(refs) < watchBatch {
				break
			}
		}
		synced(at)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// changedSince returns the users of up to watchBatch events after seq, with
// their current versions, and the seq of the last one (seq itself when
// there is none).
func (s *Store) changedSince(ctx context.Context, seq int64) ([]directory.UserChange, int64, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT o.seq, o.tenant_id, o.user_id, coalesce(u.version, 0)
		FROM outbox o LEFT JOIN users u ON u.tenant_id = o.tenant_id AND u.id = o.user_id
		WHERE o.seq > ? ORDER BY o.seq LIMIT ?`, seq, watchBatch)
	if err != nil {
		return nil, seq, wrapErr("watch users", err)
	}
	defer rows.Close()
	var refs []directory.UserChange
	for rows.Next() {
		var r directory.UserChange
		if err := rows.Scan(&seq, &r.TenantID, &r.ID, &r.Version); err != nil {
			return nil, seq, wrapErr("watch users", err)
		}
		refs = append(refs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, seq, wrapErr("watch users", err)
	}
	return refs, seq, nil
}
