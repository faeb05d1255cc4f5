package scim_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// TestEveryEmailKept checks that a user's emails are kept and returned as
// sent, that Roster's email is the primary one (else the work one, else the
// first), and that a change of Roster's email through /v1 shows in them.
func TestEveryEmailKept(t *testing.T) {
	e := newEnv(t)
	decode := func(s string) any {
		var v any
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	sent := decode(`[{"value": "fay@home.example", "type": "home", "display": "Home"},
		{"value": "Fay@Work.Example", "type": "work", "primary": true, "display": "Fay at work"},
		{"value": "fay@other.example", "type": "other", "primary": false}]`)
	u := e.do(t, rq{method: "POST", path: "/scim/v2/Users", body: map[string]any{"userName": "fay", "emails": sent}}).want(t, http.StatusCreated).json(t)
	id := u["id"].(string)
	if !reflect.DeepEqual(u["emails"], sent) {
		t.Errorf("emails returned %v, want as sent %v", u["emails"], sent)
	}
	email := func() any {
		t.Helper()
		return e.do(t, rq{method: "GET", path: "/v1/users/" + id}).want(t, http.StatusOK).json(t)["email"]
	}
	if got := email(); got != "Fay@work.example" {
		t.Errorf("Roster's email %v, want the primary one", got)
	}

	// Without a primary one, the work one; without either, the first.
	for _, c := range []struct{ emails, want string }{
		{`[{"value": "g@home.example", "type": "home"}, {"value": "g@work.example", "type": "work"}]`, "g@work.example"},
		{`[{"value": "h@home.example", "type": "home"}, {"value": "h@other.example"}]`, "h@home.example"},
	} {
		r := e.do(t, rq{method: "POST", path: "/scim/v2/Users", body: map[string]any{"userName": "user-" + c.want, "emails": decode(c.emails)}}).want(t, http.StatusCreated).json(t)
		v1 := e.do(t, rq{method: "GET", path: "/v1/users/" + r["id"].(string)}).want(t, http.StatusOK).json(t)
		if v1["email"] != c.want || !reflect.DeepEqual(r["emails"], decode(c.emails)) {
			t.Errorf("emails %s: Roster's email %v, returned %v", c.emails, v1["email"], r["emails"])
		}
	}

	// Filters compare Roster's email only.
	for f, want := range map[string]int{
		`emails.value eq "fay@work.example"`: 1, `emails.value eq "fay@home.example"`: 0,
		`emails[type eq "work"].value eq "FAY@WORK.EXAMPLE"`: 1, `emails[type eq "home"].value eq "fay@home.example"`: 0,
	} {
		if got := total(t, e.list(t, "filter="+url.QueryEscape(f))); got != want {
			t.Errorf("%s: %d users, want %d", f, got, want)
		}
	}

	// A PATCH adds an email by a filtered path; the others stay.
	u = e.do(t, rq{method: "PATCH", path: "/scim/v2/Users/" + id, body: patchOp(
		map[string]any{"op": "add", "path": `emails[type eq "school"].value`, "value": "fay@school.example"})}).want(t, http.StatusOK).json(t)
	if list, _ := u["emails"].([]any); len(list) != 4 || at(u, "emails.3.value") != "fay@school.example" || at(u, "emails.0.display") != "Home" {
		t.Errorf("after adding one: %v", u["emails"])
	}

	// A change of Roster's email through /v1 replaces the primary one's
	// value; with Roster's email cleared the user has none.
	e.do(t, rq{method: "PATCH", path: "/v1/users/" + id, body: map[string]any{"email": "fay@new.example"}, headers: []string{"Content-Type", "application/json"}}).want(t, http.StatusOK)
	u = e.do(t, rq{method: "GET", path: "/scim/v2/Users/" + id}).want(t, http.StatusOK).json(t)
	if at(u, "emails.1.value") != "fay@new.example" || at(u, "emails.1.display") != "Fay at work" || at(u, "emails.0.value") != "fay@home.example" {
		t.Errorf("after /v1 changed the email: %v", u["emails"])
	}
	e.do(t, rq{method: "PATCH", path: "/v1/users/" + id, body: map[string]any{"email": nil}, headers: []string{"Content-Type", "application/json"}}).want(t, http.StatusOK)
	u = e.do(t, rq{method: "GET", path: "/scim/v2/Users/" + id}).want(t, http.StatusOK).json(t)
	if _, ok := u["emails"]; ok {
		t.Errorf("after /v1 cleared the email: %v, want none", u["emails"])
	}
}
