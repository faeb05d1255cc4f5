package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestCreateAndGetUser(t *testing.T) {
	e := newEnv(t)
	r := e.must(t, http.StatusCreated, req{method: "POST", path: "/v1/users", body: map[string]any{
		"email": "Alice@Example.COM", "username": "Alice", "name": "  Alice Smith ",
		"given_name": "Alice", "family_name": "Smith", "bio": "hello",
		"birthdate": "1990-01-01T00:00:00.000Z", "location": map[string]any{"longitude": 34.05, "latitude": -18.25},
		"company": "Acme", "website": "https://alice.example", "country": "fr", "locale": "fr-fr",
		"zoneinfo": "Europe/Paris", "roles": []string{"admin", "member"}, "metadata": map[string]any{"theme": "dark"},
		"secure_metadata": map[string]any{"ssn": "secret-value-42"},
		"consented_at":    "2024-01-02T03:04:05Z", "consent_method": "opt-in",
	}})
	u := r.json(t)
	id := u["id"].(string)
	if got, want := r.header.Get("Location"), "/v1/users/"+id; got != want {
		t.Errorf("Location %q, want %q", got, want)
	}
	if got := r.header.Get("ETag"); got != `"1"` {
		t.Errorf("ETag %q, want \"1\"", got)
	}
	want := map[string]any{
		"object": "user", "tenant_id": e.tenant, "email": "Alice@example.com", "email_verified": false,
		"username": "alice", "name": "Alice Smith", "birthdate": "1990-01-01", "country": "FR", "locale": "fr-FR",
		"status": "active", "purge_after": nil, "deactivated": false, "is_owner": false, "auth_provider": "local",
		"consented_at": "2024-01-02T03:04:05.000Z", "consent_method": "opt-in", "version": json.Number("1"),
	}
	for k, v := range want {
		if u[k] != v {
			t.Errorf("%s = %#v, want %#v", k, u[k], v)
		}
	}
	if loc := fmt.Sprint(u["location"]); loc != "map[coordinates:[34.05 -18.25] type:Point]" {
		t.Errorf("location %s", loc)
	}
	if _, ok := u["secure_metadata"]; ok || strings.Contains(string(r.body), "secret-value-42") {
		t.Errorf("secure_metadata leaked in %s", r.body)
	}
	got := e.must(t, http.StatusOK, req{method: "GET", path: "/v1/users/" + id})
	if string(got.body) != string(r.body) {
		t.Errorf("GET body differs from POST body:\n%s\n%s", got.body, r.body)
	}
	e.must(t, http.StatusNotModified, req{method: "GET", path: "/v1/users/" + id, headers: []string{"If-None-Match", `"1"`}})
	e.must(t, http.StatusOK, req{method: "GET", path: "/v1/users/" + id, headers: []string{"If-None-Match", `"7"`}})
}

func TestCreateUserDefaults(t *testing.T) {
	e := newEnv(t)
	u := e.createUser(t, map[string]any{"username": "bob"})
	if !equalJSON(u["roles"], `["member"]`) {
		t.Errorf("roles %v, want [member]", u["roles"])
	}
	for _, k := range []string{"email", "name", "picture", "location", "consented_at"} {
		if v, ok := u[k]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, ok)
		}
	}
}

func TestCreateUserReportsEveryFailingField(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, req{method: "POST", path: "/v1/users", body: map[string]any{
		"email": "not-an-email", "username": "a", "country": "ZZ", "birthdate": "2999-01-01",
		"website": "ftp://x", "locale": "!!", "zoneinfo": "Mars/Olympus",
		"location": map[string]any{"longitude": 200, "latitude": 0},
		"metadata": map[string]any{"bad key": 1},
	}})
	p := problem(t, r, http.StatusUnprocessableEntity, "validation_failed")
	got := fieldCodes(p)
	for _, f := range []string{"email", "username", "country", "birthdate", "website", "locale", "zoneinfo", "location", "metadata"} {
		if got[f] == "" {
			t.Errorf("no error for %s; errors %v", f, got)
		}
	}
	if got := e.must(t, http.StatusOK, req{method: "GET", path: "/v1/users?email=not-an-email"}).json(t)["data"]; len(got.([]any)) != 0 {
		t.Errorf("filter by an impossible email listed %v", got)
	}
	if n := len(e.must(t, http.StatusOK, req{method: "GET", path: "/v1/users"}).json(t)["data"].([]any)); n != 1 {
		t.Errorf("%d users after a failed create, want only the owner", n)
	}
}

