package directory

import (
	"context"
	"strings"
	"time"
)

// Store is what a database backend provides. Implementations only store: the
// rules live in Service. Every user query is scoped by tenant ID; a row in
// another tenant is ErrNotFound. Every implementation must pass storetest.
//
// The Store's own methods read (and a few bookkeeping writes of the
// webhook dispatcher and of key use); every other write goes through a Tx,
// in InTx or, for a user write counted against the writes quota,
// InCountedTx. After the transactions, the methods are grouped by concern
// in the order Tx's are: tenants, keys, users, usage, pictures, purge,
// webhooks, then idempotency keys.
//
// Values stored as JSON (metadata, secure metadata, audit changes) come back
// as JSON decodes them: numbers as json.Number, arrays as []any, objects as
// map[string]any. A list limit <= 0 means no limit.
type Store interface {
	// Ping reports whether the database is reachable.
	Ping(ctx context.Context) error
	// Close releases the database; the Store is unusable after it.
	Close() error

	// Transactions.

	// InTx runs fn in one write transaction: everything fn writes commits
	// together, or nothing does when fn (or the commit) fails. fn must return
	// every store error other than ErrNotFound and ErrVersionConflict (after
	// a failed statement PostgreSQL refuses the rest of the transaction), and
	// may be run again when the database asks for a retry.
	InTx(ctx context.Context, fn func(Tx) error) error
	// InCountedTx runs fn as InTx does, then counts the write fn returns
	// (none if nil) as AddWrite does and checks it at the commit: if the
	// tenant's ConfigVersion is not the count's Limits.ConfigVersion, or
	// the period's count with this write passes Limits.MaxWrites, nothing
	// of fn's writes commits and InCountedTx returns an error wrapping
	// ErrConfigChanged or ErrWriteQuota (ErrNotFound for a missing tenant).
	// Otherwise it returns the counters AddWrite would have returned (zero
	// when fn counted no write). On PostgreSQL the count and the check go
	// with the COMMIT, in no round trip of their own.
	InCountedTx(ctx context.Context, fn func(Tx) (*WriteCount, error)) (Counters, error)

	// Tenants.

	// GetTenant returns ErrNotFound if the tenant does not exist.
	GetTenant(ctx context.Context, id string) (*Tenant, error)
	// ListTenants lists tenants newest first, IDs below before ("" = from the top).
	ListTenants(ctx context.Context, before string, limit int) ([]*Tenant, error)
	// CountTenants counts all tenants.
	CountTenants(ctx context.Context) (int, error)

	// API keys and the admin audit trail.

	// KeyByHash returns the key whose token hashes to hash, or ErrNotFound.
	KeyByHash(ctx context.Context, hash []byte) (*Key, error)
	// KeysVersion returns the version of all keys, which every change of a
	// key but its last use (TouchKey) raises, in the change's transaction.
	KeysVersion(ctx context.Context) (int64, error)
	// GetKey returns a key of the tenant (tenantID "": a platform key), or
	// ErrNotFound.
	GetKey(ctx context.Context, tenantID, id string) (*Key, error)
	// KeyByID returns the key with id, whichever tenant it is of (TenantID
	// "": a platform key), or ErrNotFound.
	KeyByID(ctx context.Context, id string) (*Key, error)
	// ListKeys lists the tenant's keys (tenantID "": the platform keys),
	// newest first, IDs below before.
	ListKeys(ctx context.Context, tenantID, before string, limit int) ([]*Key, error)
	// TouchKey sets the key's LastUsedAt to at unless it is already at or
	// after it. No error if the key does not exist.
	TouchKey(ctx context.Context, id string, at time.Time) error
	// ListAdminAudit lists the tenant's admin audit entries (tenantID "":
	// those of platform keys), newest first, IDs below before.
	ListAdminAudit(ctx context.Context, tenantID, before string, limit int) ([]*AdminAuditEntry, error)

	// Users and their audit trail.

	// GetUser returns ErrNotFound if the user is not in the tenant.
	GetUser(ctx context.Context, tenantID, id string) (*User, error)
	// ListUsers lists a tenant's users newest first (oldest first with
	// f.Oldest).
	ListUsers(ctx context.Context, tenantID string, f UserFilter) ([]*User, error)
	// CountUsers counts the tenant's users f selects, ignoring f.Before,
	// f.Offset and f.Limit.
	CountUsers(ctx context.Context, tenantID string, f UserFilter) (int, error)
	// ListAudit lists a user's audit entries newest first.
	ListAudit(ctx context.Context, tenantID, userID, before string, limit int) ([]*AuditEntry, error)
	// UsersHoldingRoles returns which of roles at least one user of the
	// tenant holds, without repeats, in no particular order.
	UsersHoldingRoles(ctx context.Context, tenantID string, roles []string) ([]string, error)

	// Usage.

	// Usage returns the tenant's writes counted for the period starting at
	// periodStart and its active users: the counter the Service maintains
	// with Tx.AddActiveUsers, not a count of user rows. Both figures are of
	// one moment; a missing tenant has none of either. PeriodEnd is left
	// zero.
	Usage(ctx context.Context, tenantID string, periodStart time.Time) (*Usage, error)

	// Pictures.

	// GetPicture returns a user's stored picture, or ErrNotFound.
	GetPicture(ctx context.Context, tenantID, userID string) (*Picture, error)

	// Purge.

	// DuePurges lists users whose status is deleting and whose PurgeAfter is
	// not after now, oldest first, across all tenants.
	DuePurges(ctx context.Context, now time.Time, limit int) ([]UserRef, error)
	// ErasePurged makes what the purges committed so far deleted gone from
	// the database's files too, as far as the backend can while it serves:
	// the purge worker calls it after each batch of purges, and again until
	// it succeeds. It does nothing when there is nothing new to erase, so
	// ordinary writes never pay for it. It returns an error wrapping
	// ErrUnavailable if the database stayed too busy to do it now.
	ErasePurged(ctx context.Context) error

	// The change feed.

	// ListFeed lists up to limit of the tenant's outbox events after the
	// cursor (the zero cursor: from the oldest kept), in the order their
	// transactions committed, each with its cursor. It lists no event
	// while an event that would sort before it may still commit: an event
	// committed after a read never sorts before the events that read
	// returned. It returns an error wrapping ErrCursorExpired if
	// ExpireEvents removed an event after the cursor.
	ListFeed(ctx context.Context, tenantID string, after FeedCursor, limit int) ([]FeedEntry, error)
	// ExpireEvents removes up to limit of the tenant's events created
	// before cutoff that have no pending delivery, with their deliveries,
	// and remembers the last position removed for ListFeed. It returns how
	// many it removed.
	ExpireEvents(ctx context.Context, tenantID string, cutoff time.Time, limit int) (int, error)

	// Webhooks: endpoints, and the deliveries of the outbox's events.

	// GetEndpoint returns ErrNotFound unless the endpoint is the tenant's.
	GetEndpoint(ctx context.Context, tenantID, id string) (*Endpoint, error)
	// ListEndpoints lists all of a tenant's endpoints, oldest first.
	ListEndpoints(ctx context.Context, tenantID string) ([]*Endpoint, error)
	// AllEndpoints lists every tenant's endpoints (to seal their secrets
	// under a new key).
	AllEndpoints(ctx context.Context) ([]*Endpoint, error)
	// ListDeliveries lists an endpoint's deliveries newest first.
	ListDeliveries(ctx context.Context, tenantID, endpointID, before string, limit int) ([]*Delivery, error)
	// ListAttempts lists the attempts of the given deliveries, oldest first.
	ListAttempts(ctx context.Context, tenantID string, deliveryIDs []string) ([]*Attempt, error)
	// ClaimDeliveries leases up to limit pending deliveries that are due at
	// now (NextAttemptAt <= now), across tenants: it sets their
	// NextAttemptAt to now+lease so that no other dispatcher, in this
	// process or another node, claims them meanwhile. A delivery is claimed
	// only when no earlier pending delivery (by event ID) exists for the
	// same endpoint and user, so each user's events arrive in order.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*ClaimedDelivery, error)
	// FinishAttempt records an attempt of a claimed delivery. On success the
	// delivery becomes delivered; otherwise Attempts grows and the delivery
	// is retried at next. A failure of a delivery whose user is purged, even
	// by a purge that committed while the attempt was under way, is
	// recorded with PurgedErrorText instead of its error: no error text
	// recorded for a purged user's delivery outlives the purge.
	FinishAttempt(ctx context.Context, d *Delivery, a *Attempt, next time.Time) error

	// Idempotency keys (idempotency.go), written outside any transaction
	// of the request they guard: the claim must be seen by other nodes
	// while the request runs.

	// ClaimIdempotency inserts e unless an entry of e.TenantID and e.Key
	// exists that has not expired at now and is done or was created at or
	// after staleBefore; in that case it leaves the entry and returns it,
	// otherwise it replaces it and returns e. Atomic across nodes.
	ClaimIdempotency(ctx context.Context, e *IdempotencyEntry, staleBefore, now time.Time) (*IdempotencyEntry, error)
	// CompleteIdempotency marks the entry of e.TenantID and e.Key done with
	// e's Status, Header and Body, if e.Claim still holds it; ErrNotFound
	// otherwise.
	CompleteIdempotency(ctx context.Context, e *IdempotencyEntry) error
	// ReleaseIdempotency deletes the entry if claim holds it and it is not
	// done; no error otherwise.
	ReleaseIdempotency(ctx context.Context, tenantID, key, claim string) error
	// DeleteExpiredIdempotency deletes up to limit entries whose ExpiresAt
	// is not after now, and returns how many.
	DeleteExpiredIdempotency(ctx context.Context, now time.Time, limit int) (int, error)
}

