package policy

import (
	"context"
	"testing"

	"github.com/roster-dev/roster/internal/directory"
)

// BenchmarkAuthorize measures one decision with a cached policy set: the
// default set for a key and for an acting user, natively and with Cedar,
// and the default set plus every cookbook recipe for an acting admin
// editing a user with metadata.
func BenchmarkAuthorize(b *testing.B) {
	target := bob()
	target.Metadata = map[string]any{"plan": "pro", "seats": jsonNumber("12"), "theme": "dark"}
	target.SecureMetadata = map[string]any{"risk_score": jsonNumber("10")}
	full := DefaultPolicies
	for _, id := range []string{
		"self-service-profile", "only-owner-grants-admin", "freeze-metadata-with-plan",
		"suspended-users-frozen", "viewers-read-only", "enterprise-users-admin-keys",
		"lock-high-risk-accounts", "delete-with-admin-key",
	} {
		full += "\n" + recipe(b, id)
	}
	cases := []struct {
		name  string
		r     directory.AuthzRequest
		cedar bool // decide the default set with Cedar
	}{
		{"default/key", req(writeKey(), nil, directory.CedarUpdateUser, target, "name"), false},
		{"default/acting-self", req(writeKey(), alice(), directory.CedarUpdateUser, alice(), "name", "roles"), false},
		{"default-cedar/key", req(writeKey(), nil, directory.CedarUpdateUser, target, "name"), true},
		{"default-cedar/acting-self", req(writeKey(), alice(), directory.CedarUpdateUser, alice(), "name", "roles"), true},
		{"cookbook/acting-admin", func() directory.AuthzRequest {
			r := req(writeKey(), admin(), directory.CedarUpdateUser, target, "name", "metadata")
			r.RolesAfter = []string{"member"}
			r.Tenant = tenant(full)
			return r
		}(), false},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			e := New()
			if e.forbids == nil {
				b.Fatal("Cedar decides the default set: see TestNativeDefaultsAreCurrent")
			}
			if c.cedar {
				e.forbids = nil
			}
			ctx := context.Background()
			_ = e.Authorize(ctx, c.r) // fill the cache
			b.ReportAllocs()
			for b.Loop() {
				_ = e.Authorize(ctx, c.r)
			}
		})
	}
	b.Run("parallel", func(b *testing.B) {
		e := New()
		r := cases[4].r
		_ = e.Authorize(context.Background(), r)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				_ = e.Authorize(ctx, r)
			}
		})
	})
}

func BenchmarkValidate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = Validate(DefaultPolicies)
	}
}
