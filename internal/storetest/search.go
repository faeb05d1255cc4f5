package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/roster-dev/roster/internal/directory"
)

var searchTests = []test{
	{"PrefixRange", testSearchPrefixRange},
	{"TermsChangeAndGo", testSearchTermsChangeAndGo},
	{"ManyMatches", testSearchManyMatches},
	{"OldMatches", testSearchOldMatches},
}

// searchIDs lists the IDs of the tenant's users with a term that starts
// with prefix, newest first, with the other filters of f.
func searchIDs(t *testing.T, s directory.Store, tenantID, prefix string, f directory.UserFilter) []string {
	t.Helper()
	f.SearchFrom, f.SearchTo = directory.PrefixRange(prefix)
	us, err := s.ListUsers(t.Context(), tenantID, f)
	if err != nil {
		t.Fatalf("ListUsers(q=%q): %v", prefix, err)
	}
	ids := []string{}
	for _, u := range us {
		ids = append(ids, u.ID)
	}
	return ids
}

// setTerms stores terms as the user's search terms.
func setTerms(t *testing.T, s directory.Store, u *directory.User, gone, added []string) {
	t.Helper()
	inTx(t, s, func(tx directory.Tx) error { return tx.SetSearchTerms(t.Context(), u.TenantID, u.ID, gone, added) })
}

func testSearchPrefixRange(t *testing.T, s directory.Store) {
	tn, other := createTenant(t, s, "A"), createTenant(t, s, "B")
	ann := NewUser(tn.ID, "ann@example.com", "ann")
	anna := NewUser(tn.ID, "", "anna")
	bob := NewUser(tn.ID, "bob@example.com", "")
	elo := NewUser(tn.ID, "", "elo")
	stranger := NewUser(other.ID, "", "annika") // another tenant's
	for _, u := range []*directory.User{ann, anna, bob, elo, stranger} {
		createUser(t, s, u)
	}
	setTerms(t, s, ann, nil, []string{"ann@example.com", "ann", "smith"})
	setTerms(t, s, anna, nil, []string{"anna", "annabel"})
	setTerms(t, s, bob, nil, []string{"bob@example.com", "smithers"})
	setTerms(t, s, elo, nil, []string{"élodie"})
	setTerms(t, s, stranger, nil, []string{"annika"})

	for _, c := range []struct {
		prefix string
		f      directory.UserFilter
		want   []string
	}{
		{"ann", directory.UserFilter{}, []string{anna.ID, ann.ID}}, // one row each, though anna has two terms
		{"ANN", directory.UserFilter{}, []string{anna.ID, ann.ID}},
		{"smith", directory.UserFilter{}, []string{bob.ID, ann.ID}},
		{"smithe", directory.UserFilter{}, []string{bob.ID}},
		{"Élo", directory.UserFilter{}, []string{elo.ID}}, // a non-ASCII prefix, folded
		{"é", directory.UserFilter{}, []string{elo.ID}},
		{"e", directory.UserFilter{}, []string{}}, // "é" is not "e"
		{"annika", directory.UserFilter{}, []string{}},
		{"ann", directory.UserFilter{Before: anna.ID}, []string{ann.ID}},
		{"ann", directory.UserFilter{Limit: 1}, []string{anna.ID}},
		{"ann", directory.UserFilter{Username: "ann"}, []string{ann.ID}},
		{"%", directory.UserFilter{}, []string{}}, // no character is special
		{"_nn", directory.UserFilter{}, []string{}},
	} {
		if got := searchIDs(t, s, tn.ID, c.prefix, c.f); !slices.Equal(got, c.want) {
			t.Errorf("q=%q %+v: %v, want %v", c.prefix, c.f, got, c.want)
		}
	}
}

func testSearchTermsChangeAndGo(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "A")
	u := NewUser(tn.ID, "", "carol")
	createUser(t, s, u)
	setTerms(t, s, u, nil, []string{"carol", "carol smith"})
	setTerms(t, s, u, []string{"carol smith"}, []string{"carol jones"})
	if got := searchIDs(t, s, tn.ID, "carol s", directory.UserFilter{}); len(got) != 0 {
		t.Errorf("a removed term still finds the user: %v", got)
	}
	if got := searchIDs(t, s, tn.ID, "carol j", directory.UserFilter{}); !slices.Equal(got, []string{u.ID}) {
		t.Errorf("an added term: %v, want %v", got, []string{u.ID})
	}
	// Adding a term the user has is no error.
	setTerms(t, s, u, nil, []string{"carol"})
	inTx(t, s, func(tx directory.Tx) error { return tx.PurgeUser(t.Context(), tn.ID, u.ID, noScrub) })
	if got := searchIDs(t, s, tn.ID, "carol", directory.UserFilter{}); len(got) != 0 {
		t.Errorf("a purged user's terms still find it: %v", got)
	}
	// A new user may take the purged one's terms.
	v := NewUser(tn.ID, "", "carol")
	createUser(t, s, v)
	setTerms(t, s, v, nil, []string{"carol"})
	if got := searchIDs(t, s, tn.ID, "carol", directory.UserFilter{}); !slices.Equal(got, []string{v.ID}) {
		t.Errorf("after the purge: %v, want %v", got, []string{v.ID})
	}
}

