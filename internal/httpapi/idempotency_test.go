package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/postgres"
	"github.com/roster-dev/roster/internal/sqlite"
)

// withKey returns rq with an Idempotency-Key header of key.
func withKey(rq req, key string) req {
	rq.headers = append(append([]string(nil), rq.headers...), "Idempotency-Key", strconv.Quote(key))
	return rq
}

// usersNamed lists the default tenant's users with username.
func (e *env) usersNamed(t *testing.T, username string) []any {
	t.Helper()
	return e.must(t, 200, req{method: "GET", path: "/v1/users?username=" + username}).json(t)["data"].([]any)
}

func TestIdempotencyReplaysTheFirstAnswer(t *testing.T) {
	e := newEnv(t)
	create := withKey(req{method: "POST", path: "/v1/users", body: map[string]any{"username": "once", "name": "Once"}}, "create-once")
	first := e.must(t, 201, create)
	if first.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("first answer: Idempotent-Replayed %q, want none", first.header.Get("Idempotent-Replayed"))
	}
	again := e.must(t, 201, create)
	if got := again.header.Get("Idempotent-Replayed"); got != "true" {
		t.Errorf("retry: Idempotent-Replayed %q, want true", got)
	}
	if string(again.body) != string(first.body) {
		t.Errorf("retry body:\n%s\nwant the first's:\n%s", again.body, first.body)
	}
	for _, h := range []string{"Content-Type", "ETag", "Location", "X-Quota-Writes-Used", "X-Quota-Active-Users", "X-Quota-Reset"} {
		if got, want := again.header.Get(h), first.header.Get(h); got != want || want == "" {
			t.Errorf("retry %s: got %q, want %q (and not empty)", h, got, want)
		}
	}
	if again.header.Get("X-Request-Id") == first.header.Get("X-Request-Id") {
		t.Errorf("retry repeats the first request's X-Request-Id")
	}
	users := e.usersNamed(t, "once")
	if len(users) != 1 {
		t.Fatalf("users: got %d, want 1", len(users))
	}
	id := users[0].(map[string]any)["id"].(string)

	// An update replayed writes nothing either: one audit entry, one version.
	patch := withKey(req{method: "PATCH", path: "/v1/users/" + id, body: map[string]any{"name": "Twice"}}, "patch-once")
	p1 := e.must(t, 200, patch)
	p2 := e.must(t, 200, patch)
	if p2.header.Get("Idempotent-Replayed") != "true" || string(p2.body) != string(p1.body) || p2.header.Get("ETag") != p1.header.Get("ETag") {
		t.Errorf("replayed patch: %q %s, want %q %s", p2.header.Get("ETag"), p2.body, p1.header.Get("ETag"), p1.body)
	}
	if h := e.history(t, id); len(h) != 2 {
		t.Errorf("history: got %d entries, want 2 (create, one patch)", len(h))
	}
	if v := e.getUser(t, id)["version"]; v != "2" && !equalJSON(v, "2") {
		t.Errorf("version %v, want 2", v)
	}

	// A failure is an answer too, replayed as it was.
	bad := withKey(req{method: "PATCH", path: "/v1/users/" + id, body: map[string]any{"country": "XX"}}, "bad-once")
	b1 := e.do(t, bad)
	problem(t, b1, 422, "validation_failed")
	// The replay is the first answer, whose request_id names the request
	// that ran (and was logged), not the retry.
	b2 := e.do(t, bad)
	if b2.status != 422 || string(b2.body) != string(b1.body) || b2.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replayed failure: %d %q %s, want 422, true and %s", b2.status, b2.header.Get("Idempotent-Replayed"), b2.body, b1.body)
	}
}

// TestIdempotencyReplayIsMetered: a retry is a request, throttled as any.
func TestIdempotencyReplayIsMetered(t *testing.T) {
	plan := generous
	plan.RateLimitRPS, plan.RateLimitBurst = 0.001, 2
	e := newEnvWith(t, envOptions{plan: &plan})
	create := withKey(req{method: "POST", path: "/v1/users", body: map[string]any{"username": "metered"}}, "metered")
	e.must(t, 201, create)
	if r := e.must(t, 201, create); r.header.Get("Idempotent-Replayed") != "true" || r.header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("replay: Idempotent-Replayed %q, X-RateLimit-Remaining %q, want true, 0", r.header.Get("Idempotent-Replayed"), r.header.Get("X-RateLimit-Remaining"))
	}
	problem(t, e.do(t, create), 429, "rate_limited")
}

