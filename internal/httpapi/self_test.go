package httpapi_test

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// TestKeySelf: GET /v1/keys/self answers the key of the request, whatever
// its scopes, a platform key's too, and never its token.
func TestKeySelf(t *testing.T) {
	e := newEnv(t)
	readOnly := e.keyWith("users:read")
	for _, c := range []struct {
		name, token string
		headers     []string
		tenant      any
		scopes      string
	}{
		{"admin", e.token, nil, e.tenant, `["admin"]`},
		{"users:read", readOnly, nil, e.tenant, `["users:read"]`},
		// A platform key may name a tenant; the answer is still the key.
		{"platform", e.platform, []string{"X-Tenant-ID", e.tenant}, nil, `["platform"]`},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := e.must(t, http.StatusOK, req{method: "GET", path: "/v1/keys/self", token: c.token, headers: c.headers}).json(t)
			if k["object"] != "api_key" || k["tenant_id"] != c.tenant || !equalJSON(k["scopes"], c.scopes) {
				t.Errorf("key %v, want tenant %v and scopes %s", k, c.tenant, c.scopes)
			}
			if _, ok := k["token"]; ok {
				t.Errorf("the key's token is answered: %v", k)
			}
			// The same key as the admin list shows under its ID.
			if c.tenant != nil {
				listed := e.must(t, http.StatusOK, req{method: "GET", path: "/v1/keys/" + k["id"].(string)}).json(t)
				if listed["id"] != k["id"] || listed["prefix"] != k["prefix"] || !equalJSON(listed["scopes"], c.scopes) {
					t.Errorf("GET /v1/keys/{id} %v, GET /v1/keys/self %v", listed, k)
				}
			}
		})
	}
	problem(t, e.do(t, req{method: "GET", path: "/v1/keys/self", token: "-"}), http.StatusUnauthorized, "unauthenticated")
	problem(t, e.do(t, req{method: "GET", path: "/v1/keys/self", token: readOnly + "x"}), http.StatusUnauthorized, "unauthenticated")
	// Revoked, it is refused as on any route.
	self := e.must(t, http.StatusOK, req{method: "GET", path: "/v1/keys/self", token: readOnly}).json(t)
	e.must(t, http.StatusOK, req{method: "DELETE", path: "/v1/keys/" + self["id"].(string)})
	problem(t, e.do(t, req{method: "GET", path: "/v1/keys/self", token: readOnly}), http.StatusUnauthorized, "unauthenticated")
}

// TestOwnTenant: GET /v1/tenant answers the request's tenant as
// GET /v1/tenants/{id} does, to any key with users:read, and shows a
// change of the settings at once.
func TestOwnTenant(t *testing.T) {
	e := newEnv(t)
	e.must(t, http.StatusOK, req{method: "PATCH", path: "/v1/tenants/" + e.tenant, token: e.platform,
		body: map[string]any{"settings": map[string]any{"deletion_grace_seconds": 86400}}})
	want := e.must(t, http.StatusOK, req{method: "GET", path: "/v1/tenants/" + e.tenant, token: e.platform}).json(t)
	for _, c := range []struct {
		name, token string
		headers     []string
	}{
		{"users:read", e.keyWith("users:read"), nil},
		{"admin", e.token, nil},
		{"platform", e.platform, []string{"X-Tenant-ID", e.tenant}},
	} {
		got := e.must(t, http.StatusOK, req{method: "GET", path: "/v1/tenant", token: c.token, headers: c.headers}).json(t)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: GET /v1/tenant %v, want GET /v1/tenants/{id}'s %v", c.name, got, want)
		}
	}
	if g := want["settings"].(map[string]any)["deletion_grace_seconds"]; !equalJSON(g, "86400") {
		t.Errorf("deletion_grace_seconds %v, want 86400", g)
	}
	// Another tenant's key sees its own tenant.
	otherID, other := e.newTenant("Other")
	if got := e.must(t, http.StatusOK, req{method: "GET", path: "/v1/tenant", token: other}).json(t); got["id"] != otherID {
		t.Errorf("tenant %v, want %s", got["id"], otherID)
	}
	problem(t, e.do(t, req{method: "GET", path: "/v1/tenant", token: e.keyWith("users:write")}), http.StatusForbidden, "insufficient_scope")
	problem(t, e.do(t, req{method: "GET", path: "/v1/tenant", token: e.platform}), http.StatusBadRequest, "invalid_request")
	problem(t, e.do(t, req{method: "GET", path: "/v1/tenant", token: e.platform, headers: []string{"X-Tenant-ID", "ten_01ARZ3NDEKTSV4RRFFQ69G5FAV"}}), http.StatusNotFound, "not_found")
	// A tenant key reads its settings but cannot change them.
	problem(t, e.do(t, req{method: "PATCH", path: "/v1/tenants/" + e.tenant, body: map[string]any{"name": "Mine"}}), http.StatusForbidden, "insufficient_scope")
}

