package scim_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/directory"
)

func TestDiscovery(t *testing.T) {
	e := newEnv(t)
	spc := e.do(t, rq{method: "GET", path: "/scim/v2/ServiceProviderConfig"}).want(t, http.StatusOK).json(t)
	for path, want := range map[string]any{
		"patch.supported": true, "bulk.supported": false, "filter.supported": true, "changePassword.supported": false,
		"sort.supported": true, "etag.supported": true,
	} {
		if got := at(spc, path); got != want {
			t.Errorf("ServiceProviderConfig %s: got %v, want %v", path, got, want)
		}
	}
	if at(spc, "filter.maxResults") == nil {
		t.Errorf("no filter.maxResults")
	}
	rts := e.do(t, rq{method: "GET", path: "/scim/v2/ResourceTypes"}).want(t, http.StatusOK).json(t)
	if total(t, rts) != 2 || at(rts, "Resources.0.endpoint") != "/Users" || at(rts, "Resources.1.endpoint") != "/Groups" {
		t.Errorf("ResourceTypes: %v", rts)
	}
	e.do(t, rq{method: "GET", path: "/scim/v2/ResourceTypes/User"}).want(t, http.StatusOK)
	e.do(t, rq{method: "GET", path: "/scim/v2/ResourceTypes/Group"}).want(t, http.StatusOK)
	e.do(t, rq{method: "GET", path: "/scim/v2/ResourceTypes/Other"}).wantError(t, http.StatusNotFound, "")
	schemas := e.do(t, rq{method: "GET", path: "/scim/v2/Schemas"}).want(t, http.StatusOK).json(t)
	if total(t, schemas) != 3 || at(schemas, "Resources.0.id") != "urn:ietf:params:scim:schemas:core:2.0:User" {
		t.Errorf("Schemas: %v", schemas)
	}
	e.do(t, rq{method: "GET", path: "/scim/v2/Schemas/" + enterprise}).want(t, http.StatusOK)
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		e.do(t, rq{method: m, path: "/scim/v2/ServiceProviderConfig", body: "{}"}).wantError(t, http.StatusMethodNotAllowed, "")
	}
	e.do(t, rq{method: "GET", path: "/scim/v2/Nothing"}).wantError(t, http.StatusNotFound, "")
}

func TestAuthErrorsAreSCIM(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, rq{method: "GET", path: "/scim/v2/Users", token: "-"})
	r.wantError(t, http.StatusUnauthorized, "")
	if r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("401 without WWW-Authenticate")
	}
	e.do(t, rq{method: "GET", path: "/scim/v2/Users", token: "rst_wrong"}).wantError(t, http.StatusUnauthorized, "")
	reader := e.keyWith(t, directory.ScopeUsersRead)
	e.do(t, rq{method: "GET", path: "/scim/v2/Users", token: reader}).want(t, http.StatusOK)
	e.do(t, rq{method: "POST", path: "/scim/v2/Users", token: reader, body: map[string]any{"userName": "x@example.com"}}).
		wantError(t, http.StatusForbidden, "")
	// A key with users:write alone writes, but reads no user in the answers.
	writer := e.keyWith(t, directory.ScopeUsersWrite)
	r = e.do(t, rq{method: "POST", path: "/scim/v2/Users", token: writer, body: map[string]any{"userName": "blind@example.com", "displayName": "Blind Name"}})
	r.want(t, http.StatusCreated)
	if len(r.body) != 0 || r.header.Get("Location") == "" || r.header.Get("ETag") != `"1"` {
		t.Errorf("blind create: body %q, Location %q, ETag %q", r.body, r.header.Get("Location"), r.header.Get("ETag"))
	}
	id := r.header.Get("Location")[strings.LastIndex(r.header.Get("Location"), "/")+1:]
	r = e.do(t, rq{method: "PUT", path: "/scim/v2/Users/" + id, token: writer, body: map[string]any{"userName": "blind@example.com", "displayName": "New Name"}})
	if r.want(t, http.StatusNoContent); len(r.body) != 0 || r.header.Get("ETag") != `"2"` {
		t.Errorf("blind PUT: body %q, ETag %q", r.body, r.header.Get("ETag"))
	}
	e.do(t, rq{method: "PATCH", path: "/scim/v2/Users/" + id, token: writer, body: patchOp(
		map[string]any{"op": "replace", "path": `emails[value sw "b"].type`, "value": "home"})}).wantError(t, http.StatusForbidden, "")
	e.do(t, rq{method: "GET", path: "/scim/v2/Users/" + id, token: writer}).wantError(t, http.StatusForbidden, "")

	// The REST API's errors stay problems.
	r = e.do(t, rq{method: "GET", path: "/v1/users", token: "-"})
	if r.status != http.StatusUnauthorized || r.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("/v1 401: %d %s", r.status, r.header.Get("Content-Type"))
	}
}

