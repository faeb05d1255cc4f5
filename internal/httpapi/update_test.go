package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// patchUser sends a PATCH of the given media type.
func (e *env) patchUser(t testing.TB, id, ctype string, body any, headers ...string) *response {
	t.Helper()
	return e.do(t, req{method: "PATCH", path: "/v1/users/" + id, body: body, ctype: ctype, headers: headers})
}

func (e *env) getUser(t testing.TB, id string) map[string]any {
	t.Helper()
	return e.must(t, http.StatusOK, req{method: "GET", path: "/v1/users/" + id}).json(t)
}

func (e *env) history(t testing.TB, id string) []any {
	t.Helper()
	return e.must(t, http.StatusOK, req{method: "GET", path: "/v1/users/" + id + "/history?limit=100"}).json(t)["data"].([]any)
}

func newAlice(t *testing.T, e *env) (string, map[string]any) {
	t.Helper()
	u := e.createUser(t, map[string]any{
		"email": "alice@example.com", "email_verified": true, "username": "alice", "name": "Alice",
		"metadata": map[string]any{"theme": "dark", "plan": map[string]any{"tier": "pro", "seats": 3}},
		"roles":    []string{"member"}, "location": map[string]any{"longitude": 1, "latitude": 2},
		"secure_metadata": aliceSecure(),
	})
	return u["id"].(string), u
}

// aliceSecure is the secure_metadata newAlice creates her with.
func aliceSecure() map[string]any { return map[string]any{"ssn": "123-45-6789", "pin": "0000"} }

// storedSecureMetadata reads a user's secure_metadata from the store, as
// the API never shows it.
func (e *env) storedSecureMetadata(t testing.TB, id string) map[string]any {
	t.Helper()
	u, err := e.store.GetUser(t.Context(), e.tenant, id)
	if err != nil {
		t.Fatalf("get user from the store: %v", err)
	}
	return u.SecureMetadata
}

func TestPatchJSONSetsClearsAndReplacesWhole(t *testing.T) {
	e := newEnv(t)
	id, before := newAlice(t, e)
	r := e.patchUser(t, id, "application/json", map[string]any{
		"name": "Alice Smith", "bio": nil, "location": nil, "metadata": map[string]any{"lang": "fr"},
	})
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	u := r.json(t)
	if u["name"] != "Alice Smith" || u["location"] != nil || !reflect.DeepEqual(u["metadata"], map[string]any{"lang": "fr"}) {
		t.Errorf("after PATCH: %s", r.body)
	}
	if u["email"] != before["email"] || u["username"] != before["username"] || !reflect.DeepEqual(u["roles"], []any{"member"}) {
		t.Errorf("fields not sent changed: %s", r.body)
	}
	if u["version"] != json.Number("2") || r.header.Get("ETag") != `"2"` || u["updated_at"] == before["updated_at"] {
		t.Errorf("version %v, ETag %s, updated_at %v", u["version"], r.header.Get("ETag"), u["updated_at"])
	}
	// {} clears metadata.
	u = e.patchUser(t, id, "application/json", map[string]any{"metadata": map[string]any{}}).json(t)
	if !reflect.DeepEqual(u["metadata"], map[string]any{}) {
		t.Errorf("metadata %v, want {}", u["metadata"])
	}
}

