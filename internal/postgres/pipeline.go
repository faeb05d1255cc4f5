package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pipeline is the transaction of InTx on one connection, sent in as few
// round trips as its statements allow. Its BEGIN is not sent on its own: it
// goes with the first statement. The statements whose outcome the caller
// does not wait for (later) go with the next statement that is waited for,
// or with the COMMIT. So the transaction of an update (UPDATE the user,
// INSERT the audit entry and the event, count the write of InCountedTx,
// COMMIT) makes two round trips instead of six, and
// each one costs both processes a write and a read on the socket, and the
// database a wakeup.
//
// An error of a statement sent later is returned by the call that sent it:
// the statement waited for, or Commit.
type pipeline struct {
	conn   *pgx.Conn
	begun  bool     // BEGIN has been sent and succeeded
	queued []queued // sent with the next statement
}

// queued is a statement sent later, the operation its error names, and
// where its one row goes, if it returns one.
type queued struct {
	op, sql string
	args    []any
	scan    []any
}

// beginSQL starts every transaction of InTx (see InTx on the level).
const beginSQL = `BEGIN ISOLATION LEVEL READ COMMITTED`

// errAborted is Commit's error when the database had aborted the
// transaction: COMMIT then rolls it back.
var errAborted = errors.New("the transaction was aborted by an earlier failed statement whose error fn did not return")

// later queues a statement to be sent with the next one waited for.
func (p *pipeline) later(op, sql string, args ...any) {
	p.queued = append(p.queued, queued{op: op, sql: sql, args: args})
}

// laterRow is later for a statement that returns one row, scanned into
// dest when it is sent.
func (p *pipeline) laterRow(dest []any, op, sql string, args ...any) {
	p.queued = append(p.queued, queued{op: op, sql: sql, args: args, scan: dest})
}

// direct reports whether nothing waits to be sent before a statement.
func (p *pipeline) direct() bool { return p.begun && len(p.queued) == 0 }

// send sends BEGIN if needed, the queued statements and then sql, if any, in
// one batch, and reads the results before sql's. The caller reads sql's
// result from the batch and closes it.
func (p *pipeline) send(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	if !p.begun {
		b.Queue(beginSQL)
	}
	for _, q := range p.queued {
		b.Queue(q.sql, q.args...)
	}
	if sql != "" {
		b.Queue(sql, args...)
	}
	queued := p.queued
	p.queued = nil
	br := p.conn.SendBatch(ctx, b)
	if !p.begun {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, wrapErr("begin", err)
		}
		p.begun = true
	}
	for _, q := range queued {
		var err error
		if q.scan != nil {
			err = br.QueryRow().Scan(q.scan...)
		} else {
			_, err = br.Exec()
		}
		if err != nil {
			br.Close()
			return nil, wrapErr(q.op, err)
		}
	}
	return br, nil
}

// Exec runs sql, after what waits to be sent, and returns its command tag.
func (p *pipeline) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if p.direct() {
		return p.conn.Exec(ctx, sql, args...)
	}
	br, err := p.send(ctx, sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	return tag, closeBatch(br, err)
}

// QueryRow runs sql, after what waits to be sent; its Scan reads the result.
func (p *pipeline) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if p.direct() {
		return p.conn.QueryRow(ctx, sql, args...)
	}
	br, err := p.send(ctx, sql, args)
	if err != nil {
		return errRow{err}
	}
	return batchRow{br}
}

// Query runs sql after what waits to be sent, which is sent first on its
// own: the statements that list rows are rare in a write.
func (p *pipeline) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if !p.direct() {
		br, err := p.send(ctx, "", nil)
		if err != nil {
			return nil, err
		}
		if err := br.Close(); err != nil {
			return nil, err
		}
	}
	return p.conn.Query(ctx, sql, args...)
}

// Commit sends what waits to be sent with COMMIT. A transaction that never
// sent a statement has nothing to commit.
func (p *pipeline) Commit(ctx context.Context) error {
	if !p.begun && len(p.queued) == 0 {
		return nil
	}
	br, err := p.send(ctx, "COMMIT", nil)
	if err != nil {
		return err
	}
	tag, err := br.Exec()
	if err = closeBatch(br, err); err != nil {
		return wrapErr("commit", err)
	}
	p.begun = false
	if tag.String() == "ROLLBACK" {
		return errAborted
	}
	return nil
}

// Rollback drops what waits to be sent and rolls back what was.
func (p *pipeline) Rollback(ctx context.Context) error {
	p.queued = nil
	if !p.begun {
		return nil
	}
	p.begun = false
	_, err := p.conn.Exec(ctx, `ROLLBACK`)
	return err
}

// batchRow is the pgx.Row of the last statement of a batch.
type batchRow struct{ br pgx.BatchResults }

func (r batchRow) Scan(dest ...any) error {
	return closeBatch(r.br, r.br.QueryRow().Scan(dest...))
}

// closeBatch closes br after its last result was read with error err, and
// returns err, or else Close's.
func closeBatch(br pgx.BatchResults, err error) error {
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// errRow is a pgx.Row that failed before its statement was read.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
