package httpapi_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The tests of this file hold the write path to what a hostile caller
// tried against it: self-verified emails, secure_metadata as a size oracle,
// dry runs that skip checks, and concurrent writes refused instead of
// serialized (deadline_test.go: writes that commit after their caller was
// given up on).

// TestActingUserCannotVerifyANewEmail: an email changed by an acting user
// is unverified, whatever the body says, in every write format; only a key
// acting as itself keeps email_verified true with a new email.
func TestActingUserCannotVerifyANewEmail(t *testing.T) {
	e := newEnv(t)
	id, _ := newAlice(t, e) // email_verified: true
	verify := func() {
		t.Helper()
		e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + id, body: map[string]any{"email_verified": true}})
	}
	asAlice := []string{"X-Acting-User", id}
	n := 0
	next := func() string { n++; return fmt.Sprintf("alice%d@example.com", n) }
	for _, tc := range []struct {
		name string
		send func(email string) *response
	}{
		{"json", func(email string) *response {
			return e.patchUser(t, id, "application/json", map[string]any{"email": email, "email_verified": true}, asAlice...)
		}},
		{"json without email_verified", func(email string) *response {
			return e.patchUser(t, id, "application/json", map[string]any{"email": email}, asAlice...)
		}},
		{"merge patch", func(email string) *response {
			return e.patchUser(t, id, "application/merge-patch+json", map[string]any{"email": email, "email_verified": true}, asAlice...)
		}},
		{"json patch", func(email string) *response {
			return e.patchUser(t, id, "application/json-patch+json", []any{
				map[string]any{"op": "replace", "path": "/email", "value": email},
				map[string]any{"op": "replace", "path": "/email_verified", "value": true},
			}, asAlice...)
		}},
		{"put of a GET body", func(email string) *response {
			u := e.getUser(t, id)
			u["email"] = email // email_verified stays true in the body, as read
			return e.do(t, req{method: "PUT", path: "/v1/users/" + id, body: u, headers: asAlice})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			verify()
			email := next()
			r := tc.send(email)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			u := r.json(t)
			if u["email"] != email || u["email_verified"] != false {
				t.Errorf("email %v, email_verified %v; want %s unverified", u["email"], u["email_verified"], email)
			}
			if got := e.getUser(t, id)["email_verified"]; got != false {
				t.Errorf("stored email_verified %v", got)
			}
			change := e.history(t, id)[0].(map[string]any)["changes"].(map[string]any)["email_verified"]
			if !equalJSON(change, `{"from":true,"to":false}`) {
				t.Errorf("history shows email_verified change %v, want true → false", change)
			}
		})
	}
	t.Run("key acting as itself", func(t *testing.T) {
		verify()
		email := next()
		u := e.patchUser(t, id, "application/json", map[string]any{"email": email, "email_verified": true}).json(t)
		if u["email"] != email || u["email_verified"] != true {
			t.Errorf("a key's verified email change: %v %v", u["email"], u["email_verified"])
		}
	})
}

// TestSecureMetadataSizeIsNoOracle: no answer may depend on which keys
// secure_metadata holds or how long their values are. Two users, one whose
// secure_metadata is nearly full and one whose is empty, must answer every
// probe alike, dry run or not.
func TestSecureMetadataSizeIsNoOracle(t *testing.T) {
	e := newEnv(t)
	full := e.createUser(t, map[string]any{"username": "full", "secure_metadata": map[string]any{"k": strings.Repeat("s", 8000)}})["id"].(string)
	empty := e.createUser(t, map[string]any{"username": "empty"})["id"].(string)
	answer := func(id, ctype string, body any, dry bool) string {
		path := "/v1/users/" + id
		if dry {
			path += "?dry_run=true"
		}
		r := e.do(t, req{method: "PATCH", path: path, ctype: ctype, body: body})
		if r.status >= 300 {
			return fmt.Sprint(r.status, " ", r.json(t)["code"])
		}
		return fmt.Sprint(r.status)
	}
	kib := strings.Repeat("x", 1024)
	probes := []struct {
		name, ctype string
		body        any
	}{
		{"merge a new key", "application/merge-patch+json", map[string]any{"secure_metadata": map[string]any{"new": kib}}},
		{"merge over an existing key", "application/merge-patch+json", map[string]any{"secure_metadata": map[string]any{"k": kib}}},
		{"merge a deletion", "application/merge-patch+json", map[string]any{"secure_metadata": map[string]any{"k": nil, "new": kib}}},
		{"json patch add of a member", "application/json-patch+json", []any{map[string]any{"op": "add", "path": "/secure_metadata/new", "value": kib}}},
		{"json patch add whole", "application/json-patch+json", []any{map[string]any{"op": "add", "path": "/secure_metadata", "value": map[string]any{"a": kib}}}},
		{"replace whole, small", "application/json", map[string]any{"secure_metadata": map[string]any{"a": kib}}},
		{"replace whole, too large", "application/json", map[string]any{"secure_metadata": map[string]any{"a": strings.Repeat("x", 9000)}}},
		{"merge patch clear", "application/merge-patch+json", map[string]any{"secure_metadata": nil}},
	}
	for _, dry := range []bool{true, false} {
		for _, p := range probes {
			t.Run(fmt.Sprintf("%s dry=%v", p.name, dry), func(t *testing.T) {
				if a, b := answer(full, p.ctype, p.body, dry), answer(empty, p.ctype, p.body, dry); a != b {
					t.Errorf("a full secure_metadata answers %q, an empty one %q", a, b)
				}
			})
			if !dry {
				// Put both back as they were, so every probe meets the
				// same stored states.
				e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + full, body: map[string]any{"secure_metadata": map[string]any{"k": strings.Repeat("s", 8000)}}})
				e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + empty, body: map[string]any{"secure_metadata": map[string]any{}}})
			}
		}
	}
}

