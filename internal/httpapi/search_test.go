package httpapi_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// searchIDs lists the IDs GET /v1/users answers for a query string.
func (e *env) searchIDs(t *testing.T, query string) ([]string, string) {
	t.Helper()
	page := e.must(t, 200, req{method: "GET", path: "/v1/users?" + query}).json(t)
	ids := []string{}
	for _, u := range page["data"].([]any) {
		ids = append(ids, u.(map[string]any)["id"].(string))
	}
	next, _ := page["next_cursor"].(string)
	return ids, next
}

func TestSearchUsers(t *testing.T) {
	e := newEnv(t)
	id := func(body map[string]any) string { return e.createUser(t, body)["id"].(string) }
	alice := id(map[string]any{"email": "Alice.Liddell@Example.com", "name": "Alice Liddell", "given_name": "Alice", "family_name": "Liddell"})
	ali := id(map[string]any{"username": "ali_baba", "name": "Ali Baba"})
	elodie := id(map[string]any{"username": "elodie", "name": "Élodie Straße"})
	bob := id(map[string]any{"email": "bob@example.com", "family_name": "Alister"})

	for _, c := range []struct {
		q    string
		want []string
	}{
		{"ali", []string{bob, ali, alice}},   // family name, name, email and given name
		{"ALICE", []string{alice}},           // case-insensitive
		{"alice.l", []string{alice}},         // the email's prefix
		{"liddell", []string{alice}},         // the family name
		{"ali_", []string{ali}},              // the username; "_" is no wildcard
		{"élodie s", []string{elodie}},       // the name, with its space
		{"ÉLODIE STRASSE", []string{elodie}}, // full case folding: ß is ss
		{"odie", []string{}},                 // a prefix, not a substring
		{"zzz", []string{}},
	} {
		if got, _ := e.searchIDs(t, "q="+url.QueryEscape(c.q)); !slices.Equal(got, c.want) {
			t.Errorf("q=%q: %v, want %v", c.q, got, c.want)
		}
	}

	// Combined with a filter, and paged with the cursor.
	e.must(t, 200, req{method: "POST", path: "/v1/users/" + ali + "/deactivate"})
	if got, _ := e.searchIDs(t, "q=ali&status=active"); !slices.Equal(got, []string{bob, alice}) {
		t.Errorf("q=ali&status=active: %v", got)
	}
	first, cursor := e.searchIDs(t, "q=ali&limit=2")
	rest, _ := e.searchIDs(t, "q=ali&limit=2&cursor="+url.QueryEscape(cursor))
	if got := append(first, rest...); !slices.Equal(got, []string{bob, ali, alice}) {
		t.Errorf("paged: %v then %v", first, rest)
	}

	// A write moves the user's terms with its fields.
	e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + alice, body: map[string]any{"name": "Mary Ann", "given_name": nil}})
	if got, _ := e.searchIDs(t, "q=mary"); !slices.Equal(got, []string{alice}) {
		t.Errorf("q=mary after the rename: %v", got)
	}
	if got, _ := e.searchIDs(t, "q=alice"); !slices.Equal(got, []string{alice}) {
		t.Errorf("q=alice after the rename: %v, want the email only", got) // the email still starts with alice
	}
	e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + alice, body: map[string]any{"email": "mary@example.com"}})
	if got, _ := e.searchIDs(t, "q=alice"); len(got) != 0 {
		t.Errorf("q=alice once no field starts with it: %v", got)
	}
	// A dry run changes nothing.
	e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + bob + "?dry_run=true", body: map[string]any{"name": "Dry"}})
	if got, _ := e.searchIDs(t, "q=dry"); len(got) != 0 {
		t.Errorf("a dry run's name is found: %v", got)
	}

	r := e.do(t, req{method: "GET", path: "/v1/users?q=" + strings.Repeat("a", 255)})
	problem(t, r, 400, "invalid_request")
}