func TestMergePatchMergesRecursively(t *testing.T) {
	e := newEnv(t)
	id, _ := newAlice(t, e)
	r := e.patchUser(t, id, "application/merge-patch+json", `{"metadata":{"theme":null,"plan":{"seats":5}},"name":"Al"}`)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	u := r.json(t)
	if got, want := u["metadata"], map[string]any{"plan": map[string]any{"seats": json.Number("5"), "tier": "pro"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("metadata %v, want %v", got, want)
	}
	// secure_metadata is written whole (docs/api.md): a merge patch may only
	// clear it, and the audit entry redacts that. A refused merge keeps
	// every key; the API never shows them, so the store is read.
	p := problem(t, e.patchUser(t, id, "application/merge-patch+json", `{"secure_metadata":{"pin":null}}`), 400, "invalid_request")
	if got := fieldCodes(p); got["secure_metadata"] != "invalid_request" {
		t.Errorf("errors %v, want secure_metadata", p["errors"])
	}
	if got, want := e.storedSecureMetadata(t, id), aliceSecure(); !reflect.DeepEqual(got, want) {
		t.Errorf("secure_metadata after a refused merge: got %v, want %v", got, want)
	}
	r = e.patchUser(t, id, "application/merge-patch+json", `{"secure_metadata":null}`)
	if r.status != 200 || r.json(t)["version"] != json.Number("3") {
		t.Fatalf("secure clear: %d %s", r.status, r.body)
	}
	if got := e.storedSecureMetadata(t, id); len(got) != 0 {
		t.Errorf("secure_metadata after a null merge: got %v, want none", got)
	}
	h := e.history(t, id)[0].(map[string]any)
	if c := h["changes"].(map[string]any)["secure_metadata"].(map[string]any); c["from"] != "[redacted]" || c["to"] != "[redacted]" {
		t.Errorf("secure change not redacted: %v", c)
	}
}

func TestJSONPatch(t *testing.T) {
	e := newEnv(t)
	id, _ := newAlice(t, e)
	r := e.patchUser(t, id, "application/json-patch+json", []map[string]any{
		{"op": "test", "path": "/metadata/theme", "value": "dark"},
		{"op": "replace", "path": "/metadata/theme", "value": "light"},
		{"op": "add", "path": "/roles/-", "value": "viewer"},
		{"op": "remove", "path": "/location"},
		{"op": "copy", "from": "/name", "path": "/given_name"},
	})
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	u := r.json(t)
	if u["metadata"].(map[string]any)["theme"] != "light" || !reflect.DeepEqual(u["roles"], []any{"member", "viewer"}) ||
		u["location"] != nil || u["given_name"] != "Alice" {
		t.Errorf("after JSON Patch: %s", r.body)
	}
	cases := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"failed test", `[{"op":"test","path":"/name","value":"Bob"},{"op":"replace","path":"/name","value":"Bob"}]`, 409, "patch_conflict"},
		{"missing path", `[{"op":"replace","path":"/metadata/nope/deeper","value":1}]`, 409, "patch_conflict"},
		{"remove missing", `[{"op":"remove","path":"/metadata/absent"}]`, 409, "patch_conflict"},
		{"bad op", `[{"op":"frobnicate","path":"/name"}]`, 400, "invalid_request"},
		{"not an array", `{"op":"add"}`, 400, "invalid_request"},
		{"unknown member", `[{"op":"add","path":"/nickname","value":"x"}]`, 400, "unknown_field"},
		{"read-only", `[{"op":"replace","path":"/version","value":99}]`, 400, "read_only_field"},
		{"remove read-only", `[{"op":"remove","path":"/status"}]`, 400, "read_only_field"},
		{"probe secure", `[{"op":"test","path":"/secure_metadata/pin","value":"0000"}]`, 400, "invalid_request"},
		{"copy secure", `[{"op":"copy","from":"/secure_metadata","path":"/metadata"}]`, 400, "invalid_request"},
		{"invalid value", `[{"op":"replace","path":"/country","value":"XX"}]`, 422, "validation_failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			problem(t, e.patchUser(t, id, "application/json-patch+json", c.body), c.status, c.code)
			if v := e.getUser(t, id)["version"]; v != json.Number("2") {
				t.Errorf("version %v after a failed patch, want 2 (atomic)", v)
			}
		})
	}
	// A read-only member may be tested or replaced with its current value.
	e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + id, ctype: "application/json-patch+json",
		body: `[{"op":"test","path":"/id","value":"` + id + `"},{"op":"replace","path":"/status","value":"active"}]`})
}