func TestIdempotencyKeyReusedForAnotherRequest(t *testing.T) {
	e := newEnv(t)
	e.must(t, 201, withKey(req{method: "POST", path: "/v1/users", body: map[string]any{"username": "first"}}, "k"))
	cases := []struct {
		name string
		rq   req
	}{
		{"another body", req{method: "POST", path: "/v1/users", body: map[string]any{"username": "second"}}},
		{"another path", req{method: "POST", path: "/v1/users?dry_run=true", body: map[string]any{"username": "first"}}},
		{"another header", req{method: "POST", path: "/v1/users", body: map[string]any{"username": "first"}, headers: []string{"If-Match", `"1"`}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, withKey(tc.rq, "k"))
			p := problem(t, r, 422, "idempotency_key_reused")
			if !strings.Contains(p["detail"].(string), "different request payload") {
				t.Errorf("detail %q", p["detail"])
			}
		})
	}
	if n := len(e.usersNamed(t, "second")); n != 0 {
		t.Errorf("the refused request wrote %d users", n)
	}
}

func TestIdempotencyKeyMalformed(t *testing.T) {
	e := newEnv(t)
	cases := []struct{ name, value string }{
		{"bare, with a space", "a b"},
		{"bare, with a parameter", "abc;p=1"},
		{"unterminated", `"abc`},
		{"empty", `""`},
		{"too long", `"` + strings.Repeat("k", 256) + `"`},
		{"bad escape", `"a\b"`},
		{"with a parameter", `"abc";p=1`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, req{method: "POST", path: "/v1/users", body: map[string]any{"username": "malformed"}, headers: []string{"Idempotency-Key", tc.value}})
			p := problem(t, r, 400, "invalid_request")
			if fieldCodes(p)["Idempotency-Key"] != "invalid" {
				t.Errorf("errors %v, want Idempotency-Key invalid", p["errors"])
			}
		})
	}
	r := e.do(t, req{method: "POST", path: "/v1/users", body: map[string]any{"username": "malformed"}, headers: []string{"Idempotency-Key", `"a"`, "Idempotency-Key", `"b"`}})
	if p := problem(t, r, 400, "invalid_request"); fieldCodes(p)["Idempotency-Key"] != "repeated_header" {
		t.Errorf("repeated: errors %v", p["errors"])
	}
	// A bare key is the same key quoted.
	e.must(t, 201, req{method: "POST", path: "/v1/users", body: map[string]any{"username": "barekey"}, headers: []string{"Idempotency-Key", "abc-123"}})
	r = e.must(t, 201, req{method: "POST", path: "/v1/users", body: map[string]any{"username": "barekey"}, headers: []string{"Idempotency-Key", `"abc-123"`}})
	if r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("the quoted form of a bare key was not replayed its answer")
	}
	// 255 characters, with escapes, are fine.
	e.must(t, 201, req{method: "POST", path: "/v1/users", body: map[string]any{"username": "longkey"}, headers: []string{"Idempotency-Key", `"\"` + strings.Repeat("k", 253) + `\\"`}})
	if n := len(e.usersNamed(t, "malformed")); n != 0 {
		t.Errorf("malformed keys wrote %d users", n)
	}
}

func TestIdempotencyKeysArePerTenant(t *testing.T) {
	e := newEnv(t)
	_, otherToken := e.newTenant("Other")
	body := map[string]any{"username": "shared"}
	e.must(t, 201, withKey(req{method: "POST", path: "/v1/users", body: body}, "same"))
	r := e.must(t, 201, withKey(req{method: "POST", path: "/v1/users", body: body, token: otherToken}, "same"))
	if r.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("another tenant got the first tenant's answer")
	}
	// A platform key acting in the tenant shares the tenant's keys.
	r = e.must(t, 201, withKey(req{method: "POST", path: "/v1/users", body: body, token: e.platform, headers: []string{"X-Tenant-ID", e.tenant}}, "same"))
	if r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("a platform key in the tenant did not get the tenant's answer")
	}
}

// blockingHook is a validation webhook that holds each call until released.
type blockingHook struct {
	srv     *httptest.Server
	entered chan struct{}
	release chan struct{}
	status  int // answered when released; 0: 200 allow
}

