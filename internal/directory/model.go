// Package directory is Roster's domain: users, tenants and keys, the rules a
// user profile obeys, the update engine, the Store interface every database
// backend implements, and the Service that carries out each use case.
//
// Dependencies point inwards: HTTP, SQLite and PostgreSQL adapters import this
// package; it imports none of them.
package directory

import (
	"slices"
	"time"
)

// User statuses.
const (
	StatusActive      = "active"
	StatusDeactivated = "deactivated"
	StatusDeleting    = "deleting"
)

// User is a person in a tenant's directory (§2). Optional string fields are
// empty when unset.
type User struct {
	ID       string
	TenantID string

	Email         string
	EmailVerified bool
	Username      string
	Name          string
	GivenName     string
	FamilyName    string
	Picture       string
	Bio           string
	Birthdate     string // YYYY-MM-DD
	Location      *Location
	Company       string
	Website       string
	Country       string
	Locale        string
	Zoneinfo      string
	Roles         []string
	Metadata      map[string]any
	// SecureMetadata is write-only: it never leaves the service in a
	// response, event, webhook payload, audit entry or log line.
	SecureMetadata map[string]any
	ConsentedAt    *time.Time
	ConsentMethod  string
	// ExternalID is the identifier an identity provider gives the user
	// (SCIM externalId), unique per tenant.
	ExternalID string
	// SCIMUserName is the SCIM userName as the identity provider sent it,
	// unique per tenant case-insensitively (internal/scim documents how it
	// relates to Username and Email).
	SCIMUserName string
	// SCIMAttributes are the identity provider's attributes Roster has no
	// field for, kept as sent. They are not Metadata, which is the
	// application's.
	SCIMAttributes map[string]any

	IsOwner bool
	Status  string
	// PurgeAfter is set while Status is deleting: the time after which the
	// purge worker erases the user.
	PurgeAfter *time.Time
	// Suspensions are the user's suspensions that were not lifted. Stores
	// return expired ones too; the Service shows only active ones.
	Suspensions  []Suspension
	AuthProvider string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Version      int64
}

// SCIMName is the user's SCIM userName: SCIMUserName, or for a user no
// identity provider named, its username, else its email, else its ID.
// Stores keep SCIMUserNameKey of it unique per tenant.
func (u *User) SCIMName() string {
	for _, s := range []string{u.SCIMUserName, u.Username, u.Email} {
		if s != "" {
			return s
		}
	}
	return u.ID
}

// SCIMNameField names the member SCIMName comes from: "scim_user_name",
// "username", "email" or "id". A store reports a taken SCIM userName as
// taken in that member.
func (u *User) SCIMNameField() string {
	switch {
	case u.SCIMUserName != "":
		return "scim_user_name"
	case u.Username != "":
		return "username"
	case u.Email != "":
		return "email"
	}
	return "id"
}

// Deactivated reports whether the user is deactivated.
func (u *User) Deactivated() bool { return u.Status == StatusDeactivated }

// Location is a point on Earth, returned as a GeoJSON Point.
type Location struct {
	Longitude float64
	Latitude  float64
}

// Suspension is a period during which a user is suspended.
type Suspension struct {
	ID        string
	Reason    string
	CreatedAt time.Time
	EndsAt    *time.Time // nil: until lifted
}

// Active reports whether the suspension is in force at now.
func (s Suspension) Active(now time.Time) bool { return s.EndsAt == nil || s.EndsAt.After(now) }

// Picture is an image Roster stores for a user (a data: URI on write).
type Picture struct {
	ContentType string
	Data        []byte
	// ETag is a strong entity tag derived from the bytes.
	ETag      string
	UpdatedAt time.Time
}

// Usage is a tenant's consumption of its plan's quotas (§8).
type Usage struct {
	PeriodStart time.Time // the first instant of the billing period
	PeriodEnd   time.Time // when the period, and the write quota, resets
	Writes      int64
	ActiveUsers int64 // users neither deactivated nor deleting
}

