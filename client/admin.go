package client

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"time"
)

// Roles returns the tenant's role catalog, the names users' roles are
// taken from.
func (c *Client) Roles(ctx context.Context) ([]string, error) {
	var out struct {
		Roles []string `json:"roles"`
	}
	if _, err := c.sendJSON(ctx, http.MethodGet, "/v1/roles", nil, nil, &out, nil); err != nil {
		return nil, fmt.Errorf("get roles: %w", err)
	}
	return out.Roles, nil
}

// SetRoles replaces the tenant's role catalog (admin) and returns the new
// one. Fails with a *Problem: 422 validation_failed naming each bad entry,
// 409 role_in_use naming roles users still hold.
func (c *Client) SetRoles(ctx context.Context, roles []string) ([]string, error) {
	in := struct {
		Roles []string `json:"roles"`
	}{roles}
	var out struct {
		Roles []string `json:"roles"`
	}
	if _, err := c.sendJSON(ctx, http.MethodPut, "/v1/roles", nil, in, &out, nil); err != nil {
		return nil, fmt.Errorf("set roles: %w", err)
	}
	return out.Roles, nil
}

// PolicySet is a tenant's Cedar policy text.
type PolicySet struct {
	Policies string `json:"policies"`
	Default  bool   `json:"default"` // the tenant has set none: the default set is in force
}

// Policies returns the tenant's authorization policies (admin).
func (c *Client) Policies(ctx context.Context) (*PolicySet, error) {
	ps := &PolicySet{}
	if _, err := c.sendJSON(ctx, http.MethodGet, "/v1/policies", nil, nil, ps, nil); err != nil {
		return nil, fmt.Errorf("get policies: %w", err)
	}
	return ps, nil
}

// SetPolicies replaces the tenant's Cedar policy text (admin); "" restores
// the default set. Fails with 422 validation_failed, one error of the
// field policies per problem of the text.
func (c *Client) SetPolicies(ctx context.Context, policies string) (*PolicySet, error) {
	in := struct {
		Policies string `json:"policies"`
	}{policies}
	ps := &PolicySet{}
	if _, err := c.sendJSON(ctx, http.MethodPut, "/v1/policies", nil, in, ps, nil); err != nil {
		return nil, fmt.Errorf("set policies: %w", err)
	}
	return ps, nil
}

