package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestConfigChangesDecideTheNextWriteOnEveryNode changes a tenant's
// configuration through one node and writes through another whose cache
// would keep the old one for an hour: every write there is decided on the
// configuration as stored, because each write transaction checks the
// tenant's configuration version (and a dry run reads it).
func TestConfigChangesDecideTheNextWriteOnEveryNode(t *testing.T) {
	a := newEnv(t)
	b := a.secondNode(t, time.Hour)
	u := a.createUser(t, map[string]any{"email": "cached@acme.test"})
	path := "/v1/users/" + u["id"].(string)
	patch := func(body map[string]any, headers ...string) *response {
		return b.do(t, req{method: "PATCH", path: path, body: body, headers: headers})
	}
	// Node b reads and caches the tenant, its endpoints and the key.
	if r := patch(map[string]any{"name": "Warm"}); r.status != http.StatusOK {
		t.Fatalf("warm-up PATCH on b: %d %s", r.status, r.body)
	}

	t.Run("policies", func(t *testing.T) {
		a.must(t, 200, req{method: "PUT", path: "/v1/policies", body: map[string]any{
			"policies": "@id(\"all\")\npermit (principal, action, resource);\n@notice(\"frozen\")\nforbid (principal, action == Action::\"updateUser\", resource);\n"}})
		p := problem(t, patch(map[string]any{"name": "Blocked"}), http.StatusForbidden, "forbidden")
		if got := p["notices"]; got == nil {
			t.Errorf("403 without the policy's notice: %v", p)
		}
		if got := b.must(t, 200, req{method: "GET", path: "/v1/policies"}).json(t)["default"]; got != false {
			t.Errorf("GET /v1/policies on b: default = %v, want false", got)
		}
		a.must(t, 200, req{method: "PUT", path: "/v1/policies", body: map[string]any{"policies": ""}})
		if r := patch(map[string]any{"name": "Allowed again"}); r.status != http.StatusOK {
			t.Fatalf("PATCH on b after the default set is back: %d %s", r.status, r.body)
		}
	})

	t.Run("roles", func(t *testing.T) {
		a.must(t, 200, req{method: "PUT", path: "/v1/roles", body: map[string]any{"roles": []string{"member", "admin", "viewer", "support"}}})
		if r := patch(map[string]any{"roles": []string{"support"}}); r.status != http.StatusOK {
			t.Fatalf("PATCH on b with a role just added on a: %d %s", r.status, r.body)
		}
	})

	t.Run("role in use", func(t *testing.T) {
		roles := []string{"member", "admin", "viewer", "support"}
		a.must(t, 200, req{method: "PUT", path: "/v1/roles", body: map[string]any{"roles": append(roles, "auditor")}})
		a.must(t, 200, req{method: "PATCH", path: path, body: map[string]any{"roles": []string{"auditor"}}})
		// b's copy of the catalog has no auditor: the check must use the
		// stored one.
		problem(t, b.do(t, req{method: "PUT", path: "/v1/roles", body: map[string]any{"roles": roles}}), http.StatusConflict, "role_in_use")
		a.must(t, 200, req{method: "PATCH", path: path, body: map[string]any{"roles": []string{"member"}}})
	})

	t.Run("settings, dry run", func(t *testing.T) {
		a.must(t, 200, req{method: "PATCH", path: "/v1/tenants/" + a.tenant, token: a.platform,
			body: map[string]any{"settings": map[string]any{"require_if_match": true}}})
		problem(t, b.do(t, req{method: "PATCH", path: path + "?dry_run=true", body: map[string]any{"name": "Dry"}}), http.StatusPreconditionRequired, "precondition_required")
		problem(t, patch(map[string]any{"name": "Wet"}), http.StatusPreconditionRequired, "precondition_required")
		a.must(t, 200, req{method: "PATCH", path: "/v1/tenants/" + a.tenant, token: a.platform,
			body: map[string]any{"settings": map[string]any{"require_if_match": false}}})
	})

	t.Run("events endpoint", func(t *testing.T) {
		rc := newReceiver(t)
		rc.register(a, map[string]any{"kind": "events", "events": []string{"user.updated"}})
		r := patch(map[string]any{"name": "Announced"})
		if r.status != http.StatusOK {
			t.Fatalf("PATCH on b: %d %s", r.status, r.body)
		}
		got := rc.waitFor(1)
		if user := got[0]["data"].(map[string]any)["user"].(map[string]any); user["name"] != "Announced" {
			t.Errorf("event of the PATCH on b: %v", got[0])
		}
	})

	t.Run("plan", func(t *testing.T) {
		used := patch(map[string]any{"name": "Counted"}).header.Get("X-Quota-Writes-Used")
		a.must(t, 200, req{method: "PATCH", path: "/v1/tenants/" + a.tenant, token: a.platform,
			body: map[string]any{"plan": map[string]any{"writes_per_period": mustAtoi(t, used)}}})
		r := patch(map[string]any{"name": "Over"})
		problem(t, r, http.StatusTooManyRequests, "quota_exceeded")
		if got := r.header.Get("X-Quota-Writes-Limit"); got != used {
			t.Errorf("X-Quota-Writes-Limit on b: %q, want the new limit %s", got, used)
		}
	})
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}
