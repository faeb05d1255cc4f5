package httpapi_test

// Fuzz tests over hostile input: request bodies, query strings,
// headers and path ids, driving the real handler of a node built once per
// target. Their seeds run in every `go test`; `go test -fuzz FuzzWriteBodies
// ./internal/httpapi/` (one target at a time) explores further. Every answer
// must be documented (checkContract), a problem when it is an error, never a
// 5xx and never a panic: the database is up, so a 5xx is a bug.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"

	"github.com/roster-dev/roster/internal/directory"
)

// fuzzEnv is a node and the resources the fuzz requests are about.
type fuzzEnv struct {
	*env
	user     string // a user of the default tenant
	endpoint string // a webhook endpoint of the default tenant
	admin    string // the admin token of tenant "Sandbox": roles and policies
	sandbox  string // a tenant that fuzzed tenant updates may change
	// routes has the patterns of routes.go, to tell which route a request
	// reaches as the node's own ServeMux does.
	routes *http.ServeMux
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	e := newEnv(f)
	fe := &fuzzEnv{env: e, routes: http.NewServeMux()}
	for _, r := range servedRoutes(f) {
		fe.routes.Handle(r.String(), http.NotFoundHandler())
	}
	fe.user = e.createUser(f, map[string]any{"email": "fuzz@example.com", "username": "fuzz", "secure_metadata": map[string]any{"k": "v"}})["id"].(string)
	// The endpoint gets nothing: its URL is closed, and it only has events.
	fe.endpoint = e.must(f, 201, req{method: "POST", path: "/v1/webhook-endpoints", body: map[string]any{
		"url": "http://127.0.0.1:9/closed", "kind": "events", "events": []string{"user.deleted"},
	}}).json(f)["id"].(string)
	_, fe.admin = e.newTenant("Sandbox")
	fe.sandbox, _ = e.newTenant("Fuzzed")
	return fe
}

// serve sends r straight to the node's handler, with no network between,
// and checks the answer.
func (fe *fuzzEnv) serve(t *testing.T, r *http.Request, body []byte) *response {
	t.Helper()
	r.RemoteAddr = "192.0.2.1:1234"
	rec := httptest.NewRecorder()
	fe.srv.Config.Handler.ServeHTTP(rec, r)
	resp := rec.Result()
	got := rec.Body.Bytes()
	if resp.StatusCode >= 500 {
		t.Fatalf("%s %s → %d %s\nrequest headers %v\nbody %q", r.Method, r.URL, resp.StatusCode, got, r.Header, body)
	}
	if logs := fe.drainLogs(); bytes.Contains(logs, []byte(`"msg":"panic"`)) {
		t.Fatalf("%s %s panicked: %s", r.Method, r.URL, logs)
	}
	for _, msg := range fe.checkAnswer(r, body, resp, got) {
		t.Errorf("contract: %s %s → %d: %s", r.Method, r.URL, resp.StatusCode, msg)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: got}
}