func TestPutReplacesWholeButKeepsSecureMetadata(t *testing.T) {
	e := newEnv(t)
	id, _ := newAlice(t, e)
	// A GET body sent back unchanged is a no-op.
	got := e.must(t, 200, req{method: "GET", path: "/v1/users/" + id})
	r := e.must(t, 200, req{method: "PUT", path: "/v1/users/" + id, body: got.body})
	if r.json(t)["version"] != json.Number("1") {
		t.Errorf("PUT of the GET body bumped the version: %s", r.body)
	}
	// PUT resets what it leaves out, but not secure_metadata.
	u := e.must(t, 200, req{method: "PUT", path: "/v1/users/" + id, body: map[string]any{"email": "alice@example.com", "name": "New"}}).json(t)
	if u["username"] != nil || u["location"] != nil || !reflect.DeepEqual(u["metadata"], map[string]any{}) || !reflect.DeepEqual(u["roles"], []any{}) || u["name"] != "New" {
		t.Errorf("PUT did not reset the fields left out: %v", u)
	}
	h := e.history(t, id)[0].(map[string]any)["changes"].(map[string]any)
	if _, ok := h["secure_metadata"]; ok {
		t.Errorf("PUT without secure_metadata changed it: %v", h)
	}
	if got, want := e.storedSecureMetadata(t, id), aliceSecure(); !reflect.DeepEqual(got, want) {
		t.Errorf("secure_metadata after a PUT without it: got %v, want %v", got, want)
	}
	// A different read-only value is refused, naming the field.
	p := problem(t, e.do(t, req{method: "PUT", path: "/v1/users/" + id, body: map[string]any{"email": "a@example.com", "id": "usr_01ARZ3NDEKTSV4RRFFQ69G5FAV"}}), 400, "read_only_field")
	if fieldCodes(p)["id"] != "read_only_field" {
		t.Errorf("errors %v", p["errors"])
	}
	problem(t, e.do(t, req{method: "PUT", path: "/v1/users/" + id, body: map[string]any{"name": "No identity"}}), 422, "validation_failed")
	problem(t, e.do(t, req{method: "PUT", path: "/v1/users/" + id, body: ""}), 400, "invalid_request")
	problem(t, e.do(t, req{method: "PUT", path: "/v1/users/" + id, body: `{}`, ctype: "application/merge-patch+json"}), 415, "unsupported_media_type")
}

func TestNoOps(t *testing.T) {
	e := newEnv(t)
	id, before := newAlice(t, e)
	for name, rq := range map[string]req{
		"empty body":       {body: "", ctype: "application/json"},
		"empty object":     {body: `{}`},
		"empty array":      {body: `[]`},
		"same values":      {body: map[string]any{"name": "Alice", "email": "alice@EXAMPLE.com"}},
		"same after norm":  {body: map[string]any{"username": "ALICE"}},
		"empty patch":      {body: `[]`, ctype: "application/json-patch+json"},
		"merge same":       {body: `{"metadata":{"theme":"dark"}}`, ctype: "application/merge-patch+json"},
		"test only":        {body: `[{"op":"test","path":"/name","value":"Alice"}]`, ctype: "application/json-patch+json"},
		"read-only echoed": {body: map[string]any{"version": 1, "status": "active"}},
	} {
		t.Run(name, func(t *testing.T) {
			rq.method, rq.path = "PATCH", "/v1/users/"+id
			r := e.must(t, 200, rq)
			u := r.json(t)
			if u["version"] != json.Number("1") || u["updated_at"] != before["updated_at"] || r.header.Get("ETag") != `"1"` {
				t.Errorf("no-op changed the user: %s", r.body)
			}
		})
	}
	if n := len(e.history(t, id)); n != 1 {
		t.Errorf("%d audit entries, want only the creation", n)
	}
}

func TestUnsupportedMediaTypeAndOptions(t *testing.T) {
	e := newEnv(t)
	id, _ := newAlice(t, e)
	r := e.patchUser(t, id, "application/xml", `<user/>`)
	problem(t, r, 415, "unsupported_media_type")
	if got := r.header.Get("Accept-Patch"); !strings.Contains(got, "application/merge-patch+json") || !strings.Contains(got, "application/json-patch+json") {
		t.Errorf("Accept-Patch %q", got)
	}
	o := e.must(t, 204, req{method: "OPTIONS", path: "/v1/users/" + id, token: "-"})
	if !strings.Contains(o.header.Get("Allow"), "PATCH") || o.header.Get("Accept-Patch") == "" {
		t.Errorf("OPTIONS headers %v", o.header)
	}
}