func newBlockingHook(t *testing.T) *blockingHook {
	h := &blockingHook{entered: make(chan struct{}, 16), release: make(chan struct{})}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.entered <- struct{}{}
		<-h.release
		if h.status != 0 {
			w.WriteHeader(h.status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"allow": true}`))
	}))
	t.Cleanup(func() {
		select {
		case <-h.release:
		default:
			close(h.release)
		}
		h.srv.Close()
	})
	return h
}

// waitEntered waits for a call of the hook.
func (h *blockingHook) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-h.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the validation webhook was not called")
	}
}

// openSecondStore opens another Store on e's database, as another process
// would.
func openSecondStore(t *testing.T, e *env) directory.Store {
	t.Helper()
	var s directory.Store
	var err error
	if backend == "postgres" {
		s, err = postgres.Open(context.Background(), e.dbPath)
	} else {
		s, err = sqlite.Open(context.Background(), e.dbPath)
	}
	if err != nil {
		t.Fatalf("open a second store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestIdempotencyAcrossNodes: two nodes, each with its own connections to
// one database, honour one key: while the first request runs on one node,
// its retry on the other is 409; once it is answered, the retry is replayed
// and only one user exists.
func TestIdempotencyAcrossNodes(t *testing.T) {
	e := newEnv(t)
	_, srv := startNode(t, openSecondStore(t, e), envOptions{anonymous: generous}, e.logs)
	other := *e
	other.srv = srv
	hook := newBlockingHook(t)
	e.must(t, 201, req{method: "POST", path: "/v1/webhook-endpoints", body: map[string]any{"kind": "validation", "url": hook.srv.URL, "timeout_ms": 10000}})

	create := withKey(req{method: "POST", path: "/v1/users", body: map[string]any{"username": "racer"}}, "race")
	var first *response
	var wg sync.WaitGroup
	wg.Go(func() { first = e.do(t, create) })
	hook.waitEntered(t)
	r := other.do(t, create)
	problem(t, r, 409, "idempotency_key_in_use")
	if r.header.Get("Retry-After") == "" {
		t.Errorf("409 without Retry-After")
	}
	close(hook.release)
	wg.Wait()
	if first.status != 201 {
		t.Fatalf("first request: %d %s", first.status, first.body)
	}
	again := other.must(t, 201, create)
	if again.header.Get("Idempotent-Replayed") != "true" || string(again.body) != string(first.body) {
		t.Errorf("retry on the other node: replayed %q body %s, want the first's %s", again.header.Get("Idempotent-Replayed"), again.body, first.body)
	}
	if n := len(e.usersNamed(t, "racer")); n != 1 {
		t.Errorf("users: got %d, want 1", n)
	}
}

// TestIdempotencyConcurrentRetries: of many simultaneous requests with one
// key, one runs; each other one gets 409 or the replay.
func TestIdempotencyConcurrentRetries(t *testing.T) {
	e := newEnv(t)
	create := withKey(req{method: "POST", path: "/v1/users", body: map[string]any{"username": "crowd"}}, "crowd")
	const n = 10
	got := make([]*response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i] = e.do(t, create) })
	}
	wg.Wait()
	ran := 0
	for i, r := range got {
		switch {
		case r.status == 201 && r.header.Get("Idempotent-Replayed") == "":
			ran++
		case r.status == 201, r.status == 409:
		default:
			t.Errorf("request %d: %d %s", i, r.status, r.body)
		}
	}
	if ran != 1 {
		t.Errorf("%d requests ran, want 1", ran)
	}
	if c := len(e.usersNamed(t, "crowd")); c != 1 {
		t.Errorf("users: got %d, want 1", c)
	}
}

// TestIdempotencyServerErrorIsNotReplayed: a 5xx is no answer to keep; the
// retry runs the request again.
func TestIdempotencyServerErrorIsNotReplayed(t *testing.T) {
	e := newEnv(t)
	hook := newBlockingHook(t)
	hook.status = 500
	close(hook.release)
	r := e.must(t, 201, req{method: "POST", path: "/v1/webhook-endpoints", body: map[string]any{"kind": "validation", "url": hook.srv.URL, "timeout_ms": 1000}})
	create := withKey(req{method: "POST", path: "/v1/users", body: map[string]any{"username": "later"}}, "later")
	problem(t, e.do(t, create), 503, "validation_unavailable")
	problem(t, e.do(t, create), 503, "validation_unavailable")
	e.must(t, 204, req{method: "DELETE", path: "/v1/webhook-endpoints/" + r.json(t)["id"].(string)})
	again := e.must(t, 201, create)
	if again.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("the retry after a 503 was a replay")
	}
	if n := len(e.usersNamed(t, "later")); n != 1 {
		t.Errorf("users: got %d, want 1", n)
	}
}

// TestIdempotencyExpiredKeyIsCleanedAndReusable: the cleaner deletes an
// entry once expired, and the key then names a new request.
func TestIdempotencyExpiredKeyIsCleanedAndReusable(t *testing.T) {
	e := newEnv(t)
	e.must(t, 201, withKey(req{method: "POST", path: "/v1/users", body: map[string]any{"username": "old"}}, "reused"))
	ctx := context.Background()
	if n, err := e.store.DeleteExpiredIdempotency(ctx, time.Now(), 100); err != nil || n != 0 {
		t.Fatalf("clean before expiry: %d, %v, want 0 deleted", n, err)
	}
	if n, err := e.store.DeleteExpiredIdempotency(ctx, time.Now().Add(directory.IdempotencyTTL+time.Minute), 100); err != nil || n != 1 {
		t.Fatalf("clean after expiry: %d, %v, want 1 deleted", n, err)
	}
	r := e.must(t, 201, withKey(req{method: "POST", path: "/v1/users", body: map[string]any{"username": "new"}}, "reused"))
	if r.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("a cleaned key was replayed")
	}
}

// TestIdempotencySecretsAreSealed: an answer that shows a secret once is
// replayed with it, but not stored in plaintext.
func TestIdempotencySecretsAreSealed(t *testing.T) {
	e := newEnv(t)
	mint := withKey(req{method: "POST", path: "/v1/keys", body: map[string]any{"name": "ci", "scopes": []string{"users:read"}}}, "mint")
	first := e.must(t, 201, mint)
	token, _ := first.json(t)["token"].(string)
	if token == "" {
		t.Fatalf("no token in %s", first.body)
	}
	again := e.must(t, 201, mint)
	if again.json(t)["token"] != token || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay: %s, want the first answer", again.body)
	}
	keys := e.must(t, 200, req{method: "GET", path: "/v1/keys?limit=100"}).json(t)["data"].([]any)
	named := 0
	for _, k := range keys {
		if k.(map[string]any)["name"] == "ci" {
			named++
		}
	}
	if named != 1 {
		t.Errorf("keys named ci: %d, want 1", named)
	}
	now := time.Now()
	probe := &directory.IdempotencyEntry{TenantID: e.tenant, Key: "mint", Fingerprint: []byte("probe"), Claim: "probe", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	stored, err := e.store.ClaimIdempotency(context.Background(), probe, now.Add(-time.Hour), now)
	if err != nil || !stored.Done {
		t.Fatalf("stored entry: %+v, %v", stored, err)
	}
	if strings.Contains(string(stored.Body), token) || strings.Contains(string(stored.Header), token) {
		t.Errorf("the token is stored in plaintext")
	}
	// The platform routes take keys too, scoped apart from every tenant.
	tenant := withKey(req{method: "POST", path: "/v1/tenants", token: e.platform, body: map[string]any{"name": "Made once"}}, "mint")
	t1 := e.must(t, 201, tenant)
	t2 := e.must(t, 201, tenant)
	if t2.header.Get("Idempotent-Replayed") != "true" || string(t1.body) != string(t2.body) {
		t.Errorf("tenant creation replay: %s, want %s", t2.body, t1.body)
	}
}

// TestIdempotencyAnswersGoWithAPurgedUser checks that the answers kept for
// retries about a user — its creation, found by Location, and a write of its
// route — go when the user is purged: a retry then runs again.
func TestIdempotencyAnswersGoWithAPurgedUser(t *testing.T) {
	e := newEnv(t)
	create := withKey(req{method: "POST", path: "/v1/users", body: map[string]any{"username": "forgotten"}}, "create-forgotten")
	id := e.must(t, 201, create).json(t)["id"].(string)
	patch := withKey(req{method: "PATCH", path: "/v1/users/" + id, body: map[string]any{"name": "Forgotten Person"}}, "patch-forgotten")
	e.must(t, 200, patch)
	if r := e.must(t, 200, patch); r.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the retry of the PATCH was not replayed: %v", r.header)
	}
	e.must(t, 202, req{method: "DELETE", path: "/v1/users/" + id}) // the grace period is 0
	if n, err := e.svc.PurgeDue(t.Context()); err != nil || n != 1 {
		t.Fatalf("PurgeDue: %d, %v", n, err)
	}
	if r := e.do(t, patch); r.status != 404 || r.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("the PATCH's retry after the purge: %d %v, want a 404 run again", r.status, r.header)
	}
	r := e.must(t, 201, create)
	if r.header.Get("Idempotent-Replayed") != "" || r.json(t)["id"] == id {
		t.Errorf("the create's retry after the purge was replayed: %v", r.header)
	}
}
