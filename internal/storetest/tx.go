package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

var txTests = []test{
	{"Commit", testTxCommit},
	{"RollbackOnError", testTxRollbackOnError},
	{"RollbackOnPanic", testTxRollbackOnPanic},
}

var concurrencyTests = []test{
	{"NoLostUpdate", testConcurrentUpdates},
	{"UniqueEmailRace", testConcurrentUniqueEmail},
	{"ClaimDeliveries", testConcurrentClaims},
	{"AddWrite", testConcurrentAddWrite},
	{"AddActiveUsers", testConcurrentAddActiveUsers},
	{"GetUserLocks", testTxGetUserLocks},
}

// writeAll creates u and writes its audit entry and event, as the Service
// does for a new user.
func writeAll(t *testing.T, tx directory.Tx, u *directory.User) error {
	t.Helper()
	if err := tx.CreateUser(t.Context(), u); err != nil {
		return err
	}
	if err := tx.InsertAudit(t.Context(), NewAudit(u, directory.EventUserCreated)); err != nil {
		return err
	}
	return tx.InsertEvent(t.Context(), NewEvent(u, directory.EventUserCreated), nil)
}

// countAll returns the number of u's rows: the user, its audit entries and
// its tenant's events.
func countAll(t *testing.T, s directory.Store, u *directory.User) (users, audit, events int) {
	t.Helper()
	switch _, err := s.GetUser(t.Context(), u.TenantID, u.ID); {
	case err == nil:
		users = 1
	case !errors.Is(err, directory.ErrNotFound):
		t.Fatalf("GetUser: %v", err)
	}
	as, err := s.ListAudit(t.Context(), u.TenantID, u.ID, "", 100)
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	es, err := listEvents(t, s, u.TenantID, "", 100)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	return users, len(as), len(es)
}

func testTxCommit(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	u := NewUser(tn.ID, "alice@example.com", "alice")
	inTx(t, s, func(tx directory.Tx) error { return writeAll(t, tx, u) })
	users, audit, events := countAll(t, s, u)
	if users != 1 || audit != 1 || events != 1 {
		t.Errorf("after a committed transaction: got %d users, %d audit entries, %d events; want 1, 1, 1", users, audit, events)
	}
}

func testTxRollbackOnError(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	u := NewUser(tn.ID, "alice@example.com", "alice")
	errAbort := errors.New("abort")
	err := s.InTx(t.Context(), func(tx directory.Tx) error {
		if err := writeAll(t, tx, u); err != nil {
			t.Errorf("writes before the error: %v", err)
		}
		return fmt.Errorf("policy says no: %w", errAbort)
	})
	if !errors.Is(err, errAbort) {
		t.Errorf("InTx: got error %v, want fn's error", err)
	}
	users, audit, events := countAll(t, s, u)
	if users+audit+events != 0 {
		t.Errorf("after a rolled back transaction: got %d users, %d audit entries, %d events; want none", users, audit, events)
	}

	// The store is still usable, and the email is free.
	v := NewUser(tn.ID, "alice@example.com", "alice")
	inTxAfterRollback(t, s, func(tx directory.Tx) error { return writeAll(t, tx, v) })
}

func testTxRollbackOnPanic(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	u := NewUser(tn.ID, "alice@example.com", "alice")
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("InTx with a panicking fn: got panic %v, want it passed on", p)
			}
		}()
		_ = s.InTx(t.Context(), func(tx directory.Tx) error {
			if err := writeAll(t, tx, u); err != nil {
				t.Errorf("writes before the panic: %v", err)
			}
			panic("boom")
		})
	}()
	users, audit, events := countAll(t, s, u)
	if users+audit+events != 0 {
		t.Errorf("after a panic in InTx: got %d users, %d audit entries, %d events; want none", users, audit, events)
	}
	v := NewUser(tn.ID, "alice@example.com", "alice")
	inTxAfterRollback(t, s, func(tx directory.Tx) error { return writeAll(t, tx, v) })
}

// inTxAfterRollback runs fn in a transaction that a transaction left open by
// an earlier failed InTx would block (on its connection or its locks): it
// fails the test instead of hanging when that happens.
func inTxAfterRollback(t *testing.T, s directory.Store, fn func(tx directory.Tx) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.InTx(ctx, fn); err != nil {
		t.Fatalf("InTx after a failed InTx: %v (was the failed transaction left open?)", err)
	}
}