// testSearchManyMatches searches a prefix thousands of users share, which a
// store may serve another way than a rare one (see sqlite's ListUsers): the
// answer must be the same newest-first page either way.
func testSearchManyMatches(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "A")
	const n = 2500
	users := make([]*directory.User, n)
	inTx(t, s, func(tx directory.Tx) error {
		for i := range users {
			u := NewUser(tn.ID, "", fmt.Sprintf("user%04d", i))
			users[i] = u
			if err := tx.CreateUser(t.Context(), u); err != nil {
				return err
			}
			terms := []string{u.Username}
			if i%2 == 0 {
				terms = append(terms, "even")
			}
			if err := tx.SetSearchTerms(t.Context(), tn.ID, u.ID, nil, terms); err != nil {
				return err
			}
		}
		return nil
	})
	newestFirst := func(keep func(i int) bool, limit int, before string) []string {
		var ids []string
		for i := n - 1; i >= 0 && len(ids) < limit; i-- {
			if keep(i) && (before == "" || users[i].ID < before) {
				ids = append(ids, users[i].ID)
			}
		}
		return ids
	}
	for _, c := range []struct {
		prefix string
		keep   func(i int) bool
	}{
		{"user", func(int) bool { return true }},
		{"even", func(i int) bool { return i%2 == 0 }},
		{"user01", func(i int) bool { return i >= 100 && i < 200 }},
		{"user0042", func(i int) bool { return i == 42 }},
	} {
		for _, before := range []string{"", users[n/2].ID} {
			got := searchIDs(t, s, tn.ID, c.prefix, directory.UserFilter{Limit: 20, Before: before})
			if want := newestFirst(c.keep, 20, before); !slices.Equal(got, want) {
				t.Errorf("q=%s before %q: %v, want %v", c.prefix, before, got, want)
			}
		}
	}
}

// testSearchOldMatches searches a prefix thousands of terms share, all of
// them old users' but for a few of the newest: many matches, and thousands
// of newer users without one between them and the newest end. A store
// that serves a dense prefix by reading users newest first reads all
// those newer users for the first page unless it bounds the walk (see
// sqlite's searchUsers); whatever it does, every page, with the cursor,
// an offset or another filter, must be the newest-first list of the
// matches.
func testSearchOldMatches(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "A")
	const (
		old   = 900  // users with three terms "old …" each
		newer = 6000 // then users without one, the last few of them with "old z"
		late  = 5
	)
	var users []*directory.User
	var matches []bool
	inTx(t, s, func(tx directory.Tx) error {
		for i := range old + newer {
			u := NewUser(tn.ID, "", fmt.Sprintf("user%05d", i))
			if i%10 == 0 {
				u.Status = directory.StatusDeactivated
			}
			if err := tx.CreateUser(t.Context(), u); err != nil {
				return err
			}
			terms := []string{u.Username}
			match := i < old || i >= old+newer-late
			switch {
			case i < old:
				terms = append(terms, "old a", "old b", fmt.Sprintf("old c%d", i))
			case match:
				terms = append(terms, "old z")
			}
			if err := tx.SetSearchTerms(t.Context(), tn.ID, u.ID, nil, terms); err != nil {
				return err
			}
			users = append(users, u)
			matches = append(matches, match)
		}
		return nil
	})
	// want lists the matches f selects, newest first.
	want := func(f directory.UserFilter) []string {
		ids := []string{}
		for i := len(users) - 1; i >= 0; i-- {
			if matches[i] && (f.Status == "" || users[i].Status == f.Status) && (f.Before == "" || users[i].ID < f.Before) {
				ids = append(ids, users[i].ID)
			}
		}
		return ids
	}
	for _, f := range []directory.UserFilter{
		{Limit: 20},
		{Limit: 20, Status: directory.StatusActive},
		{Limit: 100, Status: directory.StatusDeactivated},
	} {
		// Every page, following the cursor, until the last.
		all := want(f)
		var got []string
		for page := 0; ; page++ {
			ids := searchIDs(t, s, tn.ID, "OLD", f)
			if n := min(f.Limit, len(all)-len(got)); !slices.Equal(ids, all[len(got):len(got)+n]) {
				t.Fatalf("%+v, page %d: %v, want %v", f, page, ids, all[len(got):len(got)+n])
			}
			got = append(got, ids...)
			if len(ids) < f.Limit {
				break
			}
			f.Before = ids[len(ids)-1]
		}
		if len(got) != len(all) {
			t.Errorf("%+v: %d users in all pages, want %d", f, len(got), len(all))
		}
	}
	all := want(directory.UserFilter{})
	for _, c := range []struct{ offset, limit int }{{3, 7}, {0, late}, {late, 1}, {40, 20}, {len(all) - 2, 20}, {len(all), 20}} {
		got := searchIDs(t, s, tn.ID, "old", directory.UserFilter{Offset: c.offset, Limit: c.limit})
		if w := all[c.offset:min(c.offset+c.limit, len(all))]; !slices.Equal(got, w) {
			t.Errorf("offset %d, limit %d: %v, want %v", c.offset, c.limit, got, w)
		}
	}
	// One of the matches' own terms, and a prefix no user has.
	if got := searchIDs(t, s, tn.ID, "old c17", directory.UserFilter{Limit: 20}); !slices.Equal(got, []string{users[179].ID, users[178].ID, users[177].ID, users[176].ID, users[175].ID, users[174].ID, users[173].ID, users[172].ID, users[171].ID, users[170].ID, users[17].ID}) {
		t.Errorf("q=old c17: %v", got)
	}
}
