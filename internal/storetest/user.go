package storetest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

var userTests = []test{
	{"RoundTrip", testUserRoundTrip},
	{"RoundTripMinimal", testUserRoundTripMinimal},
	{"GetInOwnTx", testUserGetInOwnTx},
	{"GetMissing", testUserGetMissing},
	{"GetOtherTenant", testUserGetOtherTenant},
	{"UniqueEmail", testUserUniqueEmail},
	{"UniqueUsername", testUserUniqueUsername},
	{"SameEmailOtherTenant", testUserSameEmailOtherTenant},
	{"EmptyEmailUsername", testUserEmptyEmailUsername},
	{"Update", testUserUpdate},
	{"UpdateStaleVersion", testUserUpdateStaleVersion},
	{"UpdateMissing", testUserUpdateMissing},
	{"UpdateOtherTenant", testUserUpdateOtherTenant},
	{"UpdateTaken", testUserUpdateTaken},
	{"UpdateFreesEmail", testUserUpdateFreesEmail},
}

// fullUser returns a user with every field set, with values chosen to break
// lossy encodings: numbers beyond float64, nested JSON, non-ASCII text, times
// outside UTC.
func fullUser(tenantID string) *directory.User {
	zone := time.FixedZone("UTC-7", -7*3600)
	created := time.Date(2026, 11, 22, 15, 58, 32, 123_000_000, zone)
	consented := time.Date(2025, 6, 30, 23, 59, 59, 999_000_000, zone)
	return &directory.User{
		ID:            directory.NewID(directory.PrefixUser, created),
		TenantID:      tenantID,
		Email:         "Alice.Smith@Example.com",
		EmailVerified: true,
		Username:      "alice.smith",
		Name:          "Alice Smith-Żółć ✓",
		GivenName:     "Alice",
		FamilyName:    "Smith-Żółć",
		Picture:       "https://cdn.example.com/a/b.png?x=1&y=2",
		Bio:           "Line one\nline \"two\" <b>&</b>\u2028 tab\there",
		Birthdate:     "1990-01-31",
		Location:      &directory.Location{Longitude: -122.41941550000001, Latitude: 37.774929},
		Company:       "Example Corp",
		Website:       "https://alice.example.com/",
		Country:       "FR",
		Locale:        "fr-FR",
		Zoneinfo:      "Europe/Paris",
		Roles:         []string{"viewer", "admin", "member"},
		Metadata: map[string]any{
			"theme":    "dark",
			"big":      json.Number("123456789012345678901234567890"),
			"past2p53": json.Number("-9007199254740993"),
			"pi":       json.Number("3.141592653589793238462643383279"),
			"zero":     json.Number("0"),
			"flag":     false,
			"none":     nil,
			"prefs": map[string]any{
				"lang":  "fr",
				"count": json.Number("18446744073709551617"),
				"list":  []any{"a", json.Number("2"), true, nil, map[string]any{"deep": []any{}}},
				"empty": map[string]any{},
			},
		},
		SecureMetadata: map[string]any{
			"ssn_last4": "1234",
			"score":     json.Number("99.50"),
			"nested":    map[string]any{"k": []any{json.Number("1"), "x"}},
		},
		ConsentedAt:   &consented,
		ConsentMethod: "opt-in",
		IsOwner:       true,
		Status:        directory.StatusActive,
		AuthProvider:  "google-oidc",
		CreatedAt:     created,
		UpdatedAt:     created.Add(1500 * time.Millisecond),
		Version:       7,
	}
}

func testUserRoundTrip(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	u := fullUser(tn.ID)
	createUser(t, s, u)

	got := getUser(t, s, tn.ID, u.ID)
	checkEqual(t, "GetUser", got, stored(u))
	if got.Suspensions == nil {
		t.Errorf("GetUser: got nil Suspensions, want an empty slice")
	}

	inTx(t, s, func(tx directory.Tx) error {
		got, err := tx.GetUser(t.Context(), tn.ID, u.ID)
		if err != nil {
			return err
		}
		checkEqual(t, "Tx.GetUser", got, stored(u))
		return nil
	})
}

func testUserRoundTripMinimal(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	at := now()
	// Nil slices and maps stay nil, empty ones stay empty.
	u := &directory.User{
		ID:        directory.NewID(directory.PrefixUser, at),
		TenantID:  tn.ID,
		Username:  "bob",
		Status:    directory.StatusDeactivated,
		CreatedAt: at,
		UpdatedAt: at,
		Version:   1,
	}
	v := NewUser(tn.ID, "carol@example.com", "")
	v.Roles = []string{}
	v.SecureMetadata = map[string]any{}
	createUser(t, s, u)
	createUser(t, s, v)

	checkEqual(t, "GetUser of a user with only a username", getUser(t, s, tn.ID, u.ID), stored(u))
	checkEqual(t, "GetUser of a user with only an email", getUser(t, s, tn.ID, v.ID), stored(v))
}

