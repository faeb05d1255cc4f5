package httpapi_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	for name, h := range map[string][]string{
		"no header":    nil,
		"unknown key":  {"Authorization", "Bearer rst_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		"basic scheme": {"Authorization", "Basic " + e.token},
		"empty bearer": {"Authorization", "Bearer "},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.do(t, req{method: "GET", path: "/v1/users", token: "-", headers: h})
			problem(t, r, http.StatusUnauthorized, "unauthenticated")
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestScopes(t *testing.T) {
	e := newEnv(t)
	readOnly := e.keyWith("users:read")
	e.must(t, http.StatusOK, req{method: "GET", path: "/v1/users", token: readOnly})
	p := problem(t, e.do(t, req{method: "POST", path: "/v1/users", token: readOnly, body: map[string]any{"username": "abc"}}), 403, "insufficient_scope")
	if !strings.Contains(p["detail"].(string), "users:write") {
		t.Errorf("detail %q does not name the scope", p["detail"])
	}
	writeOnly := e.keyWith("users:write")
	problem(t, e.do(t, req{method: "GET", path: "/v1/users", token: writeOnly}), 403, "insufficient_scope")
	// A tenant key is not a platform key, whatever its scopes.
	problem(t, e.do(t, req{method: "GET", path: "/v1/tenants"}), 403, "insufficient_scope")
}

func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	u := e.createUser(t, map[string]any{"email": "mine@example.com"})
	id := u["id"].(string)
	other, otherToken := e.newTenant("Other")

	// Another tenant's key sees nothing of this user, on every route.
	for _, rq := range []req{
		{method: "GET", path: "/v1/users/" + id},
		{method: "PATCH", path: "/v1/users/" + id, body: map[string]any{"name": "X"}},
		{method: "PUT", path: "/v1/users/" + id, body: map[string]any{"email": "x@example.com"}},
		{method: "GET", path: "/v1/users/" + id + "/history"},
	} {
		rq.token = otherToken
		problem(t, e.do(t, rq), http.StatusNotFound, "not_found")
	}
	l := e.must(t, http.StatusOK, req{method: "GET", path: "/v1/users?email=mine@example.com", token: otherToken}).json(t)
	if len(l["data"].([]any)) != 0 {
		t.Errorf("other tenant lists %v", l["data"])
	}
	// X-Tenant-ID must agree with a tenant key.
	problem(t, e.do(t, req{method: "GET", path: "/v1/users", headers: []string{"X-Tenant-ID", other}}), 403, "tenant_mismatch")
	e.must(t, http.StatusOK, req{method: "GET", path: "/v1/users", headers: []string{"X-Tenant-ID", e.tenant}})
	// A platform key picks the tenant with X-Tenant-ID.
	e.must(t, http.StatusOK, req{method: "GET", path: "/v1/users/" + id, token: e.platform, headers: []string{"X-Tenant-ID", e.tenant}})
	problem(t, e.do(t, req{method: "GET", path: "/v1/users/" + id, token: e.platform, headers: []string{"X-Tenant-ID", other}}), 404, "not_found")
	problem(t, e.do(t, req{method: "GET", path: "/v1/users", token: e.platform}), 400, "invalid_request")
	problem(t, e.do(t, req{method: "GET", path: "/v1/users", token: e.platform, headers: []string{"X-Tenant-ID", "ten_nope"}}), 404, "not_found")
	// Malformed IDs are simply not found.
	problem(t, e.do(t, req{method: "GET", path: "/v1/users/usr_123"}), 404, "not_found")
	problem(t, e.do(t, req{method: "GET", path: "/v1/users/" + strings.Replace(id, "usr_", "ten_", 1)}), 404, "not_found")
}

func TestTenantsAPI(t *testing.T) {
	e := newEnv(t)
	r := e.must(t, http.StatusCreated, req{method: "POST", path: "/v1/tenants", token: e.platform, body: map[string]any{
		"name": "Globex", "owner_email": "boss@globex.test", "plan": map[string]any{"rate_limit_rps": 5},
	}})
	ten := r.json(t)
	id := ten["id"].(string)
	if r.header.Get("Location") != "/v1/tenants/"+id {
		t.Errorf("Location %q", r.header.Get("Location"))
	}
	plan := ten["plan"].(map[string]any)
	if plan["rate_limit_rps"] != json.Number("5") || plan["rate_limit_burst"] != json.Number("200") {
		t.Errorf("plan %v: want rate 5 and the default burst", plan)
	}
	// The owner exists, is the owner and an admin.
	l := e.must(t, http.StatusOK, req{method: "GET", path: "/v1/users?email=boss@globex.test", token: e.platform, headers: []string{"X-Tenant-ID", id}}).json(t)
	owner := l["data"].([]any)[0].(map[string]any)
	if owner["is_owner"] != true || owner["roles"].([]any)[0] != "admin" {
		t.Errorf("owner %v", owner)
	}
	got := e.must(t, http.StatusOK, req{method: "PATCH", path: "/v1/tenants/" + id, token: e.platform, body: map[string]any{
		"settings": map[string]any{"require_if_match": true}, "plan": map[string]any{"max_active_users": 10},
	}}).json(t)
	if got["settings"].(map[string]any)["require_if_match"] != true || got["plan"].(map[string]any)["rate_limit_rps"] != json.Number("5") ||
		got["plan"].(map[string]any)["max_active_users"] != json.Number("10") {
		t.Errorf("after PATCH: %v", got)
	}
	if g := e.must(t, http.StatusOK, req{method: "GET", path: "/v1/tenants/" + id, token: e.platform}).json(t); g["updated_at"] != got["updated_at"] {
		t.Errorf("GET after PATCH differs: %v", g)
	}
	p := problem(t, e.do(t, req{method: "PATCH", path: "/v1/tenants/" + id, token: e.platform, body: map[string]any{"plan": map[string]any{"rate_limit_rps": -1}}}), 422, "validation_failed")
	if fieldCodes(p)["plan.rate_limit_rps"] == "" {
		t.Errorf("errors %v", p["errors"])
	}
	problem(t, e.do(t, req{method: "PATCH", path: "/v1/tenants/" + id, token: e.platform, body: map[string]any{"colour": "red"}}), 400, "unknown_field")
	problem(t, e.do(t, req{method: "POST", path: "/v1/tenants", token: e.platform, body: map[string]any{"name": ""}}), 422, "validation_failed")
	problem(t, e.do(t, req{method: "GET", path: "/v1/tenants/ten_01ARZ3NDEKTSV4RRFFQ69G5FAV", token: e.platform}), 404, "not_found")
	lst := e.must(t, http.StatusOK, req{method: "GET", path: "/v1/tenants", token: e.platform}).json(t)
	if first := lst["data"].([]any)[0].(map[string]any); first["id"] != id {
		t.Errorf("newest tenant first: got %v", first["id"])
	}
}

func TestErrorsAreProblems(t *testing.T) {
	e := newEnv(t)
	problem(t, e.do(t, req{method: "GET", path: "/v2/nothing"}), 404, "not_found")
	r := e.do(t, req{method: "DELETE", path: "/v1/tenants"})
	problem(t, r, 405, "method_not_allowed")
	if !strings.Contains(r.header.Get("Allow"), "GET") {
		t.Errorf("Allow %q", r.header.Get("Allow"))
	}
}

func TestOperationalEndpoints(t *testing.T) {
	e := newEnv(t)
	e.must(t, http.StatusOK, req{method: "GET", path: "/healthz", token: "-"})
	e.must(t, http.StatusOK, req{method: "GET", path: "/readyz", token: "-"})
	spec := e.must(t, http.StatusOK, req{method: "GET", path: "/openapi.yaml", token: "-"})
	if !strings.HasPrefix(string(spec.body), "openapi: 3.1") {
		t.Errorf("openapi.yaml starts %q", spec.body[:min(20, len(spec.body))])
	}
	e.must(t, http.StatusOK, req{method: "GET", path: "/v1/users"})
	m := e.must(t, http.StatusOK, req{method: "GET", path: "/metrics", token: "-"})
	if !strings.Contains(string(m.body), `roster_http_requests_total{method="GET",route="GET /v1/users",status="200"} 1`) {
		t.Errorf("metrics lack the request counter:\n%s", m.body)
	}
	if !strings.Contains(string(m.body), "roster_http_request_duration_seconds_bucket") {
		t.Errorf("metrics lack the latency histogram")
	}
	e.store.Close()
	problem(t, e.do(t, req{method: "GET", path: "/readyz", token: "-"}), 503, "unavailable")
}

func TestRequestLog(t *testing.T) {
	e := newEnv(t)
	r := e.must(t, http.StatusCreated, req{method: "POST", path: "/v1/users", body: map[string]any{
		"username": "logged", "secure_metadata": map[string]any{"pin": "s3cr3t-pin-value"},
	}})
	reqID := r.header.Get("X-Request-Id")
	if len(reqID) != 26 {
		t.Errorf("X-Request-Id %q is not a ULID", reqID)
	}
	var line map[string]any
	sc := bufio.NewScanner(strings.NewReader(e.logs.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		if m["requestId"] == reqID {
			line = m
		}
	}
	if line == nil {
		t.Fatalf("no log line with requestId %s in:\n%s", reqID, e.logs.String())
	}
	for k, want := range map[string]any{"method": "POST", "route": "POST /v1/users", "status": 201.0, "tenant": e.tenant} {
		if line[k] != want {
			t.Errorf("log %s = %v, want %v", k, line[k], want)
		}
	}
	if line["keyId"] == nil || line["durationMs"] == nil {
		t.Errorf("log line lacks keyId or durationMs: %v", line)
	}
	if logs := e.logs.String(); strings.Contains(logs, e.token) || strings.Contains(logs, "s3cr3t-pin-value") {
		t.Errorf("a secret reached the logs")
	}
}
