package httpapi_test

// Scopes mean what they say: a key without users:read
// reads no user through any route, its own writes and their refusals
// included.

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestWriteOnlyKeyReadsNoUser calls every write route of routes.go, for
// real and as a dry run, on a user with recognizable values, with a
// users:write key and with a read_write key. The first never gets the
// user's email, username or name, in a body or a header; the second gets
// the user wherever the route answers one.
func TestWriteOnlyKeyReadsNoUser(t *testing.T) {
	e := newEnv(t)
	keys := map[string]string{"users:write": e.keyWith("users:write"), "read_write": e.keyWith("read_write")}
	n := 0
	// marked makes a user whose values this test recognizes, in the state
	// the route needs, and returns its id and values.
	marked := func(t *testing.T, state string) (id string, values []string) {
		n++
		email, username, name := fmt.Sprintf("marker%d@example.com", n), fmt.Sprintf("marker%d", n), fmt.Sprintf("Marker Name %d", n)
		id = e.createUser(t, map[string]any{"email": email, "username": username, "name": name})["id"].(string)
		switch state {
		case "deleting":
			e.must(t, 202, req{method: "DELETE", path: "/v1/users/" + id})
		case "deactivated":
			e.must(t, 200, req{method: "POST", path: "/v1/users/" + id + "/deactivate"})
		}
		return id, []string{email, username, name}
	}
	type call struct {
		state string // the user's state before the call: "", "deleting", "deactivated"
		body  func(n int) any
		// reader is the status a key with users:read gets; blind the one a
		// key without it gets, real and dry.
		reader, blind, dryReader, dryBlind int
		representation                     bool // whether a reader gets the user
	}
	calls := map[string][]call{
		"POST /v1/users": {{body: func(n int) any {
			return map[string]any{"email": fmt.Sprintf("new%d@example.com", n), "username": fmt.Sprintf("newuser%d", n), "name": fmt.Sprintf("New Name %d", n)}
		}, reader: 201, blind: 201, dryReader: 200, dryBlind: 204, representation: true}},
		"PATCH /v1/users/{id}": {
			{body: func(int) any { return map[string]any{} }, reader: 200, blind: 204, dryReader: 200, dryBlind: 204, representation: true},
			{body: func(int) any { return map[string]any{"bio": "changed"} }, reader: 200, blind: 204, dryReader: 200, dryBlind: 204, representation: true},
		},
		"PUT /v1/users/{id}": {{body: func(n int) any {
			return map[string]any{"email": fmt.Sprintf("put%d@example.com", n), "username": fmt.Sprintf("putuser%d", n), "name": fmt.Sprintf("Put Name %d", n)}
		}, reader: 200, blind: 204, dryReader: 200, dryBlind: 204, representation: true}},
		"DELETE /v1/users/{id}":                   {{reader: 202, blind: 202, dryReader: 202, dryBlind: 202, representation: true}},
		"POST /v1/users/{id}/restore":             {{state: "deleting", reader: 200, blind: 204, dryReader: 200, dryBlind: 204, representation: true}, {reader: 200, blind: 204, dryReader: 200, dryBlind: 204, representation: true}},
		"POST /v1/users/{id}/deactivate":          {{reader: 200, blind: 204, dryReader: 200, dryBlind: 204, representation: true}},
		"POST /v1/users/{id}/reactivate":          {{state: "deactivated", reader: 200, blind: 204, dryReader: 200, dryBlind: 204, representation: true}, {reader: 200, blind: 204, dryReader: 200, dryBlind: 204, representation: true}},
		"POST /v1/users/{id}/suspensions":         {{body: func(int) any { return map[string]any{"reason": "abuse"} }, reader: 201, blind: 201, dryReader: 200, dryBlind: 200}},
		"DELETE /v1/users/{id}/suspensions/{sid}": {{reader: 200, blind: 204, dryReader: 200, dryBlind: 204, representation: true}},
	}
	walked := 0
	for _, r := range servedRoutes(t) {
		if r.access != "write" {
			continue
		}
		cs, ok := calls[r.String()]
		if !ok {
			t.Errorf("%s is a write route this test does not call: teach it", r)
			continue
		}
		walked++
		for i, c := range cs {
			for _, dry := range []bool{false, true} {
				for keyName, token := range keys {
					t.Run(fmt.Sprintf("%s #%d dry=%v %s", r, i, dry, keyName), func(t *testing.T) {
						id, values := marked(t, c.state)
						path := strings.Replace(r.path, "{id}", id, 1)
						if strings.Contains(path, "{sid}") {
							sid := e.must(t, 201, req{method: "POST", path: "/v1/users/" + id + "/suspensions", body: map[string]any{"reason": "lifted"}}).json(t)["id"].(string)
							path = strings.Replace(path, "{sid}", sid, 1)
						}
						if dry {
							path += "?dry_run=true"
						}
						rq := req{method: r.method, path: path, token: token}
						if c.body != nil {
							body := c.body(n)
							rq.body = body
							if m, ok := body.(map[string]any); ok {
								for _, k := range []string{"email", "username", "name"} {
									if v, ok := m[k].(string); ok {
										values = append(values, v)
									}
								}
							}
						}
						got := e.do(t, rq)
						want := map[bool]map[bool]int{false: {false: c.reader, true: c.dryReader}, true: {false: c.blind, true: c.dryBlind}}[keyName == "users:write"][dry]
						if got.status != want {
							t.Fatalf("status %d, want %d; body %s", got.status, want, got.body)
						}
						if got.header.Get("ETag") == "" && got.status < 300 {
							t.Errorf("no ETag")
						}
						if keyName == "read_write" {
							if c.representation && !bytes.Contains(got.body, []byte(`"object":"user"`)) {
								t.Errorf("a key with users:read got no user: %s", got.body)
							}
							return
						}
						for _, v := range values {
							if bytes.Contains(got.body, []byte(v)) || bytes.Contains(headerBytes(got.header), []byte(v)) {
								t.Errorf("a users:write key got the user's %q: %s", v, got.body)
							}
						}
						if bytes.Contains(got.body, []byte(`"object":"user"`)) {
							t.Errorf("a users:write key got a user: %s", got.body)
						}
					})
				}
			}
		}
	}
	if walked != len(calls) {
		t.Fatalf("called %d write routes of routes.go, but the table has %d", walked, len(calls))
	}
}