// checkAnswer holds an answer to a fuzzed request against the contract.
// Unlike checkContract it never judges the request, which is off-contract on
// purpose: the server may be lenient (an empty ?cursor= is no cursor) as
// long as its answer is documented.
func (fe *fuzzEnv) checkAnswer(r *http.Request, body []byte, resp *http.Response, got []byte) []string {
	c, err := loadContract()
	if err != nil {
		return []string{err.Error()}
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.StatusCode != http.StatusNotModified {
		// The mux redirects to the clean form of a path with . or .. or //.
		if resp.Header.Get("Location") == "" {
			return []string{"a redirect without Location"}
		}
		return nil
	}
	if mt := errorMediaType(r.URL.Path); resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != mt {
		return []string{"an error that is not " + mt}
	}
	_, pattern := fe.routes.Handler(r)
	if pattern == "" || c.operation(r) == nil {
		if pattern != "" && resp.StatusCode < 400 {
			// A route served it, but the validator matches decoded paths
			// and cannot place an id holding an escaped slash.
			return nil
		}
		return c.checkUnrouted(r.Method, r.URL.Path, resp, got)
	}
	if ok, errs := c.exchange.ValidateHttpResponse(cloneRequest(r, body), cloneResponse(resp, got, r)); !ok {
		return describe("response", errs)
	}
	return nil
}

// drainLogs returns the log written since the last call and forgets it, so
// a long fuzzing session holds no growing log.
func (fe *fuzzEnv) drainLogs() []byte {
	fe.logs.mu.Lock()
	defer fe.logs.mu.Unlock()
	b := bytes.Clone(fe.logs.buf.Bytes())
	fe.logs.buf.Reset()
	return b
}

// newFuzzRequest builds a request for path and a raw query, with the token
// ("-": none) and a body of the given type.
func newFuzzRequest(method, path, rawQuery, token, ctype string, body []byte) *http.Request {
	r := httptest.NewRequest(method, "http://roster.test/", bytes.NewReader(body))
	r.URL = &url.URL{Path: path, RawQuery: rawQuery}
	r.RequestURI = r.URL.RequestURI()
	if token != "-" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	return r
}

// writeTarget is a route that reads a body, and who may call it.
type writeTarget struct {
	method, path string
	token        func(fe *fuzzEnv) string
}

var writeTargets = []writeTarget{
	{"POST", "/v1/users", nil},
	{"PATCH", "/v1/users/{user}", nil},
	{"PUT", "/v1/users/{user}", nil},
	{"POST", "/v1/users/{user}/suspensions", nil},
	{"PUT", "/v1/roles", func(fe *fuzzEnv) string { return fe.admin }},
	{"PUT", "/v1/policies", func(fe *fuzzEnv) string { return fe.admin }},
	{"POST", "/v1/webhook-endpoints", func(fe *fuzzEnv) string { return fe.admin }},
	{"POST", "/v1/tenants", func(fe *fuzzEnv) string { return fe.platform }},
	{"PATCH", "/v1/tenants/{sandbox}", func(fe *fuzzEnv) string { return fe.platform }},
}

func (fe *fuzzEnv) fill(path string) string {
	return strings.NewReplacer("{user}", fe.user, "{sandbox}", fe.sandbox, "{endpoint}", fe.endpoint).Replace(path)
}

func FuzzWriteBodies(f *testing.F) {
	fe := newFuzzEnv(f)
	const (
		js    = "application/json"
		merge = "application/merge-patch+json"
		jp    = "application/json-patch+json"
	)
	seeds := []struct {
		target uint8
		ctype  string
		body   string
	}{
		{0, js, `{"username":"seed0","email":"Seed0@Example.COM","country":"fr","locale":"fr-fr","roles":["member"],"metadata":{"a":1}}`},
		{0, js, `{"email":"a@b","username":"\u0130\u0307x","birthdate":"1899-12-31","location":{"longitude":181,"latitude":-91}}`},
		{0, js, `{"username":"seed1","picture":"data:image/png;base64,iVBORw0KGgo=","website":"javascript:alert(1)"}`},
		{0, js, `{"username":"seed2","secure_metadata":{"a":{"b":[1,2,{"c":null}]}},"consented_at":"2999-01-01T00:00:00Z","consent_method":"opt-in"}`},
		{0, js, `{"username":"seed3","metadata":{"` + strings.Repeat("k", 65) + `":1},"zoneinfo":"Mars/Olympus","bio":"` + strings.Repeat("é", 1025) + `"}`},
		{0, js, `{"email":"x@example.com","email":"y@example.com"}`},
		{0, js, "{\"name\":\"\xff\xfe\",\"username\":\"seed4\"}"},
		{0, js, "\xef\xbb\xbf{\"username\":\"bom\"}"},
		{0, js, `{"username":"big","metadata":{"n":1e308,"m":-0,"o":123456789012345678901234567890,"p":1e-400}}`},
		{0, js, `{"username":"nul\u0000l","name":"\ud800"}`},
		{0, js, strings.Repeat("[", 65) + strings.Repeat("]", 65)},
		{0, "text/plain", `{"username":"typed"}`},
		{0, "application/json; charset=latin1", `{"username":"latin"}`},
		{0, js, ``},
		{0, js, `null`},
		{1, js, `{"name":"Fuzz","metadata":{},"roles":[],"location":null,"version":1}`},
		{1, js, `{"id":"usr_01ARZ3NDEKTSV4RRFFQ69G5FAV","tenant_id":"ten_x","is_owner":true,"status":"deleted"}`},
		{1, merge, `{"metadata":{"a":{"b":null}},"secure_metadata":{"k":null},"location":{"type":"Point","coordinates":[1,2,3]}}`},
		{1, merge, `[]`},
		{1, jp, `[{"op":"add","path":"/metadata/x","value":{"y":[1]}},{"op":"test","path":"/metadata/x/y/0","value":1}]`},
		{1, jp, `[{"op":"copy","from":"/secure_metadata/k","path":"/metadata/leak"}]`},
		{1, jp, `[{"op":"move","from":"/email","path":"/username"},{"op":"remove","path":"/roles/-"}]`},
		{1, jp, `[{"op":"replace","path":"/roles/99999999999999999999","value":"x"}]`},
		{1, jp, `[{"op":"add","path":"/metadata/~2","value":1},{"op":"add","path":"","value":{}}]`},
		{1, jp, `[{"op":"frobnicate","path":"/x"}]`},
		{1, jp, `{}`},
		{1, "application/merge-patch+json; charset=UTF-8", `{"bio":"ok"}`},
		{1, "application/x-www-form-urlencoded", `name=x`},
		{1, "multipart/form-data; boundary=", `--`},
		{1, "application/json; =", `{}`},
		{2, js, `{"username":"fuzz","email":"fuzz@example.com","secure_metadata":null}`},
		{2, js, `{}`},
		{3, js, `{"reason":"spam","ends_at":"2000-01-01T00:00:00Z"}`},
		{3, js, `{"reason":"` + strings.Repeat("r", 5000) + `","ends_at":"9999-12-31T23:59:59.999999999+14:00"}`},
		{4, js, `{"roles":["member","admin","viewer","a b","` + strings.Repeat("r", 200) + `"]}`},
		{4, js, `{"roles":[]}`},
		{5, js, `{"policies":"permit(principal, action, resource);"}`},
		{5, js, `{"policies":"forbid(principal, action, resource) when { resource.secure_metadata.k == \"v\" };"}`},
		{5, js, `{"policies":"permit(principal == Key::\"` + strings.Repeat("\\\\", 50) + `\", action, resource) when { ((((((((((((((((1)))))))))))))))) == 1 };"}`},
		{6, js, `{"url":"http://127.0.0.1:9/x","kind":"validation","timeout_ms":100}`},
		{6, js, `{"url":"http://[::1]:9/x","kind":"events","events":["user.created","user.created"]}`},
		{6, js, `{"url":"http://user:pass@127.0.0.1/","kind":"events"}`},
		{6, js, `{"url":"http://127.0.0.1:99999/","kind":"events","timeout_ms":-1}`},
		{7, js, `{"name":"T","owner_email":"o@t.test","plan":{"rate_limit_rps":1e308},"settings":{"metadata_max_keys":0}}`},
		{7, js, `{"name":"T","plan":null,"settings":{"unknown":1}}`},
		{8, merge, `{"plan":{"rate_limit_rps":null},"settings":{"require_if_match":"yes"}}`},
		{8, js, `{"name":null}`},
		{8, merge, `{"plan":{"max_active_users":-9223372036854775808}}`},
	}
	for _, s := range seeds {
		f.Add(s.target, s.ctype, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, target uint8, ctype string, body []byte) {
		w := writeTargets[int(target)%len(writeTargets)]
		if !httpguts.ValidHeaderFieldValue(ctype) {
			t.Skip("not a header value a server would pass on")
		}
		token := fe.token
		if w.token != nil {
			token = w.token(fe)
		}
		r := fe.serve(t, newFuzzRequest(w.method, fe.fill(w.path), "", token, ctype, body), body)
		if w.path == "/v1/webhook-endpoints" && r.status == 201 {
			// Keep writes free of validation hooks that cannot be reached.
			var ep struct{ ID string }
			_ = json.Unmarshal(r.body, &ep)
			if d := fe.serve(t, newFuzzRequest("DELETE", "/v1/webhook-endpoints/"+ep.ID, "", fe.admin, "", nil), nil); d.status != 204 {
				t.Fatalf("delete the fuzzed endpoint: %d %s", d.status, d.body)
			}
		}
	})
}

// queryTargets are the routes whose answers depend on query parameters.
var queryTargets = []writeTarget{
	{"GET", "/v1/users", nil},
	{"GET", "/v1/users/{user}/history", nil},
	{"GET", "/v1/webhook-endpoints/{endpoint}/deliveries", nil},
	{"GET", "/v1/tenants", func(fe *fuzzEnv) string { return fe.platform }},
	{"PATCH", "/v1/users/{user}", nil}, // dry_run, with a body that changes nothing
	{"GET", "/v1/users/{user}", nil},
}

func FuzzQueryStrings(f *testing.F) {
	fe := newFuzzEnv(f)
	for target, queries := range map[uint8][]string{
		0: {"", "limit=1", "limit=0", "limit=101", "limit=-1", "limit=1e2", "limit=99999999999999999999", "limit=1&limit=2",
			"cursor=", "cursor=%%%", "cursor=dXNyXw", "cursor=" + strings.Repeat("A", 10000), "email=FUZZ@EXAMPLE.COM", "email=%00",
			"username=fuzz&status=deleting", "status=nope", "status=", "email=a&email=b", "a=1;b=2", "%zz=1", "&&&==", "limit=%31"},
		1: {"limit=100", "cursor=YXVkXzAxQVJaM05ERUtUU1Y0UlJGRlE2OUc1RkFW", "cursor=dXNyXzAxQVJaM05ERUtUU1Y0UlJGRlE2OUc1RkFW"},
		2: {"limit=5", "cursor=ZGx2X3g"},
		3: {"limit=2", "cursor=dGVuXzAxQVJaM05ERUtUU1Y0UlJGRlE2OUc1RkFW"},
		4: {"dry_run=true", "dry_run=1", "dry_run=TRUE", "dry_run=true&dry_run=false", "dry_run"},
		5: {"fields=id", "expand=tenant"},
	} {
		for _, q := range queries {
			f.Add(target, q)
		}
	}
	f.Fuzz(func(t *testing.T, target uint8, rawQuery string) {
		q := queryTargets[int(target)%len(queryTargets)]
		token := fe.token
		if q.token != nil {
			token = q.token(fe)
		}
		var body []byte
		ctype := ""
		if q.method == "PATCH" {
			body, ctype = []byte(`{}`), "application/json"
		}
		fe.serve(t, newFuzzRequest(q.method, fe.fill(q.path), rawQuery, token, ctype, body), body)
	})
}

func FuzzHeaders(f *testing.F) {
	fe := newFuzzEnv(f)
	for _, s := range []struct {
		target      uint8
		name, value string
	}{
		{0, "If-None-Match", `"1"`}, {0, "If-None-Match", `W/"1", *`}, {0, "If-None-Match", `""""`},
		{1, "If-Match", `"1"`}, {1, "If-Match", "*"}, {1, "If-Match", `"99999999999999999999999"`}, {1, "If-Match", `W/"1"`}, {1, "If-Match", `",`},
		{1, "X-Acting-User", "usr_01ARZ3NDEKTSV4RRFFQ69G5FAV"}, {1, "X-Acting-User", "usr_"}, {1, "X-Acting-User", "' OR 1=1 --"},
		{2, "X-Tenant-ID", "ten_01ARZ3NDEKTSV4RRFFQ69G5FAV"}, {2, "X-Tenant-ID", ""},
		{2, "Authorization", "Bearer"}, {2, "Authorization", "Bearer rst_"}, {2, "Authorization", "bearer " + fe.token},
		{2, "Authorization", "Bearer " + fe.token + " " + fe.token}, {2, "Authorization", "Basic Zm9vOmJhcg=="},
		{2, "Authorization", "Bearer " + fe.platform}, {2, "Authorization", "Bearer\t" + fe.token},
		{3, "Content-Type", "application/json; charset=utf-16"}, {3, "Content-Type", "application/json;;"},
		{3, "Content-Encoding", "identity"}, {3, "Content-Encoding", "IDENTITY"}, {3, "Content-Encoding", "gzip"},
		{1, "Content-Type", "application/json-patch+json"}, {1, "Accept", "application/xml"},
		{0, "X-Forwarded-For", "1.2.3.4"}, {0, "Host", "evil.example"}, {0, "Range", "bytes=0-1"},
	} {
		f.Add(s.target, s.name, s.value)
	}
	targets := []writeTarget{
		{"GET", "/v1/users/{user}", nil},
		{"PATCH", "/v1/users/{user}", nil},
		{"GET", "/v1/users", nil},
		{"POST", "/v1/users", nil},
	}
	f.Fuzz(func(t *testing.T, target uint8, name, value string) {
		if !httpguts.ValidHeaderFieldName(name) || !httpguts.ValidHeaderFieldValue(value) {
			t.Skip("not a header a server would pass on")
		}
		tg := targets[int(target)%len(targets)]
		var body []byte
		ctype := ""
		switch tg.method {
		case "PATCH":
			body, ctype = []byte(`{"bio":"same"}`), "application/json"
		case "POST":
			body, ctype = []byte(`{}`), "application/json" // 422: no email nor username
		}
		r := newFuzzRequest(tg.method, fe.fill(tg.path), "", fe.token, ctype, body)
		if strings.EqualFold(name, "Host") {
			r.Host = value
		} else {
			r.Header.Set(name, value)
		}
		fe.serve(t, r, body)
	})
}

// FuzzPathIDs puts arbitrary ids into every route of routes.go that names
// one: an id that is not a resource of the caller's tenant is 404 (§1),
// whatever it holds.
func FuzzPathIDs(f *testing.F) {
	fe := newFuzzEnv(f)
	routes := servedRoutes(f)
	for _, id := range []string{
		"usr_01ARZ3NDEKTSV4RRFFQ69G5FAV", "ten_01ARZ3NDEKTSV4RRFFQ69G5FAV", "whe_01ARZ3NDEKTSV4RRFFQ69G5FAV", "sus_01ARZ3NDEKTSV4RRFFQ69G5FAV",
		"usr_01arz3ndektsv4rrffq69g5fav", "usr_" + strings.Repeat("Z", 26), "usr_8ZZZZZZZZZZZZZZZZZZZZZZZZZ", "usr_",
		"", ".", "..", "%2e%2e", "a/b", "a%2Fb", "usr_01ARZ3NDEKTSV4RRFFQ69G5FAV/../x", "' OR '1'='1", "1; DROP TABLE users",
		"\x00", "é", "\u202e", strings.Repeat("x", 5000), "*", "{id}", "usr_01ARZ3NDEKTSV4RRFFQ69G5FAV\n",
	} {
		f.Add(id)
	}
	bodies := map[string]string{
		"PATCH": `{"bio":"x"}`, "PUT": `{"username":"somebody"}`, "POST": `{"reason":"x"}`,
	}
	f.Fuzz(func(t *testing.T, id string) {
		for _, rt := range routes {
			if !strings.Contains(rt.path, "{") {
				continue
			}
			segment := url.PathEscape(id)
			raw := strings.NewReplacer("{id}", segment, "{sid}", segment).Replace(rt.path)
			path, err := url.PathUnescape(raw)
			if err != nil {
				t.Fatal(err)
			}
			token := fe.token
			if rt.access == "platform" {
				token = fe.platform
			}
			body := []byte(bodies[rt.method])
			ctype := ""
			if len(body) > 0 {
				ctype = "application/json"
			}
			r := newFuzzRequest(rt.method, path, "", token, ctype, body)
			r.URL.RawPath = raw
			r.RequestURI = r.URL.RequestURI()
			got := fe.serve(t, r, body)
			valid := false
			for _, p := range []string{directory.PrefixUser, directory.PrefixTenant, directory.PrefixEndpoint, directory.PrefixSuspension} {
				valid = valid || directory.ValidID(p, id)
			}
			switch {
			case rt.method == "OPTIONS":
			case valid && got.status != 404:
				t.Errorf("%s with id %q: %d, want 404: %s", rt, id, got.status, got.body)
			case got.status < 300:
				t.Errorf("%s with id %q: %d: %s", rt, id, got.status, got.body)
			}
		}
	})
}
