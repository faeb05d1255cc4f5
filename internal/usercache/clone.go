package usercache

import (
	"maps"
	"slices"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// cloneUser returns a copy of u that shares nothing mutable with it: the
// cache keeps one copy and hands out others, which their callers change
// (the Service drops ended suspensions, the update engine patches maps).
// TestCloneSharesNothing fails when a field is added that this misses.
func cloneUser(u *directory.User) *directory.User {
	c := *u
	if u.Location != nil {
		l := *u.Location
		c.Location = &l
	}
	c.Roles = slices.Clone(u.Roles)
	c.Metadata = cloneObject(u.Metadata)
	c.SecureMetadata = cloneObject(u.SecureMetadata)
	c.SCIMAttributes = cloneObject(u.SCIMAttributes)
	c.ConsentedAt = cloneTime(u.ConsentedAt)
	c.PurgeAfter = cloneTime(u.PurgeAfter)
	if u.Suspensions != nil {
		c.Suspensions = make([]directory.Suspension, len(u.Suspensions))
		for i, s := range u.Suspensions {
			s.EndsAt = cloneTime(s.EndsAt)
			c.Suspensions[i] = s
		}
	}
	return &c
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

// cloneObject copies a JSON object as the store decodes it.
func cloneObject(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := maps.Clone(m)
	for k, v := range c {
		c[k] = cloneValue(v)
	}
	return c
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return cloneObject(v)
	case []any:
		c := slices.Clone(v)
		for i, e := range c {
			c[i] = cloneValue(e)
		}
		return c
	}
	return v // strings, json.Number, bool, nil: immutable
}

// Estimated sizes, in bytes, of what a cached user holds besides its
// strings: the struct, and the overhead of each map entry, slice element
// and pointer.
const (
	userOverhead  = 512
	valueOverhead = 48
)

// sizeOf estimates the memory u takes.
func sizeOf(u *directory.User) int64 {
	n := int64(userOverhead)
	for _, s := range []string{u.ID, u.TenantID, u.Email, u.Username, u.Name, u.GivenName, u.FamilyName, u.Picture,
		u.Bio, u.Birthdate, u.Company, u.Website, u.Country, u.Locale, u.Zoneinfo, u.ConsentMethod, u.ExternalID,
		u.SCIMUserName, u.Status, u.AuthProvider} {
		n += int64(len(s))
	}
	for _, r := range u.Roles {
		n += int64(len(r)) + valueOverhead
	}
	for _, s := range u.Suspensions {
		n += int64(len(s.ID)+len(s.Reason)) + 2*valueOverhead
	}
	return n + sizeOfValue(u.Metadata) + sizeOfValue(u.SecureMetadata) + sizeOfValue(u.SCIMAttributes)
}

func sizeOfValue(v any) int64 {
	switch v := v.(type) {
	case map[string]any:
		n := int64(valueOverhead)
		for k, e := range v {
			n += int64(len(k)) + valueOverhead + sizeOfValue(e)
		}
		return n
	case []any:
		n := int64(valueOverhead)
		for _, e := range v {
			n += valueOverhead + sizeOfValue(e)
		}
		return n
	case string:
		return int64(len(v))
	case interface{ String() string }: // json.Number
		return int64(len(v.String()))
	}
	return 0
}
