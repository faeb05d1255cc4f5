package directory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/fields"
)

// tokenPrefix marks Roster tokens so secret scanners can recognize them.
const tokenPrefix = "rst_"

// NewToken returns a new random API token (256 bits) and its hash. Only the
// hash is ever stored.
func NewToken() (token string, hash []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	token = tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token)
}

// HashToken returns the SHA-256 of a token. Tokens carry 256 random bits, so
// a fast unsalted hash is enough: there is nothing to brute-force.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// ParseScopes turns a space- or comma-separated list of scopes or access
// levels into scopes. Access levels read_only and read_write (§6) expand to
// their scopes. It returns an error naming an unknown scope.
func ParseScopes(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(sc string) {
		if !seen[sc] {
			seen[sc] = true
			out = append(out, sc)
		}
	}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' }) {
		switch f {
		case ScopeUsersRead, ScopeUsersWrite, ScopeAdmin:
			add(f)
		case "read_only":
			add(ScopeUsersRead)
		case "read_write":
			add(ScopeUsersRead)
			add(ScopeUsersWrite)
		default:
			return nil, Errorf(ECodeInvalidRequest, "Unknown scope %q: use users:read, users:write, admin, read_only or read_write.", f)
		}
	}
	if len(out) == 0 {
		return nil, Errorf(ECodeInvalidRequest, "A key needs at least one scope.")
	}
	return out, nil
}

// Key lifecycle (§11): keys are listed, created (the token shown once),
// rotated with a grace period, revoked, and expire. Every change is an
// entry of the tenant's admin audit trail, written in the same transaction.

// Actions of the admin audit trail.
const (
	ActionKeyCreated           = "key.created"
	ActionKeyRotated           = "key.rotated"
	ActionKeyRevoked           = "key.revoked"
	ActionWebhookSecretRotated = "webhook_secret.rotated"
)

// Grace periods of a rotation: the old token keeps working this long.
const (
	DefaultRotationGrace = 24 * time.Hour
	MaxRotationGrace     = 30 * 24 * time.Hour
)

// keyPrefixLen is how much of a token a key shows: "rst_" and 4 characters,
// 24 of its 256 random bits.
const keyPrefixLen = len(tokenPrefix) + 4

// lastUseResolution is how precisely a key's last use is recorded: a key
// used again within it costs no write.
const lastUseResolution = time.Minute

// AdminAuditEntry is one change an admin made to a tenant's keys or webhook
// secrets (or, with no TenantID, a platform key's change of platform keys).
type AdminAuditEntry struct {
	ID        string
	TenantID  string
	Action    string
	Actor     Actor
	RequestID string
	At        time.Time
	TargetID  string         // the key or endpoint changed
	Details   map[string]any // never a secret
}

// KeyInput describes a new key.
type KeyInput struct {
	Name string
	// Scopes of a tenant key: users:read, users:write, admin, or the access
	// levels read_only and read_write. A platform key's are platform.
	Scopes    []string
	ExpiresAt *time.Time
}

// newKey makes a key and its token; a platform key has tenantID "".
func newKey(tenantID, name string, scopes []string, expires *time.Time, createdBy string, now time.Time) (*Key, string) {
	if tenantID == "" {
		scopes = []string{ScopePlatform}
	}
	token, hash := NewToken()
	return &Key{
		ID: NewID(PrefixKey, now), TenantID: tenantID, Name: name, Scopes: scopes, Hash: hash,
		Prefix: token[:keyPrefixLen], Created: now, ExpiresAt: expires, CreatedBy: createdBy,
	}, token
}

// keyAudit is the audit entry of a change of key k.
func keyAudit(action string, k *Key, actor Actor, now time.Time, details map[string]any) *AdminAuditEntry {
	d := map[string]any{"name": k.Name, "scopes": k.Scopes, "prefix": k.Prefix}
	for n, v := range details {
		d[n] = v
	}
	return &AdminAuditEntry{
		ID: NewID(PrefixAudit, now), TenantID: k.TenantID, Action: action, Actor: actor,
		RequestID: actor.RequestID, At: now, TargetID: k.ID, Details: d,
	}
}

// Authenticate returns the usable key whose token is token. It returns an
// unauthenticated *Error for a missing, unknown or revoked token, and
// key_expired for the token of a key past its expiry (or its rotation's
// grace period): only its holder can tell that apart from an unknown one.
//
// A node keeps the keys it has read (keyCache), but uses one only while no
// key has changed since, on any node: a revocation holds everywhere at the
// next request. The key returned is shared: callers must not change it.
func (s *Service) Authenticate(ctx context.Context, token string) (*Key, error) {
	if token == "" {
		return nil, Errorf(ECodeUnauthenticated, "An API key is required: send Authorization: Bearer <token>.")
	}
	hash := HashToken(token)
	k, err := s.keys.key(ctx, s.store, hash)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(ECodeUnauthenticated, "The API key is not valid.")
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	// The lookup is by hash, so the database never compares a secret; this
	// constant-time check guards against a store that matched loosely.
	if subtle.ConstantTimeCompare(k.Hash, hash) != 1 || k.RevokedAt != nil {
		return nil, Errorf(ECodeUnauthenticated, "The API key is not valid.")
	}
	now := s.now()
	if !k.Usable(now) {
		return nil, Errorf(ECodeKeyExpired, "The API key expired at %s: use its replacement, or create a new key.", FormatTime(*k.ExpiresAt))
	}
	s.noteUse(k, now)
	return k, nil
}