func TestMediaTypes(t *testing.T) {
	e := newEnv(t)
	for i, ct := range []string{"application/scim+json", "application/json", "application/scim+json; charset=utf-8",
		"application/json;charset=UTF-8", ""} {
		h := []string{"Content-Type", ct, "Accept", "application/scim+json"}
		if ct == "" {
			h = nil
		}
		body := `{"userName":"m` + string(rune('a'+i)) + `@example.com"}`
		req, _ := http.NewRequest("POST", e.srv.URL+"/scim/v2/Users", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.token)
		for j := 0; j+1 < len(h); j += 2 {
			req.Header.Set(h[j], h[j+1])
		}
		res, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusCreated || res.Header.Get("Content-Type") != "application/scim+json" {
			t.Errorf("Content-Type %q: %d %s", ct, res.StatusCode, res.Header.Get("Content-Type"))
		}
	}
	e.do(t, rq{method: "POST", path: "/scim/v2/Users", body: `{"userName":"x@example.com"}`, headers: []string{"Content-Type", "text/plain"}}).
		wantError(t, http.StatusUnsupportedMediaType, "invalidSyntax")
	e.do(t, rq{method: "POST", path: "/scim/v2/Users", body: `{"userName":`}).wantError(t, http.StatusBadRequest, "invalidSyntax")
}

func TestErrors(t *testing.T) {
	e := newEnv(t)
	u := e.do(t, rq{method: "POST", path: "/scim/v2/Users", body: map[string]any{
		"userName": "bjensen", "externalId": "b1", "emails": []any{map[string]any{"value": "bjensen@example.com", "primary": true}}}}).
		want(t, http.StatusCreated).json(t)
	id := u["id"].(string)

	for _, f := range []string{`userName eq`, `userName xx "a"`, `(userName eq "a"`, `title eq "x"`, `name.formatted pr`,
		`urn:example:Other:userName eq "a"`, `meta.created co "2026"`} {
		e.do(t, rq{method: "GET", path: "/scim/v2/Users?filter=" + url.QueryEscape(f)}).wantError(t, http.StatusBadRequest, "invalidFilter")
	}
	e.do(t, rq{method: "GET", path: "/scim/v2/Users?count=abc"}).wantError(t, http.StatusBadRequest, "invalidValue")
	for _, q := range []string{"sortBy=title", "sortBy=emails.type", "sortBy=userName&sortOrder=sideways", "sortBy=emails[type%20eq%20%22work%22]"} {
		e.do(t, rq{method: "GET", path: "/scim/v2/Users?" + q}).wantError(t, http.StatusBadRequest, "invalidValue")
	}

	// Uniqueness: userName (any case), externalId, email.
	for _, body := range []map[string]any{
		{"userName": "BJensen"},
		{"userName": "other1", "externalId": "b1"},
		{"userName": "other2", "emails": []any{map[string]any{"value": "BJENSEN@example.com"}}},
	} {
		e.do(t, rq{method: "POST", path: "/scim/v2/Users", body: body}).wantError(t, http.StatusConflict, "uniqueness")
	}
	e.do(t, rq{method: "POST", path: "/scim/v2/Users", body: map[string]any{"emails": []any{}}}).wantError(t, http.StatusBadRequest, "invalidValue")
	e.do(t, rq{method: "POST", path: "/scim/v2/Users", body: map[string]any{"userName": "z@example.com", "locale": "not a locale!"}}).
		wantError(t, http.StatusBadRequest, "invalidValue")

	// If-Match: stale is 412; current goes ahead; none goes ahead.
	patch := patchOp(map[string]any{"op": "replace", "path": "displayName", "value": "Babs"})
	e.do(t, rq{method: "PATCH", path: "/scim/v2/Users/" + id, body: patch, headers: []string{"If-Match", `"7"`}}).
		wantError(t, http.StatusPreconditionFailed, "")
	e.do(t, rq{method: "PUT", path: "/scim/v2/Users/" + id, body: map[string]any{"userName": "bjensen"}, headers: []string{"If-Match", `"7"`}}).
		wantError(t, http.StatusPreconditionFailed, "")
	r := e.do(t, rq{method: "PATCH", path: "/scim/v2/Users/" + id, body: patch, headers: []string{"If-Match", `"1"`}}).want(t, http.StatusOK)
	if r.header.Get("ETag") != `"2"` {
		t.Errorf("ETag after PATCH %q", r.header.Get("ETag"))
	}
	e.do(t, rq{method: "PATCH", path: "/scim/v2/Users/" + id, body: patch}).want(t, http.StatusOK)

	// PATCH errors.
	for _, c := range []struct {
		body     map[string]any
		scimType string
	}{
		{map[string]any{"Operations": []any{}}, "invalidSyntax"},
		{patchOp(map[string]any{"op": "move", "path": "displayName", "value": "x"}), "invalidSyntax"},
		{patchOp(map[string]any{"op": "remove"}), "noTarget"},
		{patchOp(map[string]any{"op": "replace", "path": "emails[type eq", "value": "x"}), "invalidFilter"},
		{patchOp(map[string]any{"op": "replace", "path": "name..x", "value": "x"}), "invalidPath"},
		{patchOp(map[string]any{"op": "replace", "path": "urn:example:Other:title", "value": "x"}), "invalidPath"},
		{patchOp(map[string]any{"op": "replace", "path": "id", "value": "usr_x"}), "mutability"},
		{patchOp(map[string]any{"op": "replace", "path": `emails[type eq "home" or value pr].value`, "value": "x@example.com"}, map[string]any{"op": "replace", "path": `phoneNumbers[type ne "x"].value`, "value": "1"}), "noTarget"},
		{patchOp(map[string]any{"op": "replace", "value": "not an object"}), "invalidValue"},
	} {
		e.do(t, rq{method: "PATCH", path: "/scim/v2/Users/" + id, body: c.body}).wantError(t, http.StatusBadRequest, c.scimType)
	}
	e.do(t, rq{method: "PATCH", path: "/scim/v2/Users/usr_01M8XKS2E57BFDYQAJSAEZWW45", body: patch}).wantError(t, http.StatusNotFound, "")
	e.do(t, rq{method: "GET", path: "/scim/v2/Users/nonsense"}).wantError(t, http.StatusNotFound, "")
}

