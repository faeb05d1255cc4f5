package scim_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/roster-dev/roster/internal/directory"
)

// memberIDs returns the ids of a group's members.
func memberIDs(t *testing.T, g map[string]any) []string {
	t.Helper()
	var out []string
	ms, _ := g["members"].([]any)
	for _, m := range ms {
		out = append(out, at(m, "value").(string))
	}
	slices.Sort(out)
	return out
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// TestGroupPush replays Okta's group push (create the group with members,
// then PATCH members in and out, by a value array and by a filtered path)
// and Entra ID's member operations ({"$ref": null, "value": …}, capitalized
// ops), and checks that each is an ordinary, audited write of the users'
// roles that /v1 reads back.
func TestGroupPush(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for _, n := range []string{"a", "b", "c"} {
		u := e.do(t, rq{method: "POST", path: "/scim/v2/Users", body: map[string]any{"userName": n + "@example.com"}}).want(t, http.StatusCreated).json(t)
		ids = append(ids, u["id"].(string))
	}
	a, b, c := ids[0], ids[1], ids[2]

	// Okta: does the group exist? Then create it with a member.
	g := e.do(t, rq{method: "GET", path: "/scim/v2/Groups?filter=" + url.QueryEscape(`displayName eq "engineering"`)}).want(t, http.StatusOK).json(t)
	if total(t, g) != 0 {
		t.Fatalf("group before creation: %v", g)
	}
	writer := e.keyWith(t, directory.ScopeUsersRead, directory.ScopeUsersWrite)
	e.do(t, rq{method: "POST", path: "/scim/v2/Groups", token: writer, body: map[string]any{"displayName": "engineering"}}).wantError(t, http.StatusForbidden, "")
	r := e.do(t, rq{method: "POST", path: "/scim/v2/Groups", body: map[string]any{
		"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "engineering",
		"members": []any{map[string]any{"value": a, "display": "a@example.com"}}}}).want(t, http.StatusCreated)
	g = r.json(t)
	if g["id"] != "engineering" || r.header.Get("Location") != e.srv.URL+"/scim/v2/Groups/engineering" || !slices.Equal(memberIDs(t, g), []string{a}) {
		t.Errorf("created group: %s (Location %s)", r.body, r.header.Get("Location"))
	}
	e.do(t, rq{method: "POST", path: "/scim/v2/Groups", body: map[string]any{"displayName": "engineering"}}).wantError(t, http.StatusConflict, "uniqueness")
	e.do(t, rq{method: "POST", path: "/scim/v2/Groups", body: map[string]any{"displayName": "Not A Role!"}}).wantError(t, http.StatusBadRequest, "invalidValue")

	// Okta: add members by a value array, remove one by a filtered path.
	g = e.do(t, rq{method: "PATCH", path: "/scim/v2/Groups/engineering", token: writer, body: patchOp(
		map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": b}, map[string]any{"value": c}}})}).want(t, http.StatusOK).json(t)
	if got := memberIDs(t, g); !slices.Equal(got, sorted(a, b, c)) {
		t.Errorf("after add: %v", got)
	}
	g = e.do(t, rq{method: "PATCH", path: "/scim/v2/Groups/engineering", token: writer, body: patchOp(
		map[string]any{"op": "remove", "path": `members[value eq "` + a + `"]`})}).want(t, http.StatusOK).json(t)
	if got := memberIDs(t, g); !slices.Equal(got, sorted(b, c)) {
		t.Errorf("after filtered remove: %v", got)
	}
	// Entra: {"$ref": null, "value": …}, capitalized ops, removal by value.
	g = e.do(t, rq{method: "PATCH", path: "/scim/v2/Groups/engineering", body: patchOp(
		map[string]any{"op": "Add", "path": "members", "value": []any{map[string]any{"$ref": nil, "value": a}}},
		map[string]any{"op": "Remove", "path": "members", "value": []any{map[string]any{"$ref": nil, "value": b}}})}).want(t, http.StatusOK).json(t)
	if got := memberIDs(t, g); !slices.Equal(got, sorted(a, c)) {
		t.Errorf("after Entra ops: %v", got)
	}
	// A member that is no user changes nothing.
	e.do(t, rq{method: "PATCH", path: "/scim/v2/Groups/engineering", body: patchOp(
		map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": "usr_01M8XKS2E57BFDYQAJSAEZWW45"}}})}).wantError(t, http.StatusBadRequest, "invalidValue")
	e.do(t, rq{method: "PATCH", path: "/scim/v2/Groups/engineering", body: patchOp(
		map[string]any{"op": "replace", "path": "displayName", "value": "eng"})}).wantError(t, http.StatusBadRequest, "mutability")

	// /v1 reads the roles; each grant was an audited update with its event.
	v1 := e.do(t, rq{method: "GET", path: "/v1/users/" + a}).want(t, http.StatusOK).json(t)
	if roles := v1["roles"].([]any); !slices.Contains(roles, any("engineering")) {
		t.Errorf("/v1 roles of a: %v", roles)
	}
	audit, err := e.store.ListAudit(context.Background(), e.tenant, b, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 3 || audit[0].Action != directory.EventUserUpdated { // created, granted, taken away
		t.Errorf("audit of b: %d entries", len(audit))
	}
	ge := e.do(t, rq{method: "GET", path: "/scim/v2/Groups/engineering?excludedAttributes=members"}).want(t, http.StatusOK).json(t)
	if _, ok := ge["members"]; ok {
		t.Errorf("excludedAttributes=members: %v", ge)
	}

	// PUT replaces the members; DELETE takes the role away and drops it.
	g = e.do(t, rq{method: "PUT", path: "/scim/v2/Groups/engineering", body: map[string]any{"displayName": "engineering",
		"members": []any{map[string]any{"value": b}}}}).want(t, http.StatusOK).json(t)
	if got := memberIDs(t, g); !slices.Equal(got, []string{b}) {
		t.Errorf("after PUT: %v", got)
	}
	e.do(t, rq{method: "DELETE", path: "/scim/v2/Groups/engineering", token: writer}).wantError(t, http.StatusForbidden, "")
	e.do(t, rq{method: "DELETE", path: "/scim/v2/Groups/engineering"}).want(t, http.StatusNoContent)
	e.do(t, rq{method: "GET", path: "/scim/v2/Groups/engineering"}).wantError(t, http.StatusNotFound, "")
	roles := e.do(t, rq{method: "GET", path: "/v1/roles"}).want(t, http.StatusOK).json(t)
	if slices.Contains(roles["roles"].([]any), any("engineering")) {
		t.Errorf("catalog after DELETE: %v", roles)
	}
	v1 = e.do(t, rq{method: "GET", path: "/v1/users/" + b}).want(t, http.StatusOK).json(t)
	if slices.Contains(v1["roles"].([]any), any("engineering")) {
		t.Errorf("b still holds the deleted group's role: %v", v1["roles"])
	}
	// The default catalog's roles are groups too: the three users got
	// member when created.
	all := e.do(t, rq{method: "GET", path: "/scim/v2/Groups?filter=" + url.QueryEscape(`displayName eq "member"`)}).want(t, http.StatusOK).json(t)
	if total(t, all) != 1 || !slices.Equal(memberIDs(t, at(all, "Resources.0").(map[string]any)), sorted(a, b, c)) {
		t.Errorf("group member: %v", all)
	}
	e.do(t, rq{method: "GET", path: "/scim/v2/Groups?filter=" + url.QueryEscape(`members.value eq "x"`)}).wantError(t, http.StatusBadRequest, "invalidFilter")
}
