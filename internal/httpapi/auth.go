package httpapi

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/ratelimit"
)

type tenantKey struct{}

// tenantFrom returns the tenant that tenantAccess resolved.
func tenantFrom(ctx context.Context) *directory.Tenant {
	t, _ := ctx.Value(tenantKey{}).(*directory.Tenant)
	return t
}

// unmetered paths are probes and scrapes: a load balancer's health checks
// must not be throttled into marking a node down.
var unmetered = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// isUnmetered reports whether r goes unmetered: a probe, a scrape, or a
// file of the console, which is served from memory and which one page load
// asks for a dozen of (the API calls the console makes are metered as any).
func isUnmetered(r *http.Request) bool {
	return unmetered[r.URL.Path] ||
		(r.Method == http.MethodGet || r.Method == http.MethodHead) && (r.URL.Path == "/console" || strings.HasPrefix(r.URL.Path, "/console/"))
}

// gate authenticates every request that carries a key and meters every
// request (§8): per tenant for a tenant key, per key for a platform key, per
// client IP (clientip.go) for the rest, failed authentications included. It
// sets the X-RateLimit-* headers and answers 401 and 429 itself, and 400 to
// a header sent on more than one field line (headers.go).
func gate(svc *directory.Service, limiter, ipLimiter ratelimit.Limiter, anon directory.Plan, proxies []netip.Prefix, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isUnmetered(r) {
			next.ServeHTTP(w, r)
			return
		}
		info := requestInfoFrom(r.Context())
		var authErr error
		lim, bucket, plan := ipLimiter, "ip:"+clientIP(r, proxies), anon
		if r.Header.Get("Authorization") != "" {
			k, err := authenticate(svc, r)
			switch {
			case err != nil && directory.ErrorCode(err) != directory.ECodeUnauthenticated:
				// The key could not be looked up (the database is
				// unavailable): no failed authentication to meter per IP.
				writeProblem(w, r, err)
				return
			case err != nil:
				authErr = err
			case k.Platform():
				lim, bucket, plan = limiter, "key:"+k.ID, directory.DefaultPlan()
			default:
				t, err := svc.GetTenant(r.Context(), k.TenantID)
				if err != nil {
					writeProblem(w, r, err)
					return
				}
				lim, bucket, plan = limiter, "tenant:"+t.ID, t.Plan
				info.tenant = t // tenantAccess needs it again
			}
		}
		d, err := lim.Allow(r.Context(), bucket, plan.RateLimitRPS, plan.RateLimitBurst)
		if err != nil {
			info.log().Warn("rate limiter failed", slog.String("error", err.Error()))
		} else {
			setRateHeaders(w.Header(), d)
			if !d.Allowed {
				secs := int(math.Max(1, math.Ceil(d.RetryAfter.Seconds())))
				w.Header().Set("Retry-After", strconv.Itoa(secs))
				writeProblem(w, r, directory.Errorf(codeRateLimited, "Too many requests: retry in %d s.", secs))
				return
			}
		}
		// Checked once metered, so that a flood of them is throttled too, and
		// before a failed authentication, which may be of the other line.
		if err := singleHeaders(r.Header); err != nil {
			writeProblem(w, r, err)
			return
		}
		if authErr != nil {
			writeProblem(w, r, authErr)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// setRateHeaders describes the bucket in the terms of the IETF RateLimit
// fields draft: Limit is the quota, the requests the bucket holds when full
// (its burst, not its refill rate, so that Remaining, the whole requests
// left now, is never above it), and Reset is when it is full again, rounded
// up to the second so that it is never announced early.
func setRateHeaders(h http.Header, d ratelimit.Decision) {
	reset := d.Reset.UTC()
	if t := reset.Truncate(time.Second); t.Before(reset) {
		reset = t.Add(time.Second)
	}
	h.Set("X-RateLimit-Limit", strconv.Itoa(d.Burst))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(min(d.Remaining, d.Burst)))
	h.Set("X-RateLimit-Reset", reset.Format(time.RFC3339))
}

// authenticate returns the key of the request's bearer token.
func authenticate(svc *directory.Service, r *http.Request) (*directory.Key, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		token = ""
	}
	k, err := svc.Authenticate(r.Context(), strings.TrimSpace(token))
	if err != nil {
		return nil, err
	}
	requestInfoFrom(r.Context()).key = k
	return k, nil
}

// keyOf returns the key gate authenticated, or answers 401.
func keyOf(w http.ResponseWriter, r *http.Request) *directory.Key {
	k := requestInfoFrom(r.Context()).key
	if k == nil {
		writeProblem(w, r, directory.Errorf(directory.ECodeUnauthenticated, "An API key is required: send Authorization: Bearer <token>."))
	}
	return k
}

// tenantAccess lets a request through when its key may use scope in the
// tenant the request is about (§6): a tenant key's own tenant, which
// X-Tenant-ID may repeat but not contradict, or the tenant a platform key
// names with X-Tenant-ID.
func tenantAccess(svc *directory.Service, scope string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := keyOf(w, r)
		if k == nil {
			return
		}
		tenantID := k.TenantID
		header := r.Header.Get("X-Tenant-ID")
		switch {
		case k.Platform() && header == "":
			writeProblem(w, r, directory.Errorf(directory.ECodeInvalidRequest, "A platform key must name a tenant with X-Tenant-ID."))
			return
		case k.Platform():
			tenantID = header
		case header != "" && header != k.TenantID:
			writeProblem(w, r, directory.Errorf(directory.ECodeTenantMismatch, "X-Tenant-ID does not name the tenant of this API key."))
			return
		}
		if !k.Platform() && !k.Has(scope) {
			writeProblem(w, r, directory.Errorf(directory.ECodeInsufficientScope, "This API key lacks the %s scope.", scope))
			return
		}
		info := requestInfoFrom(r.Context())
		t := info.tenant
		if t == nil || t.ID != tenantID {
			var err error
			if t, err = svc.GetTenant(r.Context(), tenantID); err != nil {
				writeProblem(w, r, err)
				return
			}
		}
		info.tenantID = t.ID
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tenantKey{}, t)))
	})
}

// keyAccess lets a request through when it carries a usable key, of any
// scope and any tenant.
func keyAccess(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if keyOf(w, r) == nil {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// platformAccess lets a request through when its key is a platform key.
func platformAccess(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := keyOf(w, r)
		if k == nil {
			return
		}
		if !k.Platform() {
			writeProblem(w, r, directory.Errorf(directory.ECodeInsufficientScope, "This API key lacks the %s scope.", directory.ScopePlatform))
			return
		}
		next.ServeHTTP(w, r)
	})
}
