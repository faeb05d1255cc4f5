package directory

import (
	"context"
	"crypto/rand"
	"time"
)

// IdempotencyTTL is how long the answer to a request sent with an
// Idempotency-Key is kept and replayed to its retries.
const IdempotencyTTL = 24 * time.Hour

// IdempotencyEntry is an Idempotency-Key of a tenant (TenantID "": of the
// platform routes) as stored: the request it was first sent with and, once
// that request is answered, its answer.
type IdempotencyEntry struct {
	TenantID string
	Key      string
	// Fingerprint identifies the request the key was first sent with; a
	// request with the key and another fingerprint is another request.
	Fingerprint []byte
	// Claim is the random token of the request that holds the entry while
	// it runs: only that request completes or releases it.
	Claim string
	// Done is whether the answer is stored; until then the request runs.
	Done bool
	// Status, Header and Body are the answer, as the HTTP layer encoded
	// them; the Store does not read them.
	Status int
	Header []byte
	Body   []byte
	// UserID is the user the answer is about, if any: purging the user
	// deletes the entry, as the answer may hold the user's data.
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// NewIdempotencyClaim returns a random claim token for ClaimIdempotency.
func NewIdempotencyClaim() string { return rand.Text() }

// ClaimIdempotency stores e, a running entry, unless its tenant and key are
// already held, and returns the entry as stored: e itself (same Claim) when
// the request may run, otherwise the entry of the request that holds the
// key. An expired entry, or a running one created before staleBefore (its
// request's node died), is taken over.
func (s *Service) ClaimIdempotency(ctx context.Context, e *IdempotencyEntry, staleBefore time.Time) (*IdempotencyEntry, error) {
	return s.store.ClaimIdempotency(ctx, e, staleBefore, s.now())
}

// CompleteIdempotency stores the answer of the request that holds e.Claim:
// e's Status, Header and Body. ErrNotFound if that request no longer holds
// the key (the entry was taken over).
func (s *Service) CompleteIdempotency(ctx context.Context, e *IdempotencyEntry) error {
	return s.store.CompleteIdempotency(ctx, e)
}

// ReleaseIdempotency deletes the running entry of tenantID and key that
// claim holds, so that a retry can run the request again. No error if claim
// no longer holds it.
func (s *Service) ReleaseIdempotency(ctx context.Context, tenantID, key, claim string) error {
	return s.store.ReleaseIdempotency(ctx, tenantID, key, claim)
}

// CleanIdempotency deletes every entry expired at the Service's now, in
// batches that each hold the write lock briefly, and returns how many it
// deleted.
func (s *Service) CleanIdempotency(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.store.DeleteExpiredIdempotency(ctx, s.now(), idempotencyCleanBatch)
		total += n
		if err != nil || n < idempotencyCleanBatch {
			return total, err
		}
	}
}

// RunIdempotencyCleaner runs CleanIdempotency now and every interval until
// ctx ends, calling report with each failure.
func (s *Service) RunIdempotencyCleaner(ctx context.Context, interval time.Duration, report func(error)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if _, err := s.CleanIdempotency(ctx); err != nil && ctx.Err() == nil {
			report(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// idempotencyCleanBatch bounds one cleaning statement.
const idempotencyCleanBatch = 500
