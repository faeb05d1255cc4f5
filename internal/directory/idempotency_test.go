package directory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// TestCleanIdempotencyDeletesEveryExpiredEntry: more expired entries than
// one batch are all deleted; a live one stays.
func TestCleanIdempotencyDeletesEveryExpiredEntry(t *testing.T) {
	svc, tenant, clock := newService(t)
	ctx := context.Background()
	now := *clock
	claim := func(key string, at time.Time) *directory.IdempotencyEntry {
		t.Helper()
		e := &directory.IdempotencyEntry{TenantID: tenant.ID, Key: key, Fingerprint: []byte(key), Claim: directory.NewIdempotencyClaim(),
			CreatedAt: at, ExpiresAt: at.Add(directory.IdempotencyTTL)}
		got, err := svc.ClaimIdempotency(ctx, e, at.Add(-time.Minute))
		if err != nil || got.Claim != e.Claim {
			t.Fatalf("claim %s: %+v, %v", key, got, err)
		}
		return e
	}
	const expired = 1234
	for i := range expired {
		claim(fmt.Sprintf("old-%d", i), now.Add(-directory.IdempotencyTTL-time.Duration(i+1)*time.Second))
	}
	live := claim("live", now)
	n, err := svc.CleanIdempotency(ctx)
	if err != nil || n != expired {
		t.Fatalf("CleanIdempotency: %d, %v, want %d, nil", n, err, expired)
	}
	if n, err := svc.CleanIdempotency(ctx); err != nil || n != 0 {
		t.Fatalf("CleanIdempotency again: %d, %v, want 0", n, err)
	}
	other := &directory.IdempotencyEntry{TenantID: tenant.ID, Key: "live", Fingerprint: []byte("live"), Claim: "other", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if got, err := svc.ClaimIdempotency(ctx, other, now.Add(-time.Minute)); err != nil || got.Claim != live.Claim {
		t.Errorf("the live entry: %+v, %v, want it kept", got, err)
	}
}
