package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// groupStore opens a store with one tenant.
func groupStore(t *testing.T) (*Store, *directory.Tenant) {
	t.Helper()
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	now := directory.Now()
	tn := &directory.Tenant{ID: directory.NewID(directory.PrefixTenant, now), Name: "T",
		Plan: directory.DefaultPlan(), Settings: directory.DefaultSettings(), Roles: directory.DefaultRoles(), CreatedAt: now, UpdatedAt: now}
	if err := s.InTx(ctx, func(tx directory.Tx) error { return tx.CreateTenant(ctx, tn) }); err != nil {
		t.Fatal(err)
	}
	return s, tn
}

func groupUser(tenantID string, i int) *directory.User {
	now := directory.Now()
	return &directory.User{ID: directory.NewID(directory.PrefixUser, now), TenantID: tenantID,
		Username: fmt.Sprintf("user%d", i), Status: directory.StatusActive, AuthProvider: "local",
		Roles: []string{}, Metadata: map[string]any{}, CreatedAt: now, UpdatedAt: now, Version: 1}
}

// holdCommitter runs a transaction that waits for the returned release
// function, so that the InTx calls made meanwhile queue up for one batch.
// wait(n) waits until n transactions are queued. release waits for the
// holding transaction to end.
func holdCommitter(t *testing.T, s *Store) (wait func(n int), release func()) {
	t.Helper()
	started, unblock, ended := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		ended <- s.InTx(context.Background(), func(directory.Tx) error {
			close(started)
			<-unblock
			return nil
		})
	}()
	<-started
	wait = func(n int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); len(s.group.queue) < n; {
			if time.Now().After(deadline) {
				t.Fatalf("%d transactions queued, want %d", len(s.group.queue), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	release = func() {
		t.Helper()
		close(unblock)
		if err := <-ended; err != nil {
			t.Errorf("holding transaction: %v", err)
		}
	}
	return wait, release
}

// countCommits makes the store count its COMMITs.
func countCommits(s *Store) *int {
	n := new(int) // only the committer goroutine writes it
	s.group.beforeCommit = func(*sql.Tx) error { *n++; return nil }
	return n
}

// TestGroupCommitMixed runs a batch of transactions of which some succeed,
// some fail and some panic: each caller gets its own outcome (its error, its
// panic), and exactly the successful ones' writes are visible, committed
// together.
func TestGroupCommitMixed(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, tn := groupStore(t)
	wait, release := holdCommitter(t, s)
	commits := countCommits(s)

	const n = 30
	type outcome struct {
		err   error
		panic any
	}
	users := make([]*directory.User, n)
	outcomes := make([]outcome, n)
	var wg sync.WaitGroup
	for i := range n {
		users[i] = groupUser(tn.ID, i)
		wg.Go(func() {
			defer func() { outcomes[i].panic = recover() }()
			outcomes[i].err = s.InTx(ctx, func(tx directory.Tx) error {
				if err := tx.CreateUser(ctx, users[i]); err != nil {
					return err
				}
				switch i % 3 {
				case 1:
					return fmt.Errorf("fail %d", i)
				case 2:
					panic(fmt.Sprintf("panic %d", i))
				}
				return nil
			})
		})
		wait(i + 1) // in order, so that the failures come between successes
	}
	release()
	wg.Wait()

	if *commits != 2 { // the holding transaction's and the batch's
		t.Errorf("%d commits, want 2: the queued transactions were not committed together", *commits)
	}
	for i, o := range outcomes {
		_, err := s.GetUser(ctx, tn.ID, users[i].ID)
		switch i % 3 {
		case 0:
			if o.err != nil || o.panic != nil {
				t.Errorf("caller %d: got error %v, panic %v; want success", i, o.err, o.panic)
			}
			if err != nil {
				t.Errorf("caller %d succeeded but its user is not visible: %v", i, err)
			}
		case 1:
			if o.err == nil || o.err.Error() != fmt.Sprintf("fail %d", i) || o.panic != nil {
				t.Errorf("caller %d: got error %v, panic %v; want its own error", i, o.err, o.panic)
			}
		case 2:
			if o.panic != fmt.Sprintf("panic %d", i) {
				t.Errorf("caller %d: got error %v, panic %v; want its own panic", i, o.err, o.panic)
			}
		}
		if i%3 != 0 && !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("caller %d failed but GetUser of its user: got %v, want ErrNotFound", i, err)
		}
	}
}

// TestGroupCommitFailure makes the COMMIT of a batch fail (a foreign key
// violation deferred to it): every caller of the batch gets an error,
// nothing of the batch is visible, and the next transaction works.
func TestGroupCommitFailure(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, tn := groupStore(t)
	wait, release := holdCommitter(t, s)
	commits := countCommits(s)

	const n = 10
	users := make([]*directory.User, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		users[i] = groupUser(tn.ID, i)
		wg.Go(func() {
			errs[i] = s.InTx(ctx, func(dtx directory.Tx) error {
				if i == n/2 {
					// A user of a missing tenant, checked only at COMMIT.
					if _, err := dtx.(*tx).tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
						return err
					}
					orphan := groupUser("ten_missing", i)
					return dtx.CreateUser(ctx, orphan)
				}
				return dtx.CreateUser(ctx, users[i])
			})
		})
		wait(i + 1)
	}
	release()
	wg.Wait()

	if *commits != 2 {
		t.Errorf("%d commits, want 2", *commits)
	}
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "commit") {
			t.Errorf("caller %d: got %v, want the COMMIT's error", i, err)
		}
		if i == n/2 {
			continue
		}
		if _, err := s.GetUser(ctx, tn.ID, users[i].ID); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("user of caller %d after the failed COMMIT: got %v, want ErrNotFound", i, err)
		}
	}
	u := groupUser(tn.ID, n)
	if err := s.InTx(ctx, func(tx directory.Tx) error { return tx.CreateUser(ctx, u) }); err != nil {
		t.Fatalf("InTx after the failed COMMIT: %v", err)
	}
	if _, err := s.GetUser(ctx, tn.ID, u.ID); err != nil {
		t.Errorf("GetUser after the failed COMMIT: %v", err)
	}
}

