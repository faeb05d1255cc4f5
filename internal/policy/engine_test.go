package policy

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

var allActions = []directory.CedarAction{
	directory.CedarCreateUser, directory.CedarUpdateUser, directory.CedarDeleteUser,
	directory.CedarRestoreUser, directory.CedarDeactivateUser, directory.CedarReactivateUser,
	directory.CedarSuspendUser, directory.CedarUnsuspendUser,
}

const (
	noticeNotActive      = "The acting user is not active."
	noticeOwnRoles       = "You cannot change your own roles."
	noticeOwnVerified    = "You cannot verify your own email address."
	noticeOwnSecure      = "You cannot change your own secure metadata."
	noticeOwnerRemoved   = "The tenant owner cannot be deleted, deactivated or suspended."
	noticeOwnerProfile   = "Only the tenant owner can change the owner's profile."
	noticeNothingPermits = "No policy permits this action."
)

func TestDefaultKeys(t *testing.T) {
	e := New()
	for _, action := range allActions {
		t.Run(string(action), func(t *testing.T) {
			for _, k := range []*directory.Key{key(directory.ScopeUsersWrite), key(directory.ScopeAdmin), key(directory.ScopeUsersRead, directory.ScopeUsersWrite), platformKey()} {
				wantAllow(t, e, req(k, nil, action, alice(), "name"))
			}
			wantDeny(t, e, req(key(directory.ScopeUsersRead), nil, action, alice()), noticeNothingPermits)
			wantDeny(t, e, req(key(), nil, action, alice()), noticeNothingPermits)
		})
	}
}

func TestDefaultOwnerProtection(t *testing.T) {
	e := New()
	for _, action := range []directory.CedarAction{directory.CedarDeleteUser, directory.CedarDeactivateUser, directory.CedarSuspendUser} {
		t.Run(string(action), func(t *testing.T) {
			wantDeny(t, e, req(key(directory.ScopeAdmin), nil, action, owner()), noticeOwnerRemoved)
			wantDeny(t, e, req(platformKey(), nil, action, owner()), noticeOwnerRemoved)
			wantDenyWith(t, e, req(writeKey(), admin(), action, owner()), noticeOwnerRemoved)
			wantDeny(t, e, req(writeKey(), owner(), action, owner()), noticeOwnerRemoved)
		})
	}
	t.Run("keys may edit the owner", func(t *testing.T) {
		wantAllow(t, e, req(writeKey(), nil, directory.CedarUpdateUser, owner(), "name"))
		wantAllow(t, e, req(writeKey(), nil, directory.CedarReactivateUser, owner()))
	})
	t.Run("only the owner edits the owner among acting users", func(t *testing.T) {
		wantDeny(t, e, req(writeKey(), admin(), directory.CedarUpdateUser, owner(), "name"), noticeOwnerProfile)
		wantAllow(t, e, req(writeKey(), owner(), directory.CedarUpdateUser, owner(), "name"))
		wantDeny(t, e, req(writeKey(), alice(), directory.CedarUpdateUser, owner(), "name"), noticeOwnerProfile)
	})
}

