package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/roster-dev/roster/internal/directory"
)

type tenantKey struct{}

// tenantFrom returns the tenant that tenantAccess resolved.
func tenantFrom(ctx context.Context) *directory.Tenant {
	t, _ := ctx.Value(tenantKey{}).(*directory.Tenant)
	return t
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

// tenantAccess lets a request through when its key may use scope in the
// tenant the request is about (§6): a tenant key's own tenant, which
// X-Tenant-ID may repeat but not contradict, or the tenant a platform key
// names with X-Tenant-ID.
func tenantAccess(svc *directory.Service, scope string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, err := authenticate(svc, r)
		if err != nil {
			writeProblem(w, r, err)
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
		t, err := svc.GetTenant(r.Context(), tenantID)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		requestInfoFrom(r.Context()).tenantID = t.ID
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tenantKey{}, t)))
	})
}

// platformAccess lets a request through when its key is a platform key.
func platformAccess(svc *directory.Service, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, err := authenticate(svc, r)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		if !k.Platform() {
			writeProblem(w, r, directory.Errorf(directory.ECodeInsufficientScope, "This API key lacks the %s scope.", directory.ScopePlatform))
			return
		}
		next.ServeHTTP(w, r)
	})
}
