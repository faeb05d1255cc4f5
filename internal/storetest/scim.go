package storetest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// scimTests are the tests of what SCIM provisioning stores: external_id,
// scim_user_name and scim_attributes, their uniqueness, and the conditions
// (UserFilter.Where) a store evaluates in its query.
var scimTests = []test{
	{"RoundTrip", testSCIMRoundTrip},
	{"Uniqueness", testSCIMUniqueness},
	{"Where", testSCIMWhere},
	{"OffsetAndCount", testSCIMOffsetAndCount},
}

func testSCIMRoundTrip(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	u := NewUser(tn.ID, "ann@example.com", "ann")
	u.ExternalID = "00u1AbC"
	u.SCIMUserName = "Ann@Example.COM"
	u.SCIMAttributes = map[string]any{
		"title":        "Engineer <lead>",
		"phoneNumbers": []any{map[string]any{"value": "+1 555", "type": "work"}},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{
			"employeeNumber": "701984", "manager": map[string]any{"value": "26118915-6090-4610-87e4-49d8ca9f808d"},
			"costCenter": json.Number("4130.50"),
		},
	}
	createUser(t, s, u)
	checkEqual(t, "GetUser after CreateUser", getUser(t, s, tn.ID, u.ID), stored(u))

	next := *u
	next.ExternalID, next.SCIMUserName, next.SCIMAttributes = "", "", nil
	next.Version, next.UpdatedAt = 2, u.UpdatedAt.Add(time.Second)
	inTx(t, s, func(tx directory.Tx) error { return tx.UpdateUser(t.Context(), &next, 1) })
	checkEqual(t, "GetUser after clearing", getUser(t, s, tn.ID, u.ID), stored(&next))

	// A change of scim_user_name alone keeps no stale key behind.
	next2 := next
	next2.SCIMUserName, next2.Version = "ann", 3
	inTx(t, s, func(tx directory.Tx) error { return tx.UpdateUser(t.Context(), &next2, 2) })
	checkEqual(t, "GetUser after setting", getUser(t, s, tn.ID, u.ID), stored(&next2))
	other := NewUser(tn.ID, "", "")
	other.SCIMUserName = "Ann@Example.COM"
	if err := tryCreateUser(t, s, other); err != nil {
		t.Errorf("CreateUser with the userName given up by another: %v", err)
	}
}

func testSCIMUniqueness(t *testing.T, s directory.Store) {
	a, b := createTenant(t, s, "A"), createTenant(t, s, "B")
	first := NewUser(a.ID, "", "")
	first.ExternalID, first.SCIMUserName = "ext-1", "Bob@Example.com"
	createUser(t, s, first)

	dupName := NewUser(a.ID, "", "")
	dupName.SCIMUserName = "bob@example.COM"
	wantUnique(t, "scim_user_name in another case", tryCreateUser(t, s, dupName), "scim_user_name")

	dupExt := NewUser(a.ID, "", "")
	dupExt.ExternalID = "ext-1"
	wantUnique(t, "same external_id", tryCreateUser(t, s, dupExt), "external_id")

	// external_id is compared exactly, as the provider wrote it.
	caseExt := NewUser(a.ID, "", "")
	caseExt.ExternalID = "EXT-1"
	if err := tryCreateUser(t, s, caseExt); err != nil {
		t.Errorf("external_id differing in case: %v", err)
	}
	elsewhere := NewUser(b.ID, "", "")
	elsewhere.ExternalID, elsewhere.SCIMUserName = "ext-1", "bob@example.com"
	if err := tryCreateUser(t, s, elsewhere); err != nil {
		t.Errorf("the same identifiers in another tenant: %v", err)
	}

	upd := *caseExt
	upd.ExternalID, upd.Version = "ext-1", 2
	err := s.InTx(t.Context(), func(tx directory.Tx) error { return tx.UpdateUser(t.Context(), &upd, 1) })
	wantUnique(t, "UpdateUser to a taken external_id", err, "external_id")
	upd.ExternalID, upd.SCIMUserName = "EXT-1", "BOB@example.com"
	err = s.InTx(t.Context(), func(tx directory.Tx) error { return tx.UpdateUser(t.Context(), &upd, 1) })
	wantUnique(t, "UpdateUser to a taken scim_user_name", err, "scim_user_name")
	checkEqual(t, "user after failed updates", getUser(t, s, a.ID, caseExt.ID), stored(caseExt))
}

