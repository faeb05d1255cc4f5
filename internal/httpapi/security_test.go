package httpapi_test

// Security tests: secrets never leak, keys are stored only as
// hashes, failed authentication is throttled, and every cross-tenant access
// is not found. docs/security.md maps them to the OWASP API Security Top 10.

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/httpapi"
)

// route is one line of routes.go: its pattern and the access wrapper that
// guards it (read, write, admin, platform, key — any key —, or none).
type route struct {
	method, path, access string
}

func (r route) String() string { return r.method + " " + r.path }

var routeAccessRE = regexp.MustCompile(`mux\.Handle(?:Func)?\("([A-Z]+) ([^"]+)",\s*([\w.]+)\(`)

// servedRoutes reads every route of routes.go, so that a route added there
// is walked by the tests below without anyone remembering to list it.
func servedRoutes(t testing.TB) []route {
	t.Helper()
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []route
	scim := 0
	for _, m := range routeAccessRE.FindAllStringSubmatch(string(src), -1) {
		// The SCIM routes answer in SCIM's error schema, not in problems,
		// which the tests walking these routes read: internal/scim's
		// routes_test.go walks them for scopes, tenancy, unknown
		// parameters and methods.
		if strings.HasPrefix(m[2], "/scim/") {
			scim++
			continue
		}
		access := m[3]
		switch access {
		case "read", "write", "admin", "platform":
		case "anyKey":
			access = "key"
		default:
			access = "none"
		}
		out = append(out, route{m[1], m[2], access})
	}
	// Cross-check with the contract test's plainer pattern: no route may be
	// missed because its line has another shape.
	if all := routeRE.FindAllStringSubmatch(string(src), -1); len(all) != len(out)+scim || len(out) == 0 {
		t.Fatalf("read %d routes with their access, but routes.go has %d: update routeAccessRE", len(out), len(all))
	}
	return out
}

// tenantScoped reports whether a route acts inside one tenant.
func (r route) tenantScoped() bool {
	return r.access == "read" || r.access == "write" || r.access == "admin"
}

// capture is an httptest receiver of webhook requests that keeps every
// request's headers and body, and answers with reply.
type capture struct {
	srv   *httptest.Server
	mu    sync.Mutex
	reqs  []capturedRequest
	reply string
}

type capturedRequest struct {
	header http.Header
	body   []byte
}

func newCapture(t *testing.T, reply string) *capture {
	c := &capture{reply: reply}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.reqs = append(c.reqs, capturedRequest{header: r.Header.Clone(), body: body})
		c.mu.Unlock()
		if c.reply == "" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, c.reply)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *capture) requests() []capturedRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.reqs)
}

