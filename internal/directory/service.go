package directory

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/roster-dev/roster/internal/fields"
)

// Service carries out Roster's use cases. It holds the business rules; the
// Store only stores.
type Service struct {
	store    Store
	authz    Authorizer
	policies PolicyEngine // nil when authz is not a policy engine
	checkURL func(ctx context.Context, url string) error
	hook     ValidationHook
	wire     Wire
	now      func() time.Time
	onCommit func()
	feed     feedSignal
	cache    *configCache
	keys     *keyCache
	// noted holds, by key ID, the minute (Unix seconds) of the key's last
	// use this node noted; background, the goroutines that note it.
	notedMu    sync.Mutex
	noted      map[string]int64
	background sync.WaitGroup
}

// Options are the collaborators of a Service; zero values are sensible,
// but for Wire.
type Options struct {
	// Wire is the public encoding of users, which events carry, and the
	// URLs of stored pictures; internal/wire's Encoding. Required.
	Wire Wire
	// Authorizer decides every write (§6); nil allows all.
	Authorizer Authorizer
	// Hook calls validation webhooks before creates and updates (§7); nil
	// calls none.
	Hook ValidationHook
	// CheckURL vets a webhook endpoint's URL (scheme, private addresses);
	// nil accepts any absolute http(s) URL.
	CheckURL func(ctx context.Context, url string) error
	// OnCommit is called after each committed write that produced events,
	// so a dispatcher can deliver them promptly.
	OnCommit func()
	// Now is the clock; nil is the real one.
	Now func() time.Time
	// ConfigTTL is how long tenants' configurations are kept in memory
	// (see configCache); 0 is DefaultConfigTTL, negative keeps nothing.
	// API keys are kept by another rule (keyCache).
	ConfigTTL time.Duration
}

// NewService returns a Service over store.
func NewService(store Store, opts Options) *Service {
	if opts.Wire == nil {
		panic("directory: NewService without Options.Wire")
	}
	s := &Service{store: store, authz: opts.Authorizer, hook: opts.Hook, wire: opts.Wire, now: opts.Now, onCommit: opts.OnCommit, checkURL: opts.CheckURL}
	s.keys, s.noted = newKeyCache(store), map[string]int64{}
	ttl := opts.ConfigTTL
	if ttl == 0 {
		ttl = DefaultConfigTTL
	}
	s.cache = newConfigCache(ttl)
	s.policies, _ = opts.Authorizer.(PolicyEngine)
	if s.checkURL == nil {
		s.checkURL = func(_ context.Context, u string) error {
			_, err := fields.URL(u)
			if err != nil {
				return errors.New(err.Message)
			}
			return nil
		}
	}
	if s.authz == nil {
		s.authz = allowAll{}
	}
	if s.hook == nil {
		s.hook = allowAll{}
	}
	if s.now == nil {
		s.now = Now
	}
	if s.onCommit == nil {
		s.onCommit = func() {}
	}
	return s
}

// Ping reports whether the database is reachable.
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }

// EmailKey is the case-insensitive uniqueness key of a normalized email:
// stores put a unique index on it, per tenant. It is "" for "".
func EmailKey(email string) string {
	if email == "" {
		return ""
	}
	return fields.EmailKey(email)
}

// TenantInput describes a new tenant. Nil plan or settings take the defaults.
type TenantInput struct {
	Name       string
	OwnerEmail string // optional: creates the owner user with the admin role
	Plan       *Plan
	Settings   *Settings
}

// NewTenant is what CreateTenant made.
type NewTenant struct {
	Tenant *Tenant
	Owner  *User // nil without an owner email
	Key    *Key  // an admin key, when requested
	Token  string
}