// noteUse records, in the background, that k was used at now, to the
// minute: a key used again within the minute costs no write, and no
// request waits for one. A note that fails is not tried again within the
// minute: the last use is then a minute stale.
func (s *Service) noteUse(k *Key, now time.Time) {
	at := now.Truncate(lastUseResolution)
	if k.LastUsedAt != nil && !k.LastUsedAt.Before(at) {
		return
	}
	s.notedMu.Lock()
	if s.noted[k.ID] >= at.Unix() {
		s.notedMu.Unlock()
		return
	}
	s.noted[k.ID] = at.Unix()
	s.notedMu.Unlock()
	s.background.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.store.TouchKey(ctx, k.ID, at) // best effort: a lost note is a minute stale
	})
}

// Wait waits for the Service's background work (notes of keys' use) to end.
func (s *Service) Wait() { s.background.Wait() }

// keyScopes checks in's scopes for a key of tenantID and returns them,
// access levels expanded: a platform key's are platform, a tenant key's
// users:read, users:write and admin, none of which the actor may grant
// unless it holds it.
func keyScopes(tenantID string, in KeyInput, actor Actor) ([]string, error) {
	if tenantID == "" {
		if len(in.Scopes) > 0 && !slices.Equal(in.Scopes, []string{ScopePlatform}) {
			return nil, keyFieldError("scopes", codeOutOfRange, "a platform key's only scope is platform")
		}
		return []string{ScopePlatform}, nil
	}
	scopes, err := ParseScopes(strings.Join(in.Scopes, " "))
	if err != nil {
		return nil, keyFieldError("scopes", codeOutOfRange, "must list users:read, users:write, admin, read_only or read_write")
	}
	for _, sc := range scopes {
		if actor.Key != nil && !actor.Key.Platform() && !actor.Key.Has(sc) {
			return nil, Errorf(ECodeForbidden, "This API key cannot grant the %s scope, which it does not hold.", sc)
		}
	}
	return scopes, nil
}

func keyFieldError(field, code, msg string) *Error {
	return &Error{Code: ECodeValidationFailed, Message: "1 field is invalid.", Fields: []FieldError{{Field: field, Code: code, Message: msg}}}
}

// CreateKey creates an API key for a tenant, or a platform key when
// tenantID is "". It returns the key and its token, shown only this once.
// Errors: not_found (no such tenant), validation_failed, forbidden (a scope
// the actor's key does not hold).
func (s *Service) CreateKey(ctx context.Context, tenantID string, in KeyInput, actor Actor) (*Key, string, error) {
	now := s.now()
	var fe fieldErrors
	name, nerr := fields.Name(in.Name)
	fe.rule("name", nerr)
	scopes, err := keyScopes(tenantID, in, actor)
	if e, ok := err.(*Error); ok && e.Code == ECodeValidationFailed {
		fe.invalid = append(fe.invalid, e.Fields...)
	} else if err != nil {
		return nil, "", err
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		fe.invalid = append(fe.invalid, FieldError{Field: "expires_at", Code: codeOutOfRange, Message: "must be in the future"})
	}
	if err := fe.err(); err != nil {
		return nil, "", err
	}
	if tenantID != "" {
		if _, err := s.store.GetTenant(ctx, tenantID); err != nil {
			return nil, "", err
		}
	}
	var expires *time.Time
	if in.ExpiresAt != nil {
		at := in.ExpiresAt.UTC().Truncate(time.Millisecond)
		expires = &at
	}
	k, token := newKey(tenantID, name, scopes, expires, actor.KeyID, now)
	err = s.store.InTx(ctx, func(tx Tx) error {
		if err := tx.CreateKey(ctx, k); err != nil {
			return err
		}
		return tx.InsertAdminAudit(ctx, keyAudit(ActionKeyCreated, k, actor, now, nil))
	})
	if err != nil {
		return nil, "", fmt.Errorf("create key: %w", err)
	}
	return k, token, nil
}

// GetKey returns a key of the tenant ("" for platform keys), or ErrNotFound.
func (s *Service) GetKey(ctx context.Context, tenantID, id string) (*Key, error) {
	if !ValidID(PrefixKey, id) {
		return nil, ErrNotFound
	}
	return s.store.GetKey(ctx, tenantID, id)
}