func TestUpdateValidation(t *testing.T) {
	e := newEnv(t)
	id, _ := newAlice(t, e)
	p := problem(t, e.patchUser(t, id, "application/json", map[string]any{
		"country": "XX", "birthdate": "1899-12-31", "website": "javascript:alert(1)", "roles": []string{"member", "wizard"},
	}), 422, "validation_failed")
	got := fieldCodes(p)
	for f, code := range map[string]string{"country": "invalid_country", "website": "invalid_url", "roles": "invalid_role"} {
		if got[f] != code {
			t.Errorf("%s: code %q, want %q (all: %v)", f, got[f], code, got)
		}
	}
	if got["birthdate"] == "" {
		t.Errorf("no birthdate error: %v", got)
	}
	problem(t, e.patchUser(t, id, "application/json", map[string]any{"roles": []string{"wizard"}}), 422, "invalid_role")
	problem(t, e.patchUser(t, id, "application/json", map[string]any{"email": nil, "username": nil}), 422, "validation_failed")
	problem(t, e.patchUser(t, id, "application/json", map[string]any{"name": 5}), 400, "invalid_request")
	p = problem(t, e.patchUser(t, id, "application/json", map[string]any{"nickname": "x", "name": 5, "country": "XX"}), 400, "unknown_field")
	if got := fieldCodes(p); got["nickname"] == "" || got["name"] == "" || got["country"] == "" {
		t.Errorf("not every failing field listed: %v", got)
	}
	problem(t, e.patchUser(t, id, "application/json", `{"name":"a","name":"b"}`), 400, "invalid_request")
	problem(t, e.patchUser(t, id, "application/json", `"just a string"`), 400, "invalid_request")
	problem(t, e.patchUser(t, id, "application/json", `{"name":"`+strings.Repeat("x", 1<<20)+`"}`), 413, "payload_too_large")
	problem(t, e.patchUser(t, "usr_01ARZ3NDEKTSV4RRFFQ69G5FAV", "application/json", `{"name":`), 404, "not_found")
	if v := e.getUser(t, id)["version"]; v != json.Number("1") {
		t.Errorf("version %v after failed updates", v)
	}
}

func TestEmailChangeResetsVerification(t *testing.T) {
	e := newEnv(t)
	id, _ := newAlice(t, e)
	u := e.patchUser(t, id, "application/json", map[string]any{"email": "alice2@example.com"}).json(t)
	if u["email_verified"] != false {
		t.Errorf("email change kept email_verified: %v", u["email_verified"])
	}
	u = e.patchUser(t, id, "application/json", map[string]any{"email": "alice3@example.com", "email_verified": true}).json(t)
	if u["email_verified"] != true {
		t.Errorf("email change with email_verified true lost it: %v", u["email_verified"])
	}
	u = e.patchUser(t, id, "application/json", map[string]any{"email": "ALICE3@example.com"}).json(t)
	if u["email_verified"] != true || u["email"] != "ALICE3@example.com" {
		t.Errorf("a change of letter case only reset email_verified or was lost: %v %v", u["email"], u["email_verified"])
	}
	u = e.patchUser(t, id, "application/json-patch+json", `[{"op":"replace","path":"/email","value":"alice4@example.com"}]`).json(t)
	if u["email_verified"] != false {
		t.Errorf("JSON Patch email change kept email_verified")
	}
}

func TestUpdateUniqueness(t *testing.T) {
	e := newEnv(t)
	id, _ := newAlice(t, e)
	e.createUser(t, map[string]any{"email": "bob@example.com", "username": "bob"})
	p := problem(t, e.patchUser(t, id, "application/json", map[string]any{"email": "BOB@example.com"}), 409, "email_taken")
	if fieldCodes(p)["email"] == "" {
		t.Errorf("errors %v", p["errors"])
	}
	problem(t, e.patchUser(t, id, "application/merge-patch+json", `{"username":"Bob"}`), 409, "username_taken")
}

