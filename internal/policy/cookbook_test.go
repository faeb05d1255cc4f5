package policy

import (
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

func TestDocsQuoteSchemaAndDefaults(t *testing.T) {
	found := false
	for _, b := range docBlocks(t, "cedarschema") {
		found = found || b == Schema
	}
	if !found {
		t.Error("docs/policies.md does not quote Schema verbatim")
	}
	found = false
	for _, b := range docBlocks(t, "cedar") {
		found = found || b == DefaultPolicies
	}
	if !found {
		t.Error("docs/policies.md does not quote DefaultPolicies verbatim")
	}
}

// cookbook returns an Engine and a request maker for the tenant whose
// policies are the default set followed by the recipe holding @id(id).
func cookbook(t *testing.T, id string) (*Engine, func(k *directory.Key, acting *directory.User, action directory.CedarAction, resource *directory.User, changed ...string) directory.AuthzRequest) {
	t.Helper()
	text := DefaultPolicies + "\n" + recipe(t, id)
	if got := messages(t, text); got != nil {
		t.Fatalf("the recipe does not validate: %q", got)
	}
	mk := func(k *directory.Key, acting *directory.User, action directory.CedarAction, resource *directory.User, changed ...string) directory.AuthzRequest {
		r := req(k, acting, action, resource, changed...)
		r.Tenant = tenant(text)
		return r
	}
	return New(), mk
}

func TestRecipeSelfServiceProfile(t *testing.T) {
	e, r := cookbook(t, "self-service-profile-fields-only")
	const notice = "You can change only the profile fields of your own account."
	wantAllow(t, e, r(writeKey(), alice(), directory.CedarUpdateUser, alice(), "name", "bio", "metadata", "locale"))
	wantDeny(t, e, r(writeKey(), alice(), directory.CedarUpdateUser, alice(), "name", "consented_at", "consent_method"), notice)
	wantDenyWith(t, e, r(writeKey(), alice(), directory.CedarUpdateUser, alice(), "roles"), notice)
	wantDenyWith(t, e, r(writeKey(), alice(), directory.CedarUpdateUser, alice(), "secure_metadata"), notice)

	// email_verified may only go from true to false, as an email change does.
	wantDenyWith(t, e, r(writeKey(), alice(), directory.CedarUpdateUser, alice(), "email_verified"), notice)
	verified := alice()
	verified.EmailVerified = true
	wantAllow(t, e, r(writeKey(), verified, directory.CedarUpdateUser, verified, "email", "email_verified"))

	// Not themselves: the recipe does not apply (the default set decides).
	wantAllow(t, e, r(writeKey(), admin(), directory.CedarUpdateUser, bob(), "consented_at"))
	wantAllow(t, e, r(writeKey(), nil, directory.CedarUpdateUser, alice(), "consented_at"))

	t.Run("alone, without the default set", func(t *testing.T) {
		text := recipe(t, "self-service-profile")
		if got := messages(t, text); got != nil {
			t.Fatal(got)
		}
		rr := r(writeKey(), alice(), directory.CedarUpdateUser, alice(), "name")
		rr.Tenant = tenant(text)
		wantAllow(t, e, rr)
		rr = r(writeKey(), alice(), directory.CedarUpdateUser, bob(), "name")
		rr.Tenant = tenant(text)
		wantDeny(t, e, rr, noticeNothingPermits)
	})
}

func TestRecipeOnlyOwnerGrantsAdmin(t *testing.T) {
	e, r := cookbook(t, "only-owner-grants-admin")
	const notice = "Only the tenant owner can grant the admin role."
	grant := func(k *directory.Key, acting, target *directory.User, action directory.CedarAction, after ...string) directory.AuthzRequest {
		q := r(k, acting, action, target, "roles")
		q.RolesAfter = after
		return q
	}
	// Granting admin.
	wantAllow(t, e, grant(writeKey(), owner(), bob(), directory.CedarUpdateUser, "member", "admin"))
	wantDeny(t, e, grant(writeKey(), admin(), bob(), directory.CedarUpdateUser, "member", "admin"), notice)
	wantDeny(t, e, grant(key(directory.ScopeAdmin), nil, bob(), directory.CedarUpdateUser, "admin"), notice)
	wantDeny(t, e, grant(platformKey(), nil, bob(), directory.CedarUpdateUser, "admin"), notice)

	// Creating an admin (the resource is the user as it would be).
	newAdmin := bob()
	newAdmin.Roles = []string{"admin"}
	wantAllow(t, e, grant(writeKey(), owner(), newAdmin, directory.CedarCreateUser, "admin"))
	wantDeny(t, e, grant(writeKey(), nil, newAdmin, directory.CedarCreateUser, "admin"), notice)

	// Other role changes, and edits of users who are admins already.
	wantAllow(t, e, grant(writeKey(), admin(), bob(), directory.CedarUpdateUser, "member", "viewer"))
	wantAllow(t, e, grant(writeKey(), nil, bob(), directory.CedarUpdateUser, "viewer"))
	other := admin()
	other.ID = "usr_other_admin"
	wantAllow(t, e, grant(writeKey(), nil, other, directory.CedarUpdateUser, "admin", "viewer"))
	wantAllow(t, e, r(writeKey(), admin(), directory.CedarUpdateUser, other, "name"))
}

func TestRecipeFreezeMetadata(t *testing.T) {
	e, r := cookbook(t, "freeze-metadata-with-plan")
	const notice = "The metadata of a user with a plan can only be changed with an admin key."
	planned := alice()
	planned.Metadata = map[string]any{"plan": "pro", "theme": "dark"}

	wantDeny(t, e, r(writeKey(), nil, directory.CedarUpdateUser, planned, "metadata"), notice)
	wantDenyWith(t, e, r(writeKey(), planned, directory.CedarUpdateUser, planned, "metadata"), notice)
	wantAllow(t, e, r(key(directory.ScopeAdmin), nil, directory.CedarUpdateUser, planned, "metadata"))
	wantAllow(t, e, r(writeKey(), nil, directory.CedarUpdateUser, planned, "name"))
	// Without a plan, metadata is free.
	wantAllow(t, e, r(writeKey(), alice(), directory.CedarUpdateUser, alice(), "metadata"))
}

func TestRecipeSuspendedUsersFrozen(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	_, r := cookbook(t, "suspended-users-frozen")
	e := engineAt(now)
	const notice = "A suspended user cannot be changed; lift the suspension first."
	suspended := bob()
	suspended.Suspensions = []directory.Suspension{{ID: "sus_1", CreatedAt: now.Add(-time.Hour)}}

	wantDeny(t, e, r(writeKey(), nil, directory.CedarUpdateUser, suspended, "name"), notice)
	wantDeny(t, e, r(writeKey(), admin(), directory.CedarUpdateUser, suspended, "name"), notice)
	wantAllow(t, e, r(writeKey(), nil, directory.CedarUnsuspendUser, suspended))
	wantAllow(t, e, r(writeKey(), nil, directory.CedarUpdateUser, bob(), "name"))

	ended := now.Add(-time.Second)
	lapsed := bob()
	lapsed.Suspensions = []directory.Suspension{{ID: "sus_1", EndsAt: &ended}}
	wantAllow(t, e, r(writeKey(), nil, directory.CedarUpdateUser, lapsed, "name"))
}

func TestRecipeViewersReadOnly(t *testing.T) {
	e, r := cookbook(t, "viewers-read-only")
	const notice = "Viewers cannot change users."
	viewer := alice()
	viewer.Roles = []string{"viewer"}
	adminViewer := admin()
	adminViewer.Roles = []string{"admin", "viewer"}

	wantDeny(t, e, r(writeKey(), viewer, directory.CedarUpdateUser, viewer, "name"), notice)
	for _, action := range allActions {
		wantDeny(t, e, r(writeKey(), adminViewer, action, bob(), "name"), notice)
	}
	wantAllow(t, e, r(writeKey(), alice(), directory.CedarUpdateUser, alice(), "name"))
	wantAllow(t, e, r(writeKey(), admin(), directory.CedarDeleteUser, viewer))
	// Keys are not users: the recipe does not touch them.
	wantAllow(t, e, r(writeKey(), nil, directory.CedarUpdateUser, viewer, "name"))
}

func TestRecipeEnterpriseUsers(t *testing.T) {
	e, r := cookbook(t, "enterprise-users-admin-keys")
	const notice = "Enterprise users are managed with an admin key."
	ent := bob()
	ent.Metadata = map[string]any{"plan": "enterprise"}
	pro := bob()
	pro.Metadata = map[string]any{"plan": "pro"}
	odd := bob()
	odd.Metadata = map[string]any{"plan": jsonNumber("3")}

	wantDeny(t, e, r(writeKey(), nil, directory.CedarUpdateUser, ent, "name"), notice)
	wantDeny(t, e, r(writeKey(), admin(), directory.CedarSuspendUser, ent), notice)
	wantAllow(t, e, r(key(directory.ScopeAdmin), nil, directory.CedarUpdateUser, ent, "name"))
	wantAllow(t, e, r(platformKey(), nil, directory.CedarDeleteUser, ent))
	wantAllow(t, e, r(writeKey(), nil, directory.CedarUpdateUser, pro, "name"))
	wantAllow(t, e, r(writeKey(), nil, directory.CedarUpdateUser, bob(), "name"))
	wantAllow(t, e, r(writeKey(), nil, directory.CedarUpdateUser, odd, "name")) // 3 == "enterprise" is false, not an error
}

func TestRecipeLockHighRisk(t *testing.T) {
	e, r := cookbook(t, "lock-high-risk-accounts")
	const notice = "This account is locked for review."
	risky := bob()
	risky.SecureMetadata = map[string]any{"risk_score": jsonNumber("85")}
	fine := bob()
	fine.SecureMetadata = map[string]any{"risk_score": jsonNumber("10")}
	wrong := bob()
	wrong.SecureMetadata = map[string]any{"risk_score": "high"}

	wantDeny(t, e, r(writeKey(), admin(), directory.CedarUpdateUser, risky, "name"), notice)
	wantAllow(t, e, r(writeKey(), nil, directory.CedarUpdateUser, risky, "name"))
	wantAllow(t, e, r(writeKey(), admin(), directory.CedarUpdateUser, fine, "name"))
	wantAllow(t, e, r(writeKey(), admin(), directory.CedarUpdateUser, bob(), "name"))
	wantDeny(t, e, r(writeKey(), admin(), directory.CedarUpdateUser, wrong, "name"), notice) // a failing forbid denies
}

func TestRecipeDeleteWithAdminKey(t *testing.T) {
	e, r := cookbook(t, "delete-with-admin-key")
	const notice = "Only an admin key can delete users."
	wantDeny(t, e, r(writeKey(), nil, directory.CedarDeleteUser, bob()), notice)
	wantDeny(t, e, r(key(directory.ScopeAdmin), admin(), directory.CedarDeleteUser, bob()), notice)
	wantAllow(t, e, r(key(directory.ScopeAdmin), nil, directory.CedarDeleteUser, bob()))
	wantAllow(t, e, r(platformKey(), nil, directory.CedarDeleteUser, bob()))
	wantAllow(t, e, r(writeKey(), nil, directory.CedarUpdateUser, bob(), "name"))
	wantAllow(t, e, r(writeKey(), nil, directory.CedarDeactivateUser, bob()))
}
