package client

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"time"
)

// Delete starts a user's deletion: the user answered is being deleted
// (StatusDeleting) until Restore, or until the tenant's grace period ends
// and it is purged. Takes IfVersion, DryRun and ActingUser.
//
// Fails with a *Problem: 409 owner_protected for the tenant owner, 409
// user_deleting when it is already being deleted, 404, 412, 403 forbidden.
func (c *Client) Delete(ctx context.Context, id string, opts ...CallOption) (*User, error) {
	u, err := c.writeUser(ctx, http.MethodDelete, path("v1", "users", id), id, nil, opts)
	if err != nil {
		return nil, fmt.Errorf("delete user: %w", err)
	}
	return u, nil
}

// Restore cancels a user's pending deletion; the user is active again.
// Restoring a user that is not being deleted changes nothing. Takes
// IfVersion, DryRun and ActingUser; fails with 429 quota_exceeded when the
// plan has no active-user seat left, among others.
func (c *Client) Restore(ctx context.Context, id string, opts ...CallOption) (*User, error) {
	return c.lifecycle(ctx, "restore user", id, "restore", opts)
}

// Deactivate deactivates a user (StatusDeactivated). Deactivating a
// deactivated user changes nothing. Takes IfVersion, DryRun and
// ActingUser; fails with 409 owner_protected or user_deleting, among
// others.
func (c *Client) Deactivate(ctx context.Context, id string, opts ...CallOption) (*User, error) {
	return c.lifecycle(ctx, "deactivate user", id, "deactivate", opts)
}

// Reactivate makes a deactivated user active again. Reactivating an active
// user changes nothing. Takes IfVersion, DryRun and ActingUser; fails with
// 429 quota_exceeded or 409 user_deleting, among others.
func (c *Client) Reactivate(ctx context.Context, id string, opts ...CallOption) (*User, error) {
	return c.lifecycle(ctx, "reactivate user", id, "reactivate", opts)
}

func (c *Client) lifecycle(ctx context.Context, op, id, action string, opts []CallOption) (*User, error) {
	u, err := c.writeUser(ctx, http.MethodPost, path("v1", "users", id, action), id, nil, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return u, nil
}

// SuspensionInput is a new suspension.
type SuspensionInput struct {
	Reason string     `json:"reason"`
	EndsAt *time.Time `json:"ends_at,omitzero"` // nil: until lifted
}

// Suspension is a suspension as Suspend answers it.
type Suspension struct {
	ID        string     `json:"id"`
	Reason    string     `json:"reason"`
	CreatedAt time.Time  `json:"created_at"`
	EndsAt    *time.Time `json:"ends_at"`
	// UserVersion is the user's version after the suspension (its ETag).
	UserVersion int64 `json:"-"`
}

// Suspend adds a suspension to a user. Takes IfVersion, DryRun (the
// suspension as it would be) and ActingUser.
//
// Fails with a *Problem: 422 validation_failed (reason, ends_at), 409
// limit_exceeded past 10 suspensions in force, 409 user_deleting, among
// others.
func (c *Client) Suspend(ctx context.Context, id string, in SuspensionInput, opts ...CallOption) (*Suspension, error) {
	s := &Suspension{}
	resp, err := c.sendJSON(ctx, http.MethodPost, path("v1", "users", id, "suspensions"), nil, in, s, opts)
	if err != nil {
		return nil, fmt.Errorf("suspend user: %w", err)
	}
	s.UserVersion = etagVersion(resp.header)
	return s, nil
}

// LiftSuspension lifts one of a user's suspensions in force and returns the
// user. Takes IfVersion, DryRun and ActingUser; a suspension that is not
// in force is 404.
func (c *Client) LiftSuspension(ctx context.Context, id, suspensionID string, opts ...CallOption) (*User, error) {
	u, err := c.writeUser(ctx, http.MethodDelete, path("v1", "users", id, "suspensions", suspensionID), id, nil, opts)
	if err != nil {
		return nil, fmt.Errorf("lift suspension: %w", err)
	}
	return u, nil
}

// AuditEntry is one effective change of a user.
type AuditEntry struct {
	ID     string `json:"id"`
	Action string `json:"action"` // user.created, user.updated, …, user.purged
	Actor  struct {
		KeyID        string `json:"key_id"`         // "": the command line
		ActingUserID string `json:"acting_user_id"` // X-Acting-User, if any
	} `json:"actor"`
	RequestID string            `json:"request_id"`
	At        time.Time         `json:"at"`
	Changes   map[string]Change `json:"changes"` // by field
}

// Change is a field's value before and after a change, as JSON;
// secure_metadata's are always "[redacted]".
type Change struct {
	From json.RawMessage `json:"from"`
	To   json.RawMessage `json:"to"`
}

// History walks a user's audit trail, newest first; pageSize is the size
// of each request (0: the server's default).
func (c *Client) History(ctx context.Context, id string, pageSize int) iter.Seq2[*AuditEntry, error] {
	return pages[AuditEntry](c, ctx, "user history", path("v1", "users", id, "history"), nil, pageSize)
}

// Picture is a user's stored picture.
type Picture struct {
	ContentType string // image/png, image/jpeg, image/gif or image/webp
	ETag        string
	Data        []byte
}

// Picture returns the picture Roster stores for a user whose picture was
// sent as a data: URI. A user without one is 404.
func (c *Client) Picture(ctx context.Context, id string) (*Picture, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: path("v1", "users", id, "picture")})
	if err != nil {
		return nil, fmt.Errorf("user picture: %w", err)
	}
	return &Picture{ContentType: resp.header.Get("Content-Type"), ETag: resp.header.Get("ETag"), Data: resp.body}, nil
}