// waitFor waits until the receiver holds at least n requests.
func (c *capture) waitFor(t *testing.T, n int) []capturedRequest {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := c.requests()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook receiver got %d requests, want %d", len(got), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// haystack is one place a secret must not reach.
type haystack struct {
	where string
	data  []byte
}

func headerBytes(h http.Header) []byte {
	var b bytes.Buffer
	_ = h.Write(&b)
	return b.Bytes()
}

// needlesOf returns the forms in which a secret could show up: as is, and
// its random part, raw or base64-encoded.
func needlesOf(secret string) []string {
	out := []string{secret}
	for _, prefix := range []string{"rst_", "whsec_"} {
		if rest, ok := strings.CutPrefix(secret, prefix); ok {
			out = append(out, rest)
		}
	}
	out = append(out, base64.StdEncoding.EncodeToString([]byte(secret)), base64.RawURLEncoding.EncodeToString([]byte(secret)))
	return out
}

// TestSecretsNeverLeak calls every route of routes.go with a user that has
// recognizable secure_metadata, and checks that neither those values nor any
// API token appears in any response body or header, log line, audit entry,
// webhook payload or webhook request header; a webhook secret appears only in
// the 201 that created its endpoint (§2, §7, §8).
func TestSecretsNeverLeak(t *testing.T) {
	e := newEnv(t)
	events := newCapture(t, "")
	validation := newCapture(t, `{"allow": true}`)
	_, otherToken := e.newTenant("Other")
	readKey, writeKey := e.keyWith("users:read"), e.keyWith("users:write")

	// Recognizable secure_metadata: key names and values.
	secureValues := []string{"SECVAL-create-5f2a", "SECVAL-json-8c1d", "SECVAL-merge-77e0", "SECVAL-jsonpatch-c3b9", "SECVAL-put-0a4e", "SECVAL-dryrun-9b2f"}
	const secureKey = "seckey_4d7e1a"
	secrets := map[string]string{secureKey: "a secure_metadata key"}
	for _, v := range secureValues {
		secrets[v] = "a secure_metadata value"
	}
	for name, tok := range map[string]string{"admin": e.token, "platform": e.platform, "read": readKey, "write": writeKey, "other tenant": otherToken} {
		for _, n := range needlesOf(tok) {
			secrets[n] = "the " + name + " token"
		}
	}

	var seen []haystack
	var creations []*response // the answers of endpoint creations and secret rotations, where the secret belongs
	do := func(rq req) *response {
		t.Helper()
		r := e.do(t, rq)
		where := fmt.Sprintf("%s %s → %d", rq.method, rq.path, r.status)
		seen = append(seen, haystack{where + " body", r.body}, haystack{where + " headers", headerBytes(r.header)})
		if r.status >= 500 {
			t.Errorf("%s: %s", where, r.body)
		}
		return r
	}
	must := func(status int, rq req) *response {
		t.Helper()
		r := do(rq)
		if r.status != status {
			t.Fatalf("%s %s: status %d, want %d; body %s", rq.method, rq.path, r.status, status, r.body)
		}
		return r
	}

	// Webhook endpoints: one of each kind, both on receivers that keep what
	// they get.
	var hookSecrets []string
	var eventsEndpoint string
	for _, c := range []struct {
		kind string
		rc   *capture
	}{{"events", events}, {"validation", validation}} {
		r := must(201, req{method: "POST", path: "/v1/webhook-endpoints", body: map[string]any{
			"url": c.rc.srv.URL + "/hook", "kind": c.kind, "events": directory.EventTypes,
		}})
		creations = append(creations, r)
		ep := r.json(t)
		hookSecrets = append(hookSecrets, ep["secret"].(string))
		if c.kind == "events" {
			eventsEndpoint = ep["id"].(string)
		}
	}
	// A rotation shows the new secret, once, as a creation does.
	rotation := must(200, req{method: "POST", path: "/v1/webhook-endpoints/" + eventsEndpoint + "/rotate-secret", body: map[string]any{"grace_seconds": 60}})
	creations = append(creations, rotation)
	hookSecrets = append(hookSecrets, rotation.json(t)["secret"].(string))
	must(200, req{method: "GET", path: "/v1/webhook-endpoints"})
	must(200, req{method: "GET", path: "/v1/webhook-endpoints/" + eventsEndpoint})

	// Users: every way of writing secure_metadata.
	secure := func(v string) map[string]any { return map[string]any{secureKey: v, "nested": map[string]any{"v": v}} }
	must(200, req{method: "POST", path: "/v1/users?dry_run=true", body: map[string]any{"username": "dry", "secure_metadata": secure(secureValues[5])}})
	u := must(201, req{method: "POST", path: "/v1/users", body: map[string]any{
		"email": "leak@example.com", "username": "leaky", "picture": pngDataURI(t), "secure_metadata": secure(secureValues[0]),
	}}).json(t)
	id := u["id"].(string)
	users := "/v1/users/" + id
	must(200, req{method: "GET", path: "/v1/users"})
	must(200, req{method: "GET", path: "/v1/users?email=leak@example.com&limit=1"})
	must(200, req{method: "GET", path: users, token: readKey})
	must(200, req{method: "HEAD", path: users})
	must(204, req{method: "OPTIONS", path: users, token: "-"})
	must(204, req{method: "PATCH", path: users, token: writeKey, body: map[string]any{"name": "Leaky Lee", "secure_metadata": secure(secureValues[1])}})
	must(200, req{method: "PATCH", path: users, ctype: "application/merge-patch+json", body: map[string]any{"metadata": map[string]any{"a": "b"}, "secure_metadata": nil}})
	must(200, req{method: "PATCH", path: users, ctype: "application/json-patch+json", body: []map[string]any{
		{"op": "add", "path": "/secure_metadata", "value": map[string]any{secureKey: secureValues[3]}},
		{"op": "replace", "path": "/bio", "value": "patched"},
	}})
	must(200, req{method: "PATCH", path: users + "?dry_run=true", body: map[string]any{"secure_metadata": secure(secureValues[5])}})
	// Refused writes must not echo what they refused either.
	do(req{method: "PATCH", path: users, ctype: "application/merge-patch+json", body: map[string]any{"secure_metadata": map[string]any{secureKey: secureValues[2]}}})
	do(req{method: "PATCH", path: users, ctype: "application/json-patch+json", body: []map[string]any{
		{"op": "add", "path": "/secure_metadata/" + secureKey, "value": secureValues[2]},
	}})
	do(req{method: "PATCH", path: users, ctype: "application/json-patch+json", body: []map[string]any{
		{"op": "test", "path": "/secure_metadata/" + secureKey, "value": secureValues[3]},
	}})
	do(req{method: "PATCH", path: users, body: map[string]any{"secure_metadata": map[string]any{"bad key!": secureValues[3], secureKey: strings.Repeat(secureValues[3], 800)}}})
	do(req{method: "PATCH", path: users, body: map[string]any{"secure_metadata": secureValues[3]}})
	cur := must(200, req{method: "GET", path: users})
	must(200, req{method: "PUT", path: users, body: cur.body})
	put := cur.json(t)
	put["secure_metadata"] = secure(secureValues[4])
	must(200, req{method: "PUT", path: users, body: put})
	must(200, req{method: "GET", path: users + "/picture"})

	// Lifecycle and suspensions.
	sus := must(201, req{method: "POST", path: users + "/suspensions", body: map[string]any{"reason": "checking"}}).json(t)
	must(200, req{method: "DELETE", path: users + "/suspensions/" + sus["id"].(string)})
	must(200, req{method: "POST", path: users + "/deactivate"})
	must(200, req{method: "POST", path: users + "/reactivate"})
	must(202, req{method: "DELETE", path: users})
	must(200, req{method: "POST", path: users + "/restore"})

	// The tenant's administration.
	roles := must(200, req{method: "GET", path: "/v1/roles"}).json(t)
	must(200, req{method: "PUT", path: "/v1/roles", body: map[string]any{"roles": roles["roles"]}})
	must(200, req{method: "GET", path: "/v1/policies"})
	must(200, req{method: "PUT", path: "/v1/policies", body: map[string]any{"policies": ""}})
	must(200, req{method: "GET", path: "/v1/usage"})

	// Tenants, with the platform key; and the platform key inside a tenant.
	ten := must(201, req{method: "POST", path: "/v1/tenants", token: e.platform, body: map[string]any{"name": "Initech", "owner_email": "boss@initech.test"}}).json(t)
	must(200, req{method: "GET", path: "/v1/tenants", token: e.platform})
	must(200, req{method: "GET", path: "/v1/tenants/" + ten["id"].(string), token: e.platform})
	must(200, req{method: "PATCH", path: "/v1/tenants/" + ten["id"].(string), token: e.platform, body: map[string]any{"name": "Initrode"}})
	must(200, req{method: "GET", path: users, token: e.platform, headers: []string{"X-Tenant-ID", e.tenant}})
	must(404, req{method: "GET", path: users, token: otherToken})
	must(403, req{method: "GET", path: "/v1/users", token: otherToken, headers: []string{"X-Tenant-ID", e.tenant}})

	// Keys, the tenant's and the platform's, and their audit trails: a new
	// token shows only in the 201 that made it, no existing one anywhere.
	for _, k := range []struct {
		base, audit, token string
		scopes             []string
	}{{"/v1/keys", "/v1/audit", "", []string{"read_only"}}, {"/v1/platform-keys", "/v1/platform-audit", e.platform, nil}} {
		made := must(201, req{method: "POST", path: k.base, token: k.token, body: map[string]any{"name": "ci", "scopes": k.scopes}}).json(t)
		must(200, req{method: "GET", path: k.base, token: k.token})
		must(200, req{method: "GET", path: k.base + "/" + made["id"].(string), token: k.token})
		rotated := must(201, req{method: "POST", path: k.base + "/" + made["id"].(string) + "/rotate", token: k.token, body: map[string]any{"grace_seconds": 0}}).json(t)
		must(200, req{method: "DELETE", path: k.base + "/" + rotated["id"].(string), token: k.token})
		must(200, req{method: "GET", path: k.audit, token: k.token})
	}

	// The request's own key and tenant, which no secret is part of.
	for _, token := range []string{"", e.platform} {
		must(200, req{method: "GET", path: "/v1/keys/self", token: token})
	}
	must(200, req{method: "GET", path: "/v1/tenant"})

	// Failed authentication must not echo the token it refused.
	for _, h := range []string{"Basic " + e.token, "Bearer " + e.token + "x", "Bearer  " + e.token[:len(e.token)-1], e.token} {
		do(req{method: "GET", path: "/v1/users", token: "-", headers: []string{"Authorization", h}})
	}

	// Operations.
	must(200, req{method: "GET", path: "/healthz", token: "-"})
	must(200, req{method: "GET", path: "/readyz", token: "-"})
	must(200, req{method: "GET", path: "/openapi.yaml"})
	must(200, req{method: "GET", path: "/metrics", token: "-"})

	// Every effective change is one audit entry and one event: wait for
	// them all, then read the deliveries.
	history := must(200, req{method: "GET", path: users + "/history?limit=100"}).json(t)["data"].([]any)
	events.waitFor(t, len(history))
	validation.waitFor(t, 1)
	waitDelivered(t, e, eventsEndpoint, len(history))
	must(200, req{method: "GET", path: "/v1/events?limit=100"})
	must(200, req{method: "GET", path: "/v1/webhook-endpoints/" + eventsEndpoint + "/deliveries?limit=100"})
	must(204, req{method: "DELETE", path: "/v1/webhook-endpoints/" + eventsEndpoint})
	for _, h := range history {
		if c := h.(map[string]any)["changes"].(map[string]any)["secure_metadata"]; c != nil && !equalJSON(c, `{"from":"[redacted]","to":"[redacted]"}`) {
			t.Errorf("audit change of secure_metadata %v, want both sides [redacted]", c)
		}
	}

	// Every route was called: the metrics count requests by route.
	metrics := must(200, req{method: "GET", path: "/metrics", token: "-"}).body
	for _, r := range servedRoutes(t) {
		if !bytes.Contains(metrics, []byte(`route="`+r.String()+`"`)) {
			t.Errorf("this test never called %s: add a call", r)
		}
	}

	for i, rq := range events.requests() {
		seen = append(seen, haystack{fmt.Sprintf("event request %d body", i), rq.body}, haystack{fmt.Sprintf("event request %d headers", i), headerBytes(rq.header)})
	}
	for i, rq := range validation.requests() {
		seen = append(seen, haystack{fmt.Sprintf("validation request %d body", i), rq.body}, haystack{fmt.Sprintf("validation request %d headers", i), headerBytes(rq.header)})
	}
	sc := bufio.NewScanner(strings.NewReader(e.logs.String()))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		seen = append(seen, haystack{fmt.Sprintf("log line %d", n), slices.Clone(sc.Bytes())})
	}

	// The scan sees what it should: the public email is in responses,
	// events and validation calls alike, the tenant in the log.
	for _, kind := range []string{" body", "event request", "validation request", "log line"} {
		found := false
		for _, h := range seen {
			if strings.Contains(h.where, kind) && (bytes.Contains(h.data, []byte("leak@example.com")) || kind == "log line" && bytes.Contains(h.data, []byte(e.tenant))) {
				found = true
			}
		}
		if !found {
			t.Errorf("no %q haystack shows the user: the scan is blind", kind)
		}
	}
	for _, h := range seen {
		for needle, what := range secrets {
			if bytes.Contains(h.data, []byte(needle)) {
				t.Errorf("%s leaks into %s", what, h.where)
			}
		}
	}
	// A webhook secret appears in its endpoint's 201, and nowhere else.
	for i, s := range hookSecrets {
		if !bytes.Contains(creations[i].body, []byte(s)) {
			t.Errorf("the 201 of endpoint %d does not show its secret", i)
		}
		for _, h := range seen {
			if slices.ContainsFunc(creations, func(c *response) bool { return bytes.Equal(c.body, h.data) }) {
				continue
			}
			for _, n := range needlesOf(s) {
				if bytes.Contains(h.data, []byte(n)) {
					t.Errorf("webhook secret %d leaks into %s", i, h.where)
				}
			}
		}
	}
}