// scimPeople are the users of testSCIMWhere, by a short name.
func scimPeople(tenantID string, created time.Time) map[string]*directory.User {
	mk := func(i int, email, ext, userName, given, family, status string) *directory.User {
		u := NewUser(tenantID, email, "")
		at := created.Add(time.Duration(i) * time.Hour)
		u.ID = directory.NewID(directory.PrefixUser, at)
		u.CreatedAt, u.UpdatedAt = at, at
		u.ExternalID, u.SCIMUserName, u.GivenName, u.FamilyName, u.Status = ext, userName, given, family, status
		u.Name = given + " " + family
		return u
	}
	return map[string]*directory.User{
		"ann":  mk(0, "ann@example.com", "A1", "Ann@Example.com", "Ann", "Archer", directory.StatusActive),
		"bob":  withRoles(mk(1, "bob@corp.example", "b2", "bob", "Bob", "Baker", directory.StatusDeactivated), "member", "admin"),
		"cat":  mk(2, "", "", "cat.k@example.com", "Cat", "", directory.StatusActive),
		"dan":  mk(3, "dan@example.org", "D4", "", "", "Dunn", directory.StatusActive),
		"gone": mk(4, "gone@example.com", "G5", "gone", "Gone", "Gone", directory.StatusDeleting),
	}
}

func withRoles(u *directory.User, roles ...string) *directory.User {
	u.Roles = roles
	return u
}

