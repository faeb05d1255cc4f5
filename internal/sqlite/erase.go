package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// eraser knows whether the WAL may still hold rows as they were before a
// purge. secure_delete overwrites deleted content in the pages of the
// database file, but the WAL keeps every page as each transaction wrote
// it, the purged user's data included, until a checkpoint copies the pages
// back and the WAL is truncated; a checkpoint of SQLite's own (at 1000
// pages) only restarts the WAL, whose old frames stay in the file until
// new ones overwrite them.
type eraser struct {
	// pending is set by PurgeUser, and when the Store opens (a crash may
	// have left a WAL with purged data in it); ErasePurged clears it.
	pending atomic.Bool
}

// checkpointWait is how long ErasePurged waits for readers still reading
// frames of the WAL: a checkpoint that truncates it cannot pass them, and
// this Store's writes wait meanwhile. Readers' transactions are single
// queries, so they are gone long before; when one is not, ErasePurged
// gives up and the purge worker tries again at its next run.
const checkpointWait = 250 * time.Millisecond

// errCheckpointBusy is the error of a checkpoint that readers held up.
var errCheckpointBusy = fmt.Errorf("%w: readers kept the WAL in use; the checkpoint will be tried again", directory.ErrUnavailable)

// ErasePurged, after a purge, copies the WAL into the database file and
// truncates it to nothing (PRAGMA wal_checkpoint(TRUNCATE)), so that no
// file of the database holds what the purge deleted: secure_delete has
// zeroed it in the file's pages, and the -shm file holds only page and
// frame numbers. When nothing was purged since it last succeeded, it does
// nothing: ordinary writes never pay for a checkpoint. It runs on the one
// write connection, so it waits for the write in progress and this Store's
// writes wait for it; it waits for readers at most checkpointWait, past
// which it returns an error wrapping directory.ErrUnavailable and stays
// pending.
func (s *Store) ErasePurged(ctx context.Context) error {
	if !s.erase.pending.Swap(false) {
		return nil
	}
	// A purge that commits from now on sets pending again: it runs on the
	// write connection, which the checkpoint takes only once the purge's
	// transaction has ended.
	if err := s.truncateWAL(ctx); err != nil {
		s.erase.pending.Store(true)
		return wrapErr("erase purged", err)
	}
	return nil
}

func (s *Store) truncateWAL(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(ctx, busyTimeout*time.Millisecond)
	conn, err := s.write.Conn(wctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = errBusy
		}
		return err
	}
	defer conn.Close()
	// beginBy sets the timeout of the next transaction anew.
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", checkpointWait.Milliseconds())); err != nil {
		return err
	}
	var busy, frames, copied int
	if err := conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &frames, &copied); err != nil {
		return err
	}
	if busy != 0 {
		return errCheckpointBusy
	}
	return nil
}