// waitDelivered waits until an endpoint's n deliveries have all succeeded.
func waitDelivered(t *testing.T, e *env, endpoint string, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ds := e.must(t, 200, req{method: "GET", path: "/v1/webhook-endpoints/" + endpoint + "/deliveries?limit=100"}).json(t)["data"].([]any)
		done := 0
		for _, d := range ds {
			if d.(map[string]any)["status"] == "delivered" {
				done++
			}
		}
		if done >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d deliveries delivered", done, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTokensStoredOnlyAsHashes reads every cell of every table, past the
// store, and finds each token's SHA-256 but never the token, in any form.
func TestTokensStoredOnlyAsHashes(t *testing.T) {
	e := newEnv(t)
	_, other := e.newTenant("Other")
	tokens := map[string]string{"admin": e.token, "platform": e.platform, "other tenant": other, "read": e.keyWith("read_only")}
	// Keys work, so the dump below is of a database that holds them.
	e.must(t, 200, req{method: "GET", path: "/v1/users", token: tokens["read"]})

	dump := e.dumpDatabase(t)
	var all []byte
	for _, cells := range dump {
		all = append(all, cells...)
	}
	for name, tok := range tokens {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, "rst_"))
		if err != nil || len(raw) != 32 || !strings.HasPrefix(tok, "rst_") {
			t.Fatalf("%s token %q is not rst_ and 256 random bits", name, tok)
		}
		forms := map[string][]byte{
			"token": []byte(tok), "its base64 part": []byte(tok[4:]), "its random bytes": raw,
			"their hex": []byte(hex.EncodeToString(raw)), "their std base64": []byte(base64.StdEncoding.EncodeToString(raw)),
		}
		for form, needle := range forms {
			for table, cells := range dump {
				if bytes.Contains(cells, needle) {
					t.Errorf("the %s key's %s is stored in table %s", name, form, table)
				}
			}
		}
		// What is stored is the hash: raw bytes in SQLite, bytea hex in PostgreSQL.
		hash := directory.HashToken(tok)
		if !bytes.Contains(all, hash) && !bytes.Contains(all, []byte(hex.EncodeToString(hash))) {
			t.Errorf("the %s key's SHA-256 is not in the database: is the dump reading the keys?", name)
		}
	}
}

