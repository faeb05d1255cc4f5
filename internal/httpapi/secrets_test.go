package httpapi_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The tests of this file hold webhook signing secrets to their lifecycle:
// rotated with an overlap in which both sign, audited, and sealed at rest.

// verifies reports whether secret verifies the i-th message rc received.
func (rc *receiver) verifies(i int, secret string) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		rc.t.Fatalf("secret %q: %v", secret, err)
	}
	return wh.Verify([]byte(rc.raw[i]), rc.heads[i]) == nil
}

func TestWebhookSecretRotationSignsWithBoth(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t)
	id := rc.register(e, map[string]any{"kind": "events"})
	old := rc.secret
	rc.mu.Lock()
	rc.secret = "" // the receiver checks signatures below, with each secret
	rc.mu.Unlock()

	r := e.must(t, http.StatusOK, req{method: "POST", path: "/v1/webhook-endpoints/" + id + "/rotate-secret", body: map[string]any{"grace_seconds": 3600}})
	ep := r.json(t)
	fresh, _ := ep["secret"].(string)
	if !strings.HasPrefix(fresh, "whsec_") || fresh == old {
		t.Fatalf("new secret %q", fresh)
	}
	until, err := time.Parse(time.RFC3339, ep["previous_secret_expires_at"].(string))
	if err != nil || until.Sub(time.Now()) < 59*time.Minute || until.Sub(time.Now()) > time.Hour {
		t.Errorf("previous_secret_expires_at %v, want in an hour", ep["previous_secret_expires_at"])
	}
	got := e.must(t, http.StatusOK, req{method: "GET", path: "/v1/webhook-endpoints/" + id}).json(t)
	if _, ok := got["secret"]; ok || got["previous_secret_expires_at"] != ep["previous_secret_expires_at"] {
		t.Errorf("GET after rotation: %v", got)
	}

	// During the overlap, a receiver holding either secret accepts.
	e.createUser(t, map[string]any{"email": "overlap@example.com"})
	rc.waitFor(1)
	if !rc.verifies(0, old) || !rc.verifies(0, fresh) {
		t.Fatalf("during the overlap: old verifies %v, new verifies %v; want both (webhook-signature %q)",
			rc.verifies(0, old), rc.verifies(0, fresh), rc.heads[0].Get("webhook-signature"))
	}

	// grace_seconds 0 ends the old secret at once: the newest alone signs.
	r2 := e.must(t, http.StatusOK, req{method: "POST", path: "/v1/webhook-endpoints/" + id + "/rotate-secret", body: map[string]any{"grace_seconds": 0}}).json(t)
	newest := r2["secret"].(string)
	if r2["previous_secret_expires_at"] != nil {
		t.Errorf("previous_secret_expires_at %v after a rotation without grace", r2["previous_secret_expires_at"])
	}
	e.createUser(t, map[string]any{"email": "after@example.com"})
	rc.waitFor(2)
	if rc.verifies(1, old) || rc.verifies(1, fresh) || !rc.verifies(1, newest) {
		t.Errorf("after the second rotation: old %v, previous %v, newest %v; want the newest alone",
			rc.verifies(1, old), rc.verifies(1, fresh), rc.verifies(1, newest))
	}

	// Audited, without a secret.
	audit := e.must(t, http.StatusOK, req{method: "GET", path: "/v1/audit"})
	if n := strings.Count(string(audit.body), `"webhook_secret.rotated"`); n != 2 {
		t.Errorf("%d webhook_secret.rotated entries, want 2: %s", n, audit.body)
	}
	if strings.Contains(string(audit.body), "whsec_") {
		t.Error("the audit shows a secret")
	}

	problem(t, e.do(t, req{method: "POST", path: "/v1/webhook-endpoints/" + id + "/rotate-secret", body: map[string]any{"grace_seconds": -1}}), 422, "validation_failed")
	problem(t, e.do(t, req{method: "POST", path: "/v1/webhook-endpoints/whe_01ARZ3NDEKTSV4RRFFQ69G5FAV/rotate-secret", body: map[string]any{}}), 404, "not_found")
	_, other := e.newTenant("Other")
	problem(t, e.do(t, req{method: "POST", path: "/v1/webhook-endpoints/" + id + "/rotate-secret", token: other, body: map[string]any{}}), 404, "not_found")
	e.must(t, http.StatusForbidden, req{method: "POST", path: "/v1/webhook-endpoints/" + id + "/rotate-secret", token: e.keyWith("read_write"), body: map[string]any{}})
}

// TestWebhookSecretsAreSealedAtRest: no table cell, and on SQLite no byte
// of the database's files, holds a signing secret, current or previous.
func TestWebhookSecretsAreSealedAtRest(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t)
	id := rc.register(e, map[string]any{"kind": "events"})
	first := rc.secret
	second := e.must(t, http.StatusOK, req{method: "POST", path: "/v1/webhook-endpoints/" + id + "/rotate-secret", body: map[string]any{}}).json(t)["secret"].(string)
	rc.mu.Lock()
	rc.secret = second
	rc.mu.Unlock()
	e.createUser(t, map[string]any{"email": "sealed@example.com"})
	rc.waitFor(1) // the node opens what it sealed

	// The key bytes, base64 without the whsec_ prefix, are what must not
	// be there.
	markers := []string{strings.TrimPrefix(first, "whsec_"), strings.TrimPrefix(second, "whsec_")}
	for _, m := range markers {
		for _, where := range foundIn(e.dumpDatabase(t), m) {
			t.Errorf("a signing secret is in clear in table %s", where)
		}
	}
	if backend == "postgres" {
		return
	}
	for _, file := range []string{e.dbPath, e.dbPath + "-wal"} {
		b, err := os.ReadFile(file)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, m := range markers {
			if strings.Contains(string(b), m) {
				t.Errorf("a signing secret is in clear in the bytes of %s", file[strings.LastIndex(file, "/")+1:])
			}
		}
	}
}