// Tenant is the tenant a client acts in, with what decides what its writes
// do: plan, settings and role catalog.
type Tenant struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Plan      TenantPlan     `json:"plan"`
	Settings  TenantSettings `json:"settings"`
	Roles     []string       `json:"roles"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// TenantPlan is a tenant's rate limit and quotas.
type TenantPlan struct {
	RateLimitRPS    float64 `json:"rate_limit_rps"`
	RateLimitBurst  int     `json:"rate_limit_burst"`
	WritesPerPeriod int64   `json:"writes_per_period"`
	MaxActiveUsers  int64   `json:"max_active_users"`
}

// TenantSettings are a tenant's settings.
type TenantSettings struct {
	// DeletionGraceSeconds is how long a deleted user can be restored
	// before it is erased; 0: it is erased at once.
	DeletionGraceSeconds int64 `json:"deletion_grace_seconds"`
	MetadataMaxKeys      int   `json:"metadata_max_keys"`
	RequireIfMatch       bool  `json:"require_if_match"` // every user write needs IfVersion
	EventRetentionHours  int   `json:"event_retention_hours"`
}

// DeletionGrace returns DeletionGraceSeconds as a duration.
func (s TenantSettings) DeletionGrace() time.Duration {
	return time.Duration(s.DeletionGraceSeconds) * time.Second
}

// Tenant returns the tenant the client acts in (GET /v1/tenant): a tenant
// key's own, or the one WithTenant names for a platform key. Needs
// users:read; only a platform key may change it.
func (c *Client) Tenant(ctx context.Context) (*Tenant, error) {
	t := &Tenant{}
	if _, err := c.sendJSON(ctx, http.MethodGet, "/v1/tenant", nil, nil, t, nil); err != nil {
		return nil, fmt.Errorf("get tenant: %w", err)
	}
	return t, nil
}

// Usage is a tenant's quota figures for the current billing period.
type Usage struct {
	PeriodStart time.Time    `json:"period_start"`
	PeriodEnd   time.Time    `json:"period_end"` // when the write count resets
	Writes      QuotaCounter `json:"writes"`
	ActiveUsers QuotaCounter `json:"active_users"`
}

// QuotaCounter is one quota: what is used and what the plan allows.
type QuotaCounter struct {
	Used  int64 `json:"used"`
	Limit int64 `json:"limit"`
}

// Usage returns the tenant's quota usage.
func (c *Client) Usage(ctx context.Context) (*Usage, error) {
	u := &Usage{}
	if _, err := c.sendJSON(ctx, http.MethodGet, "/v1/usage", nil, nil, u, nil); err != nil {
		return nil, fmt.Errorf("get usage: %w", err)
	}
	return u, nil
}

// The kinds of webhook endpoints.
const (
	KindValidation = "validation" // asked before creates and updates, may veto them
	KindEvents     = "events"     // receives change events
)

// WebhookEndpointInput is a new webhook endpoint.
type WebhookEndpointInput struct {
	URL  string `json:"url"`
	Kind string `json:"kind"` // KindValidation or KindEvents
	// Events are the event types an events endpoint receives; none: all.
	Events []string `json:"events,omitzero"`
	// FailOpen lets writes proceed when a validation endpoint cannot be
	// asked.
	FailOpen  bool `json:"fail_open,omitzero"`
	TimeoutMS int  `json:"timeout_ms,omitzero"` // 100 to 10000; 0: 2000
}

// WebhookEndpoint is a registered webhook endpoint.
type WebhookEndpoint struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Kind      string    `json:"kind"`
	Events    []string  `json:"events"`
	FailOpen  bool      `json:"fail_open"`
	TimeoutMS int       `json:"timeout_ms"`
	CreatedAt time.Time `json:"created_at"`
	// PreviousSecretExpiresAt is, after a rotation, when the previous
	// secret stops signing beside the new one.
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
	// Secret is the Standard Webhooks signing secret (whsec_…), answered
	// only by CreateWebhookEndpoint and RotateWebhookSecret.
	Secret string `json:"secret"`
}

// CreateWebhookEndpoint registers a webhook endpoint (admin); the answer
// holds its Secret, shown only this once. Fails with 422 validation_failed
// (every failing member) or 409 limit_exceeded.
func (c *Client) CreateWebhookEndpoint(ctx context.Context, in WebhookEndpointInput) (*WebhookEndpoint, error) {
	w := &WebhookEndpoint{}
	if _, err := c.sendJSON(ctx, http.MethodPost, "/v1/webhook-endpoints", nil, in, w, nil); err != nil {
		return nil, fmt.Errorf("create webhook endpoint: %w", err)
	}
	return w, nil
}

// WebhookEndpoints returns every webhook endpoint of the tenant, oldest
// first, without their secrets.
func (c *Client) WebhookEndpoints(ctx context.Context) ([]*WebhookEndpoint, error) {
	var pg page[WebhookEndpoint]
	if _, err := c.sendJSON(ctx, http.MethodGet, "/v1/webhook-endpoints", nil, nil, &pg, nil); err != nil {
		return nil, fmt.Errorf("list webhook endpoints: %w", err)
	}
	return pg.Data, nil
}

// WebhookEndpoint returns one webhook endpoint, without its secret.
func (c *Client) WebhookEndpoint(ctx context.Context, id string) (*WebhookEndpoint, error) {
	w := &WebhookEndpoint{}
	if _, err := c.sendJSON(ctx, http.MethodGet, path("v1", "webhook-endpoints", id), nil, nil, w, nil); err != nil {
		return nil, fmt.Errorf("get webhook endpoint: %w", err)
	}
	return w, nil
}

// DeleteWebhookEndpoint deletes a webhook endpoint and its deliveries.
func (c *Client) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	if _, err := c.sendJSON(ctx, http.MethodDelete, path("v1", "webhook-endpoints", id), nil, nil, nil, nil); err != nil {
		return fmt.Errorf("delete webhook endpoint: %w", err)
	}
	return nil
}

// DefaultGrace is the server's default overlap of an old secret or token
// with its replacement.
const DefaultGrace = 24 * time.Hour

// RotateWebhookSecret gives an endpoint a new signing secret, answered in
// Secret this once; the old one keeps signing beside it for grace (whole
// seconds, at most 30 days; 0 stops it at once).
func (c *Client) RotateWebhookSecret(ctx context.Context, id string, grace time.Duration) (*WebhookEndpoint, error) {
	w := &WebhookEndpoint{}
	if _, err := c.sendJSON(ctx, http.MethodPost, path("v1", "webhook-endpoints", id, "rotate-secret"), nil, graceBody(grace), w, nil); err != nil {
		return nil, fmt.Errorf("rotate webhook secret: %w", err)
	}
	return w, nil
}

func graceBody(grace time.Duration) any {
	return struct {
		GraceSeconds int64 `json:"grace_seconds"`
	}{int64(grace / time.Second)}
}

// Delivery is one event to deliver to one endpoint, with its attempts.
type Delivery struct {
	ID            string     `json:"id"`
	EventID       string     `json:"event_id"`
	UserID        string     `json:"user_id"`
	Status        string     `json:"status"` // pending or delivered
	Attempts      int64      `json:"attempts"`
	NextAttemptAt time.Time  `json:"next_attempt_at"`
	CreatedAt     time.Time  `json:"created_at"`
	DeliveredAt   *time.Time `json:"delivered_at"`
	AttemptLog    []struct {
		At         time.Time `json:"at"`
		StatusCode int       `json:"status_code"` // 0: no HTTP answer
		Error      string    `json:"error"`
		DurationMS int64     `json:"duration_ms"`
	} `json:"attempt_log"` // oldest first
}

// Deliveries walks an endpoint's deliveries, newest first; pageSize is
// the size of each request (0: the server's default).
func (c *Client) Deliveries(ctx context.Context, endpointID string, pageSize int) iter.Seq2[*Delivery, error] {
	return pages[Delivery](c, ctx, "list deliveries", path("v1", "webhook-endpoints", endpointID, "deliveries"), nil, pageSize)
}

// Key is an API key; never its hash, and its token only when it is made.
type Key struct {
	ID         string     `json:"id"`
	TenantID   string     `json:"tenant_id"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	Prefix     string     `json:"prefix"` // the token's first 8 characters
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"` // "": the command line
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"` // to the minute
	RevokedAt  *time.Time `json:"revoked_at"`
	// Token is answered only by CreateKey and RotateKey, this once.
	Token string `json:"token"`
	// Replaces is, after RotateKey, the old key with its new ExpiresAt.
	Replaces *Key `json:"replaces"`
}