// UserWatcher is implemented by stores that can tell a node which users
// other nodes and processes change, so that it may keep users in memory
// (internal/usercache). The SQLite store follows the outbox (every change of
// a user's row writes its event in the same transaction); the PostgreSQL
// store listens for the notifications a trigger on the users table sends.
type UserWatcher interface {
	// WatchUsers reports, every interval until ctx ends, the users whose
	// rows transactions committed since the watch began, by any node or
	// process, this one's included, with their versions when it knows them:
	// it calls changed with each batch, then synced(at), which says that
	// every change committed before at has been reported. It returns ctx's
	// error when ctx ends, or an error when it cannot go on, after which
	// changes may have been missed.
	WatchUsers(ctx context.Context, interval time.Duration, changed func([]UserChange), synced func(at time.Time)) error
}

// UserCache is a Store whose GetUser may answer from memory, up to a bound
// behind other nodes' commits (internal/usercache); StoredUser reads the
// user as stored. The Service reads a user as stored before refusing a
// write decided on it.
type UserCache interface {
	StoredUser(ctx context.Context, tenantID, id string) (*User, error)
}

// Tx is a write transaction, of Store.InTx or Store.InCountedTx. Its
// methods are grouped by concern as Store's are, with suspensions besides.
type Tx interface {
	// Tenants.

	// CreateTenant stores a new tenant.
	CreateTenant(ctx context.Context, t *Tenant) error
	// UpdateTenant stores everything of t but its creation time and its
	// ConfigVersion, which it increments atomically and sets in t to the
	// new value. ErrNotFound if the tenant does not exist.
	UpdateTenant(ctx context.Context, t *Tenant) error
	// BumpConfigVersion increments the tenant's ConfigVersion, for a change
	// of its configuration stored elsewhere (its webhook endpoints).
	// ErrNotFound if the tenant does not exist.
	BumpConfigVersion(ctx context.Context, tenantID string) error
	// LockTenant serializes the transactions that check a count of the
	// tenant's against its cap — its active-user counter against the
	// quota, its webhook endpoints (SELECT … FOR NO KEY UPDATE on
	// PostgreSQL, which leaves other writes of the tenant free; SQLite's
	// single writer already serializes). ErrNotFound if the tenant does not
	// exist.
	LockTenant(ctx context.Context, tenantID string) error

	// API keys and the admin audit trail.

	// CreateKey stores a new key.
	CreateKey(ctx context.Context, k *Key) error
	// GetKey returns a key of the tenant (tenantID "": a platform key), its
	// row locked until the transaction ends, or ErrNotFound.
	GetKey(ctx context.Context, tenantID, id string) (*Key, error)
	// UpdateKey stores k's ExpiresAt and RevokedAt; ErrNotFound unless it
	// is a key of k.TenantID.
	UpdateKey(ctx context.Context, k *Key) error
	// CountManagingKeys counts the keys usable at now that can manage the
	// tenant's keys: those with the admin scope (tenantID "": every
	// platform key). It locks their rows until the transaction ends, so
	// that a concurrent revocation of one of them waits and counts again.
	CountManagingKeys(ctx context.Context, tenantID string, now time.Time) (int, error)
	// InsertAdminAudit adds an entry to the admin audit trail.
	InsertAdminAudit(ctx context.Context, e *AdminAuditEntry) error

	// Users, their audit trail and their events.

	// GetUser returns the user as stored, its row locked against other
	// transactions' writes until this one ends (SELECT … FOR NO KEY UPDATE
	// on PostgreSQL; SQLite's single writer already serializes), or
	// ErrNotFound.
	GetUser(ctx context.Context, tenantID, id string) (*User, error)
	// CreateUser returns *UniqueViolation if the email or username is taken.
	CreateUser(ctx context.Context, u *User) error
	// UpdateUser stores u if the stored version is still prevVersion; it
	// returns ErrVersionConflict otherwise (or ErrNotFound if the user is
	// gone), and *UniqueViolation if the email or username is taken.
	UpdateUser(ctx context.Context, u *User, prevVersion int64) error
	// InsertAudit adds an entry to a user's audit trail.
	InsertAudit(ctx context.Context, a *AuditEntry) error
	// InsertEvent writes an event to the outbox with one delivery per given
	// delivery (which may be none). The event takes its feed position (see
	// ListFeed) as the transaction commits.
	InsertEvent(ctx context.Context, e *Event, deliveries []*Delivery) error

	// Usage: the active-user counter and the writes of a billing period.
	// A user write counts itself through Store.InCountedTx; AddWrite is the
	// count without the check, for a dry run.

	// CountActiveUsers returns the tenant's active-user counter, as this
	// transaction's own AddActiveUsers left it. The store does not count user
	// rows: the figure is what the Service maintains, in the transaction of
	// every write that changes whether a user is active. ErrNotFound if the
	// tenant does not exist.
	CountActiveUsers(ctx context.Context, tenantID string) (int64, error)
	// AddActiveUsers adds delta (which may be negative) to the tenant's
	// active-user counter. The addition is atomic: concurrent transactions
	// never lose one, even without LockTenant. On PostgreSQL it locks the
	// tenant's row as LockTenant does, until the transaction ends.
	// ErrNotFound if the tenant does not exist.
	AddActiveUsers(ctx context.Context, tenantID string, delta int64) error
	// AddWrite counts one write in the period starting at periodStart and
	// returns, read by the same statement, the period's count including it,
	// the tenant's active-user counter and its ConfigVersion. ErrNotFound if
	// the tenant does not exist.
	AddWrite(ctx context.Context, tenantID string, periodStart time.Time) (Counters, error)

	// Pictures.

	// SetSearchTerms removes the user's search terms gone and adds added
	// (terms are SearchKey-folded; see search.go). PurgeUser removes them
	// all.
	SetSearchTerms(ctx context.Context, tenantID, userID string, gone, added []string) error

	// PutPicture stores (or replaces) a user's picture.
	PutPicture(ctx context.Context, tenantID, userID string, p *Picture) error
	// DeletePicture removes a user's picture; no error if there is none.
	DeletePicture(ctx context.Context, tenantID, userID string) error

	// Suspensions.

	// InsertSuspension adds a suspension to a user.
	InsertSuspension(ctx context.Context, tenantID, userID string, s *Suspension) error
	// LiftSuspension ends a suspension at once; ErrNotFound unless it is an
	// unlifted suspension of that user.
	LiftSuspension(ctx context.Context, tenantID, userID, id string, at time.Time) error

	// Purge.

	// PurgeUser erases a user: its row, picture, suspensions and the
	// Idempotency-Key entries about it (IdempotencyEntry.UserID) are deleted;
	// in its audit entries every from/to value becomes null (action, actor,
	// time, request ID and field names stay); the payload of each of its
	// outbox events is replaced by scrubbed, which holds no personal data;
	// the error text of every delivery of those events and of their
	// attempts, which receivers' answers may have filled, becomes
	// PurgedErrorText where it is not empty (statuses, times and counts
	// stay). ErrNotFound if the user does not exist.
	PurgeUser(ctx context.Context, tenantID, userID string, scrubbed func(e *Event) []byte) error

	// Webhooks.

	// CreateEndpoint stores a webhook endpoint.
	CreateEndpoint(ctx context.Context, e *Endpoint) error
	// GetEndpoint returns the tenant's endpoint, its row locked against
	// other transactions' writes until this one ends, or ErrNotFound.
	GetEndpoint(ctx context.Context, tenantID, id string) (*Endpoint, error)
	// SetEndpointSecrets stores e's Secret, PreviousSecret and
	// PreviousUntil, or returns ErrNotFound if the endpoint is gone.
	SetEndpointSecrets(ctx context.Context, e *Endpoint) error
	// CountEndpoints counts the tenant's webhook endpoints of a kind
	// (EndpointValidation or EndpointEvents), this transaction's own
	// included. After LockTenant no concurrent transaction that takes the
	// lock too can change the count until this one ends.
	CountEndpoints(ctx context.Context, tenantID, kind string) (int, error)
	// DeleteEndpoint removes an endpoint and its pending deliveries;
	// ErrNotFound unless it is the tenant's.
	DeleteEndpoint(ctx context.Context, tenantID, id string) error
}

