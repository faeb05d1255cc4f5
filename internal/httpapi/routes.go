// Package httpapi serves Roster's HTTP API: routes, handlers, request
// decoding and response encoding, problem errors and middleware.
package httpapi

import (
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/roster-dev/roster/internal/console"
	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/ratelimit"
	"github.com/roster-dev/roster/internal/scim"
)

// Config holds what the API needs.
type Config struct {
	Service *directory.Service
	Logger  *slog.Logger
	// Limiter meters requests (§8); nil uses an in-memory one.
	Limiter ratelimit.Limiter
	// Anonymous is the rate limit of requests without a valid key, per
	// client IP; zero values take 10 requests/s with a burst of 20.
	Anonymous directory.Plan
	// Registry receives Roster's metrics; nil makes a new one.
	Registry *prometheus.Registry
	// RequestTimeout is the one deadline of each request; 0 is
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// TrustedProxies are the networks of the reverse proxies whose
	// X-Forwarded-For names the client of a request (clientIP), and whose
	// X-Forwarded-Proto and X-Forwarded-Host name the origin of SCIM's
	// absolute URLs (origin); none by default, and the headers are ignored.
	TrustedProxies []netip.Prefix
	// Sealer seals the answers kept for Idempotency-Key retries
	// (idempotency.go); nil ignores the header.
	Sealer Sealer
}

// DefaultRequestTimeout is the deadline of a request, from the moment its
// headers are read: its body, validation webhooks and transaction must all
// be done by then. It is below the production server's write timeout
// (server.HTTPServer), so that the answer can still be written.
const DefaultRequestTimeout = 25 * time.Second

