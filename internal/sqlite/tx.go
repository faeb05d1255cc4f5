package sqlite

import (
	"context"
	"database/sql"

	"github.com/roster-dev/roster/internal/directory"
)

// InTx runs fn in one write transaction on the write connection: everything
// fn writes commits together, or nothing does when fn returns an error or
// panics. fn's error is returned as is. Transactions run one at a time; a
// caller waits for the connection until ctx is done. InTx returns an error
// wrapping directory.ErrUnavailable if another process holds the write lock
// beyond the busy timeout.
//
// fn must not call InTx: the nested call would wait for the connection its
// caller holds.
func (s *Store) InTx(ctx context.Context, fn func(directory.Tx) error) error {
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr("begin", err)
	}
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
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer sqlTx.Rollback()
	if err := fn(sqlTx); err != nil {
		return err
	}
	return sqlTx.Commit()
}