// testTxGetUserLocks: a user read by Tx.GetUser cannot be written by
// another transaction until the reading one ends, so a write decided on
// that read cannot lose a race: the other transaction's optimistic update,
// started meanwhile, is the one that finds the version moved.
func testTxGetUserLocks(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	u := NewUser(tn.ID, "alice@example.com", "alice")
	createUser(t, s, u)
	update := func(tx directory.Tx, name string) error {
		next := *u
		next.Name, next.Version = name, u.Version+1
		return tx.UpdateUser(t.Context(), &next, u.Version)
	}
	locked := make(chan struct{})
	other := make(chan error, 1)
	go func() {
		<-locked
		other <- s.InTx(t.Context(), func(tx directory.Tx) error { return update(tx, "other") })
	}()
	err := s.InTx(t.Context(), func(tx directory.Tx) error {
		if _, err := tx.GetUser(t.Context(), tn.ID, u.ID); err != nil {
			return err
		}
		close(locked)
		// Give the other writer time to reach the row, or to get past it
		// if the read took no lock.
		time.Sleep(200 * time.Millisecond)
		return update(tx, "locker")
	})
	if err != nil {
		t.Fatalf("the locking transaction: %v", err)
	}
	if err := <-other; !errors.Is(err, directory.ErrVersionConflict) {
		t.Errorf("the other writer: got %v, want ErrVersionConflict", err)
	}
	if got := getUser(t, s, tn.ID, u.ID); got.Name != "locker" {
		t.Errorf("name %q, want the locking transaction's", got.Name)
	}
}

// testConcurrentUpdates runs read-modify-write transactions at once on one
// user: each that succeeds bumps the version by one, each that fails does so
// with ErrVersionConflict, and no update is lost.
func testConcurrentUpdates(t *testing.T, s directory.Store) {
	const n = 20
	tn := createTenant(t, s, "Acme")
	u := NewUser(tn.ID, "alice@example.com", "alice")
	createUser(t, s, u)

	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		successes int
		start     = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			<-start
			err := s.InTx(t.Context(), func(tx directory.Tx) error {
				cur, err := tx.GetUser(t.Context(), tn.ID, u.ID)
				if err != nil {
					return err
				}
				prev := cur.Version
				cur.Name = fmt.Sprintf("writer %d", i)
				cur.Metadata = map[string]any{"writer": fmt.Sprint(i)}
				cur.Version = prev + 1
				cur.UpdatedAt = now()
				if err := tx.UpdateUser(t.Context(), cur, prev); err != nil {
					return err
				}
				return tx.InsertAudit(t.Context(), NewAudit(cur, directory.EventUserUpdated))
			})
			switch {
			case err == nil:
				mu.Lock()
				successes++
				mu.Unlock()
			case !errors.Is(err, directory.ErrVersionConflict):
				t.Errorf("writer %d: got error %v, want nil or ErrVersionConflict", i, err)
			}
		})
	}
	close(start)
	wg.Wait()

	if successes == 0 {
		t.Fatalf("no update succeeded")
	}
	got := getUser(t, s, tn.ID, u.ID)
	if want := u.Version + int64(successes); got.Version != want {
		t.Errorf("final version: got %d, want %d (1 + %d successful updates)", got.Version, want, successes)
	}
	as, err := s.ListAudit(t.Context(), tn.ID, u.ID, "", 100)
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	if len(as) != successes {
		t.Errorf("audit entries: got %d, want %d, one per successful update", len(as), successes)
	}
}

// testConcurrentUniqueEmail creates users with one email at once: exactly
// one wins.
func testConcurrentUniqueEmail(t *testing.T, s directory.Store) {
	const n = 10
	tn := createTenant(t, s, "Acme")
	var (
		wg    sync.WaitGroup
		errs  = make([]error, n)
		start = make(chan struct{})
	)
	for i := range n {
		email := "race@example.com"
		if i%2 == 1 {
			email = "Race@Example.COM"
		}
		u := NewUser(tn.ID, email, fmt.Sprintf("racer%d", i))
		wg.Go(func() {
			<-start
			errs[i] = tryCreateUser(t, s, u)
		})
	}
	close(start)
	wg.Wait()

	ok := 0
	for i, err := range errs {
		if err == nil {
			ok++
			continue
		}
		wantUnique(t, fmt.Sprintf("racer %d", i), err, "email")
	}
	if ok != 1 {
		t.Errorf("successful creations: got %d, want 1", ok)
	}
	users, err := s.ListUsers(t.Context(), tn.ID, directory.UserFilter{EmailKey: directory.EmailKey("race@example.com"), Limit: 100})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if len(users) != 1 {
		t.Errorf("users with the email: got %d, want 1", len(users))
	}
}

// testConcurrentAddActiveUsers moves one tenant's active-user counter from
// several transactions at once, without LockTenant: no addition is lost.
func testConcurrentAddActiveUsers(t *testing.T, s directory.Store) {
	const writers, each = 8, 25
	tn := createTenant(t, s, "Acme")
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for i := range writers {
		wg.Go(func() {
			<-start
			for range each {
				err := s.InTx(t.Context(), func(tx directory.Tx) error { return tx.AddActiveUsers(t.Context(), tn.ID, 1) })
				if err != nil {
					t.Errorf("writer %d: AddActiveUsers: %v", i, err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if got := activeUsers(t, s, tn.ID); got != writers*each {
		t.Errorf("active users after concurrent AddActiveUsers(+1): got %d, want %d", got, writers*each)
	}
}