func TestCreateUserBadRequests(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name   string
		rq     req
		status int
		code   string
	}{
		{"malformed", req{method: "POST", path: "/v1/users", body: `{"email":`}, 400, "invalid_request"},
		{"duplicate member", req{method: "POST", path: "/v1/users", body: `{"email":"a@b.test","email":"c@d.test"}`}, 400, "invalid_request"},
		{"invalid utf-8", req{method: "POST", path: "/v1/users", body: "{\"name\":\"\xff\",\"username\":\"abc\"}"}, 400, "invalid_request"},
		{"not an object", req{method: "POST", path: "/v1/users", body: `["x"]`}, 400, "invalid_request"},
		{"empty", req{method: "POST", path: "/v1/users", body: ``}, 400, "invalid_request"},
		{"wrong type", req{method: "POST", path: "/v1/users", body: `{"username":"abc","email_verified":"yes"}`}, 400, "invalid_request"},
		{"unknown member", req{method: "POST", path: "/v1/users", body: `{"username":"abc","nickname":"x"}`}, 400, "unknown_field"},
		{"read-only member", req{method: "POST", path: "/v1/users", body: `{"username":"abc","version":3}`}, 400, "read_only_field"},
		{"neither email nor username", req{method: "POST", path: "/v1/users", body: `{"name":"X"}`}, 422, "validation_failed"},
		{"unknown role", req{method: "POST", path: "/v1/users", body: `{"username":"abc","roles":["wizard"]}`}, 422, "invalid_role"},
		{"wrong content type", req{method: "POST", path: "/v1/users", body: `{"username":"abc"}`, ctype: "text/plain"}, 415, "unsupported_media_type"},
		{"compressed", req{method: "POST", path: "/v1/users", body: `{"username":"abc"}`, headers: []string{"Content-Encoding", "gzip"}}, 415, "unsupported_media_type"},
		{"too large", req{method: "POST", path: "/v1/users", body: `{"username":"abc","bio":"` + strings.Repeat("x", 1<<20) + `"}`}, 413, "payload_too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			problem(t, e.do(t, c.rq), c.status, c.code)
		})
	}
	if n := len(e.must(t, http.StatusOK, req{method: "GET", path: "/v1/users"}).json(t)["data"].([]any)); n != 1 {
		t.Errorf("%d users after bad requests, want only the owner", n)
	}
}

func TestEmailAndUsernameUniqueness(t *testing.T) {
	e := newEnv(t)
	e.createUser(t, map[string]any{"email": "dup@example.com", "username": "dup"})
	p := problem(t, e.do(t, req{method: "POST", path: "/v1/users", body: map[string]any{"email": "DUP@Example.com"}}), 409, "email_taken")
	if fieldCodes(p)["email"] != "email_taken" {
		t.Errorf("errors %v do not name email", p["errors"])
	}
	p = problem(t, e.do(t, req{method: "POST", path: "/v1/users", body: map[string]any{"username": "DUP"}}), 409, "username_taken")
	if fieldCodes(p)["username"] != "username_taken" {
		t.Errorf("errors %v do not name username", p["errors"])
	}
	// Another tenant may use the same email.
	_, token := e.newTenant("Other")
	e.must(t, http.StatusCreated, req{method: "POST", path: "/v1/users", token: token, body: map[string]any{"email": "dup@example.com"}})
}

func TestListUsers(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for i := range 5 {
		u := e.createUser(t, map[string]any{"email": fmt.Sprintf("u%d@example.com", i), "username": fmt.Sprintf("user%d", i)})
		ids = append(ids, u["id"].(string))
	}
	// Newest first, two per page.
	var seen []string
	path := "/v1/users?limit=2"
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		l := e.must(t, http.StatusOK, req{method: "GET", path: path}).json(t)
		for _, u := range l["data"].([]any) {
			seen = append(seen, u.(map[string]any)["id"].(string))
		}
		path = ""
		if c, ok := l["next_cursor"].(string); ok {
			if l["has_more"] != true {
				t.Errorf("next_cursor without has_more")
			}
			path = "/v1/users?limit=2&cursor=" + c
		}
	}
	if len(seen) != 6 { // five users and the owner
		t.Fatalf("listed %d users, want 6", len(seen))
	}
	for i := range 5 {
		if seen[i] != ids[4-i] {
			t.Errorf("position %d: %s, want %s (newest first)", i, seen[i], ids[4-i])
		}
	}
	filter := func(q string) []any {
		return e.must(t, http.StatusOK, req{method: "GET", path: "/v1/users?" + q}).json(t)["data"].([]any)
	}
	if got := filter("email=U3@EXAMPLE.com"); len(got) != 1 || got[0].(map[string]any)["id"] != ids[3] {
		t.Errorf("email filter: %v", got)
	}
	if got := filter("username=User2"); len(got) != 1 || got[0].(map[string]any)["id"] != ids[2] {
		t.Errorf("username filter: %v", got)
	}
	if got := filter("status=deactivated"); len(got) != 0 {
		t.Errorf("status filter: %v", got)
	}
	if got := filter("status=active"); len(got) != 6 {
		t.Errorf("status=active: %d users", len(got))
	}
	problem(t, e.do(t, req{method: "GET", path: "/v1/users?limit=0"}), 400, "invalid_request")
	problem(t, e.do(t, req{method: "GET", path: "/v1/users?limit=101"}), 400, "invalid_request")
	problem(t, e.do(t, req{method: "GET", path: "/v1/users?cursor=zzz"}), 400, "invalid_request")
	problem(t, e.do(t, req{method: "GET", path: "/v1/users?status=gone"}), 400, "invalid_request")
}
