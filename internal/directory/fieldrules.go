package directory

import (
	"fmt"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/fields"
)

// writable is the table of a user's writable members (§2): each one's name
// and how a request sets it. Adding a field is adding a line here, its rule
// in package fields, and its member in PublicDoc. The order is the order in
// which failing fields are listed.
var writable = []fieldRule{
	{"email", text(fields.Email, func(u *User) *string { return &u.Email })},
	{"email_verified", setEmailVerified},
	{"username", text(fields.Username, func(u *User) *string { return &u.Username })},
	{"name", text(fields.Name, func(u *User) *string { return &u.Name })},
	{"given_name", text(fields.Name, func(u *User) *string { return &u.GivenName })},
	{"family_name", text(fields.Name, func(u *User) *string { return &u.FamilyName })},
	{"picture", setPicture},
	{"bio", text(fields.Bio, func(u *User) *string { return &u.Bio })},
	{"birthdate", textAt(fields.Birthdate, func(u *User) *string { return &u.Birthdate })},
	{"location", setLocation},
	{"company", text(fields.Name, func(u *User) *string { return &u.Company })},
	{"website", text(fields.URL, func(u *User) *string { return &u.Website })},
	{"country", text(fields.Country, func(u *User) *string { return &u.Country })},
	{"locale", text(fields.Locale, func(u *User) *string { return &u.Locale })},
	{"zoneinfo", text(fields.Zoneinfo, func(u *User) *string { return &u.Zoneinfo })},
	{"roles", setRoles},
	{"metadata", object(func(in *setInput, m map[string]any) *fields.Error {
		in.user.Metadata = m
		return fields.Metadata(m, in.t.Settings.MetadataMaxKeys)
	})},
	{"secure_metadata", object(func(in *setInput, m map[string]any) *fields.Error {
		in.user.SecureMetadata = m
		return fields.SecureMetadata(m)
	})},
	{"consented_at", setConsentedAt},
	{"consent_method", text(fields.ConsentMethod, func(u *User) *string { return &u.ConsentMethod })},
	{"external_id", text(fields.ExternalID, func(u *User) *string { return &u.ExternalID })},
	{"scim_user_name", text(fields.SCIMUserName, func(u *User) *string { return &u.SCIMUserName })},
	{"scim_attributes", object(func(in *setInput, m map[string]any) *fields.Error {
		in.user.SCIMAttributes = m
		return fields.SCIMAttributes(m)
	})},
}

// fieldRule is one line of writable.
type fieldRule struct {
	name string
	// set type-checks, validates and normalizes the member's new value v
	// (null included) and sets it in the user being built, or records in
	// in.fe why it cannot.
	set func(in *setInput, v any)
}

// setInput is what a fieldRule's set works with.
type setInput struct {
	built // user is the user being built
	field string
	t     *Tenant
	now   time.Time
	fe    fieldErrors
}

// str type-checks a member that is a string or null (""), and validates a
// string with rule.
func (in *setInput) str(v any, rule func(string) (string, *fields.Error)) (string, bool) {
	switch s := v.(type) {
	case nil:
		return "", true
	case string:
		out, err := rule(s)
		in.fe.rule(in.field, err)
		return out, err == nil
	}
	in.fe.bad(in.field, ECodeInvalidRequest, "must be a string or null")
	return "", false
}

// text is the rule of a string member, which null clears.
func text(rule func(string) (string, *fields.Error), dst func(*User) *string) func(*setInput, any) {
	return func(in *setInput, v any) {
		if s, ok := in.str(v, rule); ok {
			*dst(in.user) = s
		}
	}
}

// textAt is text for a rule that depends on the time of the write.
func textAt(rule func(string, time.Time) (string, *fields.Error), dst func(*User) *string) func(*setInput, any) {
	return func(in *setInput, v any) {
		if s, ok := in.str(v, func(s string) (string, *fields.Error) { return rule(s, in.now) }); ok {
			*dst(in.user) = s
		}
	}
}

// object is the rule of an object member, which null empties: check sets
// the object and validates it.
func object(check func(in *setInput, m map[string]any) *fields.Error) func(*setInput, any) {
	return func(in *setInput, v any) {
		switch m := v.(type) {
		case nil:
			in.fe.rule(in.field, check(in, map[string]any{}))
		case map[string]any:
			in.fe.rule(in.field, check(in, m))
		default:
			in.fe.bad(in.field, ECodeInvalidRequest, "must be an object or null")
		}
	}
}

func setEmailVerified(in *setInput, v any) {
	switch b := v.(type) {
	case nil:
		in.user.EmailVerified = false
	case bool:
		in.user.EmailVerified = b
	default:
		in.fe.bad(in.field, ECodeInvalidRequest, "must be a boolean")
	}
}

// setPicture takes a URL, or a data: URI whose image Roster stores and
// serves at the URL it sets.
func setPicture(in *setInput, v any) {
	u := in.user
	s, ok := in.str(v, func(s string) (string, *fields.Error) {
		if !fields.IsDataURI(s) {
			return fields.PictureURL(s)
		}
		ct, data, err := fields.DataURI(s)
		if err != nil {
			return "", err
		}
		in.picture = newPicture(ct, data, in.now)
		return in.wire.PictureURL(u.ID, in.picture.ETag), nil
	})
	if ok {
		u.Picture = s
	}
}

func setConsentedAt(in *setInput, v any) {
	var at time.Time
	_, ok := in.str(v, func(s string) (string, *fields.Error) {
		var err *fields.Error
		at, err = fields.ConsentedAt(s, in.now)
		return s, err
	})
	switch {
	case !ok:
	case v == nil:
		in.user.ConsentedAt = nil
	default:
		in.user.ConsentedAt = &at
	}
}

func setLocation(in *setInput, v any) {
	if v == nil {
		in.user.Location = nil
		return
	}
	lon, lat, err := fields.Location(v)
	in.fe.rule(in.field, err)
	if err == nil {
		in.user.Location = &Location{Longitude: lon, Latitude: lat}
	}
}

// setRoles takes an array of role names from the tenant's catalog.
func setRoles(in *setInput, v any) {
	var roles []string
	switch a := v.(type) {
	case nil:
	case []any:
		for _, r := range a {
			s, ok := r.(string)
			if !ok {
				in.fe.bad(in.field, ECodeInvalidRequest, "must be an array of strings")
				return
			}
			roles = append(roles, s)
		}
	default:
		in.fe.bad(in.field, ECodeInvalidRequest, "must be an array of strings")
		return
	}
	if missing, err := fields.Roles(roles, in.t.Roles); err != nil {
		if len(missing) > 0 {
			err = &fields.Error{Code: err.Code, Message: fmt.Sprintf("%s; unknown: %s", err.Message, strings.Join(missing, ", "))}
		}
		in.fe.rule(in.field, err)
		return
	}
	if roles == nil {
		roles = []string{} // cleared: the policies must see no roles, not "unknown"
	}
	in.user.Roles = roles
}