// TestGroupCommitCanceled: a caller whose ctx is done before its turn is
// answered with ctx's error and its fn does not run; the others commit.
func TestGroupCommitCanceled(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, tn := groupStore(t)
	wait, release := holdCommitter(t, s)

	canceled, cancel := context.WithCancel(ctx)
	ran := make(chan struct{}, 1)
	errCanceled, errOK := make(chan error, 1), make(chan error, 1)
	go func() {
		errCanceled <- s.InTx(canceled, func(directory.Tx) error { ran <- struct{}{}; return nil })
	}()
	wait(1)
	u := groupUser(tn.ID, 0)
	go func() {
		errOK <- s.InTx(ctx, func(tx directory.Tx) error { return tx.CreateUser(ctx, u) })
	}()
	wait(2)
	cancel()
	// The canceled caller returns while the committer is held.
	if err := <-errCanceled; !errors.Is(err, context.Canceled) {
		t.Errorf("canceled caller: got %v, want context.Canceled", err)
	}
	release()
	if err := <-errOK; err != nil {
		t.Errorf("the other caller: %v", err)
	}
	if len(ran) != 0 {
		t.Error("the canceled caller's fn ran")
	}
	if _, err := s.GetUser(ctx, tn.ID, u.ID); err != nil {
		t.Errorf("GetUser: %v", err)
	}
}

// TestGroupCommitCanceledMidBatch: a caller's ctx canceled while its fn
// runs does not interrupt the batch: the other callers commit.
func TestGroupCommitCanceledMidBatch(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, tn := groupStore(t)
	wait, release := holdCommitter(t, s)

	canceled, cancel := context.WithCancel(ctx)
	a, b := groupUser(tn.ID, 0), groupUser(tn.ID, 1)
	var errA, errB error
	var wg sync.WaitGroup
	wg.Go(func() {
		errA = s.InTx(canceled, func(tx directory.Tx) error {
			cancel()
			return tx.CreateUser(canceled, a)
		})
	})
	wait(1)
	wg.Go(func() { errB = s.InTx(ctx, func(tx directory.Tx) error { return tx.CreateUser(ctx, b) }) })
	wait(2)
	release()
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatalf("got %v and %v, want both to commit", errA, errB)
	}
	for _, u := range []*directory.User{a, b} {
		if _, err := s.GetUser(ctx, tn.ID, u.ID); err != nil {
			t.Errorf("GetUser %s: %v", u.Username, err)
		}
	}
}

