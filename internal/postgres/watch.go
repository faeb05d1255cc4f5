package postgres

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/roster-dev/roster/internal/directory"
)

var _ directory.UserWatcher = (*Store)(nil)

// userChannel is the channel the users table's trigger notifies (migrations
// 0014, 0015).
const userChannel = "roster_users"

// WatchUsers listens on a connection of its own for the notifications the
// users table's trigger sends as each change commits. Every interval it
// makes a round trip on that connection: by the time the answer arrives,
// the server has sent the notifications of the transactions that committed
// before the query, which the ones received on the way are.
func (s *Store) WatchUsers(ctx context.Context, interval time.Duration, changed func([]directory.UserChange), synced func(at time.Time)) error {
	cfg := s.pool.Config().ConnConfig.Config.Copy()
	var (
		mu    sync.Mutex
		batch []directory.UserChange
	)
	cfg.OnNotification = func(_ *pgconn.PgConn, n *pgconn.Notification) {
		c, ok := parseChange(n.Payload)
		if n.Channel != userChannel || !ok {
			return
		}
		mu.Lock()
		batch = append(batch, c)
		mu.Unlock()
	}
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return wrapErr("watch users", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+userChannel).ReadAll(); err != nil {
		return wrapErr("watch users", err)
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		at := time.Now()
		if _, err := conn.Exec(ctx, "SELECT 1").ReadAll(); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return wrapErr("watch users", err)
		}
		mu.Lock()
		refs := batch
		batch = nil
		mu.Unlock()
		if len(refs) > 0 {
			changed(refs)
		}
		synced(at)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// parseChange reads a notification's payload, "tenant_id id version", or
// "tenant_id id" for a deletion (migrations 0014, 0015).
func parseChange(payload string) (directory.UserChange, bool) {
	tenantID, rest, ok := strings.Cut(payload, " ")
	if !ok {
		return directory.UserChange{}, false
	}
	c := directory.UserChange{TenantID: tenantID, ID: rest}
	if id, version, ok := strings.Cut(rest, " "); ok {
		v, err := strconv.ParseInt(version, 10, 64)
		if err != nil {
			return directory.UserChange{}, false
		}
		c.ID, c.Version = id, v
	}
	return c, true
}