func TestProjectionAndPaging(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"a", "b", "c"} {
		e.do(t, rq{method: "POST", path: "/scim/v2/Users", body: map[string]any{"userName": n + "@example.com", "title": "T" + n,
			"name": map[string]any{"givenName": "G" + n, "familyName": "F" + n}}}).want(t, http.StatusCreated)
	}
	m := e.list(t, "filter="+url.QueryEscape(`userName sw "b"`)+"&attributes=userName,name.givenName")
	r := at(m, "Resources.0").(map[string]any)
	if len(r) != 4 || r["userName"] != "b@example.com" || at(r, "name.givenName") != "Gb" || at(r, "name.familyName") != nil {
		t.Errorf("attributes: %v", r)
	}
	m = e.list(t, "filter="+url.QueryEscape(`userName sw "b"`)+"&excludedAttributes=title,meta,id")
	r = at(m, "Resources.0").(map[string]any)
	if r["title"] != nil || r["meta"] != nil || r["id"] == nil || r["userName"] != "b@example.com" {
		t.Errorf("excludedAttributes: %v", r)
	}
	// count=0 returns none but counts; startIndex < 1 is 1; count is capped.
	m = e.list(t, "count=0")
	if total(t, m) != 4 || len(m["Resources"].([]any)) != 0 {
		t.Errorf("count=0: %v", m)
	}
	m = e.list(t, "startIndex=-5&count=2")
	if at(m, "startIndex").(interface{ String() string }).String() != "1" || len(m["Resources"].([]any)) != 2 {
		t.Errorf("startIndex=-5: %v", m)
	}
	m = e.list(t, "startIndex=4&count=100000")
	if len(m["Resources"].([]any)) != 1 {
		t.Errorf("the last page: %v", m)
	}
	// POST .search, on Users and at the root.
	for _, p := range []string{"/scim/v2/Users/.search", "/scim/v2/.search"} {
		s := e.do(t, rq{method: "POST", path: p, body: map[string]any{
			"schemas": []any{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
			"filter":  `name.familyName eq "fc"`, "attributes": []any{"userName"}, "startIndex": 1, "count": 10}}).want(t, http.StatusOK).json(t)
		if total(t, s) != 1 || at(s, "Resources.0.userName") != "c@example.com" || at(s, "Resources.0.title") != nil {
			t.Errorf("%s: %v", p, s)
		}
	}
}

