package storetest

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

var idempotencyTests = []test{
	{"ClaimCompleteReplay", testIdempotencyClaimComplete},
	{"PerTenant", testIdempotencyPerTenant},
	{"Release", testIdempotencyRelease},
	{"TakeOverStale", testIdempotencyStale},
	{"Expired", testIdempotencyExpired},
	{"ConcurrentClaims", testIdempotencyConcurrent},
	{"GoWithTheirUser", testIdempotencyPurged},
}

// newEntry returns a running entry of tenantID and key, created at at.
func newEntry(tenantID, key string, at time.Time) *directory.IdempotencyEntry {
	return &directory.IdempotencyEntry{
		TenantID: tenantID, Key: key, Fingerprint: []byte("fp-" + key),
		Claim: directory.NewIdempotencyClaim(), CreatedAt: at, ExpiresAt: at.Add(directory.IdempotencyTTL),
	}
}

// claimKey claims e at at and fails the test on an error.
func claimKey(t *testing.T, s directory.Store, e *directory.IdempotencyEntry, at time.Time) *directory.IdempotencyEntry {
	t.Helper()
	got, err := s.ClaimIdempotency(t.Context(), e, at.Add(-time.Minute), at)
	if err != nil {
		t.Fatalf("ClaimIdempotency(%s, %s): %v", e.TenantID, e.Key, err)
	}
	return got
}

func testIdempotencyClaimComplete(t *testing.T, s directory.Store) {
	at := now()
	first := newEntry("ten_a", "k1", at)
	if got := claimKey(t, s, first, at); got.Claim != first.Claim || got.Done {
		t.Fatalf("first claim: got claim %q done %v, want %q running", got.Claim, got.Done, first.Claim)
	}
	retry := newEntry("ten_a", "k1", at)
	got := claimKey(t, s, retry, at)
	if got.Claim != first.Claim || got.Done || !bytes.Equal(got.Fingerprint, first.Fingerprint) {
		t.Fatalf("claim while running: got claim %q done %v fp %q, want the first's, running", got.Claim, got.Done, got.Fingerprint)
	}
	done := *first
	done.Status, done.Header, done.Body = 201, []byte(`{"Etag":["\"1\""]}`), []byte(`{"id":"usr_1"}`)
	if err := s.CompleteIdempotency(t.Context(), &done); err != nil {
		t.Fatalf("CompleteIdempotency: %v", err)
	}
	got = claimKey(t, s, retry, at)
	if got.Claim != first.Claim || !got.Done || got.Status != 201 || string(got.Header) != string(done.Header) || string(got.Body) != string(done.Body) {
		t.Fatalf("claim after completion: got %+v, want the first's answer", got)
	}
	if !got.CreatedAt.Equal(at.Truncate(time.Millisecond)) || !got.ExpiresAt.Equal(first.ExpiresAt.Truncate(time.Millisecond)) {
		t.Errorf("times: got %v, %v, want %v, %v", got.CreatedAt, got.ExpiresAt, at, first.ExpiresAt)
	}
	// A second completion, or one by another claim, is refused.
	if err := s.CompleteIdempotency(t.Context(), &done); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("second CompleteIdempotency: got %v, want ErrNotFound", err)
	}
	// A release does not remove a done entry.
	if err := s.ReleaseIdempotency(t.Context(), "ten_a", "k1", first.Claim); err != nil {
		t.Fatalf("ReleaseIdempotency: %v", err)
	}
	if got := claimKey(t, s, newEntry("ten_a", "k1", at), at); !got.Done {
		t.Errorf("after releasing a done entry: got running, want it kept")
	}
}

func testIdempotencyPerTenant(t *testing.T, s directory.Store) {
	at := now()
	a, b, platform := newEntry("ten_a", "same", at), newEntry("ten_b", "same", at), newEntry("", "same", at)
	for _, e := range []*directory.IdempotencyEntry{a, b, platform} {
		if got := claimKey(t, s, e, at); got.Claim != e.Claim {
			t.Errorf("claim of tenant %q: got another request's entry, want its own", e.TenantID)
		}
	}
}

func testIdempotencyRelease(t *testing.T, s directory.Store) {
	at := now()
	first := newEntry("ten_a", "k", at)
	claimKey(t, s, first, at)
	// Another claim's release leaves the entry.
	if err := s.ReleaseIdempotency(t.Context(), "ten_a", "k", "other"); err != nil {
		t.Fatalf("ReleaseIdempotency: %v", err)
	}
	if got := claimKey(t, s, newEntry("ten_a", "k", at), at); got.Claim != first.Claim {
		t.Fatalf("after another's release: got claim %q, want %q", got.Claim, first.Claim)
	}
	if err := s.ReleaseIdempotency(t.Context(), "ten_a", "k", first.Claim); err != nil {
		t.Fatalf("ReleaseIdempotency: %v", err)
	}
	retry := newEntry("ten_a", "k", at)
	if got := claimKey(t, s, retry, at); got.Claim != retry.Claim {
		t.Errorf("after release: got claim %q, want the retry's %q", got.Claim, retry.Claim)
	}
	if err := s.CompleteIdempotency(t.Context(), first); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("completion by the released claim: got %v, want ErrNotFound", err)
	}
}