// FindKey returns the key with id, whichever tenant it is of (TenantID "":
// a platform key). It is the operator's lookup, above tenancy: the command
// line revokes or rotates a key by its id alone. Errors: not_found.
func (s *Service) FindKey(ctx context.Context, id string) (*Key, error) {
	if !ValidID(PrefixKey, id) {
		return nil, ErrNotFound
	}
	return s.store.KeyByID(ctx, id)
}

// ListKeys lists the tenant's keys ("" for platform keys), newest first,
// revoked and expired ones included.
func (s *Service) ListKeys(ctx context.Context, tenantID, before string, limit int) ([]*Key, error) {
	return s.store.ListKeys(ctx, tenantID, before, limit)
}

// AdminAudit lists the tenant's admin audit trail ("" for platform keys'
// changes of platform keys), newest first.
func (s *Service) AdminAudit(ctx context.Context, tenantID, before string, limit int) ([]*AdminAuditEntry, error) {
	return s.store.ListAdminAudit(ctx, tenantID, before, limit)
}

// managesKeys reports whether k can manage its tenant's keys (or, for a
// platform key, platform keys).
func managesKeys(k *Key) bool { return k.Platform() || k.Has(ScopeAdmin) }

// RevokeKey revokes a key at once, on every node. Revoking a revoked key
// changes nothing. Unless force is set, it refuses (409 last_admin_key) to
// revoke the last usable key that can manage the tenant's keys (or the
// last platform key), which would leave nobody able to make a new one but
// the operator. Errors: not_found, last_admin_key.
func (s *Service) RevokeKey(ctx context.Context, tenantID, id string, force bool, actor Actor) (*Key, error) {
	if !ValidID(PrefixKey, id) {
		return nil, ErrNotFound
	}
	now := s.now()
	var out *Key
	err := s.store.InTx(ctx, func(tx Tx) error {
		k, err := tx.GetKey(ctx, tenantID, id)
		if err != nil {
			return err
		}
		out = k
		if k.RevokedAt != nil {
			return nil
		}
		if !force && managesKeys(k) && k.Usable(now) {
			// Counted with the rows locked, so that two admins revoking
			// each other's keys at once cannot both succeed.
			n, err := tx.CountManagingKeys(ctx, tenantID, now)
			if err != nil {
				return err
			}
			if n <= 1 {
				return Errorf(ECodeLastAdminKey, "This is the last key that can manage keys: create another first, or revoke it with force=true.")
			}
		}
		next := *k
		next.RevokedAt = &now
		if err := tx.UpdateKey(ctx, &next); err != nil {
			return err
		}
		out = &next
		return tx.InsertAdminAudit(ctx, keyAudit(ActionKeyRevoked, &next, actor, now, map[string]any{"forced": force}))
	})
	if err != nil {
		return nil, s.keyError("revoke key", err)
	}
	return out, nil
}

// RotateKey makes a new key with the old one's name, scopes and expiry, and
// lets the old token work for grace more (at most MaxRotationGrace; 0 ends
// it at once). It returns the new key, the old one as it now is, and the
// new key's token. Errors: not_found, key_inactive (a revoked or expired
// key), validation_failed (grace).
func (s *Service) RotateKey(ctx context.Context, tenantID, id string, grace time.Duration, actor Actor) (next, old *Key, token string, err error) {
	if !ValidID(PrefixKey, id) {
		return nil, nil, "", ErrNotFound
	}
	if grace < 0 || grace > MaxRotationGrace {
		return nil, nil, "", keyFieldError("grace_seconds", codeOutOfRange, fmt.Sprintf("must be from 0 to %d", int(MaxRotationGrace.Seconds())))
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx Tx) error {
		cur, err := tx.GetKey(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if !cur.Usable(now) {
			return Errorf(ECodeKeyInactive, "The key is revoked or expired: create a new one instead.")
		}
		if _, err := keyScopes(tenantID, KeyInput{Scopes: cur.Scopes}, actor); err != nil {
			return err
		}
		next, token = newKey(tenantID, cur.Name, cur.Scopes, cur.ExpiresAt, actor.KeyID, now)
		ends := now.Add(grace)
		retired := *cur
		if retired.ExpiresAt == nil || ends.Before(*retired.ExpiresAt) {
			retired.ExpiresAt = &ends
		}
		if err := tx.UpdateKey(ctx, &retired); err != nil {
			return err
		}
		if err := tx.CreateKey(ctx, next); err != nil {
			return err
		}
		old = &retired
		return tx.InsertAdminAudit(ctx, keyAudit(ActionKeyRotated, cur, actor, now, map[string]any{
			"replaced_by": next.ID, "old_expires_at": FormatTime(*retired.ExpiresAt),
		}))
	})
	if err != nil {
		return nil, nil, "", s.keyError("rotate key", err)
	}
	return next, old, token, nil
}

// keyError passes client errors through and wraps the others.
func (s *Service) keyError(op string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}
