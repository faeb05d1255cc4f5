package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/postgres"
	"github.com/roster-dev/roster/internal/sqlite"
)

// The tests of this file hold API keys to their lifecycle (§11): listed,
// created with the token shown once, rotated with a grace period, revoked
// at once on every node, expired, and every change in the admin audit.

// newKey creates a key of the default tenant over HTTP and returns its
// resource, token included.
func (e *env) newKey(t testing.TB, body map[string]any) map[string]any {
	t.Helper()
	return e.must(t, 201, req{method: "POST", path: "/v1/keys", body: body}).json(t)
}

// usersStatus is the status of a request to list users with token.
func (e *env) usersStatus(t testing.TB, token string) int {
	t.Helper()
	return e.do(t, req{method: "GET", path: "/v1/users", token: token}).status
}

func TestKeysAreAResource(t *testing.T) {
	e := newEnv(t)
	r := e.must(t, 201, req{method: "POST", path: "/v1/keys", body: map[string]any{"name": "  CI deploy ", "scopes": []string{"read_write"}}})
	k := r.json(t)
	token, _ := k["token"].(string)
	if !strings.HasPrefix(token, "rst_") {
		t.Fatalf("token %q", token)
	}
	id := k["id"].(string)
	if got := r.header.Get("Location"); got != "/v1/keys/"+id {
		t.Errorf("Location %q", got)
	}
	if k["name"] != "CI deploy" || k["prefix"] != token[:8] || !equalJSON(k["scopes"], `["users:read","users:write"]`) {
		t.Errorf("key %v", k)
	}
	if k["created_by"] != e.keyIDOf(t, e.token) || k["revoked_at"] != nil || k["expires_at"] != nil {
		t.Errorf("key %v", k)
	}
	if e.usersStatus(t, token) != 200 {
		t.Fatal("the new key does not work")
	}

	got := e.must(t, 200, req{method: "GET", path: "/v1/keys/" + id})
	if strings.Contains(string(got.body), token) || strings.Contains(string(got.body), token[8:20]) {
		t.Errorf("GET shows the token: %s", got.body)
	}
	if _, ok := got.json(t)["token"]; ok {
		t.Error("GET has a token member")
	}

	// Newest first, a page at a time.
	second := e.newKey(t, map[string]any{"name": "second", "scopes": []string{"read_only"}})
	page := e.must(t, 200, req{method: "GET", path: "/v1/keys?limit=1"}).json(t)
	data := page["data"].([]any)
	if len(data) != 1 || data[0].(map[string]any)["id"] != second["id"] || page["has_more"] != true {
		t.Fatalf("first page %v", page)
	}
	next := e.must(t, 200, req{method: "GET", path: "/v1/keys?limit=1&cursor=" + page["next_cursor"].(string)}).json(t)
	if d := next["data"].([]any); len(d) != 1 || d[0].(map[string]any)["id"] != id {
		t.Fatalf("second page %v", next)
	}
	all := e.must(t, 200, req{method: "GET", path: "/v1/keys"})
	if strings.Contains(string(all.body), token) || strings.Contains(string(all.body), "hash") {
		t.Errorf("the list shows a secret: %s", all.body)
	}

	// Another tenant's key is nobody's here.
	_, other := e.newTenant("Other")
	e.must(t, 404, req{method: "GET", path: "/v1/keys/" + id, token: other})
	e.must(t, 404, req{method: "DELETE", path: "/v1/keys/" + id, token: other})
	// Managing keys takes admin.
	e.must(t, 403, req{method: "GET", path: "/v1/keys", token: token})
	e.must(t, 403, req{method: "POST", path: "/v1/keys", token: token, body: map[string]any{"name": "x", "scopes": []string{"admin"}}})
}

// keyIDOf returns the ID of the key whose token is token.
func (e *env) keyIDOf(t testing.TB, token string) string {
	t.Helper()
	k, err := e.svc.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return k.ID
}