func testIdempotencyStale(t *testing.T, s directory.Store) {
	at := now()
	old := newEntry("ten_a", "k", at.Add(-10*time.Minute))
	claimKey(t, s, old, at.Add(-10*time.Minute))
	next := newEntry("ten_a", "k", at)
	if got := claimKey(t, s, next, at); got.Claim != next.Claim {
		t.Fatalf("claim over a running entry older than staleBefore: got claim %q, want the new one", got.Claim)
	}
	// A done entry is not stale, however old, until it expires.
	if err := s.CompleteIdempotency(t.Context(), next); err != nil {
		t.Fatalf("CompleteIdempotency: %v", err)
	}
	later := at.Add(time.Hour)
	if got := claimKey(t, s, newEntry("ten_a", "k", later), later); got.Claim != next.Claim {
		t.Errorf("claim over a done entry an hour old: got a new claim, want the done entry")
	}
}

func testIdempotencyExpired(t *testing.T, s directory.Store) {
	at := now()
	old := newEntry("ten_a", "old", at.Add(-25*time.Hour))
	fresh := newEntry("ten_a", "fresh", at)
	for _, e := range []*directory.IdempotencyEntry{old, fresh} {
		claimKey(t, s, e, e.CreatedAt)
		if err := s.CompleteIdempotency(t.Context(), e); err != nil {
			t.Fatalf("CompleteIdempotency: %v", err)
		}
	}
	n, err := s.DeleteExpiredIdempotency(t.Context(), at, 10)
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpiredIdempotency: got %d, %v, want 1, nil", n, err)
	}
	if n, err := s.DeleteExpiredIdempotency(t.Context(), at, 10); err != nil || n != 0 {
		t.Fatalf("DeleteExpiredIdempotency again: got %d, %v, want 0, nil", n, err)
	}
	again := newEntry("ten_a", "old", at)
	if got := claimKey(t, s, again, at); got.Claim != again.Claim {
		t.Errorf("claim of a cleaned key: got claim %q, want the new one", got.Claim)
	}
	if got := claimKey(t, s, newEntry("ten_a", "fresh", at), at); got.Claim != fresh.Claim {
		t.Errorf("the live entry was deleted with the expired one")
	}
	// An expired entry not yet cleaned is taken over too.
	expired := newEntry("ten_a", "expired", at.Add(-25*time.Hour))
	claimKey(t, s, expired, expired.CreatedAt)
	if err := s.CompleteIdempotency(t.Context(), expired); err != nil {
		t.Fatalf("CompleteIdempotency: %v", err)
	}
	over := newEntry("ten_a", "expired", at)
	if got := claimKey(t, s, over, at); got.Claim != over.Claim || got.Done {
		t.Errorf("claim over an expired entry: got claim %q done %v, want the new one, running", got.Claim, got.Done)
	}
}

func testIdempotencyConcurrent(t *testing.T, s directory.Store) {
	at := now()
	const n = 8
	entries := make([]*directory.IdempotencyEntry, n)
	got := make([]*directory.IdempotencyEntry, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		entries[i] = newEntry("ten_a", "race", at)
		wg.Go(func() {
			got[i], errs[i] = s.ClaimIdempotency(t.Context(), entries[i], at.Add(-time.Minute), at)
		})
	}
	wg.Wait()
	winners := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("claim %d: %v", i, errs[i])
		}
		if got[i].Claim == entries[i].Claim {
			winners++
		}
		if got[i].Claim != got[0].Claim {
			t.Errorf("claim %d saw holder %q, claim 0 saw %q", i, got[i].Claim, got[0].Claim)
		}
	}
	if winners != 1 {
		t.Errorf("concurrent claims: %d won, want exactly 1", winners)
	}
}

// testIdempotencyPurged checks that purging a user deletes the answers about
// it, and only those.
func testIdempotencyPurged(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "A")
	gone, kept := NewUser(tn.ID, "gone@example.com", "gone"), NewUser(tn.ID, "kept@example.com", "kept")
	createUser(t, s, gone)
	createUser(t, s, kept)
	at := now()
	for key, user := range map[string]string{"about-gone": gone.ID, "about-kept": kept.ID, "about-none": ""} {
		e := claimKey(t, s, newEntry(tn.ID, key, at), at)
		e.Status, e.Body, e.UserID = 200, []byte(`{}`), user
		if err := s.CompleteIdempotency(t.Context(), e); err != nil {
			t.Fatalf("CompleteIdempotency(%s): %v", key, err)
		}
	}
	inTx(t, s, func(tx directory.Tx) error { return tx.PurgeUser(t.Context(), tn.ID, gone.ID, noScrub) })
	for key, wantDone := range map[string]bool{"about-gone": false, "about-kept": true, "about-none": true} {
		if got := claimKey(t, s, newEntry(tn.ID, key, at), at); got.Done != wantDone {
			t.Errorf("%s after the purge: done %v, want %v", key, got.Done, wantDone)
		}
	}
}