func TestPreconditions(t *testing.T) {
	e := newEnv(t)
	id, _ := newAlice(t, e)
	problem(t, e.patchUser(t, id, "application/json", map[string]any{"name": "X"}, "If-Match", `"7"`), 412, "precondition_failed")
	problem(t, e.patchUser(t, id, "application/json", map[string]any{"name": "X"}, "If-Match", `W/"1"`), 412, "precondition_failed")
	r := e.patchUser(t, id, "application/json", map[string]any{"name": "X"}, "If-Match", `"1"`)
	if r.status != 200 || r.header.Get("ETag") != `"2"` {
		t.Fatalf("If-Match current: %d %s", r.status, r.header.Get("ETag"))
	}
	e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + id, body: map[string]any{"name": "Y"}, headers: []string{"If-Match", "*"}})

	e.must(t, 200, req{method: "PATCH", path: "/v1/tenants/" + e.tenant, token: e.platform, body: map[string]any{"settings": map[string]any{"require_if_match": true}}})
	problem(t, e.patchUser(t, id, "application/json", map[string]any{"name": "Z"}), 428, "precondition_required")
	problem(t, e.do(t, req{method: "PUT", path: "/v1/users/" + id, body: map[string]any{"email": "a@example.com"}}), 428, "precondition_required")
	e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + id, body: map[string]any{"name": "Z"}, headers: []string{"If-Match", `"3"`}})
}

func TestDryRun(t *testing.T) {
	e := newEnv(t)
	id, _ := newAlice(t, e)
	r := e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + id + "?dry_run=true", body: map[string]any{"name": "Dry"}})
	if r.header.Get("Roster-Dry-Run") != "true" || r.json(t)["name"] != "Dry" || r.json(t)["version"] != json.Number("2") {
		t.Errorf("dry run answered %v %s", r.header, r.body)
	}
	if u := e.getUser(t, id); u["name"] != "Alice" || u["version"] != json.Number("1") {
		t.Errorf("dry run wrote: %v", u)
	}
	problem(t, e.do(t, req{method: "PATCH", path: "/v1/users/" + id + "?dry_run=true", body: map[string]any{"country": "XX"}}), 422, "validation_failed")
	problem(t, e.do(t, req{method: "PATCH", path: "/v1/users/" + id + "?dry_run=maybe", body: map[string]any{"name": "X"}}), 400, "invalid_request")
	c := e.must(t, 200, req{method: "POST", path: "/v1/users?dry_run=true", body: map[string]any{"username": "ghost"}})
	if c.header.Get("Roster-Dry-Run") != "true" {
		t.Errorf("create dry run header missing")
	}
	if l := e.must(t, 200, req{method: "GET", path: "/v1/users?username=ghost"}).json(t)["data"].([]any); len(l) != 0 {
		t.Errorf("dry-run create wrote a user")
	}
	if n := len(e.history(t, id)); n != 1 {
		t.Errorf("%d audit entries after dry runs, want 1", n)
	}
}

func TestHistory(t *testing.T) {
	e := newEnv(t)
	id, _ := newAlice(t, e)
	r := e.patchUser(t, id, "application/json", map[string]any{"name": "Alice B", "secure_metadata": map[string]any{"ssn": "999-99-9999"}})
	reqID := r.header.Get("X-Request-Id")
	e.patchUser(t, id, "application/json", map[string]any{"bio": "hi"})
	h := e.history(t, id)
	if len(h) != 3 {
		t.Fatalf("%d entries, want 3", len(h))
	}
	newest, middle := h[0].(map[string]any), h[1].(map[string]any)
	if newest["action"] != "user.updated" || h[2].(map[string]any)["action"] != "user.created" {
		t.Errorf("actions %v, %v", newest["action"], h[2].(map[string]any)["action"])
	}
	if middle["request_id"] != reqID {
		t.Errorf("request_id %v, want %s", middle["request_id"], reqID)
	}
	ch := middle["changes"].(map[string]any)
	if n := ch["name"].(map[string]any); n["from"] != "Alice" || n["to"] != "Alice B" {
		t.Errorf("name change %v", n)
	}
	if len(ch) != 2 {
		t.Errorf("changes %v, want name and secure_metadata", ch)
	}
	actor := middle["actor"].(map[string]any)
	if !strings.HasPrefix(actor["key_id"].(string), "key_") || actor["acting_user_id"] != nil {
		t.Errorf("actor %v", actor)
	}
	all := e.must(t, 200, req{method: "GET", path: "/v1/users/" + id + "/history"})
	for _, secret := range []string{"999-99-9999", "123-45-6789", "0000"} {
		if strings.Contains(string(all.body), secret) {
			t.Errorf("history shows secure value %q", secret)
		}
	}
	// Paging.
	p1 := e.must(t, 200, req{method: "GET", path: "/v1/users/" + id + "/history?limit=2"}).json(t)
	p2 := e.must(t, 200, req{method: "GET", path: "/v1/users/" + id + "/history?limit=2&cursor=" + p1["next_cursor"].(string)}).json(t)
	if len(p1["data"].([]any)) != 2 || len(p2["data"].([]any)) != 1 || p2["has_more"] != false {
		t.Errorf("pages %v / %v", p1, p2)
	}
}

