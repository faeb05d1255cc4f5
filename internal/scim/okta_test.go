package scim_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/storetest"
)

// The requests of Okta's SCIM 2.0 provisioning, as its "SCIM 2.0 protocol
// reference" gives them: look a user up by userName, create it, import
// users by pages of 100, update it by a full PUT, deactivate it by a
// path-less PATCH.

func oktaUser(userName, given, family, externalID string) map[string]any {
	return map[string]any{
		"schemas":     []any{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName":    userName,
		"name":        map[string]any{"givenName": given, "familyName": family},
		"emails":      []any{map[string]any{"primary": true, "value": userName, "type": "work"}},
		"displayName": given + " " + family,
		"locale":      "en-US",
		"externalId":  externalID,
		"groups":      []any{},
		"password":    "1mz050nq",
		"active":      true,
	}
}

func TestOktaSequence(t *testing.T) {
	e := newEnv(t)
	key := e.keyWith(t, directory.ScopeUsersRead, directory.ScopeUsersWrite)
	lookup := "filter=" + url.QueryEscape(`userName eq "Isaac.Brock@Example.com"`) + "&startIndex=1&count=100"

	// 1. Does the user exist? Not yet.
	m := e.do(t, rq{method: "GET", path: "/scim/v2/Users?" + lookup, token: key}).want(t, http.StatusOK).json(t)
	if total(t, m) != 0 || len(m["Resources"].([]any)) != 0 {
		t.Fatalf("lookup before create: %s", m)
	}

	// 2. Create it.
	r := e.do(t, rq{method: "POST", path: "/scim/v2/Users", token: key,
		body: oktaUser("Isaac.Brock@Example.com", "Isaac", "Brock", "00ujl29u0le5T6Aj10h7")}).want(t, http.StatusCreated)
	u := r.json(t)
	id, _ := u["id"].(string)
	if loc := r.header.Get("Location"); loc == "" || loc != at(u, "meta.location") || loc != e.srv.URL+"/scim/v2/Users/"+id {
		t.Errorf("Location %q, meta.location %v, want %s/scim/v2/Users/%s", loc, at(u, "meta.location"), e.srv.URL, id)
	}
	for path, want := range map[string]any{
		"userName": "Isaac.Brock@Example.com", "externalId": "00ujl29u0le5T6Aj10h7", "displayName": "Isaac Brock",
		"name.givenName": "Isaac", "name.familyName": "Brock", "emails.0.value": "Isaac.Brock@Example.com",
		"emails.0.primary": true, "active": true, "locale": "en-US", "meta.resourceType": "User",
		"meta.version": `"1"`,
	} {
		if got := at(u, path); got != want {
			t.Errorf("created %s: got %#v, want %#v", path, got, want)
		}
	}
	if _, ok := u["password"]; ok {
		t.Errorf("password returned: %v", u["password"])
	}
	if r.header.Get("ETag") != `"1"` {
		t.Errorf("ETag %q", r.header.Get("ETag"))
	}

	// The same user through the REST API.
	v1 := e.do(t, rq{method: "GET", path: "/v1/users/" + id, headers: []string{"Accept", "application/json"}}).want(t, http.StatusOK).json(t)
	for k, want := range map[string]any{"scim_user_name": "Isaac.Brock@Example.com", "external_id": "00ujl29u0le5T6Aj10h7",
		"email": "Isaac.Brock@example.com", "username": nil, "given_name": "Isaac", "name": "Isaac Brock", "deactivated": false} {
		if got := v1[k]; got != want {
			t.Errorf("/v1 %s: got %#v, want %#v", k, got, want)
		}
	}
	byExt := e.do(t, rq{method: "GET", path: "/v1/users?external_id=00ujl29u0le5T6Aj10h7"}).want(t, http.StatusOK).json(t)
	if data, _ := byExt["data"].([]any); len(data) != 1 || at(data[0], "id") != id {
		t.Errorf("/v1/users?external_id: %v", byExt)
	}
	if none := e.do(t, rq{method: "GET", path: "/v1/users?external_id=00UJL29U0LE5T6AJ10H7"}).want(t, http.StatusOK).json(t); len(none["data"].([]any)) != 0 {
		t.Errorf("/v1/users?external_id in another case: %v", none)
	}
	if fmt.Sprint(v1["metadata"]) != "map[]" {
		t.Errorf("metadata %v: SCIM attributes must not land there", v1["metadata"])
	}
	if sa, _ := v1["scim_attributes"].(map[string]any); len(sa) != 1 || at(sa, "emails.0.value") != "Isaac.Brock@Example.com" {
		t.Errorf("scim_attributes %v, want the emails as sent alone (groups and password are not kept)", v1["scim_attributes"])
	}

	// 3. The lookup finds it, whatever the case of userName.
	m = e.list(t, "filter="+url.QueryEscape(`userName eq "isaac.brock@example.COM"`))
	if total(t, m) != 1 || at(m, "Resources.0.id") != id {
		t.Errorf("lookup after create: %s", m)
	}
	// A second create of the same userName is a conflict.
	e.do(t, rq{method: "POST", path: "/scim/v2/Users", token: key,
		body: oktaUser("isaac.brock@example.com", "I", "B", "other")}).wantError(t, http.StatusConflict, "uniqueness")

	// 4. Import: pages of 100 over 130 users, in a stable order.
	var ids []string
	ids = append(ids, id)
	for i := range 129 {
		body := oktaUser(fmt.Sprintf("user%03d@example.com", i), "U", fmt.Sprint(i), fmt.Sprintf("ext%03d", i))
		c := e.do(t, rq{method: "POST", path: "/scim/v2/Users", token: key, body: body}).want(t, http.StatusCreated).json(t)
		ids = append(ids, c["id"].(string))
	}
	var seen []string
	for start := 1; ; start += 100 {
		p := e.list(t, fmt.Sprintf("startIndex=%d&count=100", start))
		res := p["Resources"].([]any)
		if got := total(t, p); got != 131 { // the owner too
			t.Fatalf("totalResults %d, want 131", got)
		}
		if fmt.Sprint(p["startIndex"]) != fmt.Sprint(start) || fmt.Sprint(p["itemsPerPage"]) != fmt.Sprint(len(res)) {
			t.Errorf("page at %d: startIndex %v, itemsPerPage %v for %d resources", start, p["startIndex"], p["itemsPerPage"], len(res))
		}
		for _, x := range res {
			seen = append(seen, x.(map[string]any)["id"].(string))
		}
		if len(res) < 100 {
			break
		}
	}
	for _, want := range ids {
		if !slices.Contains(seen, want) {
			t.Fatalf("import missed %s", want)
		}
	}
	sorted := slices.Clone(seen)
	slices.Sort(sorted)
	if len(seen) != 131 || len(slices.Compact(sorted)) != 131 {
		t.Errorf("import saw %d users, %d distinct, want 131", len(seen), len(slices.Compact(sorted)))
	}

	// 5. A full PUT, with id, meta, groups and password as Okta sends them.
	put := oktaUser("Isaac.Brock@Example.com", "Isaac", "Brocke", "00ujl29u0le5T6Aj10h7")
	put["id"], put["meta"] = id, u["meta"]
	put["title"] = "Bassist"
	r = e.do(t, rq{method: "PUT", path: "/scim/v2/Users/" + id, token: key, body: put}).want(t, http.StatusOK)
	u = r.json(t)
	if at(u, "name.familyName") != "Brocke" || at(u, "title") != "Bassist" || at(u, "meta.version") != `"2"` {
		t.Errorf("after PUT: %s", r.body)
	}

	// 6. Deactivate with a path-less replace.
	r = e.do(t, rq{method: "PATCH", path: "/scim/v2/Users/" + id, token: key, body: map[string]any{
		"schemas":    []any{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "replace", "value": map[string]any{"active": false}}},
	}}).want(t, http.StatusOK)
	if at(r.json(t), "active") != false {
		t.Errorf("after deactivation: %s", r.body)
	}
	v1 = e.do(t, rq{method: "GET", path: "/v1/users/" + id}).want(t, http.StatusOK).json(t)
	if v1["deactivated"] != true || v1["family_name"] != "Brocke" || at(v1, "scim_attributes.title") != "Bassist" {
		t.Errorf("/v1 after PUT and deactivation: %v", v1)
	}

	// Each write left its audit entry and event.
	var types []directory.EventType
	evs, err := e.store.(storetest.Inspector).ListEvents(context.Background(), e.tenant, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.UserID == id {
			types = append(types, ev.Type)
		}
	}
	want := []directory.EventType{directory.EventUserCreated, directory.EventUserUpdated, directory.EventUserDeactivated}
	if !slices.Equal(types, want) {
		t.Errorf("events of the user: got %v, want %v", types, want)
	}
	audit, err := e.store.ListAudit(context.Background(), e.tenant, id, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 3 {
		t.Errorf("audit entries: got %d, want 3", len(audit))
	}
}
