package wire_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/sqlite"
	"github.com/roster-dev/roster/internal/wire"
)

// benchUser creates, on a real SQLite file, a user with most fields set, as
// a profile in use has them, and returns it.
func benchUser(b *testing.B) *directory.User {
	b.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "roster.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	svc := directory.NewService(store, directory.Options{Wire: wire.Encoding{}})
	out, err := svc.CreateTenant(ctx, directory.TenantInput{Name: "T"}, false, directory.Actor{})
	if err != nil {
		b.Fatal(err)
	}
	res, err := svc.CreateUser(ctx, out.Tenant, []byte(`{
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

// BenchmarkPublicDocJSON measures the encoding of a user for a response or
// an event: MarshalPublic, against the generic way it replaced (its public
// document as a map, then json.Marshal), which gives the same bytes.
func BenchmarkPublicDocJSON(b *testing.B) {
	u := benchUser(b)
	for _, c := range []struct {
		name string
		enc  func() ([]byte, error)
	}{
		{"MarshalPublic", func() ([]byte, error) { return wire.MarshalPublic(u), nil }},
		{"map+json.Marshal", func() ([]byte, error) { return json.Marshal(directory.PublicDoc(u)) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				out, err := c.enc()
				if err != nil {
					b.Fatal(err)
				}
				n = len(out)
			}
			b.SetBytes(int64(n))
		})
	}
}