// TestDryRunRunsEveryCheck: a dry run answers what the real write would
// answer, the checks made inside the transaction included.
func TestDryRunRunsEveryCheck(t *testing.T) {
	t.Run("uniqueness", func(t *testing.T) {
		e := newEnv(t)
		id, _ := newAlice(t, e)
		other := e.createUser(t, map[string]any{"email": "bob@example.com", "username": "bob"})["id"].(string)
		for _, tc := range []struct {
			rq   req
			code string
		}{
			{req{method: "POST", path: "/v1/users?dry_run=true", body: map[string]any{"email": "ALICE@example.com"}}, "email_taken"},
			{req{method: "POST", path: "/v1/users?dry_run=true", body: map[string]any{"username": "alice"}}, "username_taken"},
			{req{method: "PATCH", path: "/v1/users/" + other + "?dry_run=true", body: map[string]any{"email": "alice@example.com"}}, "email_taken"},
			{req{method: "PATCH", path: "/v1/users/" + other + "?dry_run=true", ctype: "application/merge-patch+json", body: map[string]any{"username": "Alice"}}, "username_taken"},
			{req{method: "PUT", path: "/v1/users/" + other + "?dry_run=true", body: map[string]any{"username": "alice"}}, "username_taken"},
		} {
			problem(t, e.do(t, tc.rq), 409, tc.code)
		}
		if got := e.getUser(t, other); got["version"] != json.Number("1") {
			t.Errorf("a dry run wrote: %v", got)
		}
		if got := e.getUser(t, id); got["version"] != json.Number("1") {
			t.Errorf("a dry run wrote: %v", got)
		}
	})
	t.Run("writes quota", func(t *testing.T) {
		plan := generous
		plan.WritesPerPeriod = 2
		e := newEnvWith(t, envOptions{plan: &plan})
		id := e.createUser(t, map[string]any{"username": "quota"})["id"].(string) // write 1
		// A dry run under the quota counts nothing.
		e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + id + "?dry_run=true", body: map[string]any{"name": "A"}})
		e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + id, body: map[string]any{"name": "A"}}) // write 2
		for _, rq := range []req{
			{method: "PATCH", path: "/v1/users/" + id + "?dry_run=true", body: map[string]any{"name": "B"}},
			{method: "PUT", path: "/v1/users/" + id + "?dry_run=true", body: map[string]any{"username": "quota", "name": "B"}},
			{method: "POST", path: "/v1/users?dry_run=true", body: map[string]any{"username": "more"}},
			{method: "POST", path: "/v1/users/" + id + "/deactivate?dry_run=true"},
			{method: "POST", path: "/v1/users/" + id + "/suspensions?dry_run=true", body: map[string]any{"reason": "r"}},
			{method: "DELETE", path: "/v1/users/" + id + "?dry_run=true"},
		} {
			problem(t, e.do(t, rq), 429, "quota_exceeded")
		}
		if u := e.getUser(t, id); u["name"] != "A" || u["status"] != "active" {
			t.Errorf("a dry run wrote: %v", u)
		}
	})
	t.Run("active users", func(t *testing.T) {
		plan := generous
		plan.MaxActiveUsers = 2 // the owner and one more
		e := newEnvWith(t, envOptions{plan: &plan})
		seat := e.createUser(t, map[string]any{"username": "seat"})["id"].(string)
		problem(t, e.do(t, req{method: "POST", path: "/v1/users?dry_run=true", body: map[string]any{"username": "more"}}), 429, "quota_exceeded")
		// The seat freed by a deactivation is taken: reactivating is over
		// the quota.
		e.must(t, 200, req{method: "POST", path: "/v1/users/" + seat + "/deactivate"})
		other := e.createUser(t, map[string]any{"username": "other"})["id"].(string)
		problem(t, e.do(t, req{method: "POST", path: "/v1/users/" + seat + "/reactivate?dry_run=true"}), 429, "quota_exceeded")
		// So is restoring a user whose seat was taken during its deletion.
		e.must(t, 202, req{method: "DELETE", path: "/v1/users/" + other})
		e.createUser(t, map[string]any{"username": "third"})
		problem(t, e.do(t, req{method: "POST", path: "/v1/users/" + other + "/restore?dry_run=true"}), 429, "quota_exceeded")
		if u := e.getUser(t, seat); u["status"] != "deactivated" {
			t.Errorf("a dry run reactivated: %v", u)
		}
	})
	t.Run("preconditions, policies and webhooks", func(t *testing.T) {
		e := newEnv(t)
		id, _ := newAlice(t, e)
		problem(t, e.do(t, req{method: "PATCH", path: "/v1/users/" + id + "?dry_run=true", body: map[string]any{"name": "X"}, headers: []string{"If-Match", `"9"`}}), 412, "precondition_failed")
		problem(t, e.do(t, req{method: "POST", path: "/v1/users/" + id + "/deactivate?dry_run=true", headers: []string{"If-Match", `"9"`}}), 412, "precondition_failed")
		problem(t, e.do(t, req{method: "PATCH", path: "/v1/users/" + id + "?dry_run=true", body: map[string]any{"roles": []string{"admin"}}, headers: []string{"X-Acting-User", id}}), 403, "forbidden")
		owner := e.must(t, 200, req{method: "GET", path: "/v1/users?email=owner@acme.test"}).json(t)["data"].([]any)[0].(map[string]any)["id"].(string)
		problem(t, e.do(t, req{method: "DELETE", path: "/v1/users/" + owner + "?dry_run=true"}), 409, "owner_protected")

		rc := newReceiver(t)
		rc.answer = func(map[string]any) (int, string) { return 200, `{"allow": false, "message": "no"}` }
		rc.register(e, map[string]any{"kind": "validation"})
		problem(t, e.do(t, req{method: "PATCH", path: "/v1/users/" + id + "?dry_run=true", body: map[string]any{"name": "X"}}), 422, "validation_rejected")
		problem(t, e.do(t, req{method: "POST", path: "/v1/users?dry_run=true", body: map[string]any{"username": "xavier"}}), 422, "validation_rejected")

		e.must(t, 200, req{method: "PATCH", path: "/v1/tenants/" + e.tenant, token: e.platform, body: map[string]any{"settings": map[string]any{"require_if_match": true}}})
		for _, rq := range []req{
			{method: "PATCH", path: "/v1/users/" + id + "?dry_run=true", body: map[string]any{"name": "X"}},
			{method: "PUT", path: "/v1/users/" + id + "?dry_run=true", body: map[string]any{"username": "alice"}},
			{method: "POST", path: "/v1/users/" + id + "/deactivate?dry_run=true"},
			{method: "DELETE", path: "/v1/users/" + id + "?dry_run=true"},
		} {
			problem(t, e.do(t, rq), 428, "precondition_required")
		}
	})
}