func TestKeyCreateIsValidated(t *testing.T) {
	e := newEnv(t)
	p := problem(t, e.do(t, req{method: "POST", path: "/v1/keys", body: map[string]any{
		"name": "", "scopes": []string{"platform"}, "expires_at": "2001-01-01T00:00:00Z",
	}}), 422, "validation_failed")
	if got := fieldCodes(p); len(got) != 3 {
		t.Errorf("fields %v, want name, scopes and expires_at at once", got)
	}
	problem(t, e.do(t, req{method: "POST", path: "/v1/keys", body: map[string]any{"name": "x", "scopes": []string{"admin"}, "expires_at": "soon"}}), 422, "validation_failed")
	// No key was made by the refusals.
	if d := e.must(t, 200, req{method: "GET", path: "/v1/keys"}).json(t)["data"].([]any); len(d) != 1 {
		t.Errorf("%d keys, want the admin key alone", len(d))
	}
}

// TestKeyCannotGrantWhatItLacks: a key makes keys with at most its own
// scopes. Over HTTP only admin keys make keys, and admin holds every tenant
// scope, so the rule is held where it is decided.
func TestKeyCannotGrantWhatItLacks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	reader, err := e.svc.Authenticate(ctx, e.keyWith("users:read"))
	if err != nil {
		t.Fatal(err)
	}
	actor := directory.Actor{KeyID: reader.ID, Key: reader}
	_, _, err = e.svc.CreateKey(ctx, e.tenant, directory.KeyInput{Name: "escalate", Scopes: []string{"admin"}}, actor)
	if de, ok := err.(*directory.Error); !ok || de.Code != directory.ECodeForbidden {
		t.Fatalf("a users:read key granted admin: %v", err)
	}
	if _, _, err := e.svc.CreateKey(ctx, e.tenant, directory.KeyInput{Name: "same", Scopes: []string{"users:read"}}, actor); err != nil {
		t.Fatalf("a key could not grant its own scope: %v", err)
	}
	// A tenant key never makes a platform key.
	e.must(t, 403, req{method: "POST", path: "/v1/platform-keys", body: map[string]any{"name": "x"}})
}

