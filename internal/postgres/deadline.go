package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// statementTimeout bounds each statement's round trip to the database when
// the caller set no earlier deadline: a server or network that stops
// answering on an open connection fails the statement with
// directory.ErrUnavailable (503) instead of holding the request forever.
// It matches SQLite's busy timeout, so a lock held longer than that is 503
// on both stores.
const statementTimeout = 5 * time.Second

// deadlineTracer gives every Query, QueryRow and Exec (BEGIN and COMMIT
// included), and every batch, a deadline of statementTimeout, except under
// withoutDeadline.
type deadlineTracer struct{}

type (
	cancelKey     struct{}
	noDeadlineKey struct{}
)

// withoutDeadline marks ctx for statements that may rightly take long, such
// as migrations of a large database.
func withoutDeadline(ctx context.Context) context.Context {
	return context.WithValue(ctx, noDeadlineKey{}, true)
}

func (t deadlineTracer) TraceBatchStart(ctx context.Context, conn *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return t.TraceQueryStart(ctx, conn, pgx.TraceQueryStartData{})
}

func (deadlineTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (t deadlineTracer) TraceBatchEnd(ctx context.Context, conn *pgx.Conn, _ pgx.TraceBatchEndData) {
	t.TraceQueryEnd(ctx, conn, pgx.TraceQueryEndData{})
}

func (deadlineTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	if ctx.Value(noDeadlineKey{}) != nil {
		return ctx
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= statementTimeout {
		return ctx
	}
	ctx, cancel := context.WithTimeout(ctx, statementTimeout)
	return context.WithValue(ctx, cancelKey{}, cancel)
}

func (deadlineTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	if cancel, ok := ctx.Value(cancelKey{}).(context.CancelFunc); ok {
		cancel()
	}
}
