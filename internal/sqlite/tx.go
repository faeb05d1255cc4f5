package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// InTx runs fn in one write transaction on the write connection: everything
// fn writes commits together, or nothing does when fn returns an error or
// panics. fn's error is returned as is. Transactions run one at a time: a
// caller waits for the connection, then for another process's write lock,
// at most the busy timeout (5 s) in all, and past it InTx returns an error
// wrapping directory.ErrUnavailable.
//
// fn must not call InTx: the nested call would wait for the connection its
// caller holds.
func (s *Store) InTx(ctx context.Context, fn func(directory.Tx) error) error {
	sqlTx, release, err := s.begin(ctx)
	if err != nil {
		return wrapErr("begin", err)
	}
	defer release()
	// After a commit this is a no-op; after an error or a panic in fn it
	// frees the connection for the next transaction.
	defer sqlTx.Rollback()
	if err := fn(&tx{s: s, tx: sqlTx}); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return wrapErr("commit", err)
	}
	return nil
}

// tx is a directory.Tx.
type tx struct {
	s  *Store
	tx *sql.Tx
}

var _ directory.Tx = (*tx)(nil)

// stmt returns the prepared statement st bound to the transaction.
func (t *tx) stmt(ctx context.Context, st *sql.Stmt) *sql.Stmt {
	return t.tx.StmtContext(ctx, st)
}

// writeTx runs fn in a write transaction of the store's own, for the Store
// methods that write outside InTx. Its errors are not wrapped.
func (s *Store) writeTx(ctx context.Context, fn func(*sql.Tx) error) error {
	sqlTx, release, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer release()
	defer sqlTx.Rollback()
	if err := fn(sqlTx); err != nil {
		return err
	}
	return sqlTx.Commit()
}

// begin takes the write connection and begins an IMMEDIATE transaction on
// it, waiting at most the busy timeout in all: for the transactions of this
// Store queued before it, then for another process's lock. Past it, it
// returns an error wrapping directory.ErrUnavailable, so that writes queued
// behind a lock held elsewhere fail as the first one does instead of each
// waiting a busy timeout more than the one before. Call release once the
// transaction has ended. It leaves the connection's busy_timeout at what was
// left of the wait, so every write transaction starts here.
func (s *Store) begin(ctx context.Context) (tx *sql.Tx, release func(), err error) {
	deadline := time.Now().Add(busyTimeout * time.Millisecond)
	wctx, cancel := context.WithDeadline(ctx, deadline)
	conn, err := s.write.Conn(wctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w: the write connection stayed busy for %d ms", directory.ErrUnavailable, busyTimeout)
		}
		return nil, nil, err
	}
	// The lock gets what is left of the wait.
	left := max(time.Until(deadline).Milliseconds(), 1)
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", left)); err != nil {
		conn.Close()
		return nil, nil, err
	}
	if tx, err = conn.BeginTx(ctx, nil); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return tx, func() { conn.Close() }, nil
}
