package directory

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/roster-dev/roster/internal/fields"
)

// Service carries out Roster's use cases. It holds the business rules; the
// Store only stores.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service over store.
func NewService(store Store) *Service {
	return &Service{store: store, now: Now}
}

// Ping reports whether the database is reachable.
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }

// maxUpdateAttempts bounds how often an update without If-Match is computed
// again after losing a race with a concurrent update of the same user.
const maxUpdateAttempts = 8

// EmailKey is the case-insensitive uniqueness key of a normalized email:
// stores put a unique index on it, per tenant. It is "" for "".
func EmailKey(email string) string {
	if email == "" {
		return ""
	}
	return fields.EmailKey(email)
}

// Authenticate returns the key whose token is token. It returns an
// unauthenticated *Error for a missing or unknown token.
func (s *Service) Authenticate(ctx context.Context, token string) (*Key, error) {
	if token == "" {
		return nil, Errorf(ECodeUnauthenticated, "An API key is required: send Authorization: Bearer <token>.")
	}
	hash := HashToken(token)
	k, err := s.store.KeyByHash(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(ECodeUnauthenticated, "The API key is not valid.")
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	// The lookup is by hash, so the database never compares a secret; this
	// constant-time check guards against a store that matched loosely.
	if subtle.ConstantTimeCompare(k.Hash, hash) != 1 {
		return nil, Errorf(ECodeUnauthenticated, "The API key is not valid.")
	}
	return k, nil
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
	var ownerChanges map[string]Change
	if in.OwnerEmail != "" {
		doc := map[string]any{"email": in.OwnerEmail, "roles": []any{"admin"}}
		u, err := build(t, &User{}, nil, doc, BodyCreate, false, now)
		if e, ok := err.(*Error); ok {
			for i := range e.Fields {
				e.Fields[i].Field = "owner_email" // the only member the request gave
			}
			e.Fields = e.Fields[:1]
			e.Message = "1 field is invalid."
		}
		if err != nil {
			return nil, err
		}
		s.initUser(u, t, now)
		u.IsOwner = true
		owner, ownerChanges = u, diff(nil, fullDoc(u))
		out.Owner = owner
	}
	if withKey {
		out.Key, out.Token = s.newKey(t.ID, "owner", []string{ScopeAdmin}, now)
	}
	err := s.store.InTx(ctx, func(tx Tx) error {
		if err := tx.CreateTenant(ctx, t); err != nil {
			return err
		}
		if owner != nil {
			if err := s.writeCreate(ctx, tx, owner, ownerChanges, actor, now); err != nil {
				return err
			}
		}
		if out.Key != nil {
			return tx.CreateKey(ctx, out.Key)
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
	if _, err := fields.Name(t.Name); err != nil {
		fe.rule("name", err)
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
	return fe.err()
}

// CreateKey creates an API key for a tenant, or a platform key when
// tenantID is "". It returns the key and its token, shown only this once.
func (s *Service) CreateKey(ctx context.Context, tenantID, name string, scopes []string) (*Key, string, error) {
	if tenantID != "" {
		if _, err := s.store.GetTenant(ctx, tenantID); err != nil {
			return nil, "", fmt.Errorf("create key: %w", err)
		}
	}
	k, token := s.newKey(tenantID, name, scopes, s.now())
	if err := s.store.InTx(ctx, func(tx Tx) error { return tx.CreateKey(ctx, k) }); err != nil {
		return nil, "", fmt.Errorf("create key: %w", err)
	}
	return k, token, nil
}

func (s *Service) newKey(tenantID, name string, scopes []string, now time.Time) (*Key, string) {
	if tenantID == "" {
		scopes = []string{ScopePlatform}
	}
	token, hash := NewToken()
	return &Key{ID: NewID(PrefixKey, now), TenantID: tenantID, Name: name, Scopes: scopes, Hash: hash, Created: now}, token
}

// GetTenant returns ErrNotFound if the tenant does not exist.
func (s *Service) GetTenant(ctx context.Context, id string) (*Tenant, error) {
	if !ValidID(PrefixTenant, id) {
		return nil, ErrNotFound
	}
	return s.store.GetTenant(ctx, id)
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
	t, err := s.GetTenant(ctx, id)
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
	if err := s.store.InTx(ctx, func(tx Tx) error { return tx.UpdateTenant(ctx, &next) }); err != nil {
		return nil, fmt.Errorf("update tenant: %w", err)
	}
	return &next, nil
}

// GetUser returns ErrNotFound unless the user exists in the tenant.
func (s *Service) GetUser(ctx context.Context, tenantID, id string) (*User, error) {
	if !ValidID(PrefixUser, id) {
		return nil, ErrNotFound
	}
	return s.store.GetUser(ctx, tenantID, id)
}

// UserQuery filters a list of users; values are as the client sent them.
type UserQuery struct {
	Email, Username, Status string
	Before                  string
	Limit                   int
}

// ListUsers lists a tenant's users newest first. Filters are normalized the
// way stored values are, so `email` matches case-insensitively.
func (s *Service) ListUsers(ctx context.Context, tenantID string, q UserQuery) ([]*User, error) {
	if q.Status != "" && !slices.Contains([]string{StatusActive, StatusDeactivated, StatusDeleting}, q.Status) {
		return nil, &Error{Code: ECodeValidationFailed, Message: "1 field is invalid.", Fields: []FieldError{
			{Field: "status", Code: codeOutOfRange, Message: "must be active, deactivated or deleting"}}}
	}
	f := UserFilter{Status: q.Status, Before: q.Before, Limit: q.Limit}
	// A filter value that no stored user could have matches nobody: the
	// answer to "who has this email?" is then an empty list, not an error.
	if q.Email != "" {
		e, err := fields.Email(q.Email)
		if err != nil {
			return []*User{}, nil
		}
		f.EmailKey = EmailKey(e)
	}
	if q.Username != "" {
		u, err := fields.Username(q.Username)
		if err != nil {
			return []*User{}, nil
		}
		f.Username = u
	}
	return s.store.ListUsers(ctx, tenantID, f)
}

// History lists a user's audit entries, newest first. It returns ErrNotFound
// unless the user exists in the tenant.
func (s *Service) History(ctx context.Context, tenantID, userID, before string, limit int) ([]*AuditEntry, error) {
	if _, err := s.GetUser(ctx, tenantID, userID); err != nil {
		return nil, err
	}
	return s.store.ListAudit(ctx, tenantID, userID, before, limit)
}

// WriteOptions are the request-level options of a user write (§4).
type WriteOptions struct {
	Actor   Actor
	IfMatch *Precondition
	DryRun  bool
}

// Precondition is a parsed If-Match header.
type Precondition struct {
	Any      bool // If-Match: *
	Versions []int64
}

func (p *Precondition) matches(version int64) bool {
	return p.Any || slices.Contains(p.Versions, version)
}

// CreateUser creates a user from a JSON body. It returns a *Error listing
// every failing field, or email_taken / username_taken.
func (s *Service) CreateUser(ctx context.Context, t *Tenant, body []byte, opts WriteOptions) (*User, error) {
	parsed, err := parseBody(body)
	if err != nil {
		return nil, err
	}
	if _, ok := parsed.(map[string]any); !ok {
		return nil, Errorf(ECodeInvalidRequest, "The body must be a JSON object describing the user.")
	}
	now := s.now()
	doc, err := applyBody(BodyCreate, nil, parsed)
	if err != nil {
		return nil, err
	}
	obj := doc.(map[string]any)
	if _, ok := obj["roles"]; !ok && slices.Contains(t.Roles, "member") {
		obj["roles"] = []any{"member"} // a new user is a member unless told otherwise
	}
	u, err := build(t, &User{}, nil, obj, BodyCreate, explicitlyVerified(BodyCreate, parsed), now)
	if err != nil {
		return nil, err
	}
	s.initUser(u, t, now)
	if opts.DryRun {
		return u, nil
	}
	changes := diff(nil, fullDoc(u))
	err = s.store.InTx(ctx, func(tx Tx) error {
		return s.writeCreate(ctx, tx, u, changes, opts.Actor, now)
	})
	if err != nil {
		return nil, s.writeError("create user", err)
	}
	return u, nil
}

func (s *Service) initUser(u *User, t *Tenant, now time.Time) {
	u.ID = NewID(PrefixUser, now)
	u.TenantID = t.ID
	u.Status = StatusActive
	u.AuthProvider = "local"
	u.Suspensions = []Suspension{}
	u.CreatedAt, u.UpdatedAt = now, now
	u.Version = 1
	if u.Roles == nil {
		u.Roles = []string{}
	}
}

func (s *Service) writeCreate(ctx context.Context, tx Tx, u *User, changes map[string]Change, actor Actor, now time.Time) error {
	if err := tx.CreateUser(ctx, u); err != nil {
		return err
	}
	return s.record(ctx, tx, u, ActionUserCreated, changes, actor, now,
		map[string]any{"user": PublicDoc(u)})
}

// record writes the audit entry and the outbox event of a change.
func (s *Service) record(ctx context.Context, tx Tx, u *User, action string, changes map[string]Change, actor Actor, now time.Time, data map[string]any) error {
	a := &AuditEntry{
		ID: NewID(PrefixAudit, now), TenantID: u.TenantID, UserID: u.ID, Action: action,
		Actor: actor, RequestID: actor.RequestID, At: now, Changes: changes,
	}
	if err := tx.InsertAudit(ctx, a); err != nil {
		return err
	}
	evID := NewID(PrefixEvent, now)
	payload := marshal(map[string]any{"id": evID, "type": action, "timestamp": FormatTime(now), "data": data})
	return tx.InsertEvent(ctx, &Event{ID: evID, TenantID: u.TenantID, UserID: u.ID, Type: action, Payload: payload, CreatedAt: now})
}

// writeError turns store errors into client errors where they are the
// client's to see.
func (s *Service) writeError(op string, err error) error {
	var uv *UniqueViolation
	if errors.As(err, &uv) {
		return takenError(uv)
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

// UpdateUser applies a PATCH or PUT body to a user (§4). It returns the user
// as it now is and whether anything changed. Errors are *Error values:
// not_found, user_deleting, precondition_failed, precondition_required,
// invalid_request, unknown_field, read_only_field, validation_failed,
// invalid_role, patch_conflict, email_taken, username_taken.
func (s *Service) UpdateUser(ctx context.Context, t *Tenant, id string, kind BodyKind, body []byte, opts WriteOptions) (*User, bool, error) {
	if t.Settings.RequireIfMatch && opts.IfMatch == nil {
		return nil, false, Errorf(ECodePreconditionRequired, "This tenant requires If-Match on every write: send the ETag of the user you read.")
	}
	// The body is parsed once, but its errors are reported only once the
	// user is found: the order of checks is find, then parse (§4).
	parsed, parseErr := parseBody(body)
	if _, empty := parsed.(emptyBody); parseErr == nil && kind == BodyReplace && empty {
		parseErr = Errorf(ECodeInvalidRequest, "A PUT body must be the whole user as a JSON object.")
	}
	verified := explicitlyVerified(kind, parsed)
	for attempt := 1; ; attempt++ {
		cur, err := s.GetUser(ctx, t.ID, id)
		if err != nil {
			return nil, false, err
		}
		if cur.Status == StatusDeleting {
			return nil, false, Errorf(ECodeUserDeleting, "The user is being deleted; restore it before changing it.")
		}
		if opts.IfMatch != nil && !opts.IfMatch.matches(cur.Version) {
			return nil, false, Errorf(ECodePreconditionFailed, "The user has changed since you read it: its version is now %d.", cur.Version)
		}
		if parseErr != nil {
			return nil, false, parseErr
		}
		if kind != BodyReplace && isNoopBody(parsed) {
			return cur, false, nil
		}
		now := s.now()
		base := fullDoc(cur)
		doc, err := applyBody(kind, base, parsed)
		if err != nil {
			return nil, false, err
		}
		next, err := build(t, cur, base, doc, kind, verified, now)
		if err != nil {
			return nil, false, err
		}
		nextDoc := fullDoc(next)
		changes := diff(base, nextDoc)
		if len(changes) == 0 {
			return cur, false, nil
		}
		next.Version = cur.Version + 1
		next.UpdatedAt = now
		if opts.DryRun {
			return next, true, nil
		}
		err = s.store.InTx(ctx, func(tx Tx) error {
			if err := tx.UpdateUser(ctx, next, cur.Version); err != nil {
				return err
			}
			return s.record(ctx, tx, next, ActionUserUpdated, changes, opts.Actor, now, updatedData(next, base, changes))
		})
		if errors.Is(err, ErrVersionConflict) {
			if opts.IfMatch != nil {
				return nil, false, Errorf(ECodePreconditionFailed, "The user changed while this update was being made.")
			}
			if attempt < maxUpdateAttempts {
				continue // a concurrent update won: apply this one to its result
			}
			return nil, false, Errorf(ECodeUnavailable, "The user is being changed by many requests at once; retry.")
		}
		if err != nil {
			return nil, false, s.writeError("update user", err)
		}
		return next, true, nil
	}
}

// updatedData is the data of a user.updated event: the user, the names of
// the changed fields and their previous values (secure_metadata by name only).
func updatedData(u *User, before map[string]any, changes map[string]Change) map[string]any {
	names := make([]string, 0, len(changes))
	prev := map[string]any{}
	for f := range changes {
		names = append(names, f)
		if f != "secure_metadata" {
			prev[f] = before[f]
		}
	}
	slices.Sort(names)
	return map[string]any{"user": PublicDoc(u), "changed_fields": names, "previous": prev}
}

// ETag returns the entity tag of a user (§4).
func ETag(u *User) string { return `"` + strconv.FormatInt(u.Version, 10) + `"` }
