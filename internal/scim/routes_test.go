package scim_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/directory"
)

// The route-walking security tests of internal/httpapi read problems, so
// they leave out /scim/; the tests below hold every SCIM route, read from
// routes.go so that a new one is walked without anyone listing it, to the
// same properties: scopes, tenancy, unknown query parameters and methods.

type scimRoute struct{ method, path, access string }

func (r scimRoute) String() string { return r.method + " " + r.path }

var scimRouteRE = regexp.MustCompile(`mux\.Handle\("([A-Z]+) (/scim/[^"]+)",\s*(\w+)\(`)

func scimRoutes(t *testing.T) []scimRoute {
	t.Helper()
	src, err := os.ReadFile("../httpapi/routes.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []scimRoute
	for _, m := range scimRouteRE.FindAllStringSubmatch(string(src), -1) {
		out = append(out, scimRoute{m[1], m[2], m[3]})
	}
	// Cross-check with a plainer pattern: no route may be missed because
	// its line has another shape.
	if n := len(regexp.MustCompile(`"[A-Z]+ /scim/`).FindAllString(string(src), -1)); len(out) < 19 || n != len(out) {
		t.Fatalf("read %d SCIM routes from routes.go: update scimRouteRE", len(out))
	}
	return out
}

// scimFixture is a tenant with a user and a group of its own, and the
// paths of the routes filled with them.
type scimFixture struct {
	user, group string
	fill        *strings.Replacer
}

func newFixture(t *testing.T, e *env) scimFixture {
	t.Helper()
	u := e.do(t, rq{method: "POST", path: "/scim/v2/Users", body: map[string]any{"userName": "walked@example.com", "externalId": "walked"}}).want(t, http.StatusCreated).json(t)
	g := e.do(t, rq{method: "POST", path: "/scim/v2/Groups", body: map[string]any{"displayName": "Only In A",
		"members": []any{map[string]any{"value": u["id"]}}}}).want(t, http.StatusCreated).json(t)
	f := scimFixture{user: u["id"].(string), group: g["id"].(string)}
	f.fill = strings.NewReplacer("/Users/{id}", "/Users/"+f.user, "/Groups/{id}", "/Groups/"+f.group,
		"/ResourceTypes/{id}", "/ResourceTypes/User", "/Schemas/{id}", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
	return f
}

// state is what the tenant's SCIM resources are: a refused request must
// leave it as it was.
func (e *env) state(t *testing.T) string {
	t.Helper()
	users := e.do(t, rq{method: "GET", path: "/scim/v2/Users?count=200"}).want(t, http.StatusOK).body
	groups := e.do(t, rq{method: "GET", path: "/scim/v2/Groups?count=200"}).want(t, http.StatusOK).body
	return string(users) + string(groups)
}

// TestRoutesScopes: every SCIM route refuses a key without its scope (403
// in SCIM's schema, before anything is read or written) and admits one with
// it.
func TestRoutesScopes(t *testing.T) {
	e := newEnv(t)
	f := newFixture(t, e)
	reader := e.keyWith(t, directory.ScopeUsersRead)
	writer := e.keyWith(t, directory.ScopeUsersWrite)
	readWriter := e.keyWith(t, directory.ScopeUsersRead, directory.ScopeUsersWrite)
	// The keys each access admits and refuses.
	cases := map[string]struct{ admitted, refused []string }{
		"read":      {[]string{reader, readWriter, e.token}, []string{writer}},
		"scimWrite": {[]string{readWriter, e.token}, []string{reader}},
		"admin":     {[]string{e.token}, []string{reader, readWriter}},
	}
	before := e.state(t)
	for _, r := range scimRoutes(t) {
		c, ok := cases[r.access]
		if !ok {
			t.Errorf("%s: access %s, which this test does not know", r, r.access)
			continue
		}
		path := f.fill.Replace(r.path)
		for _, k := range c.refused {
			e.do(t, rq{method: r.method, path: path, token: k, body: "{}"}).wantError(t, http.StatusForbidden, "")
		}
		if after := e.state(t); after != before {
			t.Errorf("%s: a refused request changed the tenant", r)
		}
		for _, k := range c.admitted {
			got := e.do(t, rq{method: r.method, path: strings.NewReplacer("/Users/"+f.user, "/Users/usr_01ARZ3NDEKTSV4RRFFQ69G5FAV", "/Groups/"+f.group, "/Groups/none").Replace(path), token: k, body: "{}"})
			if got.status == http.StatusUnauthorized || got.status == http.StatusForbidden {
				t.Errorf("%s: a key of its scope got %d %s", r, got.status, got.body)
			}
		}
	}
}

// TestRoutesTenancy: another tenant's key finds none of the tenant's
// resources through any route.
func TestRoutesTenancy(t *testing.T) {
	e := newEnv(t)
	f := newFixture(t, e)
	out, err := e.svc.CreateTenant(t.Context(), directory.TenantInput{Name: "Other", Plan: &generous}, true, directory.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	before := e.state(t)
	for _, r := range scimRoutes(t) {
		path := f.fill.Replace(r.path)
		got := e.do(t, rq{method: r.method, path: path, token: out.Token, body: `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName pr"}`})
		switch {
		case strings.Contains(r.path, "/Users/{id}") || strings.Contains(r.path, "/Groups/{id}"):
			got.wantError(t, http.StatusNotFound, "")
		case r.method == "POST" && !strings.HasSuffix(r.path, ".search"):
			// A create in the other tenant: nothing of this one to see.
		default:
			if got.status != http.StatusOK {
				t.Errorf("%s: %d %s", r, got.status, got.body)
			}
		}
		for _, secret := range []string{f.user, f.group, "walked@example.com", "Only In A"} {
			if strings.Contains(string(got.body), secret) {
				t.Errorf("%s: the other tenant's answer shows %s: %s", r, secret, got.body)
			}
		}
	}
	if after := e.state(t); after != before {
		t.Errorf("the other tenant's requests changed the tenant")
	}
}

// TestRoutesRefuseUnknownParameters: every SCIM route refuses a query
// parameter it does not know, changing nothing.
func TestRoutesRefuseUnknownParameters(t *testing.T) {
	e := newEnv(t)
	f := newFixture(t, e)
	before := e.state(t)
	for _, r := range scimRoutes(t) {
		got := e.do(t, rq{method: r.method, path: f.fill.Replace(r.path) + "?emial=probe@example.com",
			body: map[string]any{"userName": "probe@example.com", "displayName": "Probe", "members": []any{}}})
		got.wantError(t, http.StatusBadRequest, "invalidSyntax")
		if strings.Contains(string(got.body), f.user) || strings.Contains(string(got.body), "probe@example.com") {
			t.Errorf("%s: the refusal shows data: %s", r, got.body)
		}
	}
	if after := e.state(t); after != before {
		t.Errorf("refused requests changed the tenant")
	}
}

// TestRoutesMethods: a method no route serves on a SCIM path is 405 in
// SCIM's schema, with the Allow header, and changes nothing.
func TestRoutesMethods(t *testing.T) {
	e := newEnv(t)
	f := newFixture(t, e)
	routes := scimRoutes(t)
	// A mux of the same patterns says which methods a path is served with.
	mux := http.NewServeMux()
	for _, r := range routes {
		mux.Handle(r.String(), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	}
	before := e.state(t)
	walked := 0
	for _, p := range slices.Compact(slices.Sorted(func(yield func(string) bool) {
		for _, r := range routes {
			if !yield(f.fill.Replace(r.path)) {
				return
			}
		}
	})) {
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(m, p, nil))
			if rec.Code != http.StatusMethodNotAllowed {
				continue
			}
			walked++
			got := e.do(t, rq{method: m, path: p, body: "{}"})
			got.wantError(t, http.StatusMethodNotAllowed, "")
			if got.header.Get("Allow") == "" || got.header.Get("Allow") != rec.Header().Get("Allow") {
				t.Errorf("%s %s: Allow %q, want %q", m, p, got.header.Get("Allow"), rec.Header().Get("Allow"))
			}
		}
	}
	if walked < 10 {
		t.Errorf("only %d unserved methods walked", walked)
	}
	if after := e.state(t); after != before {
		t.Errorf("requests of unserved methods changed the tenant")
	}
}