// KeyInput is a new API key.
type KeyInput struct {
	Name string `json:"name"`
	// Scopes are any of users:read, users:write, admin, or the levels
	// read_only and read_write.
	Scopes    []string   `json:"scopes,omitzero"`
	ExpiresAt *time.Time `json:"expires_at,omitzero"`
}

// Keys walks the tenant's API keys, newest first, revoked and expired ones
// included (admin); pageSize is the size of each request (0: the
// server's default).
func (c *Client) Keys(ctx context.Context, pageSize int) iter.Seq2[*Key, error] {
	return pages[Key](c, ctx, "list keys", "/v1/keys", nil, pageSize)
}

// Key returns one of the tenant's API keys.
func (c *Client) Key(ctx context.Context, id string) (*Key, error) {
	k := &Key{}
	if _, err := c.sendJSON(ctx, http.MethodGet, path("v1", "keys", id), nil, nil, k, nil); err != nil {
		return nil, fmt.Errorf("get key: %w", err)
	}
	return k, nil
}

// Self returns the key the client authenticates with (GET /v1/keys/self),
// whatever its scopes: a platform key's TenantID is "" and its Scopes are
// ["platform"]. Fails with 401 unauthenticated or key_expired.
func (c *Client) Self(ctx context.Context) (*Key, error) {
	k := &Key{}
	if _, err := c.sendJSON(ctx, http.MethodGet, "/v1/keys/self", nil, nil, k, nil); err != nil {
		return nil, fmt.Errorf("get own key: %w", err)
	}
	return k, nil
}

// CreateKey makes an API key (admin); its Token is answered this once. A
// key cannot grant a scope it does not hold (403 forbidden).
func (c *Client) CreateKey(ctx context.Context, in KeyInput) (*Key, error) {
	k := &Key{}
	if _, err := c.sendJSON(ctx, http.MethodPost, "/v1/keys", nil, in, k, nil); err != nil {
		return nil, fmt.Errorf("create key: %w", err)
	}
	return k, nil
}

// RevokeKey revokes a key at once and returns it. Revoking the tenant's
// last usable admin key fails with 409 last_admin_key unless Force is
// given.
func (c *Client) RevokeKey(ctx context.Context, id string, opts ...CallOption) (*Key, error) {
	k := &Key{}
	if _, err := c.sendJSON(ctx, http.MethodDelete, path("v1", "keys", id), nil, nil, k, opts); err != nil {
		return nil, fmt.Errorf("revoke key: %w", err)
	}
	return k, nil
}

// RotateKey makes a key's replacement, with the same name, scopes and
// expiry, and answers its Token this once; the old token keeps working for
// grace (whole seconds, at most 30 days; 0 ends it at once). A revoked or
// expired key fails with 409 key_inactive.
func (c *Client) RotateKey(ctx context.Context, id string, grace time.Duration) (*Key, error) {
	k := &Key{}
	if _, err := c.sendJSON(ctx, http.MethodPost, path("v1", "keys", id, "rotate"), nil, graceBody(grace), k, nil); err != nil {
		return nil, fmt.Errorf("rotate key: %w", err)
	}
	return k, nil
}

// AdminAuditEntry records a change of a key or a webhook secret.
type AdminAuditEntry struct {
	ID     string `json:"id"`
	Action string `json:"action"` // key.created, key.rotated, key.revoked, webhook_secret.rotated
	Actor  struct {
		KeyID string `json:"key_id"` // "": the command line
	} `json:"actor"`
	RequestID string         `json:"request_id"`
	At        time.Time      `json:"at"`
	TargetID  string         `json:"target_id"` // the key or endpoint changed
	Details   map[string]any `json:"details"`
}

// AdminAudit walks the tenant's admin audit trail, newest first (admin);
// pageSize is the size of each request (0: the server's default).
func (c *Client) AdminAudit(ctx context.Context, pageSize int) iter.Seq2[*AdminAuditEntry, error] {
	return pages[AdminAuditEntry](c, ctx, "list admin audit", "/v1/audit", nil, pageSize)
}
