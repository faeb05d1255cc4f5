package directory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/roster-dev/roster/internal/fields"
)

// GetUser returns ErrNotFound unless the user exists in the tenant.
func (s *Service) GetUser(ctx context.Context, tenantID, id string) (*User, error) {
	if !ValidID(PrefixUser, id) {
		return nil, ErrNotFound
	}
	u, err := s.store.GetUser(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	s.present(u)
	return u, nil
}

// storedUser returns the user as stored when the store may answer GetUser
// from memory (UserCache); false when it does not, whose GetUser already
// read the stored user, or when the read fails.
func (s *Service) storedUser(ctx context.Context, tenantID, id string) (*User, bool) {
	c, ok := s.store.(UserCache)
	if !ok {
		return nil, false
	}
	u, err := c.StoredUser(ctx, tenantID, id)
	if err != nil {
		return nil, false
	}
	s.present(u)
	return u, true
}

// after returns the time of a new write of cur: now, but never before cur's
// last write. With several nodes whose clocks disagree, a user's writes
// still get increasing times, so its updated_at never goes back and its
// events, whose IDs begin with their time, sort in the order they happened.
func (s *Service) after(cur *User) time.Time {
	now := s.now()
	if next := cur.UpdatedAt.Add(time.Millisecond); now.Before(next) {
		return next
	}
	return now
}

// present drops the suspensions that have ended by themselves: a user lists
// only its active suspensions (§3).
func (s *Service) present(u *User) {
	now := s.now()
	u.Suspensions = slices.DeleteFunc(u.Suspensions, func(sus Suspension) bool { return !sus.Active(now) })
	if u.Suspensions == nil {
		u.Suspensions = []Suspension{}
	}
}

// UserQuery filters a list of users; values are as the client sent them.
type UserQuery struct {
	Email, Username, Status string
	// Search is a prefix of the email, username, name, given or family
	// name of the users to list, compared case-insensitively.
	Search     string
	ExternalID string
	Before     string
	Limit      int
}

// ListUsers lists a tenant's users newest first. Filters are normalized the
// way stored values are, so `email` matches case-insensitively.
func (s *Service) ListUsers(ctx context.Context, tenantID string, q UserQuery) ([]*User, error) {
	if q.Status != "" && !slices.Contains([]string{StatusActive, StatusDeactivated, StatusDeleting}, q.Status) {
		return nil, &Error{Code: ECodeValidationFailed, Message: "1 field is invalid.", Fields: []FieldError{
			{Field: "status", Code: codeOutOfRange, Message: "must be active, deactivated or deleting"}}}
	}
	if utf8.RuneCountInString(q.Search) > MaxSearchLength {
		return nil, &Error{Code: ECodeInvalidRequest, Message: "The query parameter q is too long.", Fields: []FieldError{
			{Field: "q", Code: fields.CodeTooLong, Message: fmt.Sprintf("must be at most %d characters", MaxSearchLength)}}}
	}
	f := UserFilter{Status: q.Status, ExternalID: q.ExternalID, Before: q.Before, Limit: q.Limit}
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
	if q.Search != "" {
		f.SearchFrom, f.SearchTo = PrefixRange(q.Search)
	}
	users, err := s.store.ListUsers(ctx, tenantID, f)
	for _, u := range users {
		s.present(u)
	}
	return users, err
}

// FindUsers lists the tenant's users f selects (f.Where as its client
// built it), and counts all those it selects regardless of f.Offset and
// f.Limit; f.Limit < 0 only counts them. Users being deleted are never
// selected.
func (s *Service) FindUsers(ctx context.Context, tenantID string, f UserFilter) ([]*User, int, error) {
	live := &UserCond{Kind: CondNot, Args: []*UserCond{{Kind: CondCompare, Field: FieldStatus, Op: OpEq, Value: StatusDeleting}}}
	if f.Where != nil {
		live = &UserCond{Kind: CondAnd, Args: []*UserCond{live, f.Where}}
	}
	f.Where = live
	total, err := s.store.CountUsers(ctx, tenantID, f)
	if err != nil {
		return nil, 0, err
	}
	var users []*User
	if f.Limit >= 0 {
		if users, err = s.store.ListUsers(ctx, tenantID, f); err != nil {
			return nil, 0, err
		}
	}
	for _, u := range users {
		s.present(u)
	}
	return users, total, nil
}

// History lists a user's audit entries, newest first. It returns ErrNotFound
// unless the user exists in the tenant.
func (s *Service) History(ctx context.Context, tenantID, userID, before string, limit int) ([]*AuditEntry, error) {
	if _, err := s.GetUser(ctx, tenantID, userID); err != nil {
		return nil, err
	}
	return s.store.ListAudit(ctx, tenantID, userID, before, limit)
}

// GetPicture returns a user's stored picture, or ErrNotFound.
func (s *Service) GetPicture(ctx context.Context, tenantID, userID string) (*Picture, error) {
	if _, err := s.GetUser(ctx, tenantID, userID); err != nil {
		return nil, err
	}
	return s.store.GetPicture(ctx, tenantID, userID)
}

// CreateUser creates a user from a JSON body. It returns a *Error listing
// every failing field, or email_taken / username_taken, forbidden,
// validation_rejected, validation_unavailable, quota_exceeded.
func (s *Service) CreateUser(ctx context.Context, t *Tenant, body []byte, opts WriteOptions) (*Written, error) {
	return s.CreateUserActive(ctx, t, body, true, opts)
}

// CreateUserActive is CreateUser; with active false, it also deactivates
// the new user in the same write (as UpdateUserActive does): one
// transaction, two audit entries and events (user.created, then
// user.deactivated), two writes of the quota, and no seat of the
// active-user quota taken.
func (s *Service) CreateUserActive(ctx context.Context, t *Tenant, body []byte, active bool, opts WriteOptions) (*Written, error) {
	parsed, err := parseBody(body)
	if err != nil {
		return nil, err
	}
	obj, ok := parsed.(map[string]any)
	if !ok {
		return nil, Errorf(ECodeInvalidRequest, "The body must be a JSON object describing the user.")
	}
	verified := explicitlyVerified(BodyCreate, parsed, opts)
	return s.writeUser(ctx, t, target{}, opts, func(t *Tenant, _ *User, now time.Time) (*write, error) {
		w, err := s.decideCreate(t, obj, verified, now)
		if err != nil || active {
			return w, err
		}
		if w.then, err = s.decideTransition(w.next, now, deactivate); err != nil {
			return nil, err
		}
		return w, nil
	})
}

// decideCreate decides a create on t's configuration.
func (s *Service) decideCreate(t *Tenant, obj map[string]any, verified bool, now time.Time) (*write, error) {
	if _, ok := obj["roles"]; !ok && slices.Contains(t.Roles, "member") {
		obj = maps.Clone(obj)
		obj["roles"] = []any{"member"} // a new user is a member unless told otherwise
	}
	template := &User{}
	s.initUser(template, t, now)
	_, secureSent := obj["secure_metadata"]
	b, err := s.build(t, template, nil, obj, BodyCreate, verified, secureSent, now)
	if err != nil {
		return nil, err
	}
	u := b.user
	changes := diff(nil, fullDoc(u))
	if len(u.SecureMetadata) > 0 {
		changes["secure_metadata"] = Change{From: redacted, To: redacted}
	}
	return &write{
		next: u, event: EventUserCreated, cedar: CedarCreateUser, hook: true,
		changes: changes, data: map[string]any{"user": s.userJSON(u)},
		extra: b.pictureWrites(nil),
	}, nil
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

// newPicture makes a Picture of decoded image bytes.
func newPicture(contentType string, data []byte, now time.Time) *Picture {
	sum := sha256.Sum256(data)
	return &Picture{ContentType: contentType, Data: data, ETag: `"` + hex.EncodeToString(sum[:16]) + `"`, UpdatedAt: now}
}

// pictureWrites returns the writes that keep the stored picture in step with
// the user's picture field: store new bytes, delete replaced ones.
func (b *built) pictureWrites(cur *User) func(ctx context.Context, tx Tx) error {
	next := b.user
	switch {
	case b.picture != nil:
		return func(ctx context.Context, tx Tx) error { return tx.PutPicture(ctx, next.TenantID, next.ID, b.picture) }
	case cur != nil && b.wire.IsPictureURL(cur.ID, cur.Picture) && next.Picture != cur.Picture:
		return func(ctx context.Context, tx Tx) error { return tx.DeletePicture(ctx, next.TenantID, next.ID) }
	}
	return nil
}

// UpdateUser applies a PATCH or PUT body to a user (§4). Errors are *Error values:
// not_found, user_deleting, precondition_failed, precondition_required,
// invalid_request, unknown_field, read_only_field, validation_failed,
// invalid_role, patch_conflict, email_taken, username_taken, forbidden,
// validation_rejected, validation_unavailable, quota_exceeded.
func (s *Service) UpdateUser(ctx context.Context, t *Tenant, id string, kind BodyKind, body []byte, opts WriteOptions) (*Written, error) {
	return s.UpdateUserActive(ctx, t, id, kind, body, nil, opts)
}

// UpdateUserActive is UpdateUser, and, when active is not nil, in the same
// write, DeactivateUser (active false) or ReactivateUser (true) of the user
// the update leaves: one transaction, so that both changes are made or
// neither. Each change keeps what it has as a write of its own: its policy
// check (updateUser, then deactivateUser or reactivateUser, on the user as
// the update leaves it), the validation webhooks for the update, its
// audit entry and event (user.updated, then user.deactivated or
// user.reactivated), and one write of the quota each; a reactivation needs
// a seat of the active-user quota. The user's version grows by one per
// change. Errors: those of UpdateUser, owner_protected, quota_exceeded.
func (s *Service) UpdateUserActive(ctx context.Context, t *Tenant, id string, kind BodyKind, body []byte, active *bool, opts WriteOptions) (*Written, error) {
	// The body is parsed once, but its errors are reported only once the
	// user is found: the order of checks is find, then parse (§4).
	parsed, parseErr := parseBody(body)
	if _, empty := parsed.(emptyBody); parseErr == nil && kind == BodyReplace && empty {
		parseErr = Errorf(ECodeInvalidRequest, "A PUT body must be the whole user as a JSON object.")
	}
	verified := explicitlyVerified(kind, parsed, opts)
	return s.writeUser(ctx, t, target{id: id}, opts, func(t *Tenant, cur *User, now time.Time) (*write, error) {
		if parseErr != nil {
			return nil, parseErr
		}
		w, err := s.decideUpdate(t, cur, kind, parsed, verified, now)
		if err != nil || active == nil {
			return w, err
		}
		base, fn := cur, deactivate
		if w != nil {
			base = w.next
		}
		if *active {
			fn = reactivate
		}
		st, err := s.decideTransition(base, now, fn)
		switch {
		case err != nil:
			return nil, err
		case w == nil:
			return st, nil
		}
		w.then = st
		return w, nil
	})
}

// decideUpdate decides a PATCH or PUT of cur on t's configuration.
func (s *Service) decideUpdate(t *Tenant, cur *User, kind BodyKind, parsed any, verified bool, now time.Time) (*write, error) {
	if kind != BodyReplace && isNoopBody(parsed) {
		return nil, nil
	}
	base := fullDoc(cur)
	doc, err := applyBody(kind, base, parsed)
	if err != nil {
		return nil, err
	}
	secureSent := touchesSecure(kind, parsed)
	b, err := s.build(t, cur, base, doc, kind, verified, secureSent, now)
	if err != nil {
		return nil, err
	}
	next := b.user
	changes := diff(base, fullDoc(next))
	if secureSent {
		changes["secure_metadata"] = Change{From: redacted, To: redacted}
	}
	if len(changes) == 0 {
		return nil, nil
	}
	next.Version = cur.Version + 1
	next.UpdatedAt = now
	return &write{
		next: next, event: EventUserUpdated, cedar: CedarUpdateUser, hook: true,
		changes: changes, data: updatedData(s.userJSON(next), base, changes), extra: b.pictureWrites(cur),
	}, nil
}

// updatedData is the data of a user.updated event: the user (its public
// JSON), the names of the changed fields and their previous values
// (secure_metadata by name only).
func updatedData(user json.RawMessage, before map[string]any, changes map[string]Change) map[string]any {
	names := make([]string, 0, len(changes))
	prev := map[string]any{}
	for f := range changes {
		names = append(names, f)
		if f != "secure_metadata" {
			prev[f] = before[f]
		}
	}
	slices.Sort(names)
	return map[string]any{"user": user, "changed_fields": names, "previous": prev}
}
