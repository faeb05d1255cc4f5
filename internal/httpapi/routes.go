// Package httpapi serves Roster's HTTP API: routes, handlers, request
// decoding and response encoding, problem errors and middleware.
package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/ratelimit"
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

	read := func(h http.Handler) http.Handler { return tenantAccess(svc, directory.ScopeUsersRead, h) }
	write := func(h http.Handler) http.Handler {
		return tenantAccess(svc, directory.ScopeUsersWrite, quotaHeaders(svc, h))
	}
	admin := func(h http.Handler) http.Handler { return tenantAccess(svc, directory.ScopeAdmin, h) }
	platform := platformAccess

	mux := http.NewServeMux()
	mux.Handle("POST /v1/users", write(handleUserCreate(svc)))
	mux.Handle("GET /v1/users", read(handleUserList(svc)))
	mux.Handle("GET /v1/users/{id}", read(handleUserGet(svc)))
	mux.Handle("PATCH /v1/users/{id}", write(handleUserUpdate(svc, false)))
	mux.Handle("PUT /v1/users/{id}", write(handleUserUpdate(svc, true)))
	mux.Handle("DELETE /v1/users/{id}", write(handleLifecycle(svc.DeleteUser, http.StatusAccepted)))
	mux.Handle("OPTIONS /v1/users/{id}", handleUserOptions())
	mux.Handle("POST /v1/users/{id}/restore", write(handleLifecycle(svc.RestoreUser, http.StatusOK)))
	mux.Handle("POST /v1/users/{id}/deactivate", write(handleLifecycle(svc.DeactivateUser, http.StatusOK)))
	mux.Handle("POST /v1/users/{id}/reactivate", write(handleLifecycle(svc.ReactivateUser, http.StatusOK)))
	mux.Handle("POST /v1/users/{id}/suspensions", write(handleSuspend(svc)))
	mux.Handle("DELETE /v1/users/{id}/suspensions/{sid}", write(handleUnsuspend(svc)))
	mux.Handle("GET /v1/users/{id}/picture", read(handlePicture(svc)))
	mux.Handle("GET /v1/users/{id}/history", read(handleUserHistory(svc)))

	mux.Handle("GET /v1/roles", read(handleRolesGet(svc)))
	mux.Handle("PUT /v1/roles", admin(handleRolesPut(svc)))
	mux.Handle("GET /v1/policies", admin(handlePoliciesGet(svc)))
	mux.Handle("PUT /v1/policies", admin(handlePoliciesPut(svc)))
	mux.Handle("GET /v1/usage", read(handleUsage(svc)))

	mux.Handle("POST /v1/webhook-endpoints", admin(handleEndpointCreate(svc)))
	mux.Handle("GET /v1/webhook-endpoints", admin(handleEndpointList(svc)))
	mux.Handle("GET /v1/webhook-endpoints/{id}", admin(handleEndpointGet(svc)))
	mux.Handle("DELETE /v1/webhook-endpoints/{id}", admin(handleEndpointDelete(svc)))
	mux.Handle("GET /v1/webhook-endpoints/{id}/deliveries", admin(handleDeliveries(svc)))

	mux.Handle("POST /v1/tenants", platform(handleTenantCreate(svc)))
	mux.Handle("GET /v1/tenants", platform(handleTenantList(svc)))
	mux.Handle("GET /v1/tenants/{id}", platform(handleTenantGet(svc)))
	mux.Handle("PATCH /v1/tenants/{id}", platform(handleTenantUpdate(svc)))

	mux.Handle("GET /healthz", handleHealth())
	mux.Handle("GET /readyz", handleReady(svc))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /openapi.yaml", handleOpenAPI())

	timeout := cfg.RequestTimeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	return observe(log, m, timeout, gate(svc, limiter, ipLimiter, anon, problemsForMux(mux)))
}
