package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/internal/directory"
)

// feedHorizon is the transaction ID below which every transaction that
// may write this database's outbox has ended, as of the statement's
// snapshot: the xmin of the snapshot, but for the transactions it still
// sees running that pg_stat_activity shows in another database (xids are
// the cluster's, a backend's database never changes). A transaction it
// cannot place (one that ended since the snapshot, a prepared one, one of
// a role whose backend_xid the database role may not read) holds the
// horizon, which only delays the feed; without the pg_read_all_stats role,
// another role's transactions in other databases hold it too.
const feedHorizon = `SELECT coalesce(min(x), pg_snapshot_xmax(pg_current_snapshot()))
	FROM pg_snapshot_xip(pg_current_snapshot()) AS x
	WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.backend_xid = x::xid AND a.datname <> current_database())`

// ListFeed lists the tenant's events after the cursor in (txid, id) order,
// only those of transactions below feedHorizon (see migration 0010): a
// transaction still open, even one that began before those listed, holds
// the feed back until it ends, so that no event commits later behind a
// cursor. xid8 goes through text, which pgx reads without a type of its
// own for it. It returns an error wrapping directory.ErrCursorExpired if
// ExpireEvents removed an event after the cursor.
func (s *Store) ListFeed(ctx context.Context, tenantID string, after directory.FeedCursor, n int) ([]directory.FeedEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT txid::text, `+eventColumns+` FROM outbox
		WHERE tenant_id = $1 AND (txid, id) > ($2::text::xid8, $3)
		AND txid < (`+feedHorizon+`)
		ORDER BY txid, id LIMIT $4`,
		tenantID, strconv.FormatUint(after.Pos, 10), after.ID, limit(n))
	if err != nil {
		return nil, wrapErr("list feed", err)
	}
	es, err := collect(rows, func(row pgx.Row) (directory.FeedEntry, error) {
		var (
			e    directory.Event
			txid string
		)
		if err := row.Scan(&txid, &e.ID, &e.TenantID, &e.UserID, &e.Type, &e.Payload, &e.CreatedAt); err != nil {
			return directory.FeedEntry{}, err
		}
		pos, err := strconv.ParseUint(txid, 10, 64)
		if err != nil {
			return directory.FeedEntry{}, fmt.Errorf("txid %q: %w", txid, err)
		}
		e.CreatedAt = e.CreatedAt.UTC()
		return directory.FeedEntry{Event: &e, Cursor: directory.FeedCursor{Pos: pos, ID: e.ID}}, nil
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
	var expired bool
	err = s.pool.QueryRow(ctx, `SELECT (txid, id) > ($2::text::xid8, $3) FROM outbox_expired WHERE tenant_id = $1`,
		tenantID, strconv.FormatUint(after.Pos, 10), after.ID).Scan(&expired)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return nil, wrapErr("list feed", err)
	case expired:
		return nil, fmt.Errorf("postgres: list feed: %w", directory.ErrCursorExpired)
	}
	return es, nil
}

// ExpireEvents removes up to limit of the tenant's events created before
// cutoff without a pending delivery, their deliveries and (by cascade)
// their attempts, and records the largest position removed.
func (s *Store) ExpireEvents(ctx context.Context, tenantID string, cutoff time.Time, n int) (int, error) {
	var removed int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT txid::text, id FROM outbox o
			WHERE tenant_id = $1 AND created_at < $2
			AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = o.id AND d.status = 'pending')
			ORDER BY txid, id LIMIT $3 FOR UPDATE SKIP LOCKED`, tenantID, ts(cutoff), limit(n))
		if err != nil {
			return err
		}
		type row struct{ txid, id string }
		gone, err := collect(rows, func(r pgx.Row) (row, error) {
			var g row
			return g, r.Scan(&g.txid, &g.id)
		})
		if err != nil || len(gone) == 0 {
			return err
		}
		ids := make([]string, len(gone))
		for i, g := range gone {
			ids[i] = g.id
		}
		if _, err := tx.Exec(ctx, `DELETE FROM deliveries WHERE tenant_id = $1 AND event_id = ANY($2)`, tenantID, ids); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM outbox WHERE tenant_id = $1 AND id = ANY($2)`, tenantID, ids); err != nil {
			return err
		}
		last := gone[len(gone)-1]
		removed = len(gone)
		_, err = tx.Exec(ctx, `INSERT INTO outbox_expired (tenant_id, txid, id) VALUES ($1, $2::text::xid8, $3)
			ON CONFLICT (tenant_id) DO UPDATE SET txid = excluded.txid, id = excluded.id
			WHERE (outbox_expired.txid, outbox_expired.id) < (excluded.txid, excluded.id)`, tenantID, last.txid, last.id)
		return err
	})
	if err != nil {
		return 0, wrapErr("expire events", err)
	}
	return removed, nil
}
