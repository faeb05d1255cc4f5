package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// InTx runs fn in one write transaction on the write connection: everything
// fn writes commits together, or nothing does when fn returns an error or
// panics. fn's error is returned as is, and its panic is raised again in the
// caller. Transactions run one at a time: a caller waits for the connection,
// then for another process's write lock, at most the busy timeout (5 s) in
// all, and past it InTx returns an error wrapping directory.ErrUnavailable.
// If ctx is done before fn starts, InTx returns ctx's error (wrapped); once fn
// has started, ctx no longer cancels the statements of the transaction (see
// group commit below), and InTx reports what became of it.
//
// fn must not call InTx: the nested call would wait for the transaction its
// caller is in, and fail after the busy timeout.
//
// # Group commit
//
// The transactions of concurrent callers are run by one goroutine, the
// committer, in batches: one BEGIN IMMEDIATE, then each caller's fn in a
// SAVEPOINT of its own (released when fn succeeds, rolled back to when it
// fails or panics, so that a failing fn undoes only its own writes), then one
// COMMIT, hence one fsync, for the whole batch. A batch is what is queued
// when the committer is free, at most maxBatch transactions: a lone caller
// waits for no timer.
//
// Batching does not weaken durability: every caller is answered only after
// the COMMIT that contains its writes has returned, and with synchronous=FULL
// that COMMIT returns after the WAL is fsynced. A caller told success has its
// writes on disk; a COMMIT that fails fails every caller of its batch, so no
// caller is told success for writes that were not committed.
func (s *Store) InTx(ctx context.Context, fn func(directory.Tx) error) error {
	return s.run(ctx, &txRequest{fn: fn})
}

// InCountedTx runs fn as InTx does, then counts the write fn returns with
// AddWrite, which costs SQLite no statement of its own (see batch), and
// checks it at once: a failed check fails fn, as its own error would.
func (s *Store) InCountedTx(ctx context.Context, fn func(directory.Tx) (*directory.WriteCount, error)) (directory.Counters, error) {
	r := &txRequest{counted: fn}
	if err := s.run(ctx, r); err != nil {
		return directory.Counters{}, err
	}
	return r.counters, nil
}

// run queues r, with its fn or counted set, for the committer and waits for
// what becomes of it.
func (s *Store) run(ctx context.Context, r *txRequest) error {
	deadline := time.Now().Add(busyTimeout * time.Millisecond)
	if err := ctx.Err(); err != nil {
		return wrapErr("begin", err)
	}
	r.ctx, r.deadline, r.done = ctx, deadline, make(chan txResult, 1)
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	if err := s.group.enqueue(s, r, timer.C); err != nil {
		return err
	}
	var res txResult
	select {
	case res = <-r.done:
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqQueued, reqAbandoned) {
			return wrapErr("begin", ctx.Err())
		}
		res = <-r.done // fn has started: wait for what becomes of it
	case <-timer.C:
		if r.state.CompareAndSwap(reqQueued, reqAbandoned) {
			return wrapErr("begin", errBusy)
		}
		res = <-r.done
	}
	if res.panicked {
		panic(res.panicVal)
	}
	return res.err
}

// maxBatch bounds the transactions committed together.
const maxBatch = 64

// errBusy is the error of a caller that waited the busy timeout for its
// transaction to start.
var errBusy = fmt.Errorf("%w: the write connection stayed busy for %d ms", directory.ErrUnavailable, busyTimeout)

// errClosed is the error of InTx on a closed Store.
var errClosed = errors.New("the store is closed")

// The states of a txRequest: the committer moves a queued request to
// running before it runs fn; the caller moves it to abandoned when its ctx
// is done or its deadline passes first. Whoever moves it answers it.
const (
	reqQueued int32 = iota
	reqRunning
	reqAbandoned
)

// txRequest is a caller's transaction waiting for the committer: fn, or
// counted and the write it returns.
type txRequest struct {
	ctx      context.Context
	fn       func(directory.Tx) error
	counted  func(directory.Tx) (*directory.WriteCount, error)
	counters directory.Counters // of counted's write, set before done is sent
	deadline time.Time          // of the wait for the transaction to start
	state    atomic.Int32
	done     chan txResult // buffered: the committer never waits for the caller
}