// TestWriteOnlyKeyCannotReadByAsking: a users:write key cannot make the
// answer to a write show, or depend on, what the user holds. JSON Patch
// (test, copy, move) is refused, so is a read-only member whatever its
// value, and refusals name no stored value.
func TestWriteOnlyKeyCannotReadByAsking(t *testing.T) {
	e := newEnv(t)
	blind, reader := e.keyWith("users:write"), e.keyWith("read_write")
	id := e.createUser(t, map[string]any{"email": "hidden@example.com", "username": "hidden", "name": "Hidden Name"})["id"].(string)
	secret := []string{"hidden@example.com", "hidden", "Hidden Name"}
	noneOf := func(t *testing.T, r *response) {
		t.Helper()
		for _, v := range secret {
			if bytes.Contains(r.body, []byte(v)) {
				t.Errorf("the answer shows %q: %s", v, r.body)
			}
		}
	}
	users := "/v1/users/" + id
	copyEmail := []map[string]any{{"op": "copy", "from": "/email", "path": "/roles/-"}}
	for name, patch := range map[string]any{
		// A copy into roles would come back quoted in the 422.
		"copy into roles": copyEmail,
		"move into roles": []map[string]any{{"op": "move", "from": "/name", "path": "/roles/-"}},
		"test":            []map[string]any{{"op": "test", "path": "/email", "value": "hidden@example.com"}},
		"replace":         []map[string]any{{"op": "replace", "path": "/bio", "value": "x"}},
		"empty":           []map[string]any{},
	} {
		t.Run("JSON Patch "+name, func(t *testing.T) {
			for _, dry := range []string{"", "?dry_run=true"} {
				r := e.do(t, req{method: "PATCH", path: users + dry, token: blind, ctype: "application/json-patch+json", body: patch})
				p := problem(t, r, http.StatusForbidden, "insufficient_scope")
				if !strings.Contains(p["detail"].(string), "users:read") {
					t.Errorf("detail %q does not name users:read", p["detail"])
				}
				noneOf(t, r)
			}
		})
	}
	for _, body := range []map[string]any{
		{"is_owner": false}, {"status": "active"}, {"version": 1}, {"id": id},
		{"is_owner": true, "status": "deleting", "bio": "x"},
	} {
		t.Run(fmt.Sprint("read-only ", body), func(t *testing.T) {
			for _, method := range []string{"PATCH", "PUT"} {
				rq := req{method: method, path: users + "?dry_run=true", token: blind, body: body}
				r := e.do(t, rq)
				p := problem(t, r, http.StatusBadRequest, "read_only_field")
				for k := range body {
					if k != "bio" && fieldCodes(p)[k] != "read_only_field" {
						t.Errorf("%s: errors %v do not name %s", method, p["errors"], k)
					}
				}
				noneOf(t, r)
			}
		})
	}
	// A reader may send a read-only member with its current value (a GET
	// body sent back).
	e.must(t, 200, req{method: "PATCH", path: users, token: reader, body: map[string]any{"is_owner": false, "status": "active"}})
	// Refusals say why without showing the user.
	other := e.createUser(t, map[string]any{"email": "taken@example.com", "username": "taken", "name": "Taken Name"})["id"].(string)
	for _, rq := range []req{
		{method: "POST", path: "/v1/users", body: map[string]any{"email": "hidden@example.com"}},
		{method: "PATCH", path: "/v1/users/" + other, body: map[string]any{"username": "hidden"}},
		{method: "PATCH", path: users, body: map[string]any{"bio": "x"}, headers: []string{"If-Match", `"99"`}},
	} {
		rq.token = blind
		r := e.do(t, rq)
		if r.status < 400 {
			t.Fatalf("%s %s: %d %s", rq.method, rq.path, r.status, r.body)
		}
		noneOf(t, r)
		if bytes.Contains(r.body, []byte(id)) && rq.method == "POST" {
			t.Errorf("the 409 names the other user: %s", r.body)
		}
	}
	e.must(t, 202, req{method: "DELETE", path: users, token: blind})
	r := e.do(t, req{method: "PATCH", path: users, token: blind, body: map[string]any{"bio": "x"}})
	problem(t, r, http.StatusConflict, "user_deleting")
	noneOf(t, r)
	// Writes that merge into what is stored are still a blind key's to make.
	e.must(t, 200, req{method: "POST", path: users + "/restore", token: reader})
	if r := e.must(t, 204, req{method: "PATCH", path: users, token: blind, ctype: "application/merge-patch+json", body: map[string]any{"metadata": map[string]any{"k": "v"}}}); len(r.body) != 0 {
		t.Errorf("a 204 with a body: %s", r.body)
	}
	if got := e.getUser(t, id)["metadata"]; !equalJSON(got, `{"k":"v"}`) {
		t.Errorf("metadata %v after the merge patch", got)
	}
}
