package httpapi_test

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
)

// cookbook returns the Cedar of a recipe in docs/policies.md by its @id, so
// the tests enforce the policies exactly as the documentation prints them.
func cookbook(t *testing.T, id string) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/policies.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```cedar\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	for _, b := range blocks {
		if strings.Contains(b[1], `@id("`+id+`")`) && !strings.Contains(b[1], "Roster's default policies") {
			return b[1]
		}
	}
	t.Fatalf("no recipe %q in docs/policies.md", id)
	return ""
}

// withPolicies installs the default set plus extra recipes.
func (e *env) withPolicies(t *testing.T, extra ...string) {
	t.Helper()
	def := e.must(t, 200, req{method: "GET", path: "/v1/policies"}).json(t)["policies"].(string)
	text := def + "\n" + strings.Join(extra, "\n")
	e.must(t, 200, req{method: "PUT", path: "/v1/policies", body: map[string]any{"policies": text}})
}

// actingPatch sends a PATCH as an acting user.
func (e *env) actingPatch(t *testing.T, actor, id string, body any) *response {
	t.Helper()
	return e.do(t, req{method: "PATCH", path: "/v1/users/" + id, body: body, headers: []string{"X-Acting-User", actor}})
}

func notices(p map[string]any) string { return fmt.Sprint(p["notices"]) }

func TestDefaultPolicies(t *testing.T) {
	e := newEnv(t)
	got := e.must(t, 200, req{method: "GET", path: "/v1/policies"}).json(t)
	if got["default"] != true || !strings.Contains(got["policies"].(string), `@id("keys-write-users")`) {
		t.Fatalf("default policies %v", got)
	}
	problem(t, e.do(t, req{method: "GET", path: "/v1/policies", token: e.keyWith("read_write")}), 403, "insufficient_scope")

	alice := e.createUser(t, map[string]any{"username": "alice", "roles": []string{"member"}})["id"].(string)
	bob := e.createUser(t, map[string]any{"username": "bob"})["id"].(string)
	admin := e.createUser(t, map[string]any{"username": "boss", "roles": []string{"admin"}})["id"].(string)

	// An acting user edits their own profile, not their roles, not others.
	e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + alice, body: map[string]any{"bio": "mine"}, headers: []string{"X-Acting-User", alice}})
	p := problem(t, e.actingPatch(t, alice, alice, map[string]any{"roles": []string{"admin"}}), 403, "forbidden")
	if !strings.Contains(notices(p), "You cannot change your own roles.") {
		t.Errorf("notices %v", p["notices"])
	}
	p = problem(t, e.actingPatch(t, alice, bob, map[string]any{"bio": "yours"}), 403, "forbidden")
	if !strings.Contains(notices(p), "No policy permits this action.") {
		t.Errorf("notices %v", p["notices"])
	}
	// An acting admin manages others.
	e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + bob, body: map[string]any{"bio": "set by admin"}, headers: []string{"X-Acting-User", admin}})
	// The acting user must be of this tenant.
	_, otherToken := e.newTenant("Other")
	stranger := e.must(t, 201, req{method: "POST", path: "/v1/users", token: otherToken, body: map[string]any{"username": "stranger"}}).json(t)["id"].(string)
	problem(t, e.actingPatch(t, stranger, bob, map[string]any{"bio": "x"}), 400, "invalid_request")
	if v := e.getUser(t, bob)["bio"]; v != "set by admin" {
		t.Errorf("a denied write was stored: bio %v", v)
	}
}

func TestPolicyValidation(t *testing.T) {
	e := newEnv(t)
	for name, text := range map[string]string{
		"syntax":         `permit (principal, action, resource) when { principal.`,
		"unknown entity": `permit (principal is Robot, action, resource);`,
		"unknown attr":   `permit (principal is User, action, resource is User) when { principal.shoe_size > 3 };`,
	} {
		t.Run(name, func(t *testing.T) {
			p := problem(t, e.do(t, req{method: "PUT", path: "/v1/policies", body: map[string]any{"policies": text}}), 422, "validation_failed")
			if fieldCodes(p)["policies"] == "" {
				t.Errorf("errors %v", p["errors"])
			}
		})
	}
	p := problem(t, e.do(t, req{method: "PUT", path: "/v1/policies", body: map[string]any{"policies": "permit (principal, action, resource);\nforbid (principal, action, resource) when { 1 + };"}}), 422, "validation_failed")
	if msg := fmt.Sprint(p["errors"]); !regexp.MustCompile(`\d+:\d+`).MatchString(msg) {
		t.Errorf("message does not say where: %s", msg)
	}
	if got := e.must(t, 200, req{method: "GET", path: "/v1/policies"}).json(t); got["default"] != true {
		t.Errorf("an invalid text was stored")
	}
	// A text of its own, then "" to return to the default set.
	own := e.must(t, 200, req{method: "PUT", path: "/v1/policies", body: map[string]any{"policies": `@id("all") permit (principal, action, resource);`}}).json(t)
	if own["default"] != false {
		t.Errorf("after PUT: %v", own)
	}
	if back := e.must(t, 200, req{method: "PUT", path: "/v1/policies", body: map[string]any{"policies": ""}}).json(t); back["default"] != true {
		t.Errorf("PUT \"\" did not restore the default set: %v", back)
	}
}

func TestCookbookPolicies(t *testing.T) {
	t.Run("self-service profile", func(t *testing.T) {
		e := newEnv(t)
		e.withPolicies(t, cookbook(t, "self-service-profile"))
		u := e.createUser(t, map[string]any{"username": "selfie"})["id"].(string)
		e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + u, body: map[string]any{"name": "Me"}, headers: []string{"X-Acting-User", u}})
		p := problem(t, e.actingPatch(t, u, u, map[string]any{"consented_at": "2024-01-01T00:00:00Z", "consent_method": "opt-in"}), 403, "forbidden")
		if !strings.Contains(notices(p), "You can change only the profile fields of your own account.") {
			t.Errorf("notices %v", p["notices"])
		}
	})
	t.Run("only the owner grants admin", func(t *testing.T) {
		e := newEnv(t)
		e.withPolicies(t, cookbook(t, "only-owner-grants-admin"))
		owner := e.must(t, 200, req{method: "GET", path: "/v1/users?email=owner@acme.test"}).json(t)["data"].([]any)[0].(map[string]any)["id"].(string)
		u := e.createUser(t, map[string]any{"username": "climber"})["id"].(string)
		p := problem(t, e.patchUser(t, u, "application/json", map[string]any{"roles": []string{"member", "admin"}}), 403, "forbidden")
		if !strings.Contains(notices(p), "Only the tenant owner can grant the admin role.") {
			t.Errorf("notices %v", p["notices"])
		}
		e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + u, body: map[string]any{"roles": []string{"member", "admin"}}, headers: []string{"X-Acting-User", owner}})
	})
	t.Run("freeze metadata with a plan", func(t *testing.T) {
		e := newEnv(t)
		e.withPolicies(t, cookbook(t, "freeze-metadata-with-plan"))
		u := e.createUser(t, map[string]any{"username": "planned", "metadata": map[string]any{"plan": "pro"}})["id"].(string)
		writer := e.keyWith("read_write")
		p := problem(t, e.do(t, req{method: "PATCH", path: "/v1/users/" + u, token: writer, body: map[string]any{"metadata": map[string]any{"plan": "free"}}}), 403, "forbidden")
		if !strings.Contains(notices(p), "only be changed with an admin key") {
			t.Errorf("notices %v", p["notices"])
		}
		e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + u, token: writer, body: map[string]any{"name": "Still editable"}})
		e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + u, body: map[string]any{"metadata": map[string]any{"plan": "free"}}})
	})
	t.Run("no changes to suspended users", func(t *testing.T) {
		e := newEnv(t)
		e.withPolicies(t, cookbook(t, "suspended-users-frozen"))
		u := e.createUser(t, map[string]any{"username": "frozen"})["id"].(string)
		e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + u, body: map[string]any{"name": "Before"}})
		sus := e.must(t, 201, req{method: "POST", path: "/v1/users/" + u + "/suspensions", body: map[string]any{"reason": "abuse"}}).json(t)["id"].(string)
		p := problem(t, e.patchUser(t, u, "application/json", map[string]any{"name": "During"}), 403, "forbidden")
		if !strings.Contains(notices(p), "A suspended user cannot be changed") {
			t.Errorf("notices %v", p["notices"])
		}
		e.must(t, 200, req{method: "DELETE", path: "/v1/users/" + u + "/suspensions/" + sus})
		e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + u, body: map[string]any{"name": "After"}})
	})
	t.Run("viewers read only", func(t *testing.T) {
		e := newEnv(t)
		e.withPolicies(t, cookbook(t, "viewers-read-only"))
		viewer := e.createUser(t, map[string]any{"username": "watcher", "roles": []string{"viewer", "admin"}})["id"].(string)
		member := e.createUser(t, map[string]any{"username": "member"})["id"].(string)
		for _, target := range []string{viewer, member} {
			p := problem(t, e.actingPatch(t, viewer, target, map[string]any{"bio": "x"}), 403, "forbidden")
			if !strings.Contains(notices(p), "Viewers cannot change users.") {
				t.Errorf("notices %v", p["notices"])
			}
		}
		e.must(t, 200, req{method: "GET", path: "/v1/users/" + member, headers: []string{"X-Acting-User", viewer}})
	})
}

func TestRoleCatalog(t *testing.T) {
	e := newEnv(t)
	if got := fmt.Sprint(e.must(t, 200, req{method: "GET", path: "/v1/roles", token: e.keyWith("read_only")}).json(t)["roles"]); got != "[member admin viewer]" {
		t.Errorf("default catalog %s", got)
	}
	problem(t, e.do(t, req{method: "PUT", path: "/v1/roles", token: e.keyWith("read_write"), body: map[string]any{"roles": []string{"x"}}}), 403, "insufficient_scope")
	u := e.createUser(t, map[string]any{"username": "roled", "roles": []string{"viewer"}})["id"].(string)
	problem(t, e.patchUser(t, u, "application/json", map[string]any{"roles": []string{"billing"}}), 422, "invalid_role")
	e.must(t, 200, req{method: "PUT", path: "/v1/roles", body: map[string]any{"roles": []string{"member", "admin", "viewer", "billing"}}})
	e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + u, body: map[string]any{"roles": []string{"billing", "viewer"}}})
	p := problem(t, e.do(t, req{method: "PUT", path: "/v1/roles", body: map[string]any{"roles": []string{"member", "admin"}}}), http.StatusConflict, "role_in_use")
	if !strings.Contains(p["detail"].(string), "billing") || !strings.Contains(p["detail"].(string), "viewer") {
		t.Errorf("detail %v", p["detail"])
	}
	p = problem(t, e.do(t, req{method: "PUT", path: "/v1/roles", body: map[string]any{"roles": []string{"Bad Role", "member", "member"}}}), 422, "validation_failed")
	if got := fieldCodes(p); got["roles[0]"] == "" || got["roles[2]"] == "" {
		t.Errorf("errors %v", got)
	}
}

func TestPoliciesSeeClearedRoles(t *testing.T) {
	e := newEnv(t)
	e.withPolicies(t, `@id("keep-a-role")
@notice("A user keeps at least one role.")
forbid (principal, action == Action::"updateUser", resource is User)
when { context.changed_fields.contains("roles") && context.roles.isEmpty() };`)
	u := e.createUser(t, map[string]any{"username": "roleful", "roles": []string{"member"}})["id"].(string)
	p := problem(t, e.patchUser(t, u, "application/json", map[string]any{"roles": nil}), 403, "forbidden")
	if !strings.Contains(notices(p), "A user keeps at least one role.") {
		t.Errorf("notices %v", p["notices"])
	}
	e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + u, body: map[string]any{"roles": []string{"viewer"}}})
}
