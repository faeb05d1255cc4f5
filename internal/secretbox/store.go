package secretbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// Store wraps a directory.Store so that endpoints' signing secrets are
// sealed on their way in and opened on their way out: everything above it
// sees secrets in clear, the database only sealed ones.
type Store struct {
	directory.Store
	box *Box
}

// Wrap returns s with its endpoints' secrets sealed by box.
func Wrap(s directory.Store, box *Box) *Store { return &Store{Store: s, box: box} }

// aad binds a sealed secret to its endpoint and its role, so that it opens
// nowhere else.
func aad(e *directory.Endpoint, role string) string {
	return "roster/webhook_endpoints/" + e.TenantID + "/" + e.ID + "/" + role
}

// sealed returns a copy of e with its secrets sealed.
func (s *Store) sealed(e *directory.Endpoint) *directory.Endpoint {
	c := *e
	c.Secret = s.box.Seal(e.Secret, aad(e, "secret"))
	if e.PreviousSecret != "" {
		c.PreviousSecret = s.box.Seal(e.PreviousSecret, aad(e, "previous_secret"))
	}
	return &c
}

// open opens e's secrets in place, and reports whether both were sealed
// under the current key.
func (s *Store) open(e *directory.Endpoint) (current bool, err error) {
	plain, cur, err := s.box.Open(e.Secret, aad(e, "secret"))
	if err != nil {
		return false, fmt.Errorf("endpoint %s: secret: %w", e.ID, err)
	}
	e.Secret, current = plain, cur
	if e.PreviousSecret != "" {
		plain, cur, err := s.box.Open(e.PreviousSecret, aad(e, "previous_secret"))
		if err != nil {
			return false, fmt.Errorf("endpoint %s: previous secret: %w", e.ID, err)
		}
		e.PreviousSecret, current = plain, current && cur
	}
	return current, nil
}

func (s *Store) openAll(es []*directory.Endpoint) error {
	for _, e := range es {
		if _, err := s.open(e); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) GetEndpoint(ctx context.Context, tenantID, id string) (*directory.Endpoint, error) {
	e, err := s.Store.GetEndpoint(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if _, err := s.open(e); err != nil {
		return nil, err
	}
	return e, nil
}

func (s *Store) ListEndpoints(ctx context.Context, tenantID string) ([]*directory.Endpoint, error) {
	es, err := s.Store.ListEndpoints(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return es, s.openAll(es)
}

func (s *Store) AllEndpoints(ctx context.Context) ([]*directory.Endpoint, error) {
	es, err := s.Store.AllEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	return es, s.openAll(es)
}

func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*directory.ClaimedDelivery, error) {
	cs, err := s.Store.ClaimDeliveries(ctx, now, lease, limit)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if _, err := s.open(c.Endpoint); err != nil {
			return nil, err
		}
	}
	return cs, nil
}

func (s *Store) InTx(ctx context.Context, fn func(directory.Tx) error) error {
	return s.Store.InTx(ctx, func(tx directory.Tx) error { return fn(&sealingTx{Tx: tx, s: s}) })
}

// InCountedTx runs fn in a transaction of the wrapped store as InTx does.
func (s *Store) InCountedTx(ctx context.Context, fn func(directory.Tx) (*directory.WriteCount, error)) (directory.Counters, error) {
	return s.Store.InCountedTx(ctx, func(tx directory.Tx) (*directory.WriteCount, error) { return fn(&sealingTx{Tx: tx, s: s}) })
}

// sealingTx is a transaction of a Store.
type sealingTx struct {
	directory.Tx
	s *Store
}

func (t *sealingTx) CreateEndpoint(ctx context.Context, e *directory.Endpoint) error {
	return t.Tx.CreateEndpoint(ctx, t.s.sealed(e))
}

func (t *sealingTx) GetEndpoint(ctx context.Context, tenantID, id string) (*directory.Endpoint, error) {
	e, err := t.Tx.GetEndpoint(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if _, err := t.s.open(e); err != nil {
		return nil, err
	}
	return e, nil
}

func (t *sealingTx) SetEndpointSecrets(ctx context.Context, e *directory.Endpoint) error {
	return t.Tx.SetEndpointSecrets(ctx, t.s.sealed(e))
}

// Reseal seals every endpoint's secrets under the box's current key, those
// stored in clear or under a previous key, and returns how many endpoints
// it rewrote. After it, the previous keys can be dropped.
func (s *Store) Reseal(ctx context.Context) (int, error) {
	es, err := s.Store.AllEndpoints(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, stored := range es {
		current, err := s.open(stored)
		if err != nil {
			return n, err
		}
		if current {
			continue
		}
		err = s.InTx(ctx, func(tx directory.Tx) error {
			e, err := tx.GetEndpoint(ctx, stored.TenantID, stored.ID) // as it is now, locked
			if err != nil {
				return err
			}
			return tx.SetEndpointSecrets(ctx, e)
		})
		if err != nil && !errors.Is(err, directory.ErrNotFound) { // deleted meanwhile: nothing to seal
			return n, fmt.Errorf("reseal endpoint %s: %w", stored.ID, err)
		}
		n++
	}
	return n, nil
}