// TestPurgeAfter: a deleted user says when it will be erased, the DELETE
// plus the tenant's grace period; purge_after is read-only, and null again
// once the user is restored.
func TestPurgeAfter(t *testing.T) {
	e := newEnv(t)
	const grace = 3 * 86400
	e.must(t, http.StatusOK, req{method: "PATCH", path: "/v1/tenants/" + e.tenant, token: e.platform,
		body: map[string]any{"settings": map[string]any{"deletion_grace_seconds": grace}}})
	u := e.createUser(t, map[string]any{"email": "leaving@example.com"})
	id := u["id"].(string)
	if u["purge_after"] != nil {
		t.Errorf("a new user's purge_after %v, want null", u["purge_after"])
	}
	for _, body := range []any{
		map[string]any{"purge_after": "2030-01-01T00:00:00.000Z"},
		[]map[string]any{{"op": "replace", "path": "/purge_after", "value": "2030-01-01T00:00:00.000Z"}},
	} {
		ctype := "application/json"
		if _, ok := body.([]map[string]any); ok {
			ctype = "application/json-patch+json"
		}
		p := problem(t, e.do(t, req{method: "PATCH", path: "/v1/users/" + id, body: body, ctype: ctype}), http.StatusBadRequest, "read_only_field")
		if c := fieldCodes(p)["purge_after"]; c != "read_only_field" {
			t.Errorf("%s: errors %v, want purge_after: read_only_field", ctype, p["errors"])
		}
	}
	// Its current value may be sent back, as for any read-only member.
	if got := e.must(t, http.StatusOK, req{method: "PATCH", path: "/v1/users/" + id, body: map[string]any{"purge_after": nil, "name": "Leaving"}}).json(t); !equalJSON(got["version"], "2") {
		t.Errorf("version %v after a PATCH sending purge_after null, want 2", got["version"])
	}

	before := time.Now().UTC().Truncate(time.Millisecond)
	deleted := e.must(t, http.StatusAccepted, req{method: "DELETE", path: "/v1/users/" + id}).json(t)
	after := time.Now().UTC()
	at, err := time.Parse(time.RFC3339Nano, deleted["purge_after"].(string))
	if err != nil {
		t.Fatalf("purge_after %v: %v", deleted["purge_after"], err)
	}
	if lo, hi := before.Add(grace*time.Second), after.Add(grace*time.Second); at.Before(lo) || at.After(hi) {
		t.Errorf("purge_after %v, want between %v and %v", at, lo, hi)
	}
	if got := e.must(t, http.StatusOK, req{method: "GET", path: "/v1/users/" + id}).json(t); got["purge_after"] != deleted["purge_after"] || got["status"] != directory.StatusDeleting {
		t.Errorf("GET: status %v purge_after %v, want deleting and %v", got["status"], got["purge_after"], deleted["purge_after"])
	}
	hist := e.must(t, http.StatusOK, req{method: "GET", path: "/v1/users/" + id + "/history?limit=1"}).json(t)["data"].([]any)
	if c := hist[0].(map[string]any)["changes"].(map[string]any)["purge_after"]; c == nil || c.(map[string]any)["to"] != deleted["purge_after"] {
		t.Errorf("the deletion's history entry changes purge_after %v, want to %v", c, deleted["purge_after"])
	}

	restored := e.must(t, http.StatusOK, req{method: "POST", path: "/v1/users/" + id + "/restore"}).json(t)
	if restored["purge_after"] != nil || restored["status"] != directory.StatusActive {
		t.Errorf("restored: status %v purge_after %v, want active and null", restored["status"], restored["purge_after"])
	}
}