func testUserGetInOwnTx(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	u := NewUser(tn.ID, "alice@example.com", "alice")
	inTx(t, s, func(tx directory.Tx) error {
		if err := tx.CreateUser(t.Context(), u); err != nil {
			return err
		}
		got, err := tx.GetUser(t.Context(), tn.ID, u.ID)
		if err != nil {
			t.Errorf("Tx.GetUser of a user created in the same transaction: %v", err)
			return nil
		}
		checkEqual(t, "Tx.GetUser", got, stored(u))
		return nil
	})
}

func testUserGetMissing(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	createUser(t, s, NewUser(tn.ID, "alice@example.com", "alice"))
	missing := directory.NewID(directory.PrefixUser, now())

	_, err := s.GetUser(t.Context(), tn.ID, missing)
	wantNotFound(t, "GetUser of a missing user", err)
	_ = s.InTx(t.Context(), func(tx directory.Tx) error {
		_, err := tx.GetUser(t.Context(), tn.ID, missing)
		wantNotFound(t, "Tx.GetUser of a missing user", err)
		return nil
	})
}

func testUserGetOtherTenant(t *testing.T, s directory.Store) {
	a := createTenant(t, s, "A")
	b := createTenant(t, s, "B")
	u := NewUser(a.ID, "alice@example.com", "alice")
	createUser(t, s, u)

	_, err := s.GetUser(t.Context(), b.ID, u.ID)
	wantNotFound(t, "GetUser in another tenant", err)
	_ = s.InTx(t.Context(), func(tx directory.Tx) error {
		_, err := tx.GetUser(t.Context(), b.ID, u.ID)
		wantNotFound(t, "Tx.GetUser in another tenant", err)
		return nil
	})
}

func testUserUniqueEmail(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	createUser(t, s, NewUser(tn.ID, "Alice@Example.com", "alice"))

	err := tryCreateUser(t, s, NewUser(tn.ID, "alice@example.com", "alice2"))
	wantUnique(t, "CreateUser with an email differing only in case", err, "email")
	err = tryCreateUser(t, s, NewUser(tn.ID, "Alice@Example.com", ""))
	wantUnique(t, "CreateUser with the same email", err, "email")

	users, lerr := s.ListUsers(t.Context(), tn.ID, directory.UserFilter{Limit: 10})
	if lerr != nil {
		t.Fatalf("ListUsers: %v", lerr)
	}
	if len(users) != 1 {
		t.Errorf("ListUsers after refused creations: got %d users, want 1", len(users))
	}
}

func testUserUniqueUsername(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	createUser(t, s, NewUser(tn.ID, "alice@example.com", "alice"))

	err := tryCreateUser(t, s, NewUser(tn.ID, "other@example.com", "alice"))
	wantUnique(t, "CreateUser with a taken username", err, "username")
	err = tryCreateUser(t, s, NewUser(tn.ID, "", "alice"))
	wantUnique(t, "CreateUser with a taken username and no email", err, "username")
}

func testUserSameEmailOtherTenant(t *testing.T, s directory.Store) {
	a := createTenant(t, s, "A")
	b := createTenant(t, s, "B")
	createUser(t, s, NewUser(a.ID, "alice@example.com", "alice"))
	if err := tryCreateUser(t, s, NewUser(b.ID, "alice@example.com", "alice")); err != nil {
		t.Errorf("CreateUser with another tenant's email and username: got %v, want nil", err)
	}
}

func testUserEmptyEmailUsername(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	for _, u := range []*directory.User{
		NewUser(tn.ID, "", "alice"),
		NewUser(tn.ID, "", "bob"),
		NewUser(tn.ID, "carol@example.com", ""),
		NewUser(tn.ID, "dave@example.com", ""),
	} {
		if err := tryCreateUser(t, s, u); err != nil {
			t.Errorf("CreateUser(email %q, username %q): got %v, want nil", u.Email, u.Username, err)
		}
	}
}

