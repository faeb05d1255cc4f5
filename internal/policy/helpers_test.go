package policy

import (
	"context"
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// Fixtures: a tenant's owner, an admin, two members, and keys.
func owner() *directory.User {
	return &directory.User{ID: "usr_owner", Roles: []string{"admin"}, IsOwner: true, Status: directory.StatusActive, EmailVerified: true, Email: "owner@example.com", Metadata: map[string]any{}}
}

func admin() *directory.User {
	return &directory.User{ID: "usr_admin", Roles: []string{"admin"}, Status: directory.StatusActive, Metadata: map[string]any{}}
}

func alice() *directory.User {
	return &directory.User{ID: "usr_alice", Roles: []string{"member"}, Status: directory.StatusActive, Email: "alice@example.com", Metadata: map[string]any{}}
}

func bob() *directory.User {
	return &directory.User{ID: "usr_bob", Roles: []string{"member"}, Status: directory.StatusActive, Metadata: map[string]any{}}
}

func key(scopes ...string) *directory.Key {
	return &directory.Key{ID: "key_1", TenantID: "ten_1", Scopes: scopes}
}

func platformKey() *directory.Key {
	return &directory.Key{ID: "key_platform", Scopes: []string{directory.ScopePlatform}}
}

func writeKey() *directory.Key { return key(directory.ScopeUsersWrite) }

func tenant(policies string) *directory.Tenant {
	return &directory.Tenant{ID: "ten_1", Policies: policies}
}

// req builds a request of the default tenant.
func req(k *directory.Key, acting *directory.User, action directory.CedarAction, resource *directory.User, changed ...string) directory.AuthzRequest {
	return directory.AuthzRequest{
		Tenant: tenant(""), Key: k, ActingUser: acting, Action: action,
		Resource: resource, ChangedFields: changed,
	}
}

// decide runs r and returns nil when allowed, or the deny's notices (never
// nil for a deny). Any error other than a forbidden *directory.Error fails
// the test.
func decide(t *testing.T, e *Engine, r directory.AuthzRequest) []string {
	t.Helper()
	err := e.Authorize(context.Background(), r)
	if err == nil {
		return nil
	}
	var de *directory.Error
	if !errors.As(err, &de) || de.Code != directory.ECodeForbidden {
		t.Fatalf("Authorize: got %v, want nil or a forbidden *directory.Error", err)
	}
	if de.Notices == nil {
		t.Fatal("a deny without notices")
	}
	return de.Notices
}

func wantAllow(t *testing.T, e *Engine, r directory.AuthzRequest) {
	t.Helper()
	if got := decide(t, e, r); got != nil {
		t.Errorf("denied with %q, want allowed", got)
	}
}

// wantDeny checks that r is denied, with notices equal to want.
func wantDeny(t *testing.T, e *Engine, r directory.AuthzRequest, want ...string) {
	t.Helper()
	got := decide(t, e, r)
	if got == nil {
		t.Fatalf("allowed, want denied with %q", want)
	}
	if !slices.Equal(got, want) {
		t.Errorf("notices: got %q, want %q", got, want)
	}
}

// wantDenyWith checks that r is denied and that want is among its notices.
func wantDenyWith(t *testing.T, e *Engine, r directory.AuthzRequest, want string) {
	t.Helper()
	got := decide(t, e, r)
	if got == nil {
		t.Fatalf("allowed, want denied with %q", want)
	}
	if !slices.Contains(got, want) {
		t.Errorf("notices: got %q, want among them %q", got, want)
	}
}

// engineAt returns an Engine whose clock is fixed at now.
func engineAt(now time.Time) *Engine {
	e := New()
	e.now = func() time.Time { return now }
	return e
}

// docBlocks returns the fenced code blocks of lang in docs/policies.md.
func docBlocks(t testing.TB, lang string) []string {
	t.Helper()
	b, err := os.ReadFile("../../docs/policies.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?ms)^```" + regexp.QuoteMeta(lang) + "\n(.*?)^```$")
	var out []string
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1])
	}
	return out
}

// recipe returns the cookbook block of docs/policies.md that holds the
// policy @id(id).
func recipe(t testing.TB, id string) string {
	t.Helper()
	for _, b := range docBlocks(t, "cedar") {
		if strings.Contains(b, `@id("`+id+`")`) && b != DefaultPolicies {
			return b
		}
	}
	t.Fatalf("docs/policies.md has no recipe with @id(%q)", id)
	return ""
}
