package scim_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
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
	e.do(t, rq{method: "POST", path: "/scim/v2/Groups", body: map[string]any{"displayName": "  "}}).wantError(t, http.StatusBadRequest, "invalidValue")

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
		map[string]any{"op": "replace", "path": "externalId", "value": "eng"})}).wantError(t, http.StatusBadRequest, "mutability")

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

// TestGroupDisplayNames checks the mapping of a group's displayName, kept
// as sent, to the role key users hold, derived from it.
func TestGroupDisplayNames(t *testing.T) {
	e := newEnv(t)
	u := e.do(t, rq{method: "POST", path: "/scim/v2/Users", body: map[string]any{"userName": "a@example.com"}}).want(t, http.StatusCreated).json(t)
	a := u["id"].(string)

	// Okta and Entra look the group up by displayName, then create it.
	find := func(name string) map[string]any {
		t.Helper()
		return e.do(t, rq{method: "GET", path: "/scim/v2/Groups?filter=" + url.QueryEscape(`displayName eq "`+name+`"`)}).want(t, http.StatusOK).json(t)
	}
	if got := total(t, find("Engineering Team")); got != 0 {
		t.Fatalf("groups named Engineering Team before creation: %d", got)
	}
	r := e.do(t, rq{method: "POST", path: "/scim/v2/Groups", body: map[string]any{"displayName": "Engineering Team",
		"members": []any{map[string]any{"value": a}}}}).want(t, http.StatusCreated)
	g := r.json(t)
	if g["id"] != "engineering-team" || g["displayName"] != "Engineering Team" || r.header.Get("Location") != e.srv.URL+"/scim/v2/Groups/engineering-team" {
		t.Errorf("created group: %s (Location %s)", r.body, r.header.Get("Location"))
	}
	for _, name := range []string{"Engineering Team", "engineering team", "ENGINEERING TEAM"} {
		m := find(name)
		if total(t, m) != 1 || at(m, "Resources.0.id") != "engineering-team" || at(m, "Resources.0.displayName") != "Engineering Team" {
			t.Errorf("filter displayName eq %q: %v", name, m)
		}
	}
	// Unique case-insensitively; a name of the same key gets another key.
	e.do(t, rq{method: "POST", path: "/scim/v2/Groups", body: map[string]any{"displayName": "engineering TEAM"}}).wantError(t, http.StatusConflict, "uniqueness")
	e.do(t, rq{method: "POST", path: "/scim/v2/Groups", body: map[string]any{"displayName": "Member"}}).wantError(t, http.StatusConflict, "uniqueness")
	g2 := e.do(t, rq{method: "POST", path: "/scim/v2/Groups", body: map[string]any{"displayName": "Engineering-Team!"}}).want(t, http.StatusCreated).json(t)
	if g2["id"] != "engineering-team-2" || g2["displayName"] != "Engineering-Team!" {
		t.Errorf("second group: %v", g2)
	}
	sales := e.do(t, rq{method: "POST", path: "/scim/v2/Groups", body: map[string]any{"displayName": "Ventes Île-de-France"}}).want(t, http.StatusCreated).json(t)
	if sales["id"] != "ventes-ile-de-france" || sales["displayName"] != "Ventes Île-de-France" {
		t.Errorf("non-ASCII group: %v", sales)
	}

	// /v1 shows the keys.
	roles := e.do(t, rq{method: "GET", path: "/v1/roles"}).want(t, http.StatusOK).json(t)["roles"].([]any)
	if !slices.Contains(roles, any("engineering-team")) || !slices.Contains(roles, any("engineering-team-2")) {
		t.Errorf("/v1/roles: %v", roles)
	}
	v1 := e.do(t, rq{method: "GET", path: "/v1/users/" + a}).want(t, http.StatusOK).json(t)
	if !slices.Contains(v1["roles"].([]any), any("engineering-team")) {
		t.Errorf("/v1 roles of a: %v", v1["roles"])
	}
	// A role made through /v1 is a group named by its key.
	e.do(t, rq{method: "PUT", path: "/v1/roles", body: map[string]any{"roles": append(roles, "ops")}, headers: []string{"Content-Type", "application/json"}}).want(t, http.StatusOK)
	// A new key that is a group's display name (case-insensitively) is
	// refused: it would be a second group of that name.
	lead := e.do(t, rq{method: "POST", path: "/scim/v2/Groups", body: map[string]any{"displayName": "Team.Lead"}}).want(t, http.StatusCreated).json(t)
	if lead["id"] != "team-lead" {
		t.Errorf("group Team.Lead: %v", lead)
	}
	roles = append(roles, "team-lead")
	r = e.do(t, rq{method: "PUT", path: "/v1/roles", body: map[string]any{"roles": append(slices.Clone(roles), "team.lead")}, headers: []string{"Content-Type", "application/json"}})
	if r.want(t, http.StatusUnprocessableEntity); !strings.Contains(string(r.body), "role_taken") {
		t.Errorf("a key that is a group's name: %s", r.body)
	}
	ops := e.do(t, rq{method: "GET", path: "/scim/v2/Groups/ops"}).want(t, http.StatusOK).json(t)
	if ops["displayName"] != "ops" {
		t.Errorf("REST role as a group: %v", ops)
	}

	// Renaming keeps the id (the key) and the holders; the new name is
	// unique too.
	g = e.do(t, rq{method: "PATCH", path: "/scim/v2/Groups/engineering-team", body: patchOp(
		map[string]any{"op": "Replace", "path": "displayName", "value": "Platform Engineering"})}).want(t, http.StatusOK).json(t)
	if g["id"] != "engineering-team" || g["displayName"] != "Platform Engineering" || !slices.Equal(memberIDs(t, g), []string{a}) {
		t.Errorf("renamed group: %v", g)
	}
	if total(t, find("Engineering Team")) != 0 || total(t, find("platform engineering")) != 1 {
		t.Errorf("filters after the rename")
	}
	e.do(t, rq{method: "PATCH", path: "/scim/v2/Groups/engineering-team", body: patchOp(
		map[string]any{"op": "replace", "value": map[string]any{"displayName": "OPS"}})}).wantError(t, http.StatusConflict, "uniqueness")
	g = e.do(t, rq{method: "PUT", path: "/scim/v2/Groups/engineering-team", body: map[string]any{"displayName": "Engineering Team",
		"members": []any{map[string]any{"value": a}}}}).want(t, http.StatusOK).json(t)
	if g["displayName"] != "Engineering Team" {
		t.Errorf("renamed by PUT: %v", g)
	}
	// Deleting the group drops its name with it: it can be made again.
	e.do(t, rq{method: "DELETE", path: "/scim/v2/Groups/engineering-team"}).want(t, http.StatusNoContent)
	if total(t, find("Engineering Team")) != 0 {
		t.Errorf("deleted group still found")
	}
	g = e.do(t, rq{method: "POST", path: "/scim/v2/Groups", body: map[string]any{"displayName": "Engineering Team"}}).want(t, http.StatusCreated).json(t)
	if g["id"] != "engineering-team" {
		t.Errorf("group made again: %v", g)
	}
}