// TestInTxAfterClose: Close runs what is queued, then InTx fails.
func TestInTxAfterClose(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, tn := groupStore(t)
	wait, release := holdCommitter(t, s)
	u := groupUser(tn.ID, 0)
	var err error
	var wg sync.WaitGroup
	wg.Go(func() { err = s.InTx(ctx, func(tx directory.Tx) error { return tx.CreateUser(ctx, u) }) })
	wait(1)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	time.Sleep(10 * time.Millisecond)
	release()
	wg.Wait()
	if err != nil {
		t.Errorf("transaction queued before Close: %v", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.InTx(ctx, func(directory.Tx) error { return nil }); err == nil {
		t.Error("InTx after Close: got no error")
	}
}

// TestInTxLockedElsewhere: while another connection holds the write lock,
// callers queued one after another each fail with ErrUnavailable about the
// busy timeout after their call, not one busy timeout after the other.
func TestInTxLockedElsewhere(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "roster.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	const n = 4
	took := make([]time.Duration, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			start := time.Now()
			errs[i] = s.InTx(ctx, func(directory.Tx) error { return nil })
			took[i] = time.Since(start)
		})
		time.Sleep(500 * time.Millisecond)
	}
	wg.Wait()
	if _, err := conn.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if !errors.Is(errs[i], directory.ErrUnavailable) {
			t.Errorf("caller %d: got %v, want ErrUnavailable", i, errs[i])
		}
		if took[i] < 4*time.Second || took[i] > 7*time.Second {
			t.Errorf("caller %d failed after %v, want about 5 s", i, took[i])
		}
	}
	if err := s.InTx(ctx, func(directory.Tx) error { return nil }); err != nil {
		t.Errorf("InTx once the lock is released: %v", err)
	}
}

// TestGroupCommitGoexit: an fn that ends its goroutine (runtime.Goexit, as
// t.FailNow does) fails its batch without stopping the store: every caller
// gets an error, nothing of the batch is visible, and InTx still works.
func TestGroupCommitGoexit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, tn := groupStore(t)
	wait, release := holdCommitter(t, s)
	a := groupUser(tn.ID, 0)
	errs := make(chan error, 2)
	go func() { errs <- s.InTx(ctx, func(tx directory.Tx) error { return tx.CreateUser(ctx, a) }) }()
	wait(1)
	go func() { errs <- s.InTx(ctx, func(directory.Tx) error { runtime.Goexit(); return nil }) }()
	wait(2)
	release()
	for range 2 {
		if err := <-errs; err == nil {
			t.Error("a caller of the batch got no error")
		}
	}
	if _, err := s.GetUser(ctx, tn.ID, a.ID); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("GetUser: got %v, want ErrNotFound", err)
	}
	b := groupUser(tn.ID, 1)
	if err := s.InTx(ctx, func(tx directory.Tx) error { return tx.CreateUser(ctx, b) }); err != nil {
		t.Fatalf("InTx after the Goexit: %v", err)
	}
}