// TestFailedAuthenticationIsThrottled: guessing tokens from one client is
// metered per IP (§8), so a guesser soon gets 429 with Retry-After, while
// a client with a valid key, metered per tenant, is not locked out.
func TestFailedAuthenticationIsThrottled(t *testing.T) {
	// A burst of 5 that refills once in 100 s: a slow run sees no refill.
	e := newEnvWith(t, envOptions{anonymous: directory.Plan{RateLimitRPS: 0.01, RateLimitBurst: 5}})
	limited := 0
	for i := range 20 {
		guess, _ := directory.NewToken()
		r := e.do(t, req{method: "GET", path: "/v1/users/" + fmt.Sprint(i), token: guess})
		switch r.status {
		case http.StatusUnauthorized:
			if limited > 0 {
				t.Errorf("guess %d answered 401 after a 429: the limit let it through", i)
			}
		case http.StatusTooManyRequests:
			limited++
			problem(t, r, 429, "rate_limited")
			if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
				t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
			}
		default:
			t.Fatalf("guess %d: status %d %s", i, r.status, r.body)
		}
	}
	if limited < 15 {
		t.Errorf("%d of 20 guesses were limited; with a burst of 5, want 15", limited)
	}
	e.must(t, 200, req{method: "GET", path: "/v1/users"})
}