// secondStore opens e's database again, as another process would: its own
// connections, its own caches.
func (e *env) secondStore(t testing.TB) directory.Store {
	t.Helper()
	var (
		s   directory.Store
		err error
	)
	if backend == "postgres" {
		s, err = postgres.Open(context.Background(), e.dbPath)
	} else {
		s, err = sqlite.Open(context.Background(), e.dbPath)
	}
	if err != nil {
		t.Fatalf("open the database again: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestRevokeHoldsAtOnceOnEveryNode: a key revoked on one node is refused by
// another at its very next request, though that node keeps configurations
// for an hour.
func TestRevokeHoldsAtOnceOnEveryNode(t *testing.T) {
	e := newEnv(t)
	node, srv := startNode(t, e.secondStore(t), envOptions{anonymous: generous, configTTL: time.Hour}, e.logs)
	b := *e
	b.srv, b.svc = srv, node.Service

	k := e.newKey(t, map[string]any{"name": "leaked", "scopes": []string{"read_only"}})
	token := k["token"].(string)
	if b.usersStatus(t, token) != 200 { // node B has seen the key
		t.Fatal("the key does not work on node B")
	}
	e.must(t, 200, req{method: "DELETE", path: "/v1/keys/" + k["id"].(string)})
	problem(t, b.do(t, req{method: "GET", path: "/v1/users", token: token}), 401, "unauthenticated")
	problem(t, e.do(t, req{method: "GET", path: "/v1/users", token: token}), 401, "unauthenticated")

	// Revoking again changes nothing, and keeps the first revocation time.
	first := e.must(t, 200, req{method: "GET", path: "/v1/keys/" + k["id"].(string)}).json(t)["revoked_at"]
	again := e.must(t, 200, req{method: "DELETE", path: "/v1/keys/" + k["id"].(string)}).json(t)
	if first == nil || again["revoked_at"] != first {
		t.Errorf("revoked_at %v, then %v", first, again["revoked_at"])
	}
}

func TestLastAdminKeyIsNotRevokedByAccident(t *testing.T) {
	e := newEnv(t)
	self := e.keyIDOf(t, e.token)
	problem(t, e.do(t, req{method: "DELETE", path: "/v1/keys/" + self}), 409, "last_admin_key")
	if e.usersStatus(t, e.token) != 200 {
		t.Fatal("the refused revoke revoked the key")
	}
	// A read_write key is no admin: it does not count.
	e.newKey(t, map[string]any{"name": "rw", "scopes": []string{"read_write"}})
	problem(t, e.do(t, req{method: "DELETE", path: "/v1/keys/" + self}), 409, "last_admin_key")
	problem(t, e.do(t, req{method: "DELETE", path: "/v1/keys/" + self + "?force=yes"}), 400, "invalid_request")

	e.must(t, 200, req{method: "DELETE", path: "/v1/keys/" + self + "?force=true"})
	problem(t, e.do(t, req{method: "GET", path: "/v1/users"}), 401, "unauthenticated")
}

// TestTwoAdminsCannotRevokeEachOther: two admin keys revoking each other at
// once leave one standing.
func TestTwoAdminsCannotRevokeEachOther(t *testing.T) {
	e := newEnv(t)
	for round := range 5 {
		tenantID, a := e.newTenant(fmt.Sprintf("Pair %d", round))
		b := e.must(t, 201, req{method: "POST", path: "/v1/keys", token: a, body: map[string]any{"name": "b", "scopes": []string{"admin"}}}).json(t)
		idA, tokB := e.keyIDOf(t, a), b["token"].(string)
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for i, rq := range []req{
			{method: "DELETE", path: "/v1/keys/" + b["id"].(string), token: a},
			{method: "DELETE", path: "/v1/keys/" + idA, token: tokB},
		} {
			wg.Go(func() { statuses[i] = e.do(t, rq).status })
		}
		wg.Wait()
		ok := 0
		for _, s := range statuses {
			if s == 200 {
				ok++
			} else if s != 409 && s != 401 { // 401: the other revoke won before this one authenticated
				t.Fatalf("status %d", s)
			}
		}
		ks, err := e.svc.ListKeys(context.Background(), tenantID, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		live := 0
		for _, k := range ks {
			if k.RevokedAt == nil {
				live++
			}
		}
		if ok != 1 || live != 1 {
			t.Fatalf("round %d: statuses %v, %d admin keys left, want 1", round, statuses, live)
		}
	}
}

func TestRotationKeepsTheOldKeyForItsGrace(t *testing.T) {
	e := newEnv(t)
	k := e.newKey(t, map[string]any{"name": "deploy", "scopes": []string{"read_only"}})
	old, id := k["token"].(string), k["id"].(string)

	r := e.must(t, 201, req{method: "POST", path: "/v1/keys/" + id + "/rotate", body: map[string]any{}}).json(t)
	fresh := r["token"].(string)
	replaced := r["replaces"].(map[string]any)
	if r["name"] != "deploy" || !equalJSON(r["scopes"], `["users:read"]`) || replaced["id"] != id || r["expires_at"] != nil {
		t.Fatalf("rotated %v", r)
	}
	ends, err := time.Parse(time.RFC3339, replaced["expires_at"].(string))
	if err != nil || ends.Sub(time.Now()) < 23*time.Hour || ends.Sub(time.Now()) > 25*time.Hour {
		t.Errorf("the old key ends at %v, want in 24 h", replaced["expires_at"])
	}
	if e.usersStatus(t, old) != 200 || e.usersStatus(t, fresh) != 200 {
		t.Fatal("both tokens must work during the grace period")
	}

	// grace_seconds: 0 ends the old token at once, with a code that says so.
	r2 := e.must(t, 201, req{method: "POST", path: "/v1/keys/" + r["id"].(string) + "/rotate", body: map[string]any{"grace_seconds": 0}}).json(t)
	problem(t, e.do(t, req{method: "GET", path: "/v1/users", token: fresh}), 401, "key_expired")
	if e.usersStatus(t, r2["token"].(string)) != 200 {
		t.Fatal("the second rotation's token does not work")
	}
	// An unknown token is only unauthenticated, never key_expired.
	problem(t, e.do(t, req{method: "GET", path: "/v1/users", token: "rst_" + strings.Repeat("A", 43)}), 401, "unauthenticated")

	problem(t, e.do(t, req{method: "POST", path: "/v1/keys/" + r2["id"].(string) + "/rotate", body: map[string]any{"grace_seconds": 2592001}}), 422, "validation_failed")
	problem(t, e.do(t, req{method: "POST", path: "/v1/keys/" + r["id"].(string) + "/rotate", body: map[string]any{}}), 409, "key_inactive")
	problem(t, e.do(t, req{method: "POST", path: "/v1/keys/key_01ARZ3NDEKTSV4RRFFQ69G5FAV/rotate", body: map[string]any{}}), 404, "not_found")
}

func TestKeyExpiresAt(t *testing.T) {
	e := newEnv(t)
	at := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	k := e.newKey(t, map[string]any{"name": "temp", "scopes": []string{"read_only"}, "expires_at": at.Format(time.RFC3339)})
	if k["expires_at"] != directory.FormatTime(at) {
		t.Errorf("expires_at %v, want %v", k["expires_at"], directory.FormatTime(at))
	}
	token := k["token"].(string)
	if e.usersStatus(t, token) != 200 {
		t.Fatal("the key does not work before its expiry")
	}
	// Its hour passes.
	ctx := context.Background()
	err := e.store.InTx(ctx, func(tx directory.Tx) error {
		key, err := tx.GetKey(ctx, e.tenant, k["id"].(string))
		if err != nil {
			return err
		}
		past := time.Now().Add(-time.Second)
		key.ExpiresAt = &past
		return tx.UpdateKey(ctx, key)
	})
	if err != nil {
		t.Fatal(err)
	}
	p := problem(t, e.do(t, req{method: "GET", path: "/v1/users", token: token}), 401, "key_expired")
	if !strings.Contains(p["detail"].(string), "expired") {
		t.Errorf("detail %q", p["detail"])
	}
	// An expired key cannot be rotated back to life.
	problem(t, e.do(t, req{method: "POST", path: "/v1/keys/" + k["id"].(string) + "/rotate", body: map[string]any{}}), 409, "key_inactive")
}

func TestLastUseIsRecordedToTheMinute(t *testing.T) {
	e := newEnv(t)
	k := e.newKey(t, map[string]any{"name": "used", "scopes": []string{"read_only"}})
	if k["last_used_at"] != nil {
		t.Fatalf("a new key was used at %v", k["last_used_at"])
	}
	before := time.Now().Truncate(time.Minute)
	for range 3 {
		e.usersStatus(t, k["token"].(string))
	}
	e.svc.Wait() // the note is written in the background
	got := e.must(t, 200, req{method: "GET", path: "/v1/keys/" + k["id"].(string)}).json(t)["last_used_at"]
	at, err := time.Parse(time.RFC3339, fmt.Sprint(got))
	if err != nil {
		t.Fatalf("last_used_at %v", got)
	}
	if at.Second() != 0 || at.Nanosecond() != 0 || at.Before(before) || at.After(time.Now()) {
		t.Errorf("last_used_at %v, want this minute, to the minute", got)
	}
}

// TestKeyChangesAreAudited: every change of a key is in the tenant's admin
// audit, with the key that made it and the request's ID.
func TestKeyChangesAreAudited(t *testing.T) {
	e := newEnv(t)
	created := e.must(t, 201, req{method: "POST", path: "/v1/keys", body: map[string]any{"name": "audited", "scopes": []string{"admin"}}})
	id := created.json(t)["id"].(string)
	rotated := e.must(t, 201, req{method: "POST", path: "/v1/keys/" + id + "/rotate", body: map[string]any{"grace_seconds": 60}})
	newID := rotated.json(t)["id"].(string)
	revoked := e.must(t, 200, req{method: "DELETE", path: "/v1/keys/" + newID})

	list := e.must(t, 200, req{method: "GET", path: "/v1/audit"})
	if strings.Contains(string(list.body), "rst_") && strings.Contains(string(list.body), created.json(t)["token"].(string)) {
		t.Fatal("the audit shows a token")
	}
	data := list.json(t)["data"].([]any)
	want := []struct {
		action, target string
		r              *response
	}{
		{"key.revoked", newID, revoked},
		{"key.rotated", id, rotated}, // details.replaced_by: newID
		{"key.created", id, created},
	}
	var got []string
	for _, d := range data {
		m := d.(map[string]any)
		got = append(got, fmt.Sprint(m["action"], " ", m["target_id"]))
	}
	admin := e.keyIDOf(t, e.token)
	for _, w := range want {
		found := false
		for _, d := range data {
			m := d.(map[string]any)
			if m["action"] == w.action && m["target_id"] == w.target {
				found = true
				if m["request_id"] != w.r.header.Get("X-Request-Id") {
					t.Errorf("%s %s: request_id %v, want %s", w.action, w.target, m["request_id"], w.r.header.Get("X-Request-Id"))
				}
				if w.action == "key.rotated" && m["details"].(map[string]any)["replaced_by"] != newID {
					t.Errorf("rotation details %v, want replaced_by %s", m["details"], newID)
				}
				if m["actor"].(map[string]any)["key_id"] != admin {
					t.Errorf("%s: actor %v, want %s", w.action, m["actor"], admin)
				}
			}
		}
		if !found {
			t.Errorf("no %s of %s in %v", w.action, w.target, got)
		}
	}
	// A non-admin key reads no audit.
	e.must(t, 403, req{method: "GET", path: "/v1/audit", token: e.keyWith("read_write")})
}

// TestTenantOnboardsOverTheAPI: a platform key creates a tenant with its
// first admin key, which then manages the tenant.
func TestTenantOnboardsOverTheAPI(t *testing.T) {
	e := newEnv(t)
	r := e.must(t, 201, req{method: "POST", path: "/v1/tenants", token: e.platform, body: map[string]any{"name": "Onboarded", "admin_key": true}}).json(t)
	ak := r["admin_key"].(map[string]any)
	token := ak["token"].(string)
	if !equalJSON(ak["scopes"], `["admin"]`) || ak["tenant_id"] != r["id"] {
		t.Fatalf("admin_key %v", ak)
	}
	e.must(t, 201, req{method: "POST", path: "/v1/users", token: token, body: map[string]any{"email": "first@onboarded.test"}})
	e.must(t, 201, req{method: "POST", path: "/v1/keys", token: token, body: map[string]any{"name": "app", "scopes": []string{"read_write"}}})

	plain := e.must(t, 201, req{method: "POST", path: "/v1/tenants", token: e.platform, body: map[string]any{"name": "Keyless"}}).json(t)
	if _, ok := plain["admin_key"]; ok {
		t.Error("a tenant made without admin_key got one")
	}
}

func TestPlatformKeysAreManagedAlike(t *testing.T) {
	e := newEnv(t)
	k := e.must(t, 201, req{method: "POST", path: "/v1/platform-keys", token: e.platform, body: map[string]any{"name": "ops"}}).json(t)
	if !equalJSON(k["scopes"], `["platform"]`) || k["tenant_id"] != nil {
		t.Fatalf("platform key %v", k)
	}
	list := e.must(t, 200, req{method: "GET", path: "/v1/platform-keys", token: e.platform}).json(t)
	if d := list["data"].([]any); len(d) != 2 {
		t.Fatalf("%d platform keys, want 2", len(d))
	}
	e.must(t, 200, req{method: "DELETE", path: "/v1/platform-keys/" + k["id"].(string), token: e.platform})
	problem(t, e.do(t, req{method: "GET", path: "/v1/tenants", token: k["token"].(string)}), 401, "unauthenticated")
	// A tenant's key is not a platform key, and the other way round.
	e.must(t, 404, req{method: "GET", path: "/v1/platform-keys/" + e.keyIDOf(t, e.token), token: e.platform})
	self := e.keyIDOf(t, e.platform)
	problem(t, e.do(t, req{method: "DELETE", path: "/v1/platform-keys/" + self, token: e.platform}), 409, "last_admin_key")
	audit := e.must(t, 200, req{method: "GET", path: "/v1/platform-audit", token: e.platform}).json(t)
	if d := audit["data"].([]any); len(d) < 2 {
		t.Errorf("platform audit %v", audit)
	}
}