// Counters are a tenant's figures as a write transaction leaves them, read
// by Tx.AddWrite in the statement that counts the write.
type Counters struct {
	Writes        int64 // in the billing period, this write included
	ActiveUsers   int64 // the active-user counter, this transaction's moves included
	ConfigVersion int64 // the tenant's Tenant.ConfigVersion as committed
}

// Webhook endpoint kinds (§7).
const (
	EndpointValidation = "validation"
	EndpointEvents     = "events"
)

// Endpoint is a webhook endpoint of a tenant.
type Endpoint struct {
	ID        string
	TenantID  string
	URL       string
	Kind      string      // EndpointValidation or EndpointEvents
	Events    []EventType // the types an events endpoint receives; empty: all
	FailOpen  bool
	TimeoutMS int
	Secret    string // whsec_…; sealed at rest (internal/secretbox)
	CreatedAt time.Time
	// PreviousSecret is the secret a rotation replaced, which signs beside
	// Secret until PreviousUntil; "" (and nil) when there is none.
	PreviousSecret string
	PreviousUntil  *time.Time
}

// SigningSecrets are the secrets that sign a message sent at now: Secret,
// and PreviousSecret during its rotation's overlap.
func (e *Endpoint) SigningSecrets(now time.Time) []string {
	if e.PreviousSecret != "" && e.PreviousUntil != nil && now.Before(*e.PreviousUntil) {
		return []string{e.Secret, e.PreviousSecret}
	}
	return []string{e.Secret}
}

// wants reports whether e is an events endpoint that takes events of type
// typ (an empty list takes them all).
func (e *Endpoint) wants(typ EventType) bool {
	return e.Kind == EndpointEvents && (len(e.Events) == 0 || slices.Contains(e.Events, typ))
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
)

// Delivery is one event to be delivered to one endpoint. Deliveries of one
// user to one endpoint are delivered in event order.
type Delivery struct {
	ID            string // dlv_…
	TenantID      string
	EndpointID    string
	EventID       string
	UserID        string
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	CreatedAt     time.Time
	DeliveredAt   *time.Time
	// LastStatus and LastError describe the latest failed attempt.
	LastStatus int
	LastError  string
}

// Attempt records one delivery attempt.
type Attempt struct {
	DeliveryID string
	At         time.Time
	StatusCode int    // 0 when no HTTP answer came
	Error      string // "" on success
	DurationMS int64
}

// ClaimedDelivery is a delivery leased to one dispatcher, with what it needs
// to send it.
type ClaimedDelivery struct {
	Delivery *Delivery
	Endpoint *Endpoint
	Payload  []byte
}

// UserRef names a user.
type UserRef struct{ TenantID, ID string }

// UserChange says that a user was changed: its version after the change,
// or at least as new, and 0 when that is unknown or the user is gone.
type UserChange struct {
	TenantID, ID string
	Version      int64
}

