package directory

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// A role has a key, the name users hold it by (PUT /v1/roles, a user's
// roles), and a display name, which is the key unless the role was named
// otherwise (a SCIM group's displayName, "Engineering Team", whose key is
// "engineering-team"). Display names are unique per tenant
// case-insensitively; keys never change.

// MaxRoleNameLength caps a role's display name, in characters.
const MaxRoleNameLength = 256

// ECodeRoleTaken: another role of the tenant has that display name.
const ECodeRoleTaken = "role_taken"

// RoleName returns the display name of role in t's catalog.
func RoleName(t *Tenant, role string) string {
	if n, ok := t.RoleNames[role]; ok {
		return n
	}
	return role
}

// RoleNamed returns the key of the role of t's catalog whose display name
// is name, compared case-insensitively.
func RoleNamed(t *Tenant, name string) (string, bool) {
	for _, r := range t.Roles {
		if strings.EqualFold(RoleName(t, r), name) {
			return r, true
		}
	}
	return "", false
}

// roleKeyFor derives a new role's key from its display name: the lower
// case of its ASCII letters and digits, once accents are taken off (NFKD,
// without the combining marks: "Île" is "ile"), every other run of
// characters one "-", then "-2", "-3", … should the key be taken.
func roleKeyFor(t *Tenant, name string) string {
	var b strings.Builder
	dash := false
	for _, r := range norm.NFKD.String(strings.ToLower(name)) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	base := b.String()
	if len(base) > 56 {
		base = strings.TrimRight(base[:56], "-")
	}
	if base == "" {
		base = "group"
	}
	key := base
	for n := 2; slices.Contains(t.Roles, key); n++ {
		key = base + "-" + strconv.Itoa(n)
	}
	return key
}

// checkRoleName refuses a display name that is empty, too long, holds
// control characters, or is another role's (case-insensitively).
func checkRoleName(t *Tenant, role, name string) error {
	if strings.TrimSpace(name) == "" || utf8.RuneCountInString(name) > MaxRoleNameLength || !utf8.ValidString(name) ||
		strings.ContainsFunc(name, unicode.IsControl) {
		return &Error{Code: ECodeValidationFailed, Message: "1 field is invalid.", Fields: []FieldError{{Field: "name", Code: codeOutOfRange,
			Message: fmt.Sprintf("must be 1 to %d characters, not all spaces, without control characters", MaxRoleNameLength)}}}
	}
	if other, ok := RoleNamed(t, name); ok && other != role {
		return Errorf(ECodeRoleTaken, "The role %s is already named %q.", other, RoleName(t, other))
	}
	return nil
}

// RoleChange is a change of a role's holders, with, in the same
// transaction, the role's entry in the catalog.
type RoleChange struct {
	// Role is the role's key; "" with Create.
	Role string
	// Create adds a role named Name to the catalog, its key derived from
	// the name; Rename gives Role the display name Name, its key kept.
	Create, Rename bool
	Name           string
	// Grant and Revoke list the users (IDs) that gain and lose the role.
	Grant, Revoke []string
	// Drop removes the role from the catalog, once revoked from Revoke.
	Drop bool
}

// roleAttempts is how many times ChangeRole decides its writes again when
// another write changed one of its users, or the catalog, meanwhile.
const roleAttempts = 5

// ChangeRole grants and revokes a role to and from several users, and adds,
// renames or drops it, in one transaction: every user changes, and the
// catalog, or nothing does. Each user's change is an ordinary update of its
// roles (policy check, validation webhook, audit entry, user.updated event,
// one write of the quota). It returns the tenant and the role's key as the
// change left them.
//
// Errors: validation_failed (a malformed name; users that are not the
// tenant's, listed as fields members[i]), role_taken, not_found (Role is
// not in the catalog), role_in_use (Drop of a role held by users not in
// Revoke), and every error of UpdateUser.
func (s *Service) ChangeRole(ctx context.Context, t *Tenant, c RoleChange, opts WriteOptions) (*Tenant, string, error) {
	for attempt := 1; ; attempt++ {
		next, role, err := s.changeRole(ctx, t, c, opts)
		if (errors.Is(err, ErrVersionConflict) || errors.Is(err, ErrConfigChanged)) && attempt < roleAttempts {
			if err := ctx.Err(); err != nil {
				return nil, "", err
			}
			continue
		}
		if err != nil {
			return nil, "", err
		}
		return next, role, nil
	}
}

