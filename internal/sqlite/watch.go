package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

var _ directory.UserWatcher = (*Store)(nil)

// watchBatch bounds how many changes one query of WatchUsers reads.
const watchBatch = 1000

// WatchUsers follows the outbox: every change of a user's row writes the
// user's event in the same transaction, and the one writer gives each event
// the next seq (migration 0010), so the events after the last seq seen are
// the users changed since, by this process or another one on the same
// file; each comes with the user's version as of the read, which is at
// least the event's (0 once the user is gone).
//
// A poll reads only the greatest seq when every event since the last poll
// was committed by this Store: the cache over it saw those writes itself
// (all of a node's writes go through it), and reading them back would cost
// a page read per event, since the reader's page cache empties at every
// commit. The count of its events and the greatest seq are read under
// ownMu, which each COMMIT holds, so the count covers exactly the events
// up to that seq.
func (s *Store) WatchUsers(ctx context.Context, interval time.Duration, changed func([]directory.UserChange), synced func(at time.Time)) error {
	conn, err := s.read.Conn(ctx) // its own, so that ownMu never waits for a reader
	if err != nil {
		return wrapErr("watch users", err)
	}
	defer conn.Close()
	at := time.Now()
	last, own, err := s.lastSeq(ctx, conn)
	if err != nil {
		return err
	}
	synced(at)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		at = time.Now()
		upTo, nowOwn, err := s.lastSeq(ctx, conn)
		if err != nil {
			return err
		}
		if upTo-last != nowOwn-own { // another Store wrote
			for last < upTo {
				refs, next, err := s.changedSince(ctx, conn, last, upTo)
				if err != nil {
					return err
				}
				if len(refs) > 0 {
					changed(refs)
				}
				if next == last {
					break // the events were deleted since
				}
				last = next
			}
		}
		last, own = upTo, nowOwn
		synced(at)
	}
}

// lastSeq returns the greatest seq of the outbox and how many events this
// Store committed, as of one moment between its commits.
func (s *Store) lastSeq(ctx context.Context, conn *sql.Conn) (seq, own int64, err error) {
	s.ownMu.Lock()
	defer s.ownMu.Unlock()
	if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM outbox`).Scan(&seq); err != nil {
		return 0, 0, wrapErr("watch users", err)
	}
	return seq, s.ownEvents, nil
}

// changedSince returns the users of up to watchBatch events after seq and
// up to upTo, with their current versions, and the seq of the last one
// (seq itself when there is none).
func (s *Store) changedSince(ctx context.Context, conn *sql.Conn, seq, upTo int64) ([]directory.UserChange, int64, error) {
	rows, err := conn.QueryContext(ctx, `SELECT o.seq, o.tenant_id, o.user_id, coalesce(u.version, 0)
		FROM outbox o LEFT JOIN users u ON u.tenant_id = o.tenant_id AND u.id = o.user_id
		WHERE o.seq > ? AND o.seq <= ? ORDER BY o.seq LIMIT ?`, seq, upTo, watchBatch)
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
