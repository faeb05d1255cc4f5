package directory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultConfigTTL is how long a node keeps a tenant's configuration or an
// API key in memory before reading it again.
const DefaultConfigTTL = time.Second

// maxCached bounds each map of the cache; when one is full it is emptied.
const maxCached = 10000

// configCache keeps, for a short time, what nearly every request reads
// before doing anything: its tenant and the tenant's webhook endpoints.
// Without it a PATCH made four reads of them (one round trip each on
// PostgreSQL) besides its own work. API keys are not kept: a revoked key
// must be refused on every node at its next request.
//
// Staleness is bounded, and never decides a write:
//   - This node forgets a tenant as soon as it changes its configuration.
//   - Every write transaction reads the tenant's ConfigVersion in the
//     statement that counts the write (Store.InCountedTx); when it
//     differs from the version the write was decided on, the transaction
//     rolls back and the write is made again on the configuration as
//     stored (errConfigChanged).
//     A dry run compares the versions with one read. So a plan, policy set,
//     role catalog or endpoint changed on another node applies to the next
//     write here, as it would without a cache.
//   - Reads (a GET's rate-limit plan) may use a configuration changed on
//     another node for up to the TTL.
type configCache struct {
	ttl     time.Duration // <= 0: nothing is cached
	mu      sync.Mutex
	tenants map[string]*tenantEntry
}

type tenantEntry struct {
	t  *Tenant
	at time.Time
	// endpoints are the tenant's webhook endpoints as of t.ConfigVersion;
	// nil until read.
	endpoints []*Endpoint
}

func newConfigCache(ttl time.Duration) *configCache {
	return &configCache{ttl: ttl, tenants: map[string]*tenantEntry{}}
}

func (c *configCache) fresh(at time.Time) bool { return time.Since(at) < c.ttl }

// tenant returns the cached tenant, or nil.
func (c *configCache) tenant(id string) *Tenant {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.tenants[id]; e != nil && c.fresh(e.at) {
		return e.t
	}
	return nil
}

// putTenant caches t, keeping the endpoints cached for its version.
func (c *configCache) putTenant(t *Tenant) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &tenantEntry{t: t, at: time.Now()}
	if old := c.tenants[t.ID]; old != nil && old.t.ConfigVersion == t.ConfigVersion {
		e.endpoints = old.endpoints
	}
	if len(c.tenants) >= maxCached {
		clear(c.tenants)
	}
	c.tenants[t.ID] = e
}

// endpoints returns the cached endpoints of t's configuration version, or
// false.
func (c *configCache) endpoints(t *Tenant) ([]*Endpoint, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.tenants[t.ID]; e != nil && e.endpoints != nil && e.t.ConfigVersion == t.ConfigVersion && c.fresh(e.at) {
		return e.endpoints, true
	}
	return nil, false
}

// putEndpoints caches eps as the endpoints of t's configuration version, if
// t is the tenant cached.
func (c *configCache) putEndpoints(t *Tenant, eps []*Endpoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.tenants[t.ID]; e != nil && e.t.ConfigVersion == t.ConfigVersion {
		if eps == nil {
			eps = []*Endpoint{}
		}
		e.endpoints = eps
	}
}

// forget drops a tenant whose configuration changed.
func (c *configCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.tenants, id)
}

// errConfigChanged is returned by commit when the tenant's configuration
// changed since the write was decided on it: the caller makes the write
// again on the tenant as stored (Service.StoredTenant).
var errConfigChanged = ErrConfigChanged

// StoredTenant returns the tenant as stored, bypassing the cache (which it
// refreshes): for reads of a tenant's configuration that must show every
// change made so far, on any node. ErrNotFound if it does not exist.
func (s *Service) StoredTenant(ctx context.Context, id string) (*Tenant, error) {
	s.cache.forget(id)
	return s.GetTenant(ctx, id)
}

// maxConfigAttempts bounds how many times a write is decided again because
// the tenant's configuration changed meanwhile.
const maxConfigAttempts = 4

// onStoredConfig runs write, a write decided on the tenant t, which may come
// from the cache, and runs it again on the tenant as stored when t proves out
// of date: when the write's transaction found another configuration version
// (errConfigChanged), or when the write was refused (a client error: a
// refusal may come from a plan, policy set, role catalog, setting or
// validation endpoint changed since) and one read of the stored tenant shows
// another version. Accepted writes cost no read: their transaction checked
// the version. Nor do failures of the database or of the request itself
// (unavailable, a deadline, a canceled request): the write was not decided,
// and a read would only wait on the same database again.
func (s *Service) onStoredConfig(ctx context.Context, t *Tenant, write func(t *Tenant) error) error {
	for attempt := 1; ; attempt++ {
		err := write(t)
		if err == nil {
			return nil
		}
		changed := errors.Is(err, errConfigChanged)
		if !changed && !isRefusal(err) {
			return err
		}
		stored, serr := s.store.GetTenant(ctx, t.ID)
		switch {
		case serr != nil && changed:
			return fmt.Errorf("get tenant: %w", serr)
		case serr != nil, !changed && stored.ConfigVersion == t.ConfigVersion:
			return err // decided on the configuration as stored
		case attempt == maxConfigAttempts:
			return Errorf(ECodeUnavailable, "The tenant's configuration is changing; retry.")
		}
		s.cache.putTenant(stored) // replaces the entry of the older version
		t = stored
	}
}

// isRefusal reports whether err is a write refused by a decision (a client
// error), rather than a failure to reach one.
func isRefusal(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code != ECodeUnavailable
}

// tenantEndpoints returns the tenant's webhook endpoints, as of its
// configuration version t.ConfigVersion.
func (s *Service) tenantEndpoints(ctx context.Context, t *Tenant) ([]*Endpoint, error) {
	if eps, ok := s.cache.endpoints(t); ok {
		return eps, nil
	}
	eps, err := s.store.ListEndpoints(ctx, t.ID)
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	s.cache.putEndpoints(t, eps)
	return eps, nil
}