func testSCIMWhere(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	other := createTenant(t, s, "Other")
	base := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	people := scimPeople(tn.ID, base)
	for _, u := range people {
		createUser(t, s, u)
	}
	stranger := NewUser(other.ID, "ann@example.com", "")
	stranger.ExternalID, stranger.SCIMUserName = "A1", "ann@example.com"
	createUser(t, s, stranger)

	cmp := func(f directory.UserField, op directory.CondOp, v any, fold bool) *directory.UserCond {
		return &directory.UserCond{Kind: directory.CondCompare, Field: f, Op: op, Value: v, Fold: fold}
	}
	pres := func(f directory.UserField) *directory.UserCond {
		return &directory.UserCond{Kind: directory.CondPresent, Field: f}
	}
	not := func(c *directory.UserCond) *directory.UserCond {
		return &directory.UserCond{Kind: directory.CondNot, Args: []*directory.UserCond{c}}
	}
	and := func(cs ...*directory.UserCond) *directory.UserCond {
		return &directory.UserCond{Kind: directory.CondAnd, Args: cs}
	}
	or := func(cs ...*directory.UserCond) *directory.UserCond {
		return &directory.UserCond{Kind: directory.CondOr, Args: cs}
	}
	for _, c := range []struct {
		name string
		cond *directory.UserCond
		want []string
	}{
		{"scim user key eq", cmp(directory.FieldSCIMUserKey, directory.OpEq, "ann@example.com", false), []string{"ann"}},
		{"external id is exact", cmp(directory.FieldExternalID, directory.OpEq, "a1", false), nil},
		{"external id eq", cmp(directory.FieldExternalID, directory.OpEq, "A1", false), []string{"ann"}},
		{"email key eq", cmp(directory.FieldEmailKey, directory.OpEq, "dan@example.org", false), []string{"dan"}},
		{"folded given name eq", cmp(directory.FieldGivenName, directory.OpEq, "bob", true), []string{"bob"}},
		{"unfolded given name eq", cmp(directory.FieldGivenName, directory.OpEq, "bob", false), nil},
		{"co", cmp(directory.FieldEmailKey, directory.OpCo, "example.", false), []string{"ann", "dan", "gone"}},
		{"sw", cmp(directory.FieldSCIMUserKey, directory.OpSw, "cat.", false), []string{"cat"}},
		{"ew", cmp(directory.FieldEmailKey, directory.OpEw, ".org", false), []string{"dan"}},
		{"ew longer than the value", cmp(directory.FieldSCIMUserKey, directory.OpEw, "xxbob", false), nil},
		{"sw empty is present", cmp(directory.FieldFamilyName, directory.OpSw, "", false), []string{"ann", "bob", "dan", "gone"}},
		{"ne skips absent", cmp(directory.FieldGivenName, directory.OpNe, "Ann", false), []string{"bob", "cat", "gone"}},
		{"not eq keeps absent", not(cmp(directory.FieldGivenName, directory.OpEq, "Ann", false)), []string{"bob", "cat", "dan", "gone"}},
		{"gt by code point", cmp(directory.FieldFamilyName, directory.OpGt, "Baker", false), []string{"dan", "gone"}},
		{"le", cmp(directory.FieldFamilyName, directory.OpLe, "Baker", false), []string{"ann", "bob"}},
		{"present", pres(directory.FieldExternalID), []string{"ann", "bob", "dan", "gone"}},
		{"not present", not(pres(directory.FieldEmailKey)), []string{"cat"}},
		{"status", cmp(directory.FieldStatus, directory.OpEq, directory.StatusDeactivated, false), []string{"bob"}},
		{"created gt", cmp(directory.FieldCreatedAt, directory.OpGt, base.Add(2*time.Hour), false), []string{"dan", "gone"}},
		{"created ge", cmp(directory.FieldCreatedAt, directory.OpGe, base.Add(2*time.Hour), false), []string{"cat", "dan", "gone"}},
		{"created eq", cmp(directory.FieldCreatedAt, directory.OpEq, base.Add(time.Hour), false), []string{"bob"}},
		{"created eq, finer than stored", cmp(directory.FieldCreatedAt, directory.OpEq, base.Add(time.Hour+time.Microsecond), false), nil},
		{"created lt, finer than stored", cmp(directory.FieldCreatedAt, directory.OpLt, base.Add(time.Hour+time.Microsecond), false), []string{"ann", "bob"}},
		{"created ge, finer than stored", cmp(directory.FieldCreatedAt, directory.OpGe, base.Add(time.Hour+time.Microsecond), false), []string{"cat", "dan", "gone"}},
		{"updated le", cmp(directory.FieldUpdatedAt, directory.OpLe, base, false), []string{"ann"}},
		{"id eq", cmp(directory.FieldID, directory.OpEq, people["cat"].ID, false), []string{"cat"}},
		{"and or", or(and(pres(directory.FieldGivenName), cmp(directory.FieldStatus, directory.OpEq, directory.StatusActive, false)), cmp(directory.FieldExternalID, directory.OpEq, "D4", false)), []string{"ann", "cat", "dan"}},
		{"role", cmp(directory.FieldRole, directory.OpEq, "member", false), []string{"ann", "bob", "cat", "dan", "gone"}},
		{"role not held", cmp(directory.FieldRole, directory.OpEq, "admin", false), []string{"bob"}},
		{"true", &directory.UserCond{Kind: directory.CondTrue}, []string{"ann", "bob", "cat", "dan", "gone"}},
		{"false", &directory.UserCond{Kind: directory.CondFalse}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := directory.UserFilter{Where: c.cond, Oldest: true}
			us, err := s.ListUsers(t.Context(), tn.ID, f)
			if err != nil {
				t.Fatalf("ListUsers: %v", err)
			}
			var want []string
			for _, n := range c.want {
				want = append(want, people[n].ID)
			}
			slices.Sort(want)
			var got []string
			for _, u := range us {
				got = append(got, u.ID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("ListUsers: got %v, want %v (%v)", got, want, c.want)
			}
			n, err := s.CountUsers(t.Context(), tn.ID, f)
			if err != nil {
				t.Fatalf("CountUsers: %v", err)
			}
			if n != len(want) {
				t.Errorf("CountUsers: got %d, want %d", n, len(want))
			}
		})
	}
}

func testSCIMOffsetAndCount(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	var ids []string
	for i := range 7 {
		u := NewUser(tn.ID, "", "")
		u.ExternalID = string(rune('a' + i))
		createUser(t, s, u)
		ids = append(ids, u.ID)
	}
	slices.Sort(ids)
	f := directory.UserFilter{Oldest: true, Offset: 2, Limit: 3}
	us, err := s.ListUsers(t.Context(), tn.ID, f)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range us {
		got = append(got, u.ID)
	}
	if want := ids[2:5]; !slices.Equal(got, want) {
		t.Errorf("oldest first, offset 2, limit 3: got %v, want %v", got, want)
	}
	f = directory.UserFilter{Offset: 5}
	us, err = s.ListUsers(t.Context(), tn.ID, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(us) != 2 || us[0].ID != ids[1] || us[1].ID != ids[0] {
		t.Errorf("newest first from offset 5: got %d users, want the two oldest", len(us))
	}
	n, err := s.CountUsers(t.Context(), tn.ID, directory.UserFilter{Offset: 5, Limit: 1, ExternalID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("CountUsers by external_id: got %d, want 1", n)
	}
}