// New returns the whole HTTP API as one handler.
func New(cfg Config) http.Handler {
	svc, log := cfg.Service, cfg.Logger
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m := newMetrics(reg)
	// In memory, clients' IPs get buckets of their own, so that a flood of
	// addresses cannot evict the tenants' buckets.
	limiter, ipLimiter := cfg.Limiter, cfg.Limiter
	if limiter == nil {
		limiter, ipLimiter = ratelimit.NewMemory(time.Now), ratelimit.NewMemory(time.Now)
	}
	anon := cfg.Anonymous
	if anon.RateLimitRPS == 0 {
		anon.RateLimitRPS, anon.RateLimitBurst = 10, 20
	}

	timeout := cfg.RequestTimeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	// A claimed Idempotency-Key whose request outlived its deadline by this
	// much was left by a node that died.
	idem := func(h http.Handler) http.Handler { return idempotent(svc, cfg.Sealer, timeout+30*time.Second, h) }

	// Each route declares the query parameters it accepts (query.go), checked
	// after its key's scope; the probes and the scrape take any, as load
	// balancers and scrapers add their own and these routes read none.
	read := func(q params, h http.Handler) http.Handler {
		return tenantAccess(svc, directory.ScopeUsersRead, withQuery(q, h))
	}
	write := func(q params, h writeFunc) http.Handler {
		return tenantAccess(svc, directory.ScopeUsersWrite, idem(serveWrite(svc, q, h)))
	}
	admin := func(q params, h http.Handler) http.Handler {
		return tenantAccess(svc, directory.ScopeAdmin, idem(withQuery(q, h)))
	}
	platform := func(q params, h http.Handler) http.Handler { return platformAccess(idem(withQuery(q, h))) }
	// A route any key may call, whatever its scopes and tenant.
	anyKey := func(q params, h http.Handler) http.Handler { return keyAccess(withQuery(q, h)) }
	open := withQuery

	mux := http.NewServeMux()
	mux.Handle("POST /v1/users", write(dryRunParams, handleUserCreate(svc)))
	mux.Handle("GET /v1/users", read(userListParams, handleUserList(svc)))
	mux.Handle("GET /v1/users/{id}", read(noParams, handleUserGet(svc)))
	mux.Handle("PATCH /v1/users/{id}", write(dryRunParams, handleUserPatch(svc)))
	mux.Handle("PUT /v1/users/{id}", write(dryRunParams, handleUserPut(svc)))
	mux.Handle("DELETE /v1/users/{id}", write(dryRunParams, handleLifecycle(svc, svc.DeleteUser, http.StatusAccepted)))
	mux.Handle("OPTIONS /v1/users/{id}", open(noParams, handleUserOptions()))
	mux.Handle("POST /v1/users/{id}/restore", write(dryRunParams, handleLifecycle(svc, svc.RestoreUser, http.StatusOK)))
	mux.Handle("POST /v1/users/{id}/deactivate", write(dryRunParams, handleLifecycle(svc, svc.DeactivateUser, http.StatusOK)))
	mux.Handle("POST /v1/users/{id}/reactivate", write(dryRunParams, handleLifecycle(svc, svc.ReactivateUser, http.StatusOK)))
	mux.Handle("POST /v1/users/{id}/suspensions", write(dryRunParams, handleSuspend(svc)))
	mux.Handle("DELETE /v1/users/{id}/suspensions/{sid}", write(dryRunParams, handleUnsuspend(svc)))
	mux.Handle("GET /v1/users/{id}/picture", read(pictureParam, handlePicture(svc)))
	mux.Handle("GET /v1/users/{id}/history", read(pageParams(directory.PrefixAudit), handleUserHistory(svc)))

	mux.Handle("GET /v1/roles", read(noParams, handleRolesGet(svc)))
	mux.Handle("PUT /v1/roles", admin(noParams, handleRolesPut(svc)))
	mux.Handle("GET /v1/policies", admin(noParams, handlePoliciesGet(svc)))
	mux.Handle("PUT /v1/policies", admin(noParams, handlePoliciesPut(svc)))
	mux.Handle("GET /v1/usage", read(noParams, handleUsage(svc)))
	mux.Handle("GET /v1/tenant", read(noParams, handleTenantSelf(svc)))
	mux.Handle("GET /v1/events", read(feedParams, handleEvents(svc)))

	mux.Handle("POST /v1/webhook-endpoints", admin(noParams, handleEndpointCreate(svc)))
	mux.Handle("GET /v1/webhook-endpoints", admin(noParams, handleEndpointList(svc)))
	mux.Handle("GET /v1/webhook-endpoints/{id}", admin(noParams, handleEndpointGet(svc)))
	mux.Handle("DELETE /v1/webhook-endpoints/{id}", admin(noParams, handleEndpointDelete(svc)))
	mux.Handle("POST /v1/webhook-endpoints/{id}/rotate-secret", admin(noParams, handleEndpointRotateSecret(svc)))
	mux.Handle("GET /v1/webhook-endpoints/{id}/deliveries", admin(pageParams(directory.PrefixDelivery), handleDeliveries(svc)))

	mux.Handle("GET /v1/keys", admin(pageParams(directory.PrefixKey), handleKeyList(svc, tenantKeys)))
	mux.Handle("POST /v1/keys", admin(noParams, handleKeyCreate(svc, tenantKeys, "/v1/keys")))
	mux.Handle("GET /v1/keys/self", anyKey(noParams, handleKeySelf()))
	mux.Handle("GET /v1/keys/{id}", admin(noParams, handleKeyGet(svc, tenantKeys)))
	mux.Handle("DELETE /v1/keys/{id}", admin(revokeParams, handleKeyRevoke(svc, tenantKeys)))
	mux.Handle("POST /v1/keys/{id}/rotate", admin(noParams, handleKeyRotate(svc, tenantKeys, "/v1/keys")))
	mux.Handle("GET /v1/audit", admin(pageParams(directory.PrefixAudit), handleAdminAudit(svc, tenantKeys)))

	mux.Handle("GET /v1/platform-keys", platform(pageParams(directory.PrefixKey), handleKeyList(svc, platformKeys)))
	mux.Handle("POST /v1/platform-keys", platform(noParams, handleKeyCreate(svc, platformKeys, "/v1/platform-keys")))
	mux.Handle("GET /v1/platform-keys/{id}", platform(noParams, handleKeyGet(svc, platformKeys)))
	mux.Handle("DELETE /v1/platform-keys/{id}", platform(revokeParams, handleKeyRevoke(svc, platformKeys)))
	mux.Handle("POST /v1/platform-keys/{id}/rotate", platform(noParams, handleKeyRotate(svc, platformKeys, "/v1/platform-keys")))
	mux.Handle("GET /v1/platform-audit", platform(pageParams(directory.PrefixAudit), handleAdminAudit(svc, platformKeys)))

	mux.Handle("POST /v1/tenants", platform(noParams, handleTenantCreate(svc)))
	mux.Handle("GET /v1/tenants", platform(pageParams(directory.PrefixTenant), handleTenantList(svc)))
	mux.Handle("GET /v1/tenants/{id}", platform(noParams, handleTenantGet(svc)))
	mux.Handle("PATCH /v1/tenants/{id}", platform(noParams, handleTenantUpdate(svc)))

	// SCIM 2.0 (internal/scim) answers in its own error schema, scim.Errors
	// rewriting the problems of the layers in front of it.
	sc := scim.New(svc, scim.Request{
		Tenant: func(r *http.Request) *directory.Tenant { return tenantFrom(r.Context()) },
		Actor:  actorOf,
		Log: func(r *http.Request, err error) {
			requestInfoFrom(r.Context()).log().LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("error", err.Error()))
		},
		Origin: func(r *http.Request) string { return origin(r, cfg.TrustedProxies) },
		Quota:  func(w http.ResponseWriter, r *http.Request, res *directory.Written) { setQuota(svc, w, r, res) },
	})
	// SCIM writes are users:write (the catalog's, admin); their answers
	// carry the X-Quota-* headers, as /v1's writes do.
	scimWrite := func(q params, h http.Handler) http.Handler {
		return tenantAccess(svc, directory.ScopeUsersWrite, withQuery(q, h))
	}
	scimAttrs := params{{name: "attributes", kind: paramString}, {name: "excludedAttributes", kind: paramString}}
	scimSearch := append(params{{name: "filter", kind: paramString}, {name: "startIndex", kind: paramString},
		{name: "count", kind: paramString}, {name: "sortBy", kind: paramString}, {name: "sortOrder", kind: paramString}}, scimAttrs...)
	mux.Handle("GET /scim/v2/ServiceProviderConfig", read(noParams, sc.ServiceProviderConfig()))
	mux.Handle("GET /scim/v2/ResourceTypes", read(noParams, sc.ResourceTypes()))
	mux.Handle("GET /scim/v2/ResourceTypes/{id}", read(noParams, sc.ResourceTypes()))
	mux.Handle("GET /scim/v2/Schemas", read(noParams, sc.Schemas()))
	mux.Handle("GET /scim/v2/Schemas/{id}", read(noParams, sc.Schemas()))
	mux.Handle("GET /scim/v2/Users", read(scimSearch, sc.UserList()))
	mux.Handle("POST /scim/v2/Users", scimWrite(noParams, sc.UserCreate()))
	mux.Handle("POST /scim/v2/Users/.search", read(noParams, sc.UserSearch()))
	mux.Handle("POST /scim/v2/.search", read(noParams, sc.UserSearch()))
	mux.Handle("GET /scim/v2/Users/{id}", read(scimAttrs, sc.UserGet()))
	mux.Handle("PUT /scim/v2/Users/{id}", scimWrite(noParams, sc.UserReplace()))
	mux.Handle("PATCH /scim/v2/Users/{id}", scimWrite(noParams, sc.UserPatch()))
	mux.Handle("DELETE /scim/v2/Users/{id}", scimWrite(noParams, sc.UserDelete()))
	mux.Handle("GET /scim/v2/Groups", read(scimSearch, sc.GroupList()))
	mux.Handle("POST /scim/v2/Groups", admin(noParams, sc.GroupCreate()))
	mux.Handle("GET /scim/v2/Groups/{id}", read(scimAttrs, sc.GroupGet()))
	mux.Handle("PUT /scim/v2/Groups/{id}", scimWrite(noParams, sc.GroupReplace()))
	mux.Handle("PATCH /scim/v2/Groups/{id}", scimWrite(noParams, sc.GroupPatch()))
	mux.Handle("DELETE /scim/v2/Groups/{id}", admin(noParams, sc.GroupDelete()))

	mux.Handle("GET /healthz", handleHealth())
	mux.Handle("GET /readyz", handleReady(svc))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /openapi.yaml", open(noParams, handleOpenAPI()))
	// The admin console's static files (GET /console/…), which call this API
	// with the operator's key: they take no key and are not in its contract.
	console.Mount(mux)

	return observe(log, m, timeout, scim.Errors(gate(svc, limiter, ipLimiter, anon, cfg.TrustedProxies, problemsForMux(mux))))
}