func (s *Service) changeRole(ctx context.Context, t *Tenant, c RoleChange, opts WriteOptions) (*Tenant, string, error) {
	stored, err := s.store.GetTenant(ctx, t.ID) // not the cache: the catalog is read, modified and written
	if err != nil {
		return nil, "", err
	}
	next := *stored
	next.Roles, next.RoleNames = slices.Clone(stored.Roles), maps.Clone(stored.RoleNames)
	if next.RoleNames == nil {
		next.RoleNames = map[string]string{}
	}
	role := c.Role
	catalog := c.Create || c.Rename || c.Drop
	switch {
	case c.Create:
		if err := checkRoleName(&next, "", c.Name); err != nil {
			return nil, "", err
		}
		role = roleKeyFor(&next, c.Name)
		next.Roles = append(next.Roles, role)
		if c.Name != role {
			next.RoleNames[role] = c.Name
		}
	case !slices.Contains(next.Roles, role):
		return nil, "", ErrNotFound
	case c.Rename:
		if err := checkRoleName(&next, role, c.Name); err != nil {
			return nil, "", err
		}
		delete(next.RoleNames, role)
		if c.Name != role {
			next.RoleNames[role] = c.Name
		}
	}
	if catalog {
		if err := checkCatalog(next.Roles); err != nil {
			return nil, "", err
		}
		next.UpdatedAt = s.now()
	}

	// Each user's write, decided on the catalog as it will be: a granted
	// role must be in it.
	var ws []*write
	var missing []FieldError
	seen := map[string]bool{}
	for i, id := range slices.Concat(c.Grant, c.Revoke) {
		if seen[id] {
			continue
		}
		seen[id] = true
		cur, err := s.GetUser(ctx, t.ID, id)
		if errors.Is(err, ErrNotFound) || err == nil && cur.Status == StatusDeleting {
			missing = append(missing, FieldError{Field: fmt.Sprintf("members[%d]", i), Code: ECodeNotFound, Message: id + " is not a user of this tenant"})
			continue
		}
		if err != nil {
			return nil, "", err
		}
		roles := slices.DeleteFunc(slices.Clone(cur.Roles), func(x string) bool { return x == role })
		if slices.Contains(c.Grant, id) {
			roles = append(roles, role)
		}
		if slices.Equal(roles, cur.Roles) {
			continue
		}
		if err := checkCurrent(cur, opts, false); err != nil {
			return nil, "", err
		}
		w, err := s.decideUpdate(&next, cur, BodyJSON, map[string]any{"roles": toAny(roles)}, false, s.after(cur))
		if err != nil {
			return nil, "", err
		}
		if w != nil {
			w.t, w.cur = &next, cur
			ws = append(ws, w)
		}
	}
	if len(missing) > 0 {
		return nil, "", &Error{Code: ECodeValidationFailed, Message: fmt.Sprintf("%d members are not users of this tenant.", len(missing)), Fields: missing}
	}
	if c.Drop {
		next.Roles = slices.DeleteFunc(next.Roles, func(x string) bool { return x == role })
		delete(next.RoleNames, role)
		// Every holder must be among those revoked: not one being deleted,
		// nor one granted the role since the holders were read.
		n, err := s.countHolders(ctx, t.ID, role)
		if err != nil {
			return nil, "", err
		}
		revoked := 0
		for _, w := range ws {
			if slices.Contains(w.cur.Roles, role) {
				revoked++
			}
		}
		if n > revoked {
			return nil, "", Errorf(ECodeRoleInUse, "Users still hold the role %s: take it away from them first.", role)
		}
	}
	if len(ws) > 0 {
		if err := requireIfMatch(&next, opts); err != nil {
			return nil, "", err
		}
	}

	p := &pipeline{s: s, opts: opts}
	endpoints, err := s.tenantEndpoints(ctx, &next)
	if err != nil {
		return nil, "", err
	}
	hooked := slices.ContainsFunc(endpoints, func(ep *Endpoint) bool { return ep.Kind == EndpointValidation })
	recs := make([]*record, len(ws))
	for i, w := range ws {
		if err := p.authorize(ctx, w); err != nil {
			return nil, "", err
		}
		if hooked {
			if err := s.hook.Validate(ctx, hookRequest(w, endpoints)); err != nil {
				return nil, "", err
			}
		}
		recs[i] = newRecord(w.next, w.event, w.changes, opts.Actor, w.next.UpdatedAt, w.data, endpoints)
	}
	if len(ws) == 0 && !catalog {
		return stored, role, nil
	}
	_, err = s.store.InCountedTx(ctx, func(tx Tx) (*WriteCount, error) {
		written := next
		if catalog {
			if err := tx.UpdateTenant(ctx, &written); err != nil {
				return nil, err
			}
			if written.ConfigVersion != stored.ConfigVersion+1 {
				return nil, ErrConfigChanged // another change of the configuration came between
			}
		}
		var last *WriteCount
		for i, w := range ws {
			if last != nil { // every user's write counts; the last is counted at the commit
				if _, err := tx.AddWrite(ctx, last.TenantID, last.PeriodStart); err != nil {
					return nil, err
				}
			}
			wc, err := p.store(ctx, tx, w, []*record{recs[i]})
			if err != nil {
				return nil, err
			}
			last = wc
		}
		if last != nil {
			last.Limits.ConfigVersion = written.ConfigVersion
		}
		return last, nil
	})
	if catalog {
		s.cache.forget(t.ID) // also after a failed commit, whose outcome may be unknown
	}
	if errors.Is(err, ErrWriteQuota) {
		_, end := billingPeriod(s.now())
		return nil, "", &Error{Code: ECodeQuotaExceeded, RetryAfter: end.Sub(s.now()),
			Message: fmt.Sprintf("The plan allows %d writes per billing period; the period resets at %s.", next.Plan.WritesPerPeriod, FormatTime(end))}
	}
	if err != nil {
		return nil, "", s.writeError(string(EventUserUpdated), err)
	}
	if len(ws) > 0 {
		s.feed.notify()
		if subscribed(endpoints, EventUserUpdated) {
			s.onCommit()
		}
	}
	if catalog {
		next.ConfigVersion = stored.ConfigVersion + 1
		return &next, role, nil
	}
	return stored, role, nil
}

// countHolders counts the users of the tenant holding role, those being
// deleted included.
func (s *Service) countHolders(ctx context.Context, tenantID, role string) (int, error) {
	return s.store.CountUsers(ctx, tenantID, UserFilter{Where: &UserCond{Kind: CondCompare, Field: FieldRole, Op: OpEq, Value: role}})
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