// TestConcurrentUnconditionalWritesAllSucceed: writes without If-Match to
// the same few users are serialized, never refused: every one is applied.
func TestConcurrentUnconditionalWritesAllSucceed(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for i := range 3 {
		ids = append(ids, e.createUser(t, map[string]any{"username": fmt.Sprintf("hot%d", i), "metadata": map[string]any{"log": []any{}}})["id"].(string))
	}
	const clients, perClient = 64, 3
	var wg sync.WaitGroup
	var mu sync.Mutex
	sent := map[string][]string{}
	for c := range clients {
		wg.Go(func() {
			for i := range perClient {
				id := ids[(c+i)%len(ids)]
				mark := fmt.Sprintf("c%d.%d", c, i)
				r := e.patchUser(t, id, "application/json-patch+json", []any{map[string]any{"op": "add", "path": "/metadata/log/-", "value": mark}})
				if r.status != 200 {
					t.Errorf("PATCH %s: %d %s", mark, r.status, r.body)
					continue
				}
				mu.Lock()
				sent[id] = append(sent[id], mark)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		u := e.getUser(t, id)
		var got []string
		for _, v := range u["metadata"].(map[string]any)["log"].([]any) {
			got = append(got, v.(string))
		}
		want := sent[id]
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("user %s holds %d marks, %d were acknowledged: %v vs %v", id, len(got), len(want), got, want)
		}
		if v := u["version"]; v != json.Number(fmt.Sprint(1+len(want))) {
			t.Errorf("user %s version %v, want %d", id, v, 1+len(want))
		}
	}
}

// TestMadeUpActingUserIsRefusedOnNoOps: whether a write would change
// anything is no answer to an X-Acting-User that names nobody, so a guess of
// a stored value cannot be confirmed through a no-op.
func TestMadeUpActingUserIsRefusedOnNoOps(t *testing.T) {
	e := newEnv(t)
	id, _ := newAlice(t, e)
	nobody := []string{"X-Acting-User", "usr_01ARZ3NDEKTSV4RRFFQ69G5FAV"}
	for _, guess := range []string{"alice@example.com", "wrong@example.com"} {
		r := e.do(t, req{method: "PATCH", path: "/v1/users/" + id + "?dry_run=true", body: map[string]any{"email": guess}, headers: nobody})
		if p := problem(t, r, 400, "invalid_request"); fieldCodes(p)["X-Acting-User"] == "" {
			t.Errorf("guess %s: errors %v, want X-Acting-User", guess, p["errors"])
		}
	}
	problem(t, e.do(t, req{method: "POST", path: "/v1/users/" + id + "/restore", headers: nobody}), 400, "invalid_request")
}