// TestPerIPLimitBehindProxy: behind a trusted proxy (here the test's own
// loopback connection), clients named by X-Forwarded-For get a per-IP
// bucket each, X-Forwarded-For sent on several field lines read as one
// list; from a peer that is not trusted, X-Forwarded-For is ignored, so a
// client cannot get a fresh bucket by naming itself another address.
func TestPerIPLimitBehindProxy(t *testing.T) {
	// A burst of 2 that refills once in 100 s: a slow run sees no refill.
	anon := directory.Plan{RateLimitRPS: 0.01, RateLimitBurst: 2}
	anonymous := func(e *env, xff ...string) int {
		t.Helper()
		var h []string
		for _, v := range xff {
			h = append(h, "X-Forwarded-For", v)
		}
		r := e.do(t, req{method: "GET", path: "/v1/users", token: "-", headers: h})
		if r.status != http.StatusUnauthorized && r.status != http.StatusTooManyRequests {
			t.Fatalf("X-Forwarded-For %q: status %d %s", xff, r.status, r.body)
		}
		return r.status
	}
	const a, b = "203.0.113.1", "203.0.113.2"

	t.Run("trusted", func(t *testing.T) {
		proxies, err := httpapi.ParseTrustedProxies("127.0.0.0/8, ::1, 10.0.0.0/8")
		if err != nil {
			t.Fatal(err)
		}
		e := newEnvWith(t, envOptions{anonymous: anon, trustedProxies: proxies})
		for i := range 2 {
			if got := anonymous(e, "198.51.100.7, "+a); got != http.StatusUnauthorized {
				t.Fatalf("request %d of client A: %d, want 401 within its burst", i, got)
			}
		}
		if got := anonymous(e, a); got != http.StatusTooManyRequests {
			t.Errorf("client A over its burst: %d, want 429", got)
		}
		if got := anonymous(e, "198.51.100.7, "+b+", 10.0.0.9"); got != http.StatusUnauthorized {
			t.Errorf("client B behind the same proxies: %d, want 401 from a bucket of its own", got)
		}
		// Two field lines are one list: its rightmost entry, A, is the
		// client; the first line alone would name a fresh address.
		if got := anonymous(e, "192.0.2.55", a); got != http.StatusTooManyRequests {
			t.Errorf("client A on two field lines: %d, want 429", got)
		}
	})

	t.Run("untrusted peer", func(t *testing.T) {
		proxies, err := httpapi.ParseTrustedProxies("10.0.0.0/8")
		if err != nil {
			t.Fatal(err)
		}
		e := newEnvWith(t, envOptions{anonymous: anon, trustedProxies: proxies})
		anonymous(e, a)
		anonymous(e, b)
		for _, xff := range []string{"192.0.2.1", "192.0.2.2, 10.0.0.1", ""} {
			if got := anonymous(e, xff); got != http.StatusTooManyRequests {
				t.Errorf("spoofed X-Forwarded-For %q: %d, want 429 from the peer's bucket", xff, got)
			}
		}
	})
}