// TestGroupChangesAreAtomic checks that a group change touching several
// users changes all of them or none.
func TestGroupChangesAreAtomic(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for _, n := range []string{"a", "b", "c"} {
		u := e.do(t, rq{method: "POST", path: "/scim/v2/Users", body: map[string]any{"userName": n + "@example.com"}}).want(t, http.StatusCreated).json(t)
		ids = append(ids, u["id"].(string))
	}
	a, b, c := ids[0], ids[1], ids[2]
	const nobody = "usr_01M8XKS2E57BFDYQAJSAEZWW45"
	e.do(t, rq{method: "POST", path: "/scim/v2/Groups", body: map[string]any{"displayName": "Sales", "members": []any{map[string]any{"value": c}}}}).want(t, http.StatusCreated)
	roles := func(id string) []any {
		t.Helper()
		return e.do(t, rq{method: "GET", path: "/v1/users/" + id}).want(t, http.StatusOK).json(t)["roles"].([]any)
	}
	holders := func() []string {
		t.Helper()
		return memberIDs(t, e.do(t, rq{method: "GET", path: "/scim/v2/Groups/sales"}).want(t, http.StatusOK).json(t))
	}
	audits := func(id string) int {
		t.Helper()
		audit, err := e.store.ListAudit(context.Background(), e.tenant, id, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(audit)
	}

	// One unknown member among several: nobody is granted the role.
	e.do(t, rq{method: "PATCH", path: "/scim/v2/Groups/sales", body: patchOp(
		map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": a}, map[string]any{"value": b}, map[string]any{"value": nobody}}})}).
		wantError(t, http.StatusBadRequest, "invalidValue")
	e.do(t, rq{method: "PUT", path: "/scim/v2/Groups/sales", body: map[string]any{"displayName": "Sales",
		"members": []any{map[string]any{"value": a}, map[string]any{"value": nobody}}}}).wantError(t, http.StatusBadRequest, "invalidValue")
	e.do(t, rq{method: "POST", path: "/scim/v2/Groups", body: map[string]any{"displayName": "Support",
		"members": []any{map[string]any{"value": a}, map[string]any{"value": nobody}}}}).wantError(t, http.StatusBadRequest, "invalidValue")
	if got := holders(); !slices.Equal(got, []string{c}) {
		t.Errorf("holders after refused changes: %v", got)
	}
	if slices.Contains(roles(a), any("sales")) || slices.Contains(roles(b), any("sales")) || audits(a) != 1 || audits(b) != 1 {
		t.Errorf("a refused change wrote a user: roles %v %v, audit %d %d", roles(a), roles(b), audits(a), audits(b))
	}
	if total(t, e.do(t, rq{method: "GET", path: "/scim/v2/Groups?filter=" + url.QueryEscape(`displayName eq "Support"`)}).want(t, http.StatusOK).json(t)) != 0 {
		t.Errorf("a refused create added its group")
	}

	// A change of several users: each gets its own audit entry and event.
	g := e.do(t, rq{method: "PATCH", path: "/scim/v2/Groups/sales", body: patchOp(
		map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": a}, map[string]any{"value": b}}},
		map[string]any{"op": "remove", "path": `members[value eq "` + c + `"]`})}).want(t, http.StatusOK).json(t)
	if got := memberIDs(t, g); !slices.Equal(got, sorted(a, b)) {
		t.Errorf("after the PATCH: %v", got)
	}
	for id, want := range map[string]int{a: 2, b: 2, c: 3} { // created, (granted,) changed
		audit, err := e.store.ListAudit(context.Background(), e.tenant, id, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(audit) != want || audit[0].Action != directory.EventUserUpdated {
			t.Errorf("audit of %s: %d entries, want %d", id, len(audit), want)
		}
	}
	events := e.do(t, rq{method: "GET", path: "/v1/events?limit=100"}).want(t, http.StatusOK).json(t)
	updated := map[string]int{}
	for _, ev := range events["data"].([]any) {
		if at(ev, "type") == string(directory.EventUserUpdated) {
			updated[at(ev, "data.user.id").(string)]++
		}
	}
	if updated[a] != 1 || updated[b] != 1 || updated[c] != 2 {
		t.Errorf("user.updated events by user: %v", updated)
	}

	// DELETE takes the role from every holder and drops it, together.
	e.do(t, rq{method: "DELETE", path: "/scim/v2/Groups/sales"}).want(t, http.StatusNoContent)
	if slices.Contains(roles(a), any("sales")) || slices.Contains(roles(b), any("sales")) {
		t.Errorf("holders keep a deleted group's role")
	}
}

// TestGroupVersions: a group's meta.version is its ETag, moves with its
// members and display name, and If-Match on a group write refuses a version
// that is not the group's any more, writing nothing.
func TestGroupVersions(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for _, name := range []string{"a@example.com", "b@example.com"} {
		ids = append(ids, e.do(t, rq{method: "POST", path: "/scim/v2/Users", body: map[string]any{"userName": name}}).want(t, http.StatusCreated).json(t)["id"].(string))
	}
	created := e.do(t, rq{method: "POST", path: "/scim/v2/Groups", body: map[string]any{"displayName": "Ops Team",
		"members": []any{map[string]any{"value": ids[0]}}}}).want(t, http.StatusCreated)
	v1 := created.header.Get("ETag")
	if at(created.json(t), "meta.version") != v1 || !strings.HasPrefix(v1, `W/"`) {
		t.Fatalf("created: ETag %q, meta.version %v", v1, at(created.json(t), "meta.version"))
	}
	get := e.do(t, rq{method: "GET", path: "/scim/v2/Groups/ops-team"}).want(t, http.StatusOK)
	if get.header.Get("ETag") != v1 {
		t.Fatalf("GET's ETag %q, want the creation's %q", get.header.Get("ETag"), v1)
	}
	add := patchOp(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": ids[1]}}})
	r := e.do(t, rq{method: "PATCH", path: "/scim/v2/Groups/ops-team", body: add, headers: []string{"If-Match", v1}}).want(t, http.StatusOK)
	v2 := r.header.Get("ETag")
	if v2 == v1 || at(r.json(t), "meta.version") != v2 {
		t.Fatalf("after adding a member: ETag %q (was %q), meta.version %v", v2, v1, at(r.json(t), "meta.version"))
	}
	// v1 is stale now: each write with it is 412 and changes nothing.
	remove := patchOp(map[string]any{"op": "remove", "path": `members[value eq "` + ids[0] + `"]`})
	e.do(t, rq{method: "PATCH", path: "/scim/v2/Groups/ops-team", body: remove, headers: []string{"If-Match", v1}}).want(t, http.StatusPreconditionFailed)
	e.do(t, rq{method: "PUT", path: "/scim/v2/Groups/ops-team", body: map[string]any{"displayName": "Ops Team"}, headers: []string{"If-Match", v1}}).want(t, http.StatusPreconditionFailed)
	e.do(t, rq{method: "DELETE", path: "/scim/v2/Groups/ops-team", headers: []string{"If-Match", v1}}).want(t, http.StatusPreconditionFailed)
	if g := e.do(t, rq{method: "GET", path: "/scim/v2/Groups/ops-team"}).want(t, http.StatusOK); g.header.Get("ETag") != v2 || len(memberIDs(t, g.json(t))) != 2 {
		t.Fatalf("after the refused writes: ETag %q, members %v", g.header.Get("ETag"), memberIDs(t, g.json(t)))
	}
	// A rename moves the version too; * matches any.
	r = e.do(t, rq{method: "PATCH", path: "/scim/v2/Groups/ops-team", body: patchOp(map[string]any{"op": "replace", "path": "displayName", "value": "Operations"}),
		headers: []string{"If-Match", v2}}).want(t, http.StatusOK)
	if r.header.Get("ETag") == v2 {
		t.Fatal("a rename left the version as it was")
	}
	e.do(t, rq{method: "DELETE", path: "/scim/v2/Groups/ops-team", headers: []string{"If-Match", "*"}}).want(t, http.StatusNoContent)
}
