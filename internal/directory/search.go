package directory

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/cases"
)

// Search (GET /v1/users?q=) finds the users one of whose search terms
// starts with the query, case-insensitively. A user's terms are its email
// address, username, name, given name and family name, each folded by
// SearchKey; the stores keep them in an index of their own, in the
// transaction of every write that changes one, so that a prefix is a range
// of that index on both backends, whatever the letters.

// MaxSearchLength bounds a search query, in characters: no term is longer
// than the longest email address.
const MaxSearchLength = 254

// SearchKey folds s for search: full Unicode case folding, so that "É"
// and "é", or "ß" and "ss", find each other.
func SearchKey(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return cases.Fold().String(s)
		}
	}
	return strings.ToLower(s) // what folding does to ASCII
}

// searchFields are the fields a user's search terms come from.
var searchFields = []string{"email", "username", "name", "given_name", "family_name"}

// SearchTerms returns u's search terms, sorted and without repeats; none
// for a nil user.
func SearchTerms(u *User) []string {
	if u == nil {
		return nil
	}
	terms := make([]string, 0, 5)
	if u.Email != "" {
		terms = append(terms, EmailKey(u.Email))
	}
	if u.Username != "" {
		terms = append(terms, u.Username) // normalized: already lower case
	}
	for _, s := range []string{u.Name, u.GivenName, u.FamilyName} {
		if s != "" {
			terms = append(terms, SearchKey(s))
		}
	}
	slices.Sort(terms)
	return slices.Compact(terms)
}

// PrefixRange returns the range [lo, hi) of the search terms that start
// with the query q: bytewise, as both stores compare terms.
func PrefixRange(q string) (lo, hi string) {
	lo = SearchKey(q)
	return lo, lo + string(utf8.MaxRune)
}

// updateSearch keeps the search index of w's user in step with the write.
func updateSearch(ctx context.Context, tx Tx, w *write) error {
	if w.cur != nil && !slices.ContainsFunc(searchFields, func(f string) bool { _, ok := w.changes[f]; return ok }) {
		return nil
	}
	before, after := SearchTerms(w.cur), SearchTerms(w.next)
	if slices.Equal(before, after) {
		return nil
	}
	var gone, added []string
	for _, t := range before {
		if _, found := slices.BinarySearch(after, t); !found {
			gone = append(gone, t)
		}
	}
	for _, t := range after {
		if _, found := slices.BinarySearch(before, t); !found {
			added = append(added, t)
		}
	}
	return tx.SetSearchTerms(ctx, w.next.TenantID, w.next.ID, gone, added)
}