// TestOtherTenants: a user of another tenant is not found by any route, and
// a request with an unknown query parameter is refused, changing nothing.
func TestOtherTenants(t *testing.T) {
	e := newEnv(t)
	u := e.do(t, rq{method: "POST", path: "/scim/v2/Users", body: map[string]any{"userName": "mine@example.com", "externalId": "m1"}}).
		want(t, http.StatusCreated).json(t)
	id := u["id"].(string)
	out, err := e.svc.CreateTenant(t.Context(), directory.TenantInput{Name: "Other", Plan: &generous}, true, directory.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	other := out.Token
	for _, c := range []rq{
		{method: "GET", path: "/scim/v2/Users/" + id},
		{method: "PUT", path: "/scim/v2/Users/" + id, body: map[string]any{"userName": "taken@example.com"}},
		{method: "PATCH", path: "/scim/v2/Users/" + id, body: patchOp(map[string]any{"op": "replace", "path": "title", "value": "x"})},
		{method: "DELETE", path: "/scim/v2/Users/" + id},
	} {
		c.token = other
		e.do(t, c).wantError(t, http.StatusNotFound, "")
	}
	if m := e.do(t, rq{method: "GET", path: "/scim/v2/Users?filter=" + url.QueryEscape(`externalId eq "m1"`), token: other}).want(t, http.StatusOK).json(t); total(t, m) != 0 {
		t.Errorf("another tenant found the user: %v", m)
	}
	e.do(t, rq{method: "GET", path: "/scim/v2/Users?filtr=" + url.QueryEscape(`userName eq "x"`)}).wantError(t, http.StatusBadRequest, "invalidSyntax")
	e.do(t, rq{method: "DELETE", path: "/scim/v2/Users/" + id + "?dry_run=true"}).wantError(t, http.StatusBadRequest, "invalidSyntax")
	after := e.do(t, rq{method: "GET", path: "/scim/v2/Users/" + id}).want(t, http.StatusOK).json(t)
	if at(after, "meta.version") != `"1"` {
		t.Errorf("refused requests changed the user: %v", after)
	}
}

// TestSort checks sortBy and sortOrder (RFC 7644 §3.4.2.3): by a string
// attribute case-insensitively where SCIM compares so, users without a value
// last, ties in creation order, and sortOrder in any case; GET and .search
// alike.
func TestSort(t *testing.T) {
	e := newEnv(t)
	create := func(body map[string]any) string {
		t.Helper()
		return e.do(t, rq{method: "POST", path: "/scim/v2/Users", body: body}).want(t, http.StatusCreated).json(t)["id"].(string)
	}
	carol := create(map[string]any{"userName": "Carol", "name": map[string]any{"familyName": "Able"}})
	alice := create(map[string]any{"userName": "alice", "name": map[string]any{"familyName": "Zeta"}})
	bob := create(map[string]any{"userName": "BOB"})
	ids := func(page map[string]any) []string {
		var out []string
		for _, r := range page["Resources"].([]any) {
			out = append(out, r.(map[string]any)["id"].(string))
		}
		return out
	}
	list := func(q string) []string {
		t.Helper()
		return ids(e.do(t, rq{method: "GET", path: "/scim/v2/Users?filter=" + url.QueryEscape(`userName sw "a" or userName sw "b" or userName sw "c"`) + "&" + q}).want(t, http.StatusOK).json(t))
	}
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"sortBy=userName", []string{alice, bob, carol}},
		{"sortBy=USERNAME&sortOrder=Descending", []string{carol, bob, alice}},
		{"sortBy=name.familyName", []string{carol, alice, bob}}, // bob has none: last
		{"sortBy=name.familyName&sortOrder=descending", []string{alice, carol, bob}},
		{"sortBy=meta.created&sortOrder=descending", []string{bob, alice, carol}},
		{"sortOrder=descending", []string{carol, alice, bob}}, // no sortBy: creation order
		{"sortBy=userName&startIndex=2&count=1", []string{bob}},
	} {
		if got := list(c.q); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.q, got, c.want)
		}
	}
	page := e.do(t, rq{method: "POST", path: "/scim/v2/Users/.search", body: map[string]any{
		"schemas": []any{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
		"filter":  `userName sw "a" or userName sw "b" or userName sw "c"`, "sortBy": "userName", "sortOrder": "descending"}}).want(t, http.StatusOK).json(t)
	if got := ids(page); !slices.Equal(got, []string{carol, bob, alice}) {
		t.Errorf(".search sorted: %v", got)
	}
}
