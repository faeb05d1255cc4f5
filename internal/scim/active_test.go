package scim_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/roster-dev/roster/internal/directory"
)

// TestActiveChangesWithAttributesAtomically checks that a write changing
// active together with other attributes is one write: refused as a whole
// when the (de)activation is, made as a whole, with the audit entries and
// events of both changes, otherwise.
func TestActiveChangesWithAttributesAtomically(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	create := func(userName string) string {
		t.Helper()
		u := e.do(t, rq{method: "POST", path: "/scim/v2/Users", body: map[string]any{"userName": userName, "displayName": "Before"}}).want(t, http.StatusCreated).json(t)
		return u["id"].(string)
	}
	get := func(id string) map[string]any {
		t.Helper()
		return e.do(t, rq{method: "GET", path: "/scim/v2/Users/" + id}).want(t, http.StatusOK).json(t)
	}
	audits := func(id string) []*directory.AuditEntry {
		t.Helper()
		audit, err := e.store.ListAudit(ctx, e.tenant, id, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		return audit
	}
	a, b := create("a@example.com"), create("b@example.com")

	// A policy forbids deactivations: a PATCH or PUT that renames and
	// deactivates changes nothing.
	policies := `
permit (principal is Key, action, resource is User) when { principal.scopes.containsAny(["users:write", "admin", "platform"]) };
forbid (principal, action == Action::"deactivateUser", resource is User);`
	if _, err := e.svc.SetPolicies(ctx, &directory.Tenant{ID: e.tenant}, policies); err != nil {
		t.Fatal(err)
	}
	e.do(t, rq{method: "PATCH", path: "/scim/v2/Users/" + a, body: patchOp(
		map[string]any{"op": "replace", "value": map[string]any{"active": false, "displayName": "After"}})}).wantError(t, http.StatusForbidden, "")
	e.do(t, rq{method: "PUT", path: "/scim/v2/Users/" + a, body: map[string]any{"userName": "a@example.com", "displayName": "After", "active": false}}).
		wantError(t, http.StatusForbidden, "")
	if u := get(a); u["displayName"] != "Before" || u["active"] != true || at(u, "meta.version") != `"1"` || len(audits(a)) != 1 {
		t.Errorf("after refused deactivations: %v, %d audit entries", u, len(audits(a)))
	}
	if _, err := e.svc.SetPolicies(ctx, &directory.Tenant{ID: e.tenant}, ""); err != nil {
		t.Fatal(err)
	}

	// Allowed, both changes are made, each with its audit entry and event,
	// in order; the version grows by one per change.
	u := e.do(t, rq{method: "PATCH", path: "/scim/v2/Users/" + b, body: patchOp(
		map[string]any{"op": "Replace", "value": map[string]any{"active": "False", "displayName": "After"}})}).want(t, http.StatusOK).json(t)
	if u["displayName"] != "After" || u["active"] != false || at(u, "meta.version") != `"3"` {
		t.Errorf("renamed and deactivated: %v", u)
	}
	if got := audits(b); len(got) != 3 || got[0].Action != directory.EventUserDeactivated || got[1].Action != directory.EventUserUpdated {
		t.Errorf("audit of b: %d entries", len(got))
	} else if _, ok := got[1].Changes["name"]; !ok || got[0].Changes["status"].To != directory.StatusDeactivated || got[0].Changes["name"] != (directory.Change{}) {
		t.Errorf("audit changes: update %v, deactivation %v", got[1].Changes, got[0].Changes)
	}
	feed := e.do(t, rq{method: "GET", path: "/v1/events?limit=100"}).want(t, http.StatusOK).json(t)
	var types []any
	for _, ev := range feed["data"].([]any) {
		if at(ev, "data.user.id") == b {
			types = append(types, at(ev, "type"))
		}
	}
	if len(types) != 3 || types[1] != string(directory.EventUserUpdated) || types[2] != string(directory.EventUserDeactivated) {
		t.Errorf("events of b: %v", types)
	}

	// The reverse: a reactivation the active-user quota refuses leaves the
	// name as it was.
	if _, err := e.svc.UpdateTenant(ctx, e.tenant, func(t *directory.Tenant) error { t.Plan.MaxActiveUsers = 2; return nil }); err != nil {
		t.Fatal(err) // the owner and a hold the two seats
	}
	e.do(t, rq{method: "PATCH", path: "/scim/v2/Users/" + b, body: patchOp(
		map[string]any{"op": "replace", "path": "active", "value": true},
		map[string]any{"op": "replace", "path": "displayName", "value": "Again"})}).wantError(t, http.StatusTooManyRequests, "")
	e.do(t, rq{method: "PUT", path: "/scim/v2/Users/" + b, body: map[string]any{"userName": "b@example.com", "displayName": "Again", "active": true}}).
		wantError(t, http.StatusTooManyRequests, "")
	if u := get(b); u["displayName"] != "After" || u["active"] != false || len(audits(b)) != 3 {
		t.Errorf("after refused reactivations: %v, %d audit entries", u, len(audits(b)))
	}

	// A create with active false is one write too: no seat is needed.
	r := e.do(t, rq{method: "POST", path: "/scim/v2/Users", body: map[string]any{"userName": "c@example.com", "active": false}}).want(t, http.StatusCreated).json(t)
	if r["active"] != false || at(r, "meta.version") != `"2"` {
		t.Errorf("created inactive beyond the quota: %v", r)
	}
}