// PurgedErrorText replaces the error text of a purged user's deliveries and
// delivery attempts.
const PurgedErrorText = "[purged]"

// WriteCount is the one write a transaction of InCountedTx counts at its
// commit: a write of the tenant in the billing period starting at
// PeriodStart, which must keep to Limits. fn returns it rather than
// InCountedTx taking it, as the write is decided inside the transaction:
// on the user as the transaction finds it, it may be none.
type WriteCount struct {
	TenantID    string
	PeriodStart time.Time
	Limits      WriteLimits
}

// WriteLimits are what a counted write must keep to: the tenant's
// configuration as the write was decided on it, and the plan's writes per
// billing period.
type WriteLimits struct {
	ConfigVersion int64
	MaxWrites     int64
}

// UserFilter selects users to list. Empty fields do not filter.
type UserFilter struct {
	EmailKey   string // EmailKey of the email
	Username   string // normalized
	ExternalID string
	Status     string
	// SearchFrom and SearchTo, when set, keep the users with a search term
	// in [SearchFrom, SearchTo) (PrefixRange), compared bytewise.
	SearchFrom, SearchTo string
	Where                *UserCond // a condition the store evaluates in its query
	Before               string    // list users whose ID sorts below this one
	Oldest               bool      // oldest first (by ID) instead of newest first
	// SortBy, when set, orders the users by this field first (users
	// without a value last), ascending unless SortDescending, then by ID
	// as Oldest says. FieldRole does not sort.
	SortBy         UserField
	SortDescending bool
	Offset         int // skip this many users of the ordered list
	Limit          int
}