// TestCrossTenantAccessIsNotFound walks every route of routes.go with
// another tenant's admin key (and with a platform key acting in that other
// tenant), filling each path id with a real id of this tenant: every route
// that names a resource answers 404 not_found, changes nothing, and no
// answer, lists included, shows anything of this tenant (§1).
func TestCrossTenantAccessIsNotFound(t *testing.T) {
	e := newEnv(t)
	rc := newCapture(t, "")
	// Tenant A: a user with a picture, history and a suspension, and a
	// webhook endpoint with deliveries.
	u := e.createUser(t, map[string]any{"email": "victim@a.test", "username": "victim", "picture": pngDataURI(t), "metadata": map[string]any{"a": "A-ONLY-7f3e"}})
	uid := u["id"].(string)
	ep := e.must(t, 201, req{method: "POST", path: "/v1/webhook-endpoints", body: map[string]any{"url": rc.srv.URL + "/a", "kind": "events"}}).json(t)
	eid := ep["id"].(string)
	sid := e.must(t, 201, req{method: "POST", path: "/v1/users/" + uid + "/suspensions", body: map[string]any{"reason": "A-ONLY-reason"}}).json(t)["id"].(string)
	rc.waitFor(t, 1) // the suspension's event: the endpoint has a delivery
	before := e.getUser(t, uid)
	aAudit := e.history(t, uid)[0].(map[string]any)["id"].(string)
	kid, pkid := e.keyID(t, e.tenant), e.keyID(t, "")

	otherID, other := e.newTenant("B")
	bUser := e.must(t, 201, req{method: "POST", path: "/v1/users", token: other, body: map[string]any{"username": "bob"}}).json(t)["id"].(string)
	aData := []string{uid, eid, sid, kid, e.tenant, "victim@a.test", "A-ONLY-7f3e", "A-ONLY-reason", rc.srv.URL}
	noneOfA := func(t *testing.T, what string, r *response) {
		t.Helper()
		for _, s := range aData {
			if bytes.Contains(r.body, []byte(s)) || bytes.Contains(headerBytes(r.header), []byte(s)) {
				t.Errorf("%s: the answer shows tenant A's %q: %s", what, s, r.body)
			}
		}
	}
	fill := func(r route) (string, bool) {
		p := r.path
		switch {
		case strings.HasPrefix(p, "/v1/users/{id}"):
			p = strings.Replace(strings.Replace(p, "{id}", uid, 1), "{sid}", sid, 1)
		case strings.HasPrefix(p, "/v1/webhook-endpoints/{id}"):
			p = strings.Replace(p, "{id}", eid, 1)
		case strings.HasPrefix(p, "/v1/keys/{id}"):
			p = strings.Replace(p, "{id}", kid, 1)
		case strings.HasPrefix(p, "/v1/platform-keys/{id}"):
			p = strings.Replace(p, "{id}", pkid, 1)
		case strings.HasPrefix(p, "/v1/tenants/{id}"):
			p = strings.Replace(p, "{id}", e.tenant, 1)
		}
		if strings.Contains(p, "{") {
			t.Fatalf("%s names an id this test does not know how to fill: teach it", r)
		}
		return p, p != r.path
	}
	bHooks := newCapture(t, "")
	bodies := func(caller int) map[string]any {
		n := fmt.Sprint(caller)
		return map[string]any{
			"POST /v1/users":                  map[string]any{"username": "mallory" + n},
			"PATCH /v1/users/{id}":            map[string]any{"name": "Mallory"},
			"PUT /v1/users/{id}":              map[string]any{"username": "mallory" + n},
			"POST /v1/users/{id}/suspensions": map[string]any{"reason": "mallory"},
			"PUT /v1/roles":                   map[string]any{"roles": []string{"member", "admin", "viewer"}},
			"PUT /v1/policies":                map[string]any{"policies": ""},
			"POST /v1/webhook-endpoints":      map[string]any{"url": bHooks.srv.URL + "/b", "kind": "events"},
			"POST /v1/keys":                   map[string]any{"name": "mallory", "scopes": []string{"users:read"}},
			"POST /v1/tenants":                map[string]any{"name": "Mallory Inc"},
			"PATCH /v1/tenants/{id}":          map[string]any{"name": "Owned"},
		}
	}

	callers := []struct {
		name    string
		token   string
		headers []string
	}{
		{"tenant B's admin key", other, nil},
		{"a platform key in tenant B", e.platform, []string{"X-Tenant-ID", otherID}},
	}
	walked := 0
	for i, c := range callers {
		for _, r := range servedRoutes(t) {
			if r.access == "platform" && c.token == e.platform {
				continue // a platform key manages every tenant by design
			}
			path, namesID := fill(r)
			name := c.name + ": " + r.String()
			rq := req{method: r.method, path: path, token: c.token, body: bodies(i)[r.String()], headers: c.headers}
			if r.access == "none" {
				rq.token = "-"
			}
			got := e.do(t, rq)
			walked++
			switch {
			case r.access == "platform":
				problem(t, got, http.StatusForbidden, "insufficient_scope")
			case r.tenantScoped() && namesID:
				problem(t, got, http.StatusNotFound, "not_found")
			case namesID: // an open route about an id: the same answer for any id
				bogus := e.do(t, req{method: r.method, path: strings.Replace(path, uid, "usr_01ARZ3NDEKTSV4RRFFQ69G5FAV", 1), token: "-"})
				if got.status != bogus.status || got.header.Get("Allow") != bogus.header.Get("Allow") {
					t.Errorf("%s: %d for tenant A's id, %d for a made-up one", name, got.status, bogus.status)
				}
			case got.status >= 400:
				t.Errorf("%s: %d %s", name, got.status, got.body)
			}
			noneOfA(t, name, got)
		}
	}
	if walked < 2*20 {
		t.Fatalf("walked %d routes: is servedRoutes reading routes.go?", walked)
	}

	// Lists never show A's data, whatever their filters and cursors.
	cursor := base64.RawURLEncoding.EncodeToString([]byte(uid))
	auditCursor := base64.RawURLEncoding.EncodeToString([]byte(aAudit))
	for _, path := range []string{
		"/v1/users?email=victim@a.test", "/v1/users?username=victim", "/v1/users?status=active",
		"/v1/users?cursor=" + cursor, "/v1/users?limit=100", "/v1/webhook-endpoints",
		"/v1/users/" + bUser + "/history?cursor=" + auditCursor, "/v1/usage", "/v1/roles", "/v1/policies",
		"/v1/events?limit=100",
	} {
		noneOfA(t, path, e.must(t, 200, req{method: "GET", path: path, token: other}))
	}
	// Naming A's user as the acting user is as unknown as a made-up id.
	mine := e.do(t, req{method: "PATCH", path: "/v1/users/" + bUser, token: other, body: map[string]any{"name": "Bob"}, headers: []string{"X-Acting-User", uid}})
	madeUp := e.do(t, req{method: "PATCH", path: "/v1/users/" + bUser, token: other, body: map[string]any{"name": "Bob"}, headers: []string{"X-Acting-User", "usr_01ARZ3NDEKTSV4RRFFQ69G5FAV"}})
	if mine.status != madeUp.status || mine.status < 400 {
		t.Errorf("X-Acting-User of tenant A: %d; a made-up one: %d", mine.status, madeUp.status)
	}
	noneOfA(t, "X-Acting-User", mine)

	// Tenant A is as it was.
	if after := e.getUser(t, uid); after["version"] != before["version"] || after["name"] != nil || after["status"] != before["status"] {
		t.Errorf("tenant A's user changed: %v", after)
	}
	if s := e.getUser(t, uid)["suspensions"].([]any); len(s) != 1 {
		t.Errorf("tenant A's suspension was lifted: %v", s)
	}
	e.must(t, 200, req{method: "GET", path: "/v1/webhook-endpoints/" + eid})
	e.must(t, 200, req{method: "GET", path: "/v1/users/" + uid + "/picture"})
	if ten := e.must(t, 200, req{method: "GET", path: "/v1/tenants/" + e.tenant, token: e.platform}).json(t); ten["name"] != "Acme" {
		t.Errorf("tenant A renamed: %v", ten["name"])
	}
}

