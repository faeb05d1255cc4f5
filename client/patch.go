package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Optional is one field of a UserPatch in one of three states: unset (the
// zero value, the field is left untouched), set to a value (Set), or
// cleared (Clear, sent as null).
//
// A generic Optional rather than pointer fields plus a list of fields to
// clear: one value holds the whole intent for its field, so that a patch
// cannot both set and clear a field, a zero value (false, "", 0) can be
// set like any other, and no field is named by a string.
type Optional[T any] struct {
	value T
	state optionalState
}

type optionalState uint8

const (
	unset optionalState = iota
	set
	cleared
)

// Set returns an Optional that sets its field to v.
func Set[T any](v T) Optional[T] { return Optional[T]{value: v, state: set} }

// Clear returns an Optional that clears its field (null). Go infers a
// type argument only from arguments, so it is written with one:
// Clear[string]().
func Clear[T any]() Optional[T] { return Optional[T]{state: cleared} }

// Get returns the value to set and true, or the zero value and false when
// the field is unset or cleared.
func (o Optional[T]) Get() (T, bool) { return o.value, o.state == set }

// IsCleared reports whether the field is to be cleared.
func (o Optional[T]) IsCleared() bool { return o.state == cleared }

// IsZero reports whether the field is unset, which leaves it out of the
// request (the omitzero of UserPatch's tags).
func (o Optional[T]) IsZero() bool { return o.state == unset }

// MarshalJSON writes the value, or null for a cleared field.
func (o Optional[T]) MarshalJSON() ([]byte, error) {
	if o.state != set {
		return []byte("null"), nil
	}
	return json.Marshal(o.value)
}

// A Patch is the body of a partial update, in one of the three formats
// the API takes: UserPatch or RawPatch (application/json), MergePatch
// (application/merge-patch+json) or JSONPatch (application/json-patch+json).
type Patch interface {
	// body returns the patch's media type and encoded body.
	body() (contentType string, b []byte, err error)
}

// UserPatch is a typed partial update, sent as application/json: each set
// field is set, each cleared one is cleared, and unset ones are left
// untouched. Metadata, SecureMetadata, Location and Roles are replaced
// whole (a MergePatch merges into metadata instead). Its zero value
// changes nothing.
type UserPatch struct {
	Email          Optional[string]         `json:"email,omitzero"`
	EmailVerified  Optional[bool]           `json:"email_verified,omitzero"`
	Username       Optional[string]         `json:"username,omitzero"`
	Name           Optional[string]         `json:"name,omitzero"`
	GivenName      Optional[string]         `json:"given_name,omitzero"`
	FamilyName     Optional[string]         `json:"family_name,omitzero"`
	Picture        Optional[string]         `json:"picture,omitzero"`
	Bio            Optional[string]         `json:"bio,omitzero"`
	Birthdate      Optional[string]         `json:"birthdate,omitzero"`
	Location       Optional[Location]       `json:"location,omitzero"`
	Company        Optional[string]         `json:"company,omitzero"`
	Website        Optional[string]         `json:"website,omitzero"`
	Country        Optional[string]         `json:"country,omitzero"`
	Locale         Optional[string]         `json:"locale,omitzero"`
	Zoneinfo       Optional[string]         `json:"zoneinfo,omitzero"`
	Roles          Optional[[]string]       `json:"roles,omitzero"`
	Metadata       Optional[map[string]any] `json:"metadata,omitzero"`
	SecureMetadata Optional[map[string]any] `json:"secure_metadata,omitzero"`
	ConsentedAt    Optional[time.Time]      `json:"consented_at,omitzero"`
	ConsentMethod  Optional[string]         `json:"consent_method,omitzero"`
}

func (p UserPatch) body() (string, []byte, error) {
	b, err := json.Marshal(p)
	return "application/json", b, err
}

// RawPatch is the JSON text of an application/json partial update, sent as
// it is: each member sets its field, null clears it, and fields left out
// are untouched, as with a UserPatch, but any member and any value reach
// the server, which answers what it refuses (unknown or read-only members,
// wrong types) with its own *Problem. It must be valid JSON.
type RawPatch []byte

func (p RawPatch) body() (string, []byte, error) {
	if !json.Valid(p) {
		return "", nil, errors.New("raw patch is not valid JSON")
	}
	return "application/json", p, nil
}

// MergePatch is the JSON text of an RFC 7396 merge patch of the user:
// objects merge recursively and null deletes a member, so
// MergePatch(`{"metadata": {"theme": null}}`) removes one metadata key.
type MergePatch []byte

func (p MergePatch) body() (string, []byte, error) {
	if !json.Valid(p) {
		return "", nil, errors.New("merge patch is not valid JSON")
	}
	return "application/merge-patch+json", p, nil
}

// JSONPatch is a list of RFC 6902 operations, applied in order, all or
// none. A failed test or a missing path is 409 patch_conflict.
type JSONPatch []Op

// Op is one JSON Patch operation: Op is add, remove, replace, move, copy
// or test; Path (and From, for move and copy) are JSON Pointers such as
// /metadata/theme or /roles/-. Value is sent for add, replace and test,
// even when nil (null).
type Op struct {
	Op    string
	Path  string
	From  string
	Value any
}

// MarshalJSON writes the members the operation takes, and only them.
func (o Op) MarshalJSON() ([]byte, error) {
	switch o.Op {
	case "add", "replace", "test":
		return json.Marshal(struct {
			Op    string `json:"op"`
			Path  string `json:"path"`
			Value any    `json:"value"`
		}{o.Op, o.Path, o.Value})
	case "move", "copy":
		return json.Marshal(struct {
			Op   string `json:"op"`
			From string `json:"from"`
			Path string `json:"path"`
		}{o.Op, o.From, o.Path})
	default:
		return json.Marshal(struct {
			Op   string `json:"op"`
			Path string `json:"path"`
		}{o.Op, o.Path})
	}
}

func (p JSONPatch) body() (string, []byte, error) {
	if p == nil {
		p = JSONPatch{}
	}
	b, err := json.Marshal([]Op(p))
	return "application/json-patch+json", b, err
}

// Update applies a partial update to a user (PATCH) and returns the user as
// it now is. A patch that changes nothing is a no-op: the same version
// comes back. Takes IfVersion, DryRun and ActingUser.
//
// Fails with a *Problem: 400 for a wrong JSON type, an unknown or read-only
// member; 422 validation_failed with every failing field; 409 email_taken,
// username_taken, user_deleting or patch_conflict; 412 precondition_failed
// with IfVersion; 404 when there is no such user; 403 forbidden.
func (c *Client) Update(ctx context.Context, id string, p Patch, opts ...CallOption) (*User, error) {
	if p == nil {
		return nil, errors.New("update user: nil patch")
	}
	ct, b, err := p.body()
	if err != nil {
		return nil, fmt.Errorf("update user: %w", err)
	}
	resp, err := c.do(ctx, request{method: http.MethodPatch, path: path("v1", "users", id), body: b, contentType: ct, opts: opts})
	if err != nil {
		return nil, fmt.Errorf("update user: %w", err)
	}
	return userAnswer(resp, id)
}

// UpdateRaw is Update with a RawPatch: body, a JSON object, is sent as it
// is as an application/json partial update.
func (c *Client) UpdateRaw(ctx context.Context, id string, body []byte, opts ...CallOption) (*User, error) {
	return c.Update(ctx, id, RawPatch(body), opts...)
}

// UpdateIf is Update conditional on the user still being at version: if
// it changed since, the update fails with 412 precondition_failed
// (IsPreconditionFailed) and nothing is written.
func (c *Client) UpdateIf(ctx context.Context, id string, version int64, p Patch, opts ...CallOption) (*User, error) {
	// A full slice expression, so that the caller's slice is never written.
	return c.Update(ctx, id, p, append(opts[:len(opts):len(opts)], IfVersion(version))...)
}

// modifyAttempts bounds the reads and writes of one Modify: beyond them
// the user changes faster than fn can follow, and the caller decides.
const modifyAttempts = 5

// Modify reads a user, asks fn for the patch to apply to it and applies
// it conditional on the version read. If another write came between, it
// reads the user again and asks fn again, up to a bound, after which it
// returns the 412 *Problem. fn may be called several times, each time with
// a fresh user, and must not keep it; a nil patch writes nothing and
// returns the user read. An error of fn is returned as it is.
func (c *Client) Modify(ctx context.Context, id string, fn func(*User) (Patch, error), opts ...CallOption) (*User, error) {
	var err error
	for range modifyAttempts {
		var u *User
		if u, err = c.Get(ctx, id); err != nil {
			return nil, err
		}
		p, ferr := fn(u)
		if ferr != nil {
			return nil, ferr
		}
		if p == nil {
			return u, nil
		}
		var out *User
		if out, err = c.UpdateIf(ctx, id, u.Version, p, opts...); err == nil {
			return out, nil
		}
		if !IsPreconditionFailed(err) {
			return nil, err
		}
	}
	return nil, err
}
