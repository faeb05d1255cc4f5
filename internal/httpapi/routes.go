// Package httpapi serves Roster's HTTP API: routes, handlers, request
// decoding and response encoding, problem errors and middleware.
package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/roster-dev/roster/internal/directory"
)

// Config holds what the API needs.
type Config struct {
	Service *directory.Service
	Logger  *slog.Logger
}

// New returns the whole HTTP API as one handler.
func New(cfg Config) http.Handler {
	svc, log := cfg.Service, cfg.Logger
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := newMetrics(reg)

	read := func(h http.Handler) http.Handler { return tenantAccess(svc, directory.ScopeUsersRead, h) }
	write := func(h http.Handler) http.Handler { return tenantAccess(svc, directory.ScopeUsersWrite, h) }
	platform := func(h http.Handler) http.Handler { return platformAccess(svc, h) }

	mux := http.NewServeMux()
	mux.Handle("POST /v1/users", write(handleUserCreate(svc)))
	mux.Handle("GET /v1/users", read(handleUserList(svc)))
	mux.Handle("GET /v1/users/{id}", read(handleUserGet(svc)))
	mux.Handle("PATCH /v1/users/{id}", write(handleUserUpdate(svc, false)))
	mux.Handle("PUT /v1/users/{id}", write(handleUserUpdate(svc, true)))
	mux.Handle("OPTIONS /v1/users/{id}", handleUserOptions())
	mux.Handle("GET /v1/users/{id}/history", read(handleUserHistory(svc)))

	mux.Handle("POST /v1/tenants", platform(handleTenantCreate(svc)))
	mux.Handle("GET /v1/tenants", platform(handleTenantList(svc)))
	mux.Handle("GET /v1/tenants/{id}", platform(handleTenantGet(svc)))
	mux.Handle("PATCH /v1/tenants/{id}", platform(handleTenantUpdate(svc)))

	mux.Handle("GET /healthz", handleHealth())
	mux.Handle("GET /readyz", handleReady(svc))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /openapi.yaml", handleOpenAPI())

	return observe(log, m, problemsForMux(mux))
}
