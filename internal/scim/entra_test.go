package scim_test

import (
	"net/http"
	"net/url"
	"testing"
)

// The requests of Microsoft Entra ID's provisioning service, as Microsoft's
// "Tutorial: Develop and plan provisioning for a SCIM endpoint" and its
// SCIM validator show them: a connection test without Content-Type or
// Accept, matching by userName, externalId and work email, a create with
// the enterprise extension, PATCHes with capitalized ops, string booleans
// and path-less value maps, then a soft delete by active and a hard delete.

const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

func patchOp(ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = o
	}
	return map[string]any{"schemas": []any{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": list}
}

func TestEntraSequence(t *testing.T) {
	e := newEnv(t)

	// Connection test: a userName no user has, no Content-Type, no Accept.
	m := e.do(t, rq{method: "GET", path: "/scim/v2/Users?filter=" + url.QueryEscape(`userName eq "9c8e3b1c-connection-test"`)}).want(t, http.StatusOK).json(t)
	if total(t, m) != 0 {
		t.Fatalf("connection test: %s", m)
	}

	create := map[string]any{
		"schemas":    []any{"urn:ietf:params:scim:schemas:core:2.0:User", enterprise},
		"externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
		"userName":   "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
		"active":     true,
		"emails":     []any{map[string]any{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}},
		"meta":       map[string]any{"resourceType": "User"},
		"name":       map[string]any{"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
		"roles":      []any{},
		enterprise:   map[string]any{"department": "Sales", "employeeNumber": "701984", "manager": map[string]any{"value": "mgr-1"}},
	}
	u := e.do(t, rq{method: "POST", path: "/scim/v2/Users", body: create}).want(t, http.StatusCreated).json(t)
	id := u["id"].(string)
	if at(u, enterprise+".employeeNumber") != "701984" || at(u, "name.formatted") != "givenName familyName" ||
		at(u, "displayName") != "givenName familyName" {
		t.Errorf("created: %v", u)
	}
	if s := u["schemas"].([]any); len(s) != 2 || s[1] != enterprise {
		t.Errorf("schemas %v, want core and enterprise", s)
	}
	// The roles: [] sent made the user hold none.
	if _, ok := u["roles"]; ok {
		t.Errorf("roles %v, want none", u["roles"])
	}

	// Matching: by userName, externalId, work email.
	for _, f := range []string{
		`userName eq "test_user_ab6490ee-1e48-479e-a20b-2d77186b5dd1"`,
		`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`,
		`emails[type eq "work"].value eq "test_user_fd0ea19b@testuser.com"`,
		`emails[type eq "work" and value eq "Test_User_fd0ea19b@testuser.com"]`,
	} {
		m := e.list(t, "filter="+url.QueryEscape(f))
		if total(t, m) != 1 || at(m, "Resources.0.id") != id {
			t.Errorf("%s: %s", f, m)
		}
	}
	// externalId is caseExact.
	if m := e.list(t, "filter="+url.QueryEscape(`externalId eq "0A21F0F2-8D2A-4F8E-BF98-7363C4AED4EF"`)); total(t, m) != 0 {
		t.Errorf("externalId matched in another case")
	}

	// The default attribute-mapping PATCH: capitalized ops, filtered path.
	r := e.do(t, rq{method: "PATCH", path: "/scim/v2/Users/" + id, body: patchOp(
		map[string]any{"op": "Replace", "path": `emails[type eq "work"].value`, "value": "updatedEmail@microsoft.com"},
		map[string]any{"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
		map[string]any{"op": "Add", "path": enterprise + ":department", "value": "Engineering"},
		map[string]any{"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
	)}).want(t, http.StatusOK)
	u = r.json(t)
	if at(u, "emails.0.value") != "updatedEmail@microsoft.com" || at(u, "name.familyName") != "updatedFamilyName" ||
		at(u, enterprise+".department") != "Engineering" || at(u, enterprise+".employeeNumber") != "701984" ||
		at(u, "phoneNumbers.0.type") != "mobile" || at(u, "phoneNumbers.0.value") != "+1 555 0100" {
		t.Errorf("after PATCH: %s", r.body)
	}

	// Path-less value maps: dotted keys and URN-qualified names.
	r = e.do(t, rq{method: "PATCH", path: "/scim/v2/Users/" + id, body: patchOp(
		map[string]any{"op": "replace", "value": map[string]any{
			"name.givenName": "Barbara",
			"urn:ietf:params:scim:schemas:core:2.0:User:displayName": "Babs Jensen",
			enterprise + ":costCenter":                               "4130",
		}},
	)}).want(t, http.StatusOK)
	u = r.json(t)
	if at(u, "name.givenName") != "Barbara" || at(u, "displayName") != "Babs Jensen" || at(u, enterprise+".costCenter") != "4130" {
		t.Errorf("after path-less PATCH: %s", r.body)
	}

	// Removing the email alone leaves a user Roster cannot keep (no email,
	// and a userName that is no Roster username); with an add on
	// emails[type eq "work"].value, which matches nothing then and creates
	// a work email, the same PATCH is fine: the operations apply together.
	e.do(t, rq{method: "PATCH", path: "/scim/v2/Users/" + id, body: patchOp(
		map[string]any{"op": "remove", "path": "emails"})}).wantError(t, http.StatusBadRequest, "invalidValue")
	r = e.do(t, rq{method: "PATCH", path: "/scim/v2/Users/" + id, body: patchOp(
		map[string]any{"op": "remove", "path": "emails"},
		map[string]any{"op": "add", "path": `emails[type eq "work"].value`, "value": "back@example.com"})}).want(t, http.StatusOK)
	if u := r.json(t); at(u, "emails.0.value") != "back@example.com" || at(u, "emails.0.type") != "work" {
		t.Errorf("add with no match: %s", r.body)
	}

	// active as the string "False", then "True", then something else.
	r = e.do(t, rq{method: "PATCH", path: "/scim/v2/Users/" + id, body: patchOp(
		map[string]any{"op": "Replace", "path": "active", "value": "False"})}).want(t, http.StatusOK)
	if at(r.json(t), "active") != false {
		t.Errorf(`active "False": %s`, r.body)
	}
	r = e.do(t, rq{method: "PATCH", path: "/scim/v2/Users/" + id, body: patchOp(
		map[string]any{"op": "Replace", "path": "active", "value": "True"})}).want(t, http.StatusOK)
	if at(r.json(t), "active") != true {
		t.Errorf(`active "True": %s`, r.body)
	}
	before := e.do(t, rq{method: "GET", path: "/scim/v2/Users/" + id}).want(t, http.StatusOK).json(t)
	e.do(t, rq{method: "PATCH", path: "/scim/v2/Users/" + id, body: patchOp(
		map[string]any{"op": "replace", "path": "name.givenName", "value": "Never"},
		map[string]any{"op": "replace", "path": "active", "value": "maybe"})}).wantError(t, http.StatusBadRequest, "invalidValue")
	after := e.do(t, rq{method: "GET", path: "/scim/v2/Users/" + id}).want(t, http.StatusOK).json(t)
	if at(after, "name.givenName") != at(before, "name.givenName") || at(after, "meta.version") != at(before, "meta.version") {
		t.Errorf("a failed PATCH changed the user: %v → %v", at(before, "meta.version"), at(after, "meta.version"))
	}

	// Soft delete (the aadOptscim062020 form: a compliant boolean), then
	// the hard delete.
	r = e.do(t, rq{method: "PATCH", path: "/scim/v2/Users/" + id, body: patchOp(
		map[string]any{"op": "replace", "path": "active", "value": false})}).want(t, http.StatusOK)
	if at(r.json(t), "active") != false {
		t.Errorf("soft delete: %s", r.body)
	}
	if m := e.list(t, "filter="+url.QueryEscape(`active eq false`)); total(t, m) != 1 {
		t.Errorf("active eq false: %s", m)
	}
	e.do(t, rq{method: "DELETE", path: "/scim/v2/Users/" + id}).want(t, http.StatusNoContent)
	e.do(t, rq{method: "GET", path: "/scim/v2/Users/" + id}).wantError(t, http.StatusNotFound, "")
	if m := e.list(t, "filter="+url.QueryEscape(`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`)); total(t, m) != 0 {
		t.Errorf("deleted user still found: %s", m)
	}
	e.do(t, rq{method: "DELETE", path: "/scim/v2/Users/" + id}).wantError(t, http.StatusNotFound, "")
}