// TestScopesGuardEveryRoute walks every route of routes.go with a key of
// each kind and checks that exactly the keys its access level admits get
// past the scope check (§6): the others get 403 insufficient_scope. Bodies
// are left out and ids made up, so an admitted call changes nothing.
func TestScopesGuardEveryRoute(t *testing.T) {
	e := newEnv(t)
	keys := []struct {
		name    string
		token   string
		headers []string
		admits  map[string]bool // access levels the key passes
	}{
		{"users:read", e.keyWith("users:read"), nil, map[string]bool{"key": true, "read": true}},
		{"users:write", e.keyWith("users:write"), nil, map[string]bool{"key": true, "write": true}},
		{"read_write", e.keyWith("read_write"), nil, map[string]bool{"key": true, "read": true, "write": true}},
		{"admin", e.token, nil, map[string]bool{"key": true, "read": true, "write": true, "admin": true}},
		{"platform", e.platform, []string{"X-Tenant-ID", e.tenant}, map[string]bool{"key": true, "read": true, "write": true, "admin": true, "platform": true}},
	}
	ids := strings.NewReplacer("{id}", "x", "{sid}", "x")
	checked := 0
	for _, r := range servedRoutes(t) {
		if r.access == "none" {
			continue
		}
		path := ids.Replace(r.path)
		for _, k := range keys {
			got := e.do(t, req{method: r.method, path: path, token: k.token, headers: k.headers})
			checked++
			if k.admits[r.access] {
				if got.status == 401 || got.status == 403 || got.status < 300 && r.method != "GET" {
					t.Errorf("%s key, %s (%s): %d %s", k.name, r, r.access, got.status, got.body)
				}
				continue
			}
			if got.status != 403 {
				t.Errorf("%s key, %s (%s): %d, want 403 insufficient_scope", k.name, r, r.access, got.status)
				continue
			}
			problem(t, got, 403, "insufficient_scope")
		}
	}
	if checked < 5*25 {
		t.Fatalf("checked %d calls: is servedRoutes reading routes.go?", checked)
	}
}