func TestDefaultActingUsers(t *testing.T) {
	e := New()
	t.Run("a member edits their profile", func(t *testing.T) {
		wantAllow(t, e, req(writeKey(), alice(), directory.CedarUpdateUser, alice(), "name", "metadata", "email"))
	})
	t.Run("the key's scopes do not matter to an acting user", func(t *testing.T) {
		// The routes check the scope before the policies.
		wantAllow(t, e, req(key(directory.ScopeUsersRead), alice(), directory.CedarUpdateUser, alice(), "name"))
	})
	t.Run("nobody changes their own roles", func(t *testing.T) {
		wantDeny(t, e, req(writeKey(), alice(), directory.CedarUpdateUser, alice(), "name", "roles"), noticeOwnRoles)
		wantDeny(t, e, req(writeKey(), admin(), directory.CedarUpdateUser, admin(), "roles"), noticeOwnRoles)
		wantDeny(t, e, req(writeKey(), owner(), directory.CedarUpdateUser, owner(), "roles"), noticeOwnRoles)
	})
	t.Run("nobody verifies their own email", func(t *testing.T) {
		wantDeny(t, e, req(writeKey(), alice(), directory.CedarUpdateUser, alice(), "email_verified"), noticeOwnVerified)
		verified := alice()
		verified.EmailVerified = true
		// An email change clears the verification: allowed.
		wantAllow(t, e, req(writeKey(), verified, directory.CedarUpdateUser, verified, "email", "email_verified"))
	})
	t.Run("nobody changes their own secure metadata", func(t *testing.T) {
		wantDeny(t, e, req(writeKey(), alice(), directory.CedarUpdateUser, alice(), "secure_metadata"), noticeOwnSecure)
	})
	t.Run("several forbids give several notices in text order", func(t *testing.T) {
		wantDeny(t, e, req(writeKey(), alice(), directory.CedarUpdateUser, alice(), "secure_metadata", "roles", "email_verified"),
			noticeOwnRoles, noticeOwnVerified, noticeOwnSecure)
	})
	t.Run("a member acts on nobody else", func(t *testing.T) {
		for _, action := range allActions {
			wantDeny(t, e, req(writeKey(), alice(), action, bob(), "name"), noticeNothingPermits)
		}
	})
	t.Run("a member takes no lifecycle action on themselves", func(t *testing.T) {
		wantDeny(t, e, req(writeKey(), alice(), directory.CedarDeactivateUser, alice()), noticeNothingPermits)
		wantDeny(t, e, req(writeKey(), alice(), directory.CedarDeleteUser, alice()), noticeNothingPermits)
	})
	t.Run("an admin manages other users", func(t *testing.T) {
		for _, action := range allActions {
			wantAllow(t, e, req(writeKey(), admin(), action, bob(), "name", "roles"))
		}
	})
	t.Run("an inactive or suspended user does nothing", func(t *testing.T) {
		now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
		e := engineAt(now)
		deactivated := admin()
		deactivated.Status = directory.StatusDeactivated
		wantDeny(t, e, req(writeKey(), deactivated, directory.CedarUpdateUser, bob(), "name"), noticeNotActive)

		suspended := admin()
		suspended.Suspensions = []directory.Suspension{{ID: "sus_1", CreatedAt: now.Add(-time.Hour)}}
		wantDeny(t, e, req(writeKey(), suspended, directory.CedarUpdateUser, bob(), "name"), noticeNotActive)

		ended := now.Add(-time.Minute)
		expired := admin()
		expired.Suspensions = []directory.Suspension{{ID: "sus_1", EndsAt: &ended}}
		wantAllow(t, e, req(writeKey(), expired, directory.CedarUpdateUser, bob(), "name"))
	})
}

func TestNotices(t *testing.T) {
	const text = `
permit (principal, action, resource);

@id("has-both") @notice("Both: the notice wins.")
forbid (principal, action, resource) when { context.changed_fields.contains("a") };

@id("has-only-an-id")
forbid (principal, action, resource) when { context.changed_fields.contains("b") };

forbid (principal, action, resource) when { context.changed_fields.contains("c") };

@notice("Both: the notice wins.")
forbid (principal, action, resource) when { context.changed_fields.contains("d") };
`
	e := New()
	r := func(changed ...string) directory.AuthzRequest {
		r := req(writeKey(), nil, directory.CedarUpdateUser, alice(), changed...)
		r.Tenant = tenant(text)
		return r
	}
	wantAllow(t, e, r("x"))
	wantDeny(t, e, r("a"), "Both: the notice wins.")
	wantDeny(t, e, r("b"), "has-only-an-id")
	wantDeny(t, e, r("c"), "policy3")
	wantDeny(t, e, r("d", "c", "b", "a"), "Both: the notice wins.", "has-only-an-id", "policy3")
}

func TestNoPermit(t *testing.T) {
	e := New()
	r := req(writeKey(), nil, directory.CedarUpdateUser, alice())
	r.Tenant = tenant(`@id("x") forbid (principal, action, resource) when { false };`)
	wantDeny(t, e, r, noticeNothingPermits)
}

