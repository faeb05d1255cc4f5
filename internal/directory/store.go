package directory

import (
	"context"
)

// Store is what a database backend provides. Implementations only store: the
// rules live in Service. Every user query is scoped by tenant ID; a row in
// another tenant is ErrNotFound. Every implementation must pass storetest.
type Store interface {
	// Ping reports whether the database is reachable.
	Ping(ctx context.Context) error
	Close() error

	// GetTenant returns ErrNotFound if the tenant does not exist.
	GetTenant(ctx context.Context, id string) (*Tenant, error)
	// ListTenants lists tenants newest first, IDs below before ("" = from the top).
	ListTenants(ctx context.Context, before string, limit int) ([]*Tenant, error)
	// CountTenants counts all tenants.
	CountTenants(ctx context.Context) (int, error)

	// KeyByHash returns the key whose token hashes to hash, or ErrNotFound.
	KeyByHash(ctx context.Context, hash []byte) (*Key, error)

	// GetUser returns ErrNotFound if the user is not in the tenant.
	GetUser(ctx context.Context, tenantID, id string) (*User, error)
	// ListUsers lists a tenant's users newest first.
	ListUsers(ctx context.Context, tenantID string, f UserFilter) ([]*User, error)
	// ListAudit lists a user's audit entries newest first.
	ListAudit(ctx context.Context, tenantID, userID, before string, limit int) ([]*AuditEntry, error)
	// ListEvents lists the outbox events of a tenant, oldest first, after the
	// given event ID ("" = from the start).
	ListEvents(ctx context.Context, tenantID, after string, limit int) ([]*Event, error)

	// InTx runs fn in one write transaction: everything fn writes commits
	// together, or nothing does when fn (or the commit) fails.
	InTx(ctx context.Context, fn func(Tx) error) error
}

// Tx is a write transaction.
type Tx interface {
	GetUser(ctx context.Context, tenantID, id string) (*User, error)
	CreateTenant(ctx context.Context, t *Tenant) error
	// UpdateTenant returns ErrNotFound if the tenant does not exist.
	UpdateTenant(ctx context.Context, t *Tenant) error
	CreateKey(ctx context.Context, k *Key) error
	// CreateUser returns *UniqueViolation if the email or username is taken.
	CreateUser(ctx context.Context, u *User) error
	// UpdateUser stores u if the stored version is still prevVersion; it
	// returns ErrVersionConflict otherwise (or ErrNotFound if the user is
	// gone), and *UniqueViolation if the email or username is taken.
	UpdateUser(ctx context.Context, u *User, prevVersion int64) error
	InsertAudit(ctx context.Context, a *AuditEntry) error
	InsertEvent(ctx context.Context, e *Event) error
}

// UserFilter selects users to list. Empty fields do not filter.
type UserFilter struct {
	EmailKey string // EmailKey of the email, see fields.EmailKey
	Username string // normalized
	Status   string
	Before   string // list users whose ID sorts below this one
	Limit    int
}
