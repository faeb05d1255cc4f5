package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/patch"
)

// tenantWire is a tenant on the wire.
type tenantWire struct {
	Object    string             `json:"object"`
	ID        string             `json:"id"`
	Name      string             `json:"name"`
	Plan      directory.Plan     `json:"plan"`
	Settings  directory.Settings `json:"settings"`
	Roles     []string           `json:"roles"`
	CreatedAt string             `json:"created_at"`
	UpdatedAt string             `json:"updated_at"`
}

func tenantJSON(t *directory.Tenant) tenantWire {
	return tenantWire{
		Object: "tenant", ID: t.ID, Name: t.Name, Plan: t.Plan, Settings: t.Settings, Roles: t.Roles,
		CreatedAt: directory.FormatTime(t.CreatedAt), UpdatedAt: directory.FormatTime(t.UpdatedAt),
	}
}

// tenantCreateRequest is the body of POST /v1/tenants. Members of plan and
// settings that are left out take their defaults.
type tenantCreateRequest struct {
	Name       string          `json:"name"`
	OwnerEmail string          `json:"owner_email"`
	Plan       json.RawMessage `json:"plan"`
	Settings   json.RawMessage `json:"settings"`
	// AdminKey asks for the tenant's first admin key, so that a SaaS
	// backend can onboard a tenant entirely over the API.
	AdminKey bool `json:"admin_key"`
}

func handleTenantCreate(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req tenantCreateRequest
		if err := readJSON(w, r, &req); err != nil {
			writeProblem(w, r, err)
			return
		}
		plan, settings := directory.DefaultPlan(), directory.DefaultSettings()
		if err := overlay(req.Plan, "plan", &plan); err != nil {
			writeProblem(w, r, err)
			return
		}
		if err := overlay(req.Settings, "settings", &settings); err != nil {
			writeProblem(w, r, err)
			return
		}
		out, err := svc.CreateTenant(r.Context(), directory.TenantInput{
			Name: req.Name, OwnerEmail: req.OwnerEmail, Plan: &plan, Settings: &settings,
		}, req.AdminKey, actorOf(r))
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		w.Header().Set("Location", "/v1/tenants/"+out.Tenant.ID)
		if out.Key == nil {
			writeJSON(w, http.StatusCreated, tenantJSON(out.Tenant))
			return
		}
		writeJSON(w, http.StatusCreated, struct {
			tenantWire
			AdminKey newKeyWire `json:"admin_key"`
		}{tenantJSON(out.Tenant), newKeyWire{keyWire: keyJSON(out.Key), Token: out.Token}})
	})
}

// overlay decodes the members of a JSON object over the values in dst, so
// members left out keep them.
func overlay(raw json.RawMessage, name string, dst any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if err := decodeStrict(raw, dst); err != nil {
		if e, ok := err.(*directory.Error); ok {
			for i := range e.Fields {
				e.Fields[i].Field = name + "." + e.Fields[i].Field
			}
		}
		return err
	}
	return nil
}

func handleTenantGet(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := svc.StoredTenant(r.Context(), r.PathValue("id"))
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, tenantJSON(t))
	})
}

// handleTenantSelf answers the tenant the request acts in (a tenant key's
// own, or the one a platform key names), as GET /v1/tenants/{id} does: a
// tenant key may read its plan, settings and role catalog, which decide
// what its writes do (a deletion's grace period, the metadata limit), but
// not change them.
func handleTenantSelf(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := svc.StoredTenant(r.Context(), tenantFrom(r.Context()).ID)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, tenantJSON(t))
	})
}

func handleTenantList(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := queryOf(r)
		limit := q.int("limit")
		ts, err := svc.ListTenants(r.Context(), q.string("cursor"), limit+1)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, page(ts, limit, func(t *directory.Tenant) string { return t.ID }, func(t *directory.Tenant) any { return tenantJSON(t) }))
	})
}

// tenantPatch is the writable part of a tenant: PATCH merges the body
// (RFC 7396) into it.
type tenantPatch struct {
	Name     string             `json:"name"`
	Plan     directory.Plan     `json:"plan"`
	Settings directory.Settings `json:"settings"`
}

func handleTenantUpdate(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mt, err := mediaType(r)
		if err == nil && mt != mediaJSON && mt != mediaMergePatch {
			err = directory.Errorf(codeUnsupportedMediaType, "Send the body as application/json or application/merge-patch+json.")
		}
		if err != nil {
			w.Header().Set("Accept-Patch", mediaJSON+", "+mediaMergePatch)
			writeProblem(w, r, err)
			return
		}
		body, err := readBody(w, r)
		if err != nil {
			if directory.ErrorCode(err) == codeUnsupportedMediaType { // a compressed body
				w.Header().Set("Accept-Patch", mediaJSON+", "+mediaMergePatch)
			}
			writeProblem(w, r, err)
			return
		}
		p, err := patch.Decode(body)
		if err != nil {
			writeProblem(w, r, directory.Errorf(directory.ECodeInvalidRequest, "The body must be a JSON object."))
			return
		}
		if _, ok := p.(map[string]any); !ok {
			writeProblem(w, r, directory.Errorf(directory.ECodeInvalidRequest, "The body must be a JSON object."))
			return
		}
		t, err := svc.UpdateTenant(r.Context(), r.PathValue("id"), func(t *directory.Tenant) error {
			cur, _ := json.Marshal(tenantPatch{Name: t.Name, Plan: t.Plan, Settings: t.Settings})
			doc, _ := patch.Decode(cur)
			merged, _ := json.Marshal(patch.Merge(doc, p))
			var next tenantPatch
			if err := decodeStrict(merged, &next); err != nil {
				return err
			}
			t.Name, t.Plan, t.Settings = next.Name, next.Plan, next.Settings
			return nil
		})
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, tenantJSON(t))
	})
}