func testUserUpdate(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	u := fullUser(tn.ID)
	createUser(t, s, u)
	bystander := NewUser(tn.ID, "bob@example.com", "bob")
	createUser(t, s, bystander)

	up := *u
	up.Email = "alice@new.example.org"
	up.EmailVerified = false
	up.Username = "" // cleared: the stored value must go too
	up.Name = "Alice Jones"
	up.Picture, up.Bio, up.Birthdate = "", "", ""
	up.Location = nil
	up.Country, up.Locale, up.Zoneinfo = "DE", "de-DE", "Europe/Berlin"
	up.Roles = []string{"member"}
	up.Metadata = map[string]any{"theme": "light", "n": json.Number("100000000000000000000000000001")}
	up.SecureMetadata = nil
	up.ConsentedAt, up.ConsentMethod = nil, ""
	up.IsOwner = false
	up.Status = directory.StatusDeactivated
	up.AuthProvider = "local"
	up.UpdatedAt = u.UpdatedAt.Add(time.Minute)
	up.Version = u.Version + 1
	inTx(t, s, func(tx directory.Tx) error { return tx.UpdateUser(t.Context(), &up, u.Version) })

	checkEqual(t, "GetUser after UpdateUser", getUser(t, s, tn.ID, u.ID), stored(&up))
	checkEqual(t, "another user after UpdateUser", getUser(t, s, tn.ID, bystander.ID), stored(bystander))

	// The cleared username is free again.
	if err := tryCreateUser(t, s, NewUser(tn.ID, "", u.Username)); err != nil {
		t.Errorf("CreateUser with the username UpdateUser cleared: got %v, want nil", err)
	}
}

func testUserUpdateStaleVersion(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	u := NewUser(tn.ID, "alice@example.com", "alice")
	u.Version = 3
	createUser(t, s, u)

	up := *u
	up.Name = "Stale"
	up.Email = "stale@example.com"
	up.Version = 3
	var updateErr error
	// fn commits despite the error, so a write that leaked would show.
	inTx(t, s, func(tx directory.Tx) error {
		updateErr = tx.UpdateUser(t.Context(), &up, 2)
		return nil
	})
	if !errors.Is(updateErr, directory.ErrVersionConflict) {
		t.Errorf("UpdateUser with a stale version: got error %v, want ErrVersionConflict", updateErr)
	}
	checkEqual(t, "GetUser after a stale UpdateUser", getUser(t, s, tn.ID, u.ID), stored(u))
}

func testUserUpdateMissing(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	createUser(t, s, NewUser(tn.ID, "alice@example.com", "alice"))
	ghost := NewUser(tn.ID, "ghost@example.com", "ghost")
	err := s.InTx(t.Context(), func(tx directory.Tx) error { return tx.UpdateUser(t.Context(), ghost, 1) })
	wantNotFound(t, "UpdateUser of a missing user", err)
	if errors.Is(err, directory.ErrVersionConflict) {
		t.Errorf("UpdateUser of a missing user: got ErrVersionConflict, want only ErrNotFound")
	}
	_, err = s.GetUser(t.Context(), tn.ID, ghost.ID)
	wantNotFound(t, "GetUser after UpdateUser of a missing user", err)
}

func testUserUpdateOtherTenant(t *testing.T, s directory.Store) {
	a := createTenant(t, s, "A")
	b := createTenant(t, s, "B")
	u := NewUser(a.ID, "alice@example.com", "alice")
	createUser(t, s, u)

	up := *u
	up.TenantID = b.ID
	up.Name = "Hijacked"
	up.Version = 2
	err := s.InTx(t.Context(), func(tx directory.Tx) error { return tx.UpdateUser(t.Context(), &up, 1) })
	wantNotFound(t, "UpdateUser in another tenant", err)
	checkEqual(t, "GetUser after UpdateUser in another tenant", getUser(t, s, a.ID, u.ID), stored(u))
}

func testUserUpdateTaken(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	alice := NewUser(tn.ID, "Alice@Example.com", "alice")
	bob := NewUser(tn.ID, "bob@example.com", "bob")
	createUser(t, s, alice)
	createUser(t, s, bob)

	for _, c := range []struct {
		name  string
		edit  func(u *directory.User)
		field string
	}{
		{"email", func(u *directory.User) { u.Email = "ALICE@example.COM" }, "email"},
		{"username", func(u *directory.User) { u.Username = "alice" }, "username"},
	} {
		up := *bob
		c.edit(&up)
		up.Version = bob.Version + 1
		err := s.InTx(t.Context(), func(tx directory.Tx) error { return tx.UpdateUser(t.Context(), &up, bob.Version) })
		wantUnique(t, "UpdateUser into a taken "+c.name, err, c.field)
	}
	checkEqual(t, "GetUser after refused updates", getUser(t, s, tn.ID, bob.ID), stored(bob))
}

func testUserUpdateFreesEmail(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	alice := NewUser(tn.ID, "alice@example.com", "alice")
	createUser(t, s, alice)

	up := *alice
	up.Email = "alice@elsewhere.example"
	up.Version = 2
	inTx(t, s, func(tx directory.Tx) error { return tx.UpdateUser(t.Context(), &up, 1) })

	if err := tryCreateUser(t, s, NewUser(tn.ID, "Alice@example.com", "")); err != nil {
		t.Errorf("CreateUser with the email alice gave up: got %v, want nil", err)
	}
	err := tryCreateUser(t, s, NewUser(tn.ID, "ALICE@elsewhere.example", ""))
	wantUnique(t, "CreateUser with alice's new email", err, "email")
}