// txResult is what became of a txRequest.
type txResult struct {
	err      error
	panicked bool
	panicVal any
}

// claim moves r to running; false if its caller has gone.
func (r *txRequest) claim() bool { return r.state.CompareAndSwap(reqQueued, reqRunning) }

// committer queues the transactions of InTx for the goroutine that runs
// them. It starts with the first InTx; Close stops it.
type committer struct {
	mu      sync.RWMutex // held to send on queue, and to close it
	closed  bool
	once    sync.Once
	queue   chan *txRequest
	stopped chan struct{}

	// beforeCommit, if set (by tests), runs on the batch's transaction
	// before its COMMIT.
	beforeCommit func(*sql.Tx) error
}

// enqueue hands r to the committer, starting it if needed. It gives up with
// ErrUnavailable if the queue stays full until expired fires.
func (c *committer) enqueue(s *Store, r *txRequest, expired <-chan time.Time) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return wrapErr("begin", errClosed)
	}
	c.once.Do(func() {
		c.queue = make(chan *txRequest, 4*maxBatch)
		c.stopped = make(chan struct{})
		go s.commitLoop()
	})
	select {
	case c.queue <- r:
		return nil
	case <-r.ctx.Done():
		return wrapErr("begin", r.ctx.Err())
	case <-expired:
		return wrapErr("begin", errBusy)
	}
}

// close stops the committer once it has run the transactions queued.
func (c *committer) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	c.once.Do(func() {}) // no committer starts after this
	if c.queue != nil {
		close(c.queue)
		<-c.stopped
	}
}

// commitLoop is the committer: it runs what is queued in batches until the
// queue is closed.
func (s *Store) commitLoop() {
	c := &s.group
	drained := false
	defer func() {
		if drained { // not ended by a runtime.Goexit in runBatch
			close(c.stopped)
		}
	}()
	for first := range c.queue {
		batch := []*txRequest{first}
	fill:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-c.queue:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		for len(batch) > 0 {
			batch = s.runBatch(batch)
		}
	}
	drained = true
}

