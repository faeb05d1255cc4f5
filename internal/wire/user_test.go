package wire_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/wire"
)

// publicUsers are users whose every member takes the values that encode
// differently: empty and set strings, escapes, non-ASCII, invalid UTF-8,
// nested metadata, a location, suspensions with and without an end, a user
// being deleted (purge_after).
func publicUsers() []*directory.User {
	at := time.Date(2026, 11, 23, 1, 2, 3, 456_000_000, time.UTC)
	end := at.Add(time.Hour)
	bare := &directory.User{ID: "usr_1", TenantID: "ten_1", Status: directory.StatusActive, AuthProvider: "local", CreatedAt: at, UpdatedAt: at, Version: 1}
	full := &directory.User{
		ID: "usr_01M8", TenantID: "ten_01M8", Email: "Ann.Lee+x@example.com", EmailVerified: true,
		Username: "ann", Name: `Ann "the <b>boss</b>" & co`, GivenName: "Ann\u2028Line", FamilyName: "L\u00e9e \U0001F600",
		Picture: "https://example.com/a.png?x=1&y=2", Bio: "tab\there\nnew line\r\x00\x1f\b\f\\ end", Birthdate: "1990-02-03",
		Location: &directory.Location{Longitude: -122.4194155, Latitude: 37.7749}, Company: "Acme\u2029", Website: "https://acme.example",
		Country: "FR", Locale: "fr-FR", Zoneinfo: "Europe/Paris", Roles: []string{"member", "admin"},
		Metadata:       map[string]any{"plan": "pro", "seats": json.Number("12"), "nested": map[string]any{"a": []any{json.Number("1.5"), nil, true, "<x>"}}},
		SecureMetadata: map[string]any{"never": "shown"},
		Status:         directory.StatusActive, IsOwner: true, AuthProvider: "local",
		Suspensions: []directory.Suspension{{ID: "sus_1", Reason: "abuse & <spam>", CreatedAt: at}, {ID: "sus_2", Reason: "r", CreatedAt: at, EndsAt: &end}},
		ConsentedAt: &at, ConsentMethod: "checkbox",
		CreatedAt: at, UpdatedAt: end, Version: 42,
	}
	invalid := *full
	invalid.Name, invalid.Bio = "bad \xff\xfe utf-8", "half \xe2\x82"
	invalid.Status = directory.StatusDeactivated
	invalid.Location = &directory.Location{Longitude: 0, Latitude: -0.000001}
	deleting := *bare
	deleting.ID, deleting.Status, deleting.PurgeAfter = "usr_2", directory.StatusDeleting, &end
	return []*directory.User{bare, full, &invalid, &deleting}
}

func TestMarshalPublic(t *testing.T) {
	for _, u := range publicUsers() {
		want, err := json.Marshal(directory.PublicDoc(u))
		if err != nil {
			t.Fatal(err)
		}
		if got := wire.MarshalPublic(u); !bytes.Equal(got, want) {
			t.Errorf("MarshalPublic(%s):\n got %s\nwant %s", u.ID, got, want)
		}
	}
}

func FuzzMarshalPublic(f *testing.F) {
	f.Add("Ann", "a\u2028<b>&\"\\", "\xff", "x", 1.5, -2.25, int64(3))
	f.Fuzz(func(t *testing.T, name, bio, reason, role string, lon, lat float64, version int64) {
		u := publicUsers()[1]
		u.Name, u.Bio, u.Roles, u.Version = name, bio, []string{role, name}, version
		u.Suspensions = []directory.Suspension{{ID: "sus_1", Reason: reason, CreatedAt: u.CreatedAt}}
		u.Metadata = map[string]any{name: bio}
		u.Location = &directory.Location{Longitude: lon, Latitude: lat}
		want, err := json.Marshal(directory.PublicDoc(u))
		if err != nil {
			t.Skip("not encodable:", err) // NaN, ±Inf: never stored
		}
		if got := wire.MarshalPublic(u); !bytes.Equal(got, want) {
			t.Errorf("MarshalPublic:\n got %s\nwant %s", got, want)
		}
	})
}