// TestGroupCommitBrokenTx: when a caller's statement ends the batch's
// transaction (here a raw ROLLBACK, as SQLite does on some errors), the
// callers that ran before it in the batch get an error and their writes are
// not visible, and the callers after it run in a new transaction.
func TestGroupCommitBrokenTx(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, tn := groupStore(t)
	wait, release := holdCommitter(t, s)
	a, c := groupUser(tn.ID, 0), groupUser(tn.ID, 2)
	errA, errB, errC := make(chan error, 1), make(chan error, 1), make(chan error, 1)
	go func() { errA <- s.InTx(ctx, func(tx directory.Tx) error { return tx.CreateUser(ctx, a) }) }()
	wait(1)
	go func() {
		errB <- s.InTx(ctx, func(dtx directory.Tx) error {
			_, err := dtx.(*tx).tx.ExecContext(ctx, `ROLLBACK`)
			return err
		})
	}()
	wait(2)
	go func() { errC <- s.InTx(ctx, func(tx directory.Tx) error { return tx.CreateUser(ctx, c) }) }()
	wait(3)
	release()
	if err := <-errA; err == nil {
		t.Error("caller before the break: got no error")
	}
	if err := <-errB; err == nil {
		t.Error("caller that broke the transaction: got no error")
	}
	if err := <-errC; err != nil {
		t.Errorf("caller after the break: %v", err)
	}
	if _, err := s.GetUser(ctx, tn.ID, a.ID); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("user of the caller before the break: got %v, want ErrNotFound", err)
	}
	if _, err := s.GetUser(ctx, tn.ID, c.ID); err != nil {
		t.Errorf("user of the caller after the break: %v", err)
	}
}

// TestGroupCommitCountsWrites runs one batch of transactions that count
// writes, some also moving the active-user counter and the config version,
// some failing after that:
// each sees the counts of the successful transactions before it plus its
// own, and only the successful ones' writes and moves are stored, by one
// COMMIT.
func TestGroupCommitCountsWrites(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, tn := groupStore(t)
	period := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	wait, release := holdCommitter(t, s)
	commits := countCommits(s)

	const n = 15
	errFail := errors.New("fail")
	got := make([]directory.Counters, n)
	want := make([]directory.Counters, n)
	writes, active, version := int64(0), int64(0), tn.ConfigVersion // as stored by the successful transactions
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		moves, bumps, fails := int64(0), int64(0), false
		switch i % 5 { // each after one that read the counters
		case 1:
			bumps = 1
		case 2:
			fails = true
		case 3:
			moves = 1
		case 4:
			moves, fails = 5, true
		}
		want[i] = directory.Counters{Writes: writes + 1, ActiveUsers: active + moves, ConfigVersion: version + bumps}
		if !fails {
			writes, active, version = writes+1, active+moves, version+bumps
		}
		wg.Go(func() {
			errs[i] = s.InTx(ctx, func(tx directory.Tx) error {
				if moves != 0 {
					if err := tx.AddActiveUsers(ctx, tn.ID, moves); err != nil {
						return err
					}
				}
				if bumps != 0 {
					if err := tx.BumpConfigVersion(ctx, tn.ID); err != nil {
						return err
					}
				}
				c, err := tx.AddWrite(ctx, tn.ID, period)
				if err != nil {
					return err
				}
				got[i] = c
				if fails {
					return errFail
				}
				return nil
			})
		})
		wait(i + 1)
	}
	release()
	wg.Wait()

	if *commits != 2 {
		t.Errorf("%d commits, want 2: the queued transactions were not committed together", *commits)
	}
	for i := range n {
		if fails := i%5 == 2 || i%5 == 4; fails != errors.Is(errs[i], errFail) || !fails && errs[i] != nil {
			t.Errorf("caller %d: got %v", i, errs[i])
		}
		if got[i] != want[i] {
			t.Errorf("caller %d: AddWrite got %+v, want %+v", i, got[i], want[i])
		}
	}
	u, err := s.Usage(ctx, tn.ID, period)
	if err != nil {
		t.Fatal(err)
	}
	if u.Writes != writes || u.ActiveUsers != active {
		t.Errorf("stored: %d writes, %d active users; want %d, %d", u.Writes, u.ActiveUsers, writes, active)
	}
	// The next batch starts from what the last one stored.
	var c directory.Counters
	if err := s.InTx(ctx, func(tx directory.Tx) error { c, err = tx.AddWrite(ctx, tn.ID, period); return err }); err != nil {
		t.Fatal(err)
	}
	if c.Writes != writes+1 {
		t.Errorf("next batch: AddWrite got %d writes, want %d", c.Writes, writes+1)
	}
}