func TestFailingForbidDenies(t *testing.T) {
	text := `permit (principal, action, resource);
@id("seats") @notice("Too many seats.")
forbid (principal, action, resource)
when { resource.metadata has seats && resource.metadata.seats > 10 };
@id("failing-permit")
permit (principal, action, resource)
when { resource.metadata has seats && resource.metadata.seats > 10 };`
	if err := Validate(text); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	e := New()
	r := func(seats any) directory.AuthzRequest {
		u := alice()
		u.Metadata = map[string]any{"seats": seats}
		r := req(writeKey(), nil, directory.CedarUpdateUser, u)
		r.Tenant = tenant(text)
		return r
	}
	wantAllow(t, e, r(jsonNumber("3")))
	wantDeny(t, e, r(jsonNumber("30")), "Too many seats.")
	// "ten" > 10 fails: Cedar would skip the forbid; Roster denies.
	wantDeny(t, e, r("ten"), "Too many seats.")

	// A failing permit permits nothing.
	text2 := `@id("p") permit (principal, action, resource)
when { resource.metadata has seats && resource.metadata.seats > 10 };`
	r2 := r("ten")
	r2.Tenant = tenant(text2)
	wantDeny(t, e, r2, noticeNothingPermits)
}

func TestCacheFollowsText(t *testing.T) {
	e := New()
	forbidWith := func(notice string) string {
		return `permit (principal, action, resource);
@notice("` + notice + `") forbid (principal, action, resource) when { context.changed_fields.contains("name") };`
	}
	ten := tenant(forbidWith("first"))
	r := req(writeKey(), nil, directory.CedarUpdateUser, alice(), "name")
	r.Tenant = ten
	wantDeny(t, e, r, "first")

	set1, _ := e.policies(ten)
	set1again, _ := e.policies(tenant(forbidWith("first")))
	if set1 != set1again {
		t.Error("the same text was parsed again")
	}

	// A PUT: the next request carries the new text and sees it at once.
	ten.Policies = forbidWith("second")
	wantDeny(t, e, r, "second")
	ten.Policies = `permit (principal, action, resource);`
	wantAllow(t, e, r)
	ten.Policies = ""
	wantAllow(t, e, r) // the default set: a users:write key may
	r.Key = key(directory.ScopeUsersRead)
	wantDeny(t, e, r, noticeNothingPermits)

	if n := len(e.tenants); n != 1 {
		t.Errorf("cache holds %d entries for one tenant, want 1", n)
	}
}

func TestCacheIsBounded(t *testing.T) {
	e := New()
	e.max = 3
	r := req(writeKey(), nil, directory.CedarUpdateUser, alice())
	for i, id := range []string{"ten_a", "ten_b", "ten_c", "ten_d", "ten_a", "ten_e"} {
		r.Tenant = &directory.Tenant{ID: id, Policies: "permit (principal, action, resource);"}
		wantAllow(t, e, r)
		if n := len(e.tenants); n > 3 || e.lru.Len() != n {
			t.Fatalf("after %d tenants: map %d, list %d, want at most 3", i+1, n, e.lru.Len())
		}
	}
	// ten_a was used again before ten_e came: ten_c is the oldest.
	for _, id := range []string{"ten_a", "ten_d", "ten_e"} {
		if _, ok := e.tenants[id]; !ok {
			t.Errorf("%s was evicted", id)
		}
	}
}

