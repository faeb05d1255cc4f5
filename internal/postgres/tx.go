package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/roster-dev/roster/internal/directory"
)

// Retry policy of InTx for transactions the database aborted to break a
// deadlock or a serialization conflict: up to maxAttempts runs, waiting a
// random time ("full jitter") below an exponentially growing cap between
// them, so that the transactions that collided do not collide again.
const (
	maxAttempts  = 5
	retryBackoff = 10 * time.Millisecond // the cap before the second run
	maxBackoff   = 500 * time.Millisecond
)

// InTx runs fn in one write transaction: everything fn writes commits
// together, or nothing does when fn returns an error or panics. fn's error is
// returned as is.
//
// The transaction runs at READ COMMITTED: each statement sees what was
// committed when it started, and the guarantees come from locks and
// constraints rather than from a snapshot. UpdateUser's WHERE version = $n
// is re-checked on the latest row version after waiting for a concurrent
// writer, so it never overwrites an update it did not see; unique indexes
// wait for the competing insert; and after LockTenant returns, counts see
// everything committed by the transaction that held the lock before.
// REPEATABLE READ would break that last point (its snapshot may predate the
// wait for the lock) and make every conflict a serialization failure to
// retry.
//
// If the database aborts the transaction with a deadlock or a serialization
// failure, InTx rolls back and runs fn again from the start, up to 5 times
// with jittered exponential back-off, then returns an error wrapping
// directory.ErrUnavailable. So fn must be safe to run again: it may read
// and write through tx as it likes, but must not have other effects that a
// rollback does not undo (the Service's functions only compute and write
// through tx).
//
// The transaction is pipelined (see pipeline): BEGIN goes with the first
// statement, and InsertAudit and InsertEvent go with the next statement
// fn waits for, or with the COMMIT, whose call then reports their errors;
// so does the count of InCountedTx. A counted update (UpdateUser,
// InsertAudit, InsertEvent, the count, COMMIT) makes two round trips to the
// database, not six.
//
// When a statement fails, PostgreSQL aborts the transaction and refuses
// every further statement in it, so after a Tx method returns an error from
// the database, *directory.UniqueViolation included, fn should return it; if
// fn returns nil anyway, nothing is committed and InTx returns an error.
// ErrNotFound and ErrVersionConflict come from statements that matched no
// row, not from failed ones, and leave the transaction usable. Running the
// statements that may fail in savepoints would lift this, at the cost of a
// subtransaction per user write; the Service never goes on after an error,
// so the store does not pay it.
//
// fn must not call InTx: the inner transaction would be another, on another
// connection, and would wait forever for any lock the outer one holds.
func (s *Store) InTx(ctx context.Context, fn func(directory.Tx) error) error {
	return retry(ctx, func() error { return s.runTx(ctx, func(t *tx) error { return fn(t) }) })
}

// InCountedTx runs fn as InTx does, then queues the count of the write fn
// returns to go with the COMMIT (see countAtCommit): a failed check fails
// the COMMIT, which rolls back everything fn wrote.
func (s *Store) InCountedTx(ctx context.Context, fn func(directory.Tx) (*directory.WriteCount, error)) (directory.Counters, error) {
	var c directory.Counters
	err := retry(ctx, func() error {
		return s.runTx(ctx, func(t *tx) error {
			c = directory.Counters{} // of an earlier run, rolled back
			wc, err := fn(t)
			if err == nil && wc != nil {
				t.countAtCommit(*wc, &c)
			}
			return err
		})
	})
	if err != nil {
		return directory.Counters{}, err
	}
	return c, nil
}

// runTx runs fn in one transaction.
func (s *Store) runTx(ctx context.Context, fn func(*tx) error) (err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return wrapErr("begin", err)
	}
	// A connection left in a transaction (a failed ROLLBACK) is closed by
	// the pool rather than reused.
	defer conn.Release()
	p := &pipeline{conn: conn.Conn()}
	defer func() {
		if err == nil {
			return
		}
		// Also after a panic in fn, which goes on up once this returns. The
		// caller's context may be done already: roll back regardless, or pgx
		// closes the connection.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = p.Rollback(rctx)
	}()
	err = errPanicked // seen by the deferred rollback if fn panics
	if err = fn(&tx{tx: p}); err != nil {
		return err
	}
	if err = p.Commit(ctx); err != nil {
		if errors.Is(err, errAborted) {
			return fmt.Errorf("postgres: commit: %w", err)
		}
		return err
	}
	return nil
}

// errPanicked stands for a panic in fn until fn returns.
var errPanicked = errors.New("postgres: transaction function panicked")

// retry runs run until it returns an error other than a deadlock or
// serialization failure, at most maxAttempts times. Once attempts run out it
// returns the last error, wrapped with directory.ErrUnavailable; if ctx ends
// while waiting, the last error wrapped with ctx's.
func retry(ctx context.Context, run func() error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = run()
		if err == nil || !retryable(err) {
			return err
		}
		if attempt == maxAttempts {
			return fmt.Errorf("postgres: transaction: %w: gave up after %d attempts: %w", directory.ErrUnavailable, attempt, err)
		}
		t := time.NewTimer(backoff(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("postgres: transaction: %w (waiting to retry after: %w)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// backoff returns how long to wait after the given failed attempt (1, 2, …):
// a random duration below retryBackoff·2^(attempt-1), capped at maxBackoff.
func backoff(attempt int) time.Duration {
	ceiling := min(retryBackoff<<(attempt-1), maxBackoff)
	return rand.N(ceiling) + time.Millisecond
}

// retryable reports whether err is a deadlock or a serialization failure:
// the database rolled the transaction back and running it again may succeed.
func retryable(err error) bool {
	pe, ok := errors.AsType[*pgconn.PgError](err)
	return ok && (pe.Code == codeSerializationFailure || pe.Code == codeDeadlockDetected)
}

// tx is a directory.Tx.
type tx struct {
	tx *pipeline
}

var _ directory.Tx = (*tx)(nil)