// Tenant is an organization whose users Roster keeps.
type Tenant struct {
	ID       string
	Name     string
	Plan     Plan
	Settings Settings
	Roles    []string // the role catalog
	// RoleNames are the display names of roles, by role key: a SCIM
	// group's displayName as its identity provider sent it. A role without
	// one is named by its key.
	RoleNames map[string]string
	// Policies is the tenant's Cedar policy text; "" means the default set.
	Policies string
	// ConfigVersion grows by one with every change of the tenant's
	// configuration: the fields above and its webhook endpoints. The store
	// moves it (Tx.UpdateTenant, Tx.BumpConfigVersion); writes check it
	// (Counters).
	ConfigVersion int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Plan holds a tenant's commercial limits (§8).
type Plan struct {
	RateLimitRPS    float64 `json:"rate_limit_rps"`
	RateLimitBurst  int     `json:"rate_limit_burst"`
	WritesPerPeriod int64   `json:"writes_per_period"`
	MaxActiveUsers  int64   `json:"max_active_users"`
}

// Settings holds a tenant's behavioural settings (§8).
type Settings struct {
	DeletionGraceSeconds int64 `json:"deletion_grace_seconds"`
	MetadataMaxKeys      int   `json:"metadata_max_keys"`
	RequireIfMatch       bool  `json:"require_if_match"`
	// EventRetentionHours is how long the feed keeps events (see
	// EventRetention); 0, in tenants from before the setting, is the
	// default.
	EventRetentionHours int `json:"event_retention_hours"`
}

// DefaultPlan is the generous plan a tenant gets unless told otherwise.
func DefaultPlan() Plan {
	return Plan{RateLimitRPS: 100, RateLimitBurst: 200, WritesPerPeriod: 1_000_000, MaxActiveUsers: 100_000}
}

// DefaultSettings are a new tenant's settings.
func DefaultSettings() Settings {
	return Settings{DeletionGraceSeconds: 0, MetadataMaxKeys: 16, RequireIfMatch: false, EventRetentionHours: DefaultEventRetentionHours}
}

// DefaultRoles is a new tenant's role catalog.
func DefaultRoles() []string { return []string{"member", "admin", "viewer"} }

// Scopes of API keys (§6).
const (
	ScopeUsersRead  = "users:read"
	ScopeUsersWrite = "users:write"
	ScopeAdmin      = "admin"
	ScopePlatform   = "platform"
)

// Key is an API key. Only the SHA-256 hash of its token is stored.
type Key struct {
	ID       string
	TenantID string // empty for a platform key
	Name     string
	Scopes   []string
	Hash     []byte
	// Prefix is the start of the token, enough to recognize it in a list,
	// far too little to guess the rest; "" for keys older than prefixes.
	Prefix     string
	Created    time.Time
	ExpiresAt  *time.Time // nil: never; set by a rotation's grace period too
	RevokedAt  *time.Time
	LastUsedAt *time.Time // to the minute
	CreatedBy  string     // the key that made it; "" from the command line
}

// Usable reports whether the key authenticates at now: not revoked, not
// expired.
func (k *Key) Usable(now time.Time) bool {
	return k.RevokedAt == nil && (k.ExpiresAt == nil || now.Before(*k.ExpiresAt))
}

// Has reports whether the key carries scope. The admin scope implies the
// users scopes of its tenant.
func (k *Key) Has(scope string) bool {
	for _, s := range k.Scopes {
		if s == scope || (s == ScopeAdmin && (scope == ScopeUsersRead || scope == ScopeUsersWrite)) {
			return true
		}
	}
	return false
}

// Platform reports whether k is a platform key.
func (k *Key) Platform() bool { return k.TenantID == "" }

// Actor says who made a change, for the audit trail.
type Actor struct {
	KeyID        string `json:"key_id"`
	ActingUserID string `json:"acting_user_id"`
	RequestID    string `json:"-"`
	// Key is the request's API key, for policies; nil outside requests.
	Key *Key `json:"-"`
}

// Change is one field's before and after in an audit entry.
type Change struct {
	From any `json:"from"`
	To   any `json:"to"`
}

// AuditEntry records one effective change of a user (§4).
type AuditEntry struct {
	ID        string
	TenantID  string
	UserID    string
	Action    EventType
	Actor     Actor
	RequestID string
	At        time.Time
	Changes   map[string]Change
}

// Event is a change event written to the outbox in the same transaction as
// the change it describes (§7).
type Event struct {
	ID        string
	TenantID  string
	UserID    string
	Type      EventType
	Payload   []byte // the JSON delivered: {"type", "timestamp", "data"}
	CreatedAt time.Time
}

// EventType names a change of a user (§7): the type of its event and the
// action of its audit entry.
type EventType string

// The event types.
const (
	EventUserCreated     EventType = "user.created"
	EventUserUpdated               = "user.updated"
	EventUserDeleted               = "user.deleted" // deletion requested; the purge follows
	EventUserRestored              = "user.restored"
	EventUserDeactivated           = "user.deactivated"
	EventUserReactivated           = "user.reactivated"
	EventUserSuspended             = "user.suspended"
	EventUserUnsuspended           = "user.unsuspended"
	EventUserPurged                = "user.purged" // audit only: the personal data is gone
)