// runBatch runs the requests of batch in one transaction and answers them.
// If the transaction breaks before every request has run (a statement's
// error rolled it back), it answers the requests that ran and returns the
// others, to run in a new transaction.
func (s *Store) runBatch(batch []*txRequest) (rest []*txRequest) {
	// The wait for the write lock lasts until the latest deadline of the
	// batch; the callers whose deadline comes earlier give up on their own.
	var deadline time.Time
	for _, r := range batch {
		if r.deadline.After(deadline) {
			deadline = r.deadline
		}
	}
	// Requests answered at the end, with the batch's outcome.
	var committed []*txRequest // fn succeeded: told the COMMIT's outcome
	var own []*txRequest       // fn failed or panicked: told its own result
	var results []txResult     // of own, in order
	answered := false
	var current *txRequest // claimed, its fn running
	answerAll := func(commitErr error) {
		for _, r := range committed {
			r.done <- txResult{err: commitErr}
		}
		for i, r := range own {
			r.done <- results[i]
		}
		answered = true
	}
	// A runtime.Goexit in an fn (t.FailNow in a test) ends this goroutine:
	// answer everyone and start a new committer.
	defer func() {
		if !answered {
			if current != nil {
				current.done <- txResult{err: wrapErr("commit", errors.New("the transaction ended its goroutine"))}
			}
			answerAll(wrapErr("commit", errors.New("a transaction of the batch ended its goroutine")))
			for _, r := range rest {
				if r.claim() {
					r.done <- txResult{err: wrapErr("begin", errors.New("a transaction of the batch ended its goroutine"))}
				}
			}
			go s.commitLoop() // replaces this one
		}
	}()
	rest = batch

	sqlTx, conn, err := s.beginBy(context.Background(), deadline)
	if err != nil {
		err = wrapErr("begin", err)
		for _, r := range batch {
			if r.claim() {
				r.done <- txResult{err: err}
			}
		}
		rest, answered = nil, true
		return nil
	}
	defer conn.Close()
	defer sqlTx.Rollback() // after a COMMIT, a no-op
	b := newBatch(sqlTx)

	broken := false
	for len(rest) > 0 && !broken {
		r := rest[0]
		rest = rest[1:]
		if !r.claim() {
			continue // its caller has gone
		}
		if err := r.ctx.Err(); err != nil {
			own, results = append(own, r), append(results, txResult{err: wrapErr("begin", err)})
			continue
		}
		if _, err := b.stmt(s.stmts.savepoint).Exec(); err != nil {
			own, results = append(own, r), append(results, txResult{err: wrapErr("savepoint", err)})
			broken = true
			break
		}
		current = r
		res := runFn(r, &tx{s: s, tx: txConn{sqlTx}, b: b})
		current = nil
		if res.err == nil && !res.panicked {
			if _, err := b.stmt(s.stmts.release).Exec(); err != nil {
				own, results = append(own, r), append(results, txResult{err: wrapErr("release savepoint", err)})
				broken = true
				break
			}
			b.keepWrites()
			committed = append(committed, r)
			continue
		}
		own, results = append(own, r), append(results, res)
		b.dropWrites()
		_, err := b.stmt(s.stmts.rollbackTo).Exec()
		if err == nil {
			_, err = b.stmt(s.stmts.release).Exec()
		}
		if err != nil {
			broken = true
		}
	}
	if broken {
		// The transaction is gone (a statement's error rolled it back): the
		// writes of the requests that succeeded in it are lost with it.
		// Nothing of the batch commits; the requests not yet run run anew.
		answerAll(wrapErr("commit", errors.New("the transaction was rolled back by an error of another caller's statement")))
		return rest
	}
	err = b.storeWrites(s)
	if c := s.group.beforeCommit; c != nil && err == nil {
		err = c(sqlTx)
	}
	if err == nil {
		s.ownMu.Lock()
		if err = sqlTx.Commit(); err == nil {
			s.ownEvents += b.events
		}
		s.ownMu.Unlock()
	}
	if err != nil {
		// A failed COMMIT may leave the transaction open on the connection;
		// end it before the connection goes back to the pool.
		_ = sqlTx.Rollback()
		_, _ = conn.ExecContext(context.Background(), `ROLLBACK`)
	}
	answerAll(wrapErr("commit", err))
	return nil
}

// runFn runs r's fn on t, or its counted and then the count of the write
// it returns, catching a panic to raise it again in r's caller.
func runFn(r *txRequest, t *tx) (res txResult) {
	defer func() {
		if v := recover(); v != nil {
			res = txResult{panicked: true, panicVal: v}
		}
	}()
	if r.counted == nil {
		return txResult{err: r.fn(t)}
	}
	wc, err := r.counted(t)
	if err == nil && wc != nil {
		r.counters, err = t.countWrite(*wc)
	}
	return txResult{err: err}
}

// tx is a directory.Tx.
type tx struct {
	s  *Store
	tx txConn
	b  *batch
}

var _ directory.Tx = (*tx)(nil)

// stmt returns the prepared statement st bound to the transaction.
func (t *tx) stmt(st *sql.Stmt) txStmt {
	return txStmt{t.b.stmt(st)}
}

// batch is what the functions run in one group-commit transaction share:
// the prepared statements bound to it, and the writes AddWrite counted,
// which reach the usage table once per tenant and period, right before the
// COMMIT, rather than once per write.
type batch struct {
	tx    *sql.Tx
	stmts map[*sql.Stmt]*sql.Stmt

	// counters holds what AddWrite read in this transaction, the stored
	// count of writes without those counted since. Whatever changes a
	// tenant's row (its active users, its config version) forgets them, as
	// does a function that fails, whose changes were rolled back after it
	// may have read them.
	counters map[usageKey]directory.Counters
	kept     map[usageKey]int64 // counted by functions that succeeded, not yet stored
	running  map[usageKey]int64 // counted by the function running

	// events counts the outbox rows of the functions that succeeded, and
	// eventsRunning those of the function running.
	events, eventsRunning int64
}

