package scim_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/server"
)

// TestAbsoluteURLsHonourTrustedProxies checks that meta.location, Location
// and the members' $ref take X-Forwarded-Proto and X-Forwarded-Host from a
// trusted proxy, and ignore them from anyone else.
func TestAbsoluteURLsHonourTrustedProxies(t *testing.T) {
	forwarded := []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "scim.example.com"}
	check := func(t *testing.T, e *env, want string) {
		t.Helper()
		r := e.do(t, rq{method: "POST", path: "/scim/v2/Users", body: map[string]any{"userName": "a@example.com"}, headers: forwarded}).want(t, http.StatusCreated)
		u := r.json(t)
		loc := want + "/scim/v2/Users/" + u["id"].(string)
		if r.header.Get("Location") != loc || at(u, "meta.location") != loc {
			t.Errorf("Location %q, meta.location %v, want %s", r.header.Get("Location"), at(u, "meta.location"), loc)
		}
		g := e.do(t, rq{method: "POST", path: "/scim/v2/Groups", headers: forwarded, body: map[string]any{"displayName": "Sales",
			"members": []any{map[string]any{"value": u["id"]}}}}).want(t, http.StatusCreated).json(t)
		if at(g, "meta.location") != want+"/scim/v2/Groups/sales" || at(g, "members.0.$ref") != loc {
			t.Errorf("group: %v", g)
		}
		l := e.do(t, rq{method: "GET", path: "/scim/v2/Users?filter=userName+eq+%22a@example.com%22", headers: forwarded}).want(t, http.StatusOK).json(t)
		if at(l, "Resources.0.meta.location") != loc {
			t.Errorf("listed meta.location %v, want %s", at(l, "Resources.0.meta.location"), loc)
		}
		spc := e.do(t, rq{method: "GET", path: "/scim/v2/ServiceProviderConfig", headers: forwarded}).want(t, http.StatusOK)
		if !strings.Contains(string(spc.body), want+"/scim/v2/ServiceProviderConfig") {
			t.Errorf("ServiceProviderConfig does not name %s: %s", want, spc.body)
		}
	}
	t.Run("trusted", func(t *testing.T) {
		e := newEnvWith(t, func(c *server.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
		check(t, e, "https://scim.example.com")
	})
	t.Run("untrusted", func(t *testing.T) {
		e := newEnv(t)
		check(t, e, e.srv.URL)
	})
}