func TestConcurrentIncrementsLoseNothing(t *testing.T) {
	e := newEnv(t)
	id := e.createUser(t, map[string]any{"username": "counter", "metadata": map[string]any{"n": 0}})["id"].(string)
	const workers, perWorker = 8, 10
	var wg sync.WaitGroup
	var conflicts atomic.Int64
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for done := 0; done < perWorker; {
				r := e.must(t, 200, req{method: "GET", path: "/v1/users/" + id})
				n, _ := r.json(t)["metadata"].(map[string]any)["n"].(json.Number).Int64()
				w := e.patchUser(t, id, "application/merge-patch+json", fmt.Sprintf(`{"metadata":{"n":%d}}`, n+1), "If-Match", r.header.Get("ETag"))
				switch w.status {
				case 200:
					done++
				case 412:
					conflicts.Add(1)
				default:
					t.Errorf("status %d: %s", w.status, w.body)
					return
				}
			}
		}()
	}
	wg.Wait()
	u := e.getUser(t, id)
	if n := u["metadata"].(map[string]any)["n"]; n != json.Number(fmt.Sprint(workers*perWorker)) {
		t.Errorf("n = %v, want %d (lost updates)", n, workers*perWorker)
	}
	if v := u["version"]; v != json.Number(fmt.Sprint(workers*perWorker+1)) {
		t.Errorf("version %v", v)
	}
	t.Logf("%d precondition failures retried", conflicts.Load())
}

func TestConcurrentEmailClaims(t *testing.T) {
	e := newEnv(t)
	const n = 12
	ids := make([]string, n)
	for i := range ids {
		ids[i] = e.createUser(t, map[string]any{"username": fmt.Sprintf("racer%d", i)})["id"].(string)
	}
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.patchUser(t, ids[i], "application/json", map[string]any{"email": "prize@example.com"}).status
		}()
	}
	wg.Wait()
	won, lost := 0, 0
	for _, s := range statuses {
		switch s {
		case 200:
			won++
		case 409:
			lost++
		}
	}
	if won != 1 || lost != n-1 {
		t.Errorf("%d won, %d got 409, statuses %v; want exactly one winner", won, lost, statuses)
	}
	if l := e.must(t, 200, req{method: "GET", path: "/v1/users?email=prize@example.com"}).json(t)["data"].([]any); len(l) != 1 {
		t.Errorf("%d users hold the email", len(l))
	}
}

func TestPatchBodyEdgeCases(t *testing.T) {
	e := newEnv(t)
	id, _ := newAlice(t, e)
	// No body and no Content-Type: a no-op.
	r := e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + id})
	if r.json(t)["version"] != json.Number("1") {
		t.Errorf("bodiless PATCH changed the user")
	}
	for _, ct := range []string{"application/json", "application/merge-patch+json", "application/json-patch+json"} {
		problem(t, e.patchUser(t, id, ct, `null`), 400, "invalid_request")
	}
	r = e.do(t, req{method: "PATCH", path: "/v1/users/" + id, body: `{"name":"x"}`, headers: []string{"Content-Encoding", "gzip"}})
	problem(t, r, 415, "unsupported_media_type")
	if r.header.Get("Accept-Patch") == "" {
		t.Errorf("415 on PATCH without Accept-Patch")
	}
	p := problem(t, e.do(t, req{method: "POST", path: "/v1/tenants", token: e.platform, body: map[string]any{"name": "T", "owner_email": "nope"}}), 422, "validation_failed")
	if got := fieldCodes(p); got["owner_email"] != "invalid_email" || len(got) != 1 {
		t.Errorf("errors %v, want owner_email only", p["errors"])
	}
}
