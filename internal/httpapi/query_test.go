package httpapi_test

// Query parameters: every route accepts the parameters it
// declares and no other; a parameter that is unknown, repeated, sent without
// a value or malformed is 400 invalid_request naming it, and nothing is
// written.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// lenientRoutes take any query parameter: probes and the scrape, which read
// none and whose callers (load balancers, Prometheus) may add their own.
var lenientRoutes = map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /metrics": true}

// tenantState is every answer a write could change, for comparison.
func (e *env) tenantState(t *testing.T, uid string) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, rq := range []req{
		{method: "GET", path: "/v1/users/" + uid},
		{method: "GET", path: "/v1/users/" + uid + "/history?limit=100"},
		{method: "GET", path: "/v1/users?limit=100"},
		{method: "GET", path: "/v1/roles"},
		{method: "GET", path: "/v1/policies"},
		{method: "GET", path: "/v1/webhook-endpoints"},
		{method: "GET", path: "/v1/tenants?limit=100", token: e.platform},
	} {
		b.Write(e.must(t, http.StatusOK, rq).body)
	}
	return b.Bytes()
}

// TestUnknownQueryParameterOnEveryRoute walks every route of routes.go with a
// request that would succeed, and a write that would change something, plus
// one parameter the route does not take: every route but the probes answers
// 400 invalid_request naming it, and the tenant is as it was.
func TestUnknownQueryParameterOnEveryRoute(t *testing.T) {
	e := newEnv(t)
	rc := newCapture(t, "")
	uid := e.createUser(t, map[string]any{"email": "probe@example.com", "username": "probe", "picture": pngDataURI(t)})["id"].(string)
	sid := e.must(t, 201, req{method: "POST", path: "/v1/users/" + uid + "/suspensions", body: map[string]any{"reason": "probe"}}).json(t)["id"].(string)
	eid := e.must(t, 201, req{method: "POST", path: "/v1/webhook-endpoints", body: map[string]any{"url": rc.srv.URL + "/q", "kind": "events"}}).json(t)["id"].(string)
	bodies := map[string]any{
		"POST /v1/users":                  map[string]any{"username": "created"},
		"PATCH /v1/users/{id}":            map[string]any{"name": "Changed"},
		"PUT /v1/users/{id}":              map[string]any{"username": "replaced"},
		"POST /v1/users/{id}/suspensions": map[string]any{"reason": "again"},
		"PUT /v1/roles":                   map[string]any{"roles": []string{"member", "admin", "viewer", "extra"}},
		"PUT /v1/policies":                map[string]any{"policies": `permit (principal, action, resource);`},
		"POST /v1/webhook-endpoints":      map[string]any{"url": rc.srv.URL + "/other", "kind": "events"},
		"POST /v1/tenants":                map[string]any{"name": "Created"},
		"PATCH /v1/tenants/{id}":          map[string]any{"name": "Renamed"},
	}
	fill := strings.NewReplacer("/v1/users/{id}", "/v1/users/"+uid, "{sid}", sid,
		"/v1/webhook-endpoints/{id}", "/v1/webhook-endpoints/"+eid, "/v1/tenants/{id}", "/v1/tenants/"+e.tenant)

	before := e.tenantState(t, uid)
	for _, r := range servedRoutes(t) {
		t.Run(r.String(), func(t *testing.T) {
			rq := req{method: r.method, path: fill.Replace(r.path) + "?emial=probe@example.com", body: bodies[r.String()]}
			switch r.access {
			case "platform":
				rq.token = e.platform
			case "none":
				rq.token = "-"
			}
			got := e.do(t, rq)
			if lenientRoutes[r.String()] {
				if got.status != http.StatusOK {
					t.Errorf("a probe answered %d to an unknown parameter: %s", got.status, got.body)
				}
				return
			}
			p := problem(t, got, http.StatusBadRequest, "invalid_request")
			if c := fieldCodes(p)["emial"]; c != "unknown_parameter" {
				t.Errorf("errors %v, want emial: unknown_parameter", p["errors"])
			}
			if bytes.Contains(got.body, []byte(uid)) || bytes.Contains(got.body, []byte("probe@example.com")) {
				t.Errorf("the refusal shows data: %s", got.body)
			}
			if after := e.tenantState(t, uid); !bytes.Equal(after, before) {
				t.Errorf("the refused request changed the tenant:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// TestDryRunParameterIsStrict: a dry_run that is not exactly one
// dry_run=true or dry_run=false is refused, never taken for a real write.
func TestDryRunParameterIsStrict(t *testing.T) {
	e := newEnv(t)
	uid := e.createUser(t, map[string]any{"email": "dry@example.com", "username": "dry"})["id"].(string)
	users := "/v1/users/" + uid
	for _, c := range []struct{ query, field, code string }{
		{"dry_run", "dry_run", "missing_value"},
		{"dry_run=", "dry_run", "missing_value"},
		{"dry_run=false&dry_run=true", "dry_run", "repeated_parameter"},
		{"dry_run=true&dry_run=true", "dry_run", "repeated_parameter"},
		{"dryrun=true", "dryrun", "unknown_parameter"},
		{"dry-run=true", "dry-run", "unknown_parameter"},
		{"DRY_RUN=true", "DRY_RUN", "unknown_parameter"},
		{"dry_run=TRUE", "dry_run", "invalid_boolean"},
		{"dry_run=1", "dry_run", "invalid_boolean"},
		{"dry_run=true%", "dry_run", "malformed_parameter"},
	} {
		for _, rq := range []req{
			{method: "PATCH", path: users, body: map[string]any{"name": "Written"}},
			{method: "PUT", path: users, body: map[string]any{"username": "written"}},
			{method: "DELETE", path: users},
			{method: "POST", path: users + "/deactivate"},
			{method: "POST", path: users + "/suspensions", body: map[string]any{"reason": "written"}},
			{method: "POST", path: "/v1/users", body: map[string]any{"username": "written"}},
		} {
			t.Run(rq.method+" "+rq.path+"?"+c.query, func(t *testing.T) {
				rq.path += "?" + c.query
				p := problem(t, e.do(t, rq), http.StatusBadRequest, "invalid_request")
				if got := fieldCodes(p); got[c.field] != c.code || len(got) != 1 {
					t.Errorf("errors %v, want %s: %s", p["errors"], c.field, c.code)
				}
			})
		}
	}
	if u := e.getUser(t, uid); u["version"] != json.Number("1") || u["status"] != "active" {
		t.Errorf("a refused dry run wrote: %v", u)
	}
	if n := len(e.history(t, uid)); n != 1 {
		t.Errorf("%d audit entries, want 1 (the creation)", n)
	}
	if l := e.must(t, 200, req{method: "GET", path: "/v1/users?username=written"}).json(t)["data"].([]any); len(l) != 0 {
		t.Errorf("a refused dry run created a user: %v", l)
	}
	// The right spelling still works, and still writes nothing.
	r := e.must(t, 200, req{method: "PATCH", path: users + "?dry_run=true", body: map[string]any{"name": "Dry"}})
	if r.header.Get("Roster-Dry-Run") != "true" || e.getUser(t, uid)["name"] != nil {
		t.Errorf("dry_run=true: %v %s", r.header, r.body)
	}
	e.must(t, 200, req{method: "PATCH", path: users + "?dry_run=false", body: map[string]any{"name": "Wet"}})
	if got := e.getUser(t, uid)["name"]; got != "Wet" {
		t.Errorf("dry_run=false did not write: name %v", got)
	}
}

// TestListFiltersAreStrict: a misspelt, empty or repeated filter is refused,
// never dropped into a list of every user; every fault is named at once.
func TestListFiltersAreStrict(t *testing.T) {
	e := newEnv(t)
	e.createUser(t, map[string]any{"email": "a@example.com", "username": "aa1"})
	e.createUser(t, map[string]any{"email": "b@example.com", "username": "bb1"})
	for _, c := range []struct {
		query string
		want  map[string]string
	}{
		{"name=Alice", map[string]string{"name": "unknown_parameter"}},
		{"emial=a@example.com", map[string]string{"emial": "unknown_parameter"}},
		{"Email=a@example.com", map[string]string{"Email": "unknown_parameter"}},
		{"email=", map[string]string{"email": "missing_value"}},
		{"email", map[string]string{"email": "missing_value"}},
		{"email=a@example.com&email=b@example.com", map[string]string{"email": "repeated_parameter"}},
		{"username=aa1&username=bb1", map[string]string{"username": "repeated_parameter"}},
		{"status=gone", map[string]string{"status": "invalid_value"}},
		{"status=ACTIVE", map[string]string{"status": "invalid_value"}},
		{"limit=05", map[string]string{"limit": "out_of_range"}},
		{"limit=+5", map[string]string{"limit": "out_of_range"}},
		{"limit=1e1", map[string]string{"limit": "out_of_range"}},
		{"limit=1&limit=2", map[string]string{"limit": "repeated_parameter"}},
		{"cursor=zzz", map[string]string{"cursor": "invalid_cursor"}},
		{"%zz=1", map[string]string{"%zz": "malformed_parameter"}},
		{"emial=a@example.com&limit=0&cursor=zzz&status=", map[string]string{
			"emial": "unknown_parameter", "limit": "out_of_range", "cursor": "invalid_cursor", "status": "missing_value"}},
	} {
		t.Run(c.query, func(t *testing.T) {
			r := e.do(t, req{method: "GET", path: "/v1/users?" + c.query})
			p := problem(t, r, http.StatusBadRequest, "invalid_request")
			got := fieldCodes(p)
			if len(got) != len(c.want) {
				t.Errorf("errors %v, want %v", got, c.want)
			}
			for f, code := range c.want {
				if got[f] != code {
					t.Errorf("errors %v, want %s: %s", got, f, code)
				}
			}
			if bytes.Contains(r.body, []byte("b@example.com")) {
				t.Errorf("the refusal lists users: %s", r.body)
			}
		})
	}
	// Sent right, a filter filters.
	if l := e.must(t, 200, req{method: "GET", path: "/v1/users?email=a@example.com&status=active&limit=5"}).json(t)["data"].([]any); len(l) != 1 {
		t.Errorf("email filter: %d users, want 1", len(l))
	}
	// The probes take anything: they read no parameter.
	e.must(t, 200, req{method: "GET", path: "/healthz?probe=lb&probe=again", token: "-"})
}