// CreateTenant creates a tenant, its owner user when in.OwnerEmail is set,
// and an admin key when withKey is true, in one transaction.
func (s *Service) CreateTenant(ctx context.Context, in TenantInput, withKey bool, actor Actor) (*NewTenant, error) {
	now := s.now()
	t := &Tenant{
		ID: NewID(PrefixTenant, now), Name: in.Name,
		Plan: DefaultPlan(), Settings: DefaultSettings(), Roles: DefaultRoles(),
		CreatedAt: now, UpdatedAt: now,
	}
	if in.Plan != nil {
		t.Plan = *in.Plan
	}
	if in.Settings != nil {
		t.Settings = *in.Settings
	}
	if err := validateTenant(t); err != nil {
		return nil, err
	}
	out := &NewTenant{Tenant: t}
	var owner *User
	if in.OwnerEmail != "" {
		owner = &User{}
		s.initUser(owner, t, now)
		b, err := s.build(t, owner, nil, map[string]any{"email": in.OwnerEmail, "roles": []any{"admin"}}, BodyCreate, false, false, now)
		if e, ok := err.(*Error); ok {
			e.Fields = e.Fields[:1]
			e.Fields[0].Field = "owner_email" // the only member the request gave
			e.Message = "1 field is invalid."
		}
		if err != nil {
			return nil, err
		}
		owner = b.user
		owner.IsOwner = true
		out.Owner = owner
	}
	if withKey {
		out.Key, out.Token = newKey(t.ID, "owner", []string{ScopeAdmin}, nil, actor.KeyID, now)
	}
	var rec *record
	if owner != nil {
		rec = newRecord(owner, EventUserCreated, diff(nil, fullDoc(owner)), actor, now, map[string]any{"user": s.userJSON(owner)}, nil)
	}
	// The tenant, its owner and its key are made by the operator, outside
	// any tenant's policies and quotas: they are written directly.
	err := s.store.InTx(ctx, func(tx Tx) error {
		if err := tx.CreateTenant(ctx, t); err != nil {
			return err
		}
		if owner != nil {
			if err := tx.CreateUser(ctx, owner); err != nil {
				return err
			}
			if err := tx.AddActiveUsers(ctx, t.ID, activeDelta(nil, owner)); err != nil {
				return err
			}
			if err := rec.write(ctx, tx); err != nil {
				return err
			}
		}
		if out.Key != nil {
			if err := tx.CreateKey(ctx, out.Key); err != nil {
				return err
			}
			return tx.InsertAdminAudit(ctx, keyAudit(ActionKeyCreated, out.Key, actor, now, nil))
		}
		return nil
	})
	if err != nil {
		return nil, s.writeError("create tenant", err)
	}
	return out, nil
}

func validateTenant(t *Tenant) error {
	var fe fieldErrors
	if name, err := fields.Name(t.Name); err != nil {
		fe.rule("name", err)
	} else {
		t.Name = name // stored as normalized: trimmed, NFC
	}
	p, st := t.Plan, t.Settings
	check := func(ok bool, field, msg string) {
		if !ok {
			fe.invalid = append(fe.invalid, FieldError{Field: field, Code: codeOutOfRange, Message: msg})
		}
	}
	check(p.RateLimitRPS > 0 && p.RateLimitRPS <= 1e6, "plan.rate_limit_rps", "must be above 0 and at most 1000000")
	check(p.RateLimitBurst >= 1 && p.RateLimitBurst <= 1e7, "plan.rate_limit_burst", "must be from 1 to 10000000")
	check(p.WritesPerPeriod >= 0, "plan.writes_per_period", "must not be negative")
	check(p.MaxActiveUsers >= 0, "plan.max_active_users", "must not be negative")
	check(st.DeletionGraceSeconds >= 0 && st.DeletionGraceSeconds <= 366*86400, "settings.deletion_grace_seconds", "must be from 0 to 31622400")
	check(st.MetadataMaxKeys >= 1 && st.MetadataMaxKeys <= 256, "settings.metadata_max_keys", "must be from 1 to 256")
	check(st.EventRetentionHours >= 0 && st.EventRetentionHours <= MaxEventRetentionHours, "settings.event_retention_hours", fmt.Sprintf("must be from 1 to %d, or 0 for the default", MaxEventRetentionHours))
	return fe.err()
}

// GetTenant returns ErrNotFound if the tenant does not exist. The tenant
// may come from the cache (see configCache): callers must not modify it.
func (s *Service) GetTenant(ctx context.Context, id string) (*Tenant, error) {
	if !ValidID(PrefixTenant, id) {
		return nil, ErrNotFound
	}
	if t := s.cache.tenant(id); t != nil {
		return t, nil
	}
	t, err := s.store.GetTenant(ctx, id)
	if err != nil {
		return nil, err
	}
	s.cache.putTenant(t)
	return t, nil
}

// ListTenants lists tenants newest first.
func (s *Service) ListTenants(ctx context.Context, before string, limit int) ([]*Tenant, error) {
	return s.store.ListTenants(ctx, before, limit)
}

// CountTenants counts all tenants.
func (s *Service) CountTenants(ctx context.Context) (int, error) { return s.store.CountTenants(ctx) }

// UpdateTenant applies fn to a copy of the tenant and stores the result if it
// is valid. It returns ErrNotFound if the tenant does not exist.
func (s *Service) UpdateTenant(ctx context.Context, id string, fn func(*Tenant) error) (*Tenant, error) {
	if !ValidID(PrefixTenant, id) {
		return nil, ErrNotFound
	}
	t, err := s.store.GetTenant(ctx, id) // not the cache: this is a read-modify-write
	if err != nil {
		return nil, err
	}
	next := *t
	if err := fn(&next); err != nil {
		return nil, err
	}
	if err := validateTenant(&next); err != nil {
		return nil, err
	}
	next.UpdatedAt = s.now()
	err = s.store.InTx(ctx, func(tx Tx) error { return tx.UpdateTenant(ctx, &next) })
	s.cache.forget(id) // also after a failed commit, whose outcome may be unknown
	if err != nil {
		return nil, fmt.Errorf("update tenant: %w", err)
	}
	return &next, nil
}

// ETag returns the entity tag of a user (§4).
func ETag(u *User) string { return `"` + strconv.FormatInt(u.Version, 10) + `"` }
