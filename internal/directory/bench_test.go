package directory_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/roster-dev/roster/internal/directory"
)

// benchUser creates a user with most fields set, as a profile in use has
// them, and returns it.
func benchUser(b *testing.B, svc *directory.Service, t *directory.Tenant) *directory.User {
	b.Helper()
	res, err := svc.CreateUser(context.Background(), t, []byte(`{
		"email": "alice.smith@example.com", "username": "alice", "name": "Alice Smith",
		"given_name": "Alice", "family_name": "Smith", "bio": "Engineer in Paris.",
		"birthdate": "1990-01-01", "location": {"longitude": 2.35, "latitude": 48.85},
		"company": "Example Corp", "website": "https://alice.example.com", "country": "FR",
		"locale": "fr-FR", "zoneinfo": "Europe/Paris", "roles": ["member"],
		"metadata": {"theme": "dark", "plan": "pro", "seats": 25}
	}`), directory.WriteOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return res.User
}

// BenchmarkUpdatePipeline measures everything an update does but the write
// transaction: read the user from a real SQLite store, decode the body
// strictly, apply it (three patch formats), validate and normalize the
// changed fields, diff, and ask the (allow-all) authorizer — a dry run.
func BenchmarkUpdatePipeline(b *testing.B) {
	svc, tenant, _ := newService(b)
	u := benchUser(b, svc, tenant)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		kind directory.BodyKind
		body func(i int) string
	}{
		{"json/one-field", directory.BodyJSON, func(i int) string { return fmt.Sprintf(`{"name": "Alice %d"}`, i) }},
		{"json/two-fields", directory.BodyJSON, func(i int) string {
			return fmt.Sprintf(`{"company": "Company %d", "country": "de"}`, i)
		}},
		{"merge-patch/metadata", directory.BodyMergePatch, func(i int) string { return fmt.Sprintf(`{"metadata": {"seats": %d}}`, 1000+i) }},
		{"json-patch/two-ops", directory.BodyJSONPatch, func(i int) string {
			return fmt.Sprintf(`[{"op": "test", "path": "/version", "value": 1}, {"op": "replace", "path": "/bio", "value": "Bio %d"}]`, i)
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			opts := directory.WriteOptions{DryRun: true}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				res, err := svc.UpdateUser(ctx, tenant, u.ID, c.kind, []byte(c.body(i)), opts)
				if err != nil || !res.Changed {
					b.Fatalf("res %+v, err %v", res, err)
				}
			}
		})
	}
}

// BenchmarkAuthenticate measures the key lookup every request makes: hash
// the token, find the key by its hash in SQLite, compare in constant time.
func BenchmarkAuthenticate(b *testing.B) {
	svc, tenant, _ := newService(b)
	ctx := context.Background()
	_, token, err := svc.CreateKey(ctx, tenant.ID, directory.KeyInput{Name: "bench", Scopes: []string{directory.ScopeUsersRead}}, directory.Actor{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.Authenticate(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}