// TestSecureMetadataIsNotAnOracle: secure_metadata is write-only (§2), so a
// write must not tell whether what it sends equals what is stored, nor
// whether a key exists. A dry run that sends the stored value must look
// exactly like one that sends another value.
func TestSecureMetadataIsNotAnOracle(t *testing.T) {
	e := newEnv(t)
	id := e.createUser(t, map[string]any{"username": "vault", "secure_metadata": map[string]any{"pin": "1234"}})["id"].(string)
	answer := func(ctype string, body any) string {
		r := e.do(t, req{method: "PATCH", path: "/v1/users/" + id + "?dry_run=true", ctype: ctype, body: body})
		if r.status != 200 {
			return fmt.Sprint(r.status, " ", r.json(t)["code"])
		}
		return fmt.Sprint(r.status, " version ", r.json(t)["version"])
	}
	for name, probe := range map[string]func(guess string) string{
		"json": func(g string) string {
			return answer("application/json", map[string]any{"secure_metadata": map[string]any{"pin": g}})
		},
		"merge": func(g string) string {
			return answer("application/merge-patch+json", map[string]any{"secure_metadata": map[string]any{"pin": g}})
		},
		"json patch": func(g string) string {
			return answer("application/json-patch+json", []any{map[string]any{"op": "add", "path": "/secure_metadata/pin", "value": g}})
		},
	} {
		if right, wrong := probe("1234"), probe("0000"); right != wrong {
			t.Errorf("%s: the stored value answers %q, another %q", name, right, wrong)
		}
	}
	for _, op := range []string{"remove", "replace"} {
		probe := func(key string) string {
			return answer("application/json-patch+json", []any{map[string]any{"op": op, "path": "/secure_metadata/" + key, "value": "x"}})
		}
		if present, absent := probe("pin"), probe("nope"); present != absent {
			t.Errorf("%s: an existing key answers %q, a missing one %q", op, present, absent)
		}
	}
}
