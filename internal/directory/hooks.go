package directory

import (
	"context"
)

// CedarAction is the action of a write as the policies (§6) name it. The
// names are part of every tenant's policies, so they never change.
type CedarAction string

// The Cedar actions of user writes.
const (
	CedarCreateUser     CedarAction = "createUser"
	CedarUpdateUser                 = "updateUser"
	CedarDeleteUser                 = "deleteUser"
	CedarRestoreUser                = "restoreUser"
	CedarDeactivateUser             = "deactivateUser"
	CedarReactivateUser             = "reactivateUser"
	CedarSuspendUser                = "suspendUser"
	CedarUnsuspendUser              = "unsuspendUser"
)

// AuthzRequest is one write to authorize (§6).
type AuthzRequest struct {
	Tenant *Tenant
	// Key is the API key of the request; it is the principal unless
	// ActingUser is set.
	Key *Key
	// ActingUser is the user named by X-Acting-User, or nil.
	ActingUser *User
	Action     CedarAction
	// Resource is the target user as it is before the write; on create, as
	// it would be.
	Resource *User
	// ChangedFields names the fields the write changes.
	ChangedFields []string
	// RolesAfter are the roles the target has after the write.
	RolesAfter []string
}

// Authorizer decides whether a write may happen. It returns nil to allow,
// or an *Error with code forbidden and the notices of the determining
// policies to deny.
type Authorizer interface {
	Authorize(ctx context.Context, r AuthzRequest) error
}

// HookRequest is a write offered to the tenant's validation webhooks (§7).
// Before and After are public documents (PublicDoc): never secure_metadata.
type HookRequest struct {
	Tenant *Tenant
	// Endpoints are the tenant's webhook endpoints, of every kind, as of
	// Tenant.ConfigVersion; nil lets the hook list them itself.
	Endpoints     []*Endpoint
	Action        CedarAction
	Before        map[string]any // nil on create
	After         map[string]any
	ChangedFields []string
}

// ValidationHook calls a tenant's validation webhooks before a write
// commits. It returns nil to proceed, an *Error validation_rejected carrying
// the hook's message and errors, or an *Error validation_unavailable when a
// hook that does not fail open cannot be asked.
type ValidationHook interface {
	Validate(ctx context.Context, r HookRequest) error
}

// PolicyEngine is an Authorizer that also knows the policy language: the
// default policy set and how to check a tenant's text before storing it.
type PolicyEngine interface {
	Authorizer
	// DefaultPolicies is the text in force for a tenant that set none.
	DefaultPolicies() string
	// Validate returns an *Error (validation_failed) describing every
	// problem of text, or nil.
	Validate(text string) error
}

// allowAll is the Authorizer and ValidationHook used when none is given.
type allowAll struct{}

func (allowAll) Authorize(context.Context, AuthzRequest) error { return nil }
func (allowAll) Validate(context.Context, HookRequest) error   { return nil }