// usageKey is a tenant's billing period.
type usageKey struct {
	tenantID string
	period   int64 // Unix milliseconds of its start
}

func newBatch(tx *sql.Tx) *batch {
	return &batch{tx: tx, stmts: map[*sql.Stmt]*sql.Stmt{},
		counters: map[usageKey]directory.Counters{}, kept: map[usageKey]int64{}, running: map[usageKey]int64{}}
}

// stmt returns st bound to the batch's transaction, binding it once.
func (b *batch) stmt(st *sql.Stmt) *sql.Stmt {
	bound, ok := b.stmts[st]
	if !ok {
		bound = b.tx.Stmt(st)
		b.stmts[st] = bound
	}
	return bound
}

// forgetCounters drops the counters read, after a change of a tenant's row.
func (b *batch) forgetCounters() { clear(b.counters) }

// keepWrites keeps the writes counted by the function that just succeeded.
func (b *batch) keepWrites() {
	for k, n := range b.running {
		b.kept[k] += n
	}
	clear(b.running)
	b.events += b.eventsRunning
	b.eventsRunning = 0
}

// dropWrites forgets the function that just failed: its writes, and the
// counters it may have read with its own, rolled back, changes in them.
func (b *batch) dropWrites() {
	clear(b.running)
	b.eventsRunning = 0
	b.forgetCounters()
}

// storeWrites adds the writes counted by the batch's functions to the usage
// table, one statement per tenant and period.
func (b *batch) storeWrites(s *Store) error {
	st := b.stmt(s.stmts.addWrites)
	for k, n := range b.kept {
		if _, err := st.Exec(k.tenantID, k.period, n); err != nil {
			return wrapErr("add writes", err)
		}
	}
	return nil
}

// txConn is the transaction of a batch as one caller's fn sees it. Its
// statements ignore the cancellation of the caller's ctx (its values stay):
// SQLite's interrupt of a write rolls back the whole transaction, with the
// other callers' writes in it.
type txConn struct{ tx *sql.Tx }

func (c txConn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return c.tx.ExecContext(context.WithoutCancel(ctx), q, args...)
}

func (c txConn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return c.tx.QueryContext(context.WithoutCancel(ctx), q, args...)
}

func (c txConn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return c.tx.QueryRowContext(context.WithoutCancel(ctx), q, args...)
}

// txStmt is a prepared statement of a txConn, also deaf to cancellation.
type txStmt struct{ st *sql.Stmt }

func (s txStmt) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	return s.st.ExecContext(context.WithoutCancel(ctx), args...)
}

func (s txStmt) QueryRowContext(ctx context.Context, args ...any) *sql.Row {
	return s.st.QueryRowContext(context.WithoutCancel(ctx), args...)
}

// writeTx runs fn in a write transaction of the store's own, for the Store
// methods that write outside InTx. Its errors are not wrapped.
func (s *Store) writeTx(ctx context.Context, fn func(*sql.Tx) error) error {
	sqlTx, conn, err := s.beginBy(ctx, time.Now().Add(busyTimeout*time.Millisecond))
	if err != nil {
		return err
	}
	defer conn.Close()
	defer sqlTx.Rollback()
	if err := fn(sqlTx); err != nil {
		return err
	}
	return sqlTx.Commit()
}

// beginBy takes the write connection and begins an IMMEDIATE transaction on
// it, waiting at most until deadline in all: for the transactions of this
// Store queued before it, then for another process's lock. Past it, it
// returns an error wrapping directory.ErrUnavailable, so that writes queued
// behind a lock held elsewhere fail as the first one does instead of each
// waiting a busy timeout more than the one before. Close conn once the
// transaction has ended. It leaves the connection's busy_timeout at what was
// left of the wait, so every write transaction starts here.
func (s *Store) beginBy(ctx context.Context, deadline time.Time) (tx *sql.Tx, conn *sql.Conn, err error) {
	wctx, cancel := context.WithDeadline(ctx, deadline)
	conn, err = s.write.Conn(wctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = errBusy
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
	return tx, conn, nil
}