// UserCond is a condition on a tenant's users that a store evaluates in
// its query, built by a client of the Service (SCIM filters) and checked
// by it: every Field is one of the UserField constants, every Op one of
// the CondOp comparisons, and every Value of the type its field takes.
// Comparisons are two-valued: one on a field the user has no value for
// (NULL, or "") is false, so Not of it is true.
type UserCond struct {
	Kind  CondKind
	Args  []*UserCond // And, Or: two or more; Not: one
	Field UserField   // Compare, Present
	Op    CondOp      // Compare
	// Value is a string, or a time.Time for the time fields. With Fold, the
	// field is compared in lower case (ASCII on SQLite) and Value must be
	// in lower case already.
	Value any
	Fold  bool
}

// CondKind is the kind of a UserCond.
type CondKind int

// The kinds of UserCond.
const (
	CondFalse CondKind = iota
	CondTrue
	CondAnd
	CondOr
	CondNot
	CondCompare
	CondPresent // the field has a value
)

// UserField names what a UserCond can compare: a column, or a member of a
// user's profile.
type UserField string

// The fields of UserCond.
const (
	FieldID          UserField = "id"
	FieldExternalID  UserField = "external_id"
	FieldSCIMUserKey UserField = "scim_user_key" // SCIMUserNameKey of scim_user_name
	FieldEmailKey    UserField = "email_key"
	FieldName        UserField = "name"
	FieldGivenName   UserField = "given_name"
	FieldFamilyName  UserField = "family_name"
	FieldStatus      UserField = "status"
	FieldRole        UserField = "role"       // eq only: the user holds the role Value
	FieldCreatedAt   UserField = "created_at" // Value a time.Time
	FieldUpdatedAt   UserField = "updated_at" // Value a time.Time
)

// CondOp is a comparison of a UserCond, SCIM's operators: strings order by
// code point, co/sw/ew take strings only.
type CondOp string

// The comparisons.
const (
	OpEq CondOp = "eq"
	OpNe CondOp = "ne"
	OpCo CondOp = "co"
	OpSw CondOp = "sw"
	OpEw CondOp = "ew"
	OpGt CondOp = "gt"
	OpGe CondOp = "ge"
	OpLt CondOp = "lt"
	OpLe CondOp = "le"
)

// SCIMUserNameKey is what the uniqueness of a SCIM userName is decided on:
// its lower case (for an email address, its EmailKey).
func SCIMUserNameKey(s string) string { return strings.ToLower(s) }
