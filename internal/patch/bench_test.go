package patch

import (
	"encoding/json"
	"testing"
)

// userJSON is a user as Roster returns it (docs/design.md §2), about 1 KB.
const userJSON = `{
  "object": "user",
  "id": "usr_01JDQ3Z8K9W2V4X6Y8Z0A2B4C6",
  "tenant_id": "ten_01JDQ3Z8K9W2V4X6Y8Z0A2B4C7",
  "email": "alice.smith@example.com",
  "email_verified": true,
  "username": "alice",
  "name": "Alice Smith",
  "given_name": "Alice",
  "family_name": "Smith",
  "picture": "https://cdn.example.com/avatars/usr_01JDQ3Z8K9W2V4X6Y8Z0A2B4C6.png",
  "bio": "Engineer in Paris. Likes \"quoted\" things, caf\u00e9 au lait and \ud83d\ude00.",
  "birthdate": "1990-01-01",
  "location": {"type": "Point", "coordinates": [2.3522, 48.8566]},
  "company": "Example Corp",
  "website": "https://alice.example.com",
  "country": "FR",
  "locale": "fr-FR",
  "zoneinfo": "Europe/Paris",
  "roles": ["member", "admin"],
  "is_owner": false,
  "metadata": {"theme": "dark", "plan": "pro", "seats": 25, "beta": true, "ref": null},
  "status": "active",
  "deactivated": false,
  "suspensions": [],
  "auth_provider": "local",
  "consented_at": "2026-01-15T09:30:00.000Z",
  "consent_method": "opt-in",
  "created_at": "2025-06-01T12:00:00.000Z",
  "updated_at": "2026-11-22T22:58:32.123Z",
  "version": 18446744073709551617
}`

func BenchmarkDecode(b *testing.B) {
	data := []byte(userJSON)
	b.Run("patch.Decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := Decode(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	// For reference: what the standard library costs for the same value.
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var v any
			if err := json.Unmarshal(data, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkApply(b *testing.B) {
	doc := mustDecode(b, userJSON)
	ops, err := ParseOps(mustDecode(b, `[
		{"op": "test", "path": "/version", "value": 18446744073709551617},
		{"op": "replace", "path": "/email", "value": "alice@example.org"},
		{"op": "add", "path": "/roles/-", "value": "viewer"},
		{"op": "remove", "path": "/metadata/ref"},
		{"op": "add", "path": "/metadata/theme", "value": "light"},
		{"op": "move", "from": "/bio", "path": "/metadata/old_bio"}
	]`))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Apply(doc, ops); err != nil {
			b.Fatal(err)
		}
	}
}