// TestCacheIsBoundedByBytes: the cache keeps at most maxBytes of policy
// text, evicting the least recently used tenants, and never keeps a text
// longer than that alone.
func TestCacheIsBoundedByBytes(t *testing.T) {
	e := New()
	e.maxBytes = 1000
	// text is a policy set of exactly n bytes that allows the write.
	text := func(n int) string {
		const permit = "permit (principal, action, resource);\n"
		return permit + "//" + strings.Repeat("x", n-len(permit)-3) + "\n"
	}
	r := req(writeKey(), nil, directory.CedarUpdateUser, alice())
	check := func(step string, want ...string) {
		t.Helper()
		sum := 0
		for _, el := range e.tenants {
			sum += len(el.Value.(*cacheEntry).text)
		}
		if sum != e.bytes || sum > e.maxBytes || e.lru.Len() != len(e.tenants) {
			t.Fatalf("%s: %d bytes held, %d counted, %d entries in the list and %d in the map; at most %d bytes",
				step, sum, e.bytes, e.lru.Len(), len(e.tenants), e.maxBytes)
		}
		var got []string
		for el := e.lru.Front(); el != nil; el = el.Next() {
			got = append(got, el.Value.(*cacheEntry).tenantID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: cache holds %v (most recent first), want %v", step, got, want)
		}
	}
	decide := func(id string, n int) {
		t.Helper()
		r.Tenant = &directory.Tenant{ID: id, Policies: text(n)}
		wantAllow(t, e, r)
	}
	decide("ten_a", 400)
	decide("ten_b", 400)
	check("two texts", "ten_b", "ten_a")
	decide("ten_a", 400) // used again
	decide("ten_c", 400) // 1200 bytes: the least recently used goes
	check("a third text", "ten_c", "ten_a")
	decide("ten_a", 100) // a new text of the same tenant replaces its entry
	check("a shorter text", "ten_a", "ten_c")
	decide("ten_d", 500)
	check("a fourth text", "ten_d", "ten_a", "ten_c")
	decide("ten_e", 1001) // longer than the whole cache: decided, not kept
	check("a text over the bound", "ten_d", "ten_a", "ten_c")
	decide("ten_d", 1000) // fills it alone
	check("a text at the bound", "ten_d")
}

func TestAuthorizeFailures(t *testing.T) {
	e := New()
	isInternal := func(err error) bool {
		var de *directory.Error
		return err != nil && !errors.As(err, &de)
	}
	r := req(writeKey(), nil, directory.CedarUpdateUser, alice())
	r.Tenant = tenant("permit (principal, action, resource")
	if err := e.Authorize(context.Background(), r); !isInternal(err) {
		t.Errorf("stored text that does not parse: got %v, want an internal error", err)
	}
	// The failure is cached too, and a fixed text replaces it.
	r.Tenant.Policies = "permit (principal, action, resource);"
	if err := e.Authorize(context.Background(), r); err != nil {
		t.Errorf("after a fix: %v", err)
	}

	r = req(writeKey(), nil, "readUser", alice())
	if err := e.Authorize(context.Background(), r); !isInternal(err) || !strings.Contains(err.Error(), "readUser") {
		t.Errorf("unknown action: got %v", err)
	}
	r = req(nil, nil, directory.CedarUpdateUser, alice())
	if err := e.Authorize(context.Background(), r); !isInternal(err) {
		t.Errorf("no key: got %v", err)
	}
	r = req(writeKey(), nil, directory.CedarUpdateUser, nil)
	if err := e.Authorize(context.Background(), r); !isInternal(err) {
		t.Errorf("no resource: got %v", err)
	}
	r = req(writeKey(), nil, directory.CedarUpdateUser, alice())
	r.Tenant = nil
	if err := e.Authorize(context.Background(), r); err != nil {
		t.Errorf("no tenant (default set): %v", err)
	}
}

// TestModel proves each attribute of the model reaches the policies with
// the value the documentation gives.
func TestModel(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	e := engineAt(now)
	target := bob()
	target.Roles = []string{"member", "viewer"}
	target.EmailVerified = true
	target.Username = "bob"
	target.Status = directory.StatusDeactivated
	target.Suspensions = []directory.Suspension{{ID: "sus_1"}}
	target.Metadata = map[string]any{
		"plan": "pro", "seats": jsonNumber("12"), "price": jsonNumber("19.99"),
		"ratio": jsonNumber("0.123456"), "big": jsonNumber("1e3"), "beta": true,
		"gone": nil, "tags": []any{"a", "b", nil},
		"address": map[string]any{"city": "Paris"},
	}
	target.SecureMetadata = map[string]any{"risk_score": jsonNumber("85")}
	cases := []struct{ cond, why string }{
		{`resource.roles == ["viewer", "member"]`, "roles"},
		{`!resource.is_owner`, "is_owner"},
		{`resource.status == "deactivated"`, "status"},
		{`resource.suspended`, "suspended"},
		{`resource.email_verified`, "email_verified"},
		{`!(resource has email)`, "an empty email is absent"},
		{`resource has username && resource.username == "bob"`, "username"},
		{`resource.metadata has plan && resource.metadata.plan == "pro"`, "string"},
		{`resource.metadata has seats && resource.metadata.seats == 12`, "integral number: Long"},
		{`resource.metadata has price && resource.metadata.price == decimal("19.99")`, "4 decimals: decimal"},
		{`resource.metadata has ratio && resource.metadata.ratio == "0.123456"`, "more decimals: String"},
		{`resource.metadata has big && resource.metadata.big == 1000`, "1e3: Long"},
		{`resource.metadata has beta && resource.metadata.beta`, "bool"},
		{`!(resource.metadata has gone)`, "null: absent"},
		{`resource.metadata has tags && resource.metadata.tags == ["b", "a"]`, "array: Set, nulls dropped"},
		{`resource.metadata has address && resource.metadata.address has city && resource.metadata.address.city == "Paris"`, "object: record"},
		{`resource.secure_metadata has risk_score && resource.secure_metadata.risk_score >= 80`, "secure_metadata"},
		{`principal is Key && principal.scopes == ["users:write"]`, "key scopes"},
		{`context.changed_fields == ["name", "roles"]`, "changed_fields"},
		{`context.roles == ["admin"]`, "roles after"},
		{`!context.acting`, "acting"},
		{`context.key_scopes == ["users:write"]`, "key_scopes"},
		{`action == Action::"updateUser" && resource == User::"usr_bob" && principal == Key::"key_1"`, "uids"},
	}
	for _, c := range cases {
		t.Run(c.why, func(t *testing.T) {
			text := "permit (principal, action, resource) when { " + c.cond + " };"
			if err := Validate(text); err != nil {
				t.Fatalf("Validate(%s): %v", text, err)
			}
			r := req(writeKey(), nil, directory.CedarUpdateUser, target, "name", "roles")
			r.RolesAfter = []string{"admin"}
			r.Tenant = tenant(text)
			wantAllow(t, e, r)
		})
	}

	t.Run("acting user", func(t *testing.T) {
		text := `permit (principal, action, resource) when {
  context.acting && principal is User && principal == User::"usr_admin" &&
  principal.roles.contains("admin") && context.key_scopes == ["users:read"]
};`
		if err := Validate(text); err != nil {
			t.Fatal(err)
		}
		r := req(key(directory.ScopeUsersRead), admin(), directory.CedarUpdateUser, target, "name")
		r.Tenant = tenant(text)
		wantAllow(t, e, r)
	})

	t.Run("roles after default to the current roles unless roles change", func(t *testing.T) {
		text := `permit (principal, action, resource) when { context.roles == resource.roles };`
		r := req(writeKey(), nil, directory.CedarDeactivateUser, target)
		r.Tenant = tenant(text)
		wantAllow(t, e, r)
		r = req(writeKey(), nil, directory.CedarUpdateUser, target, "roles") // roles cleared
		r.Tenant = tenant(`permit (principal, action, resource) when { context.roles.isEmpty() };`)
		wantAllow(t, e, r)
	})
}

// TestConcurrentTenants runs decisions of many tenants, some of whose texts
// change meanwhile, at once (for go test -race), with a cache smaller than
// the tenants.
func TestConcurrentTenants(t *testing.T) {
	e := New()
	e.max = 4
	texts := []string{
		"permit (principal, action, resource);",
		`permit (principal, action, resource); @notice("no") forbid (principal, action, resource);`,
		"",
	}
	done := make(chan struct{})
	for g := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 200 {
				text := texts[(g+i)%len(texts)]
				r := req(writeKey(), nil, directory.CedarUpdateUser, alice(), "name")
				r.Tenant = &directory.Tenant{ID: "ten_" + string(rune('a'+(g+i)%6)), Policies: text}
				err := e.Authorize(context.Background(), r)
				if denied := err != nil; denied != (text == texts[1]) {
					t.Errorf("text %q: got %v", text, err)
					return
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
}
