package wire

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/roster-dev/roster/internal/directory"
)

// MarshalPublic returns the JSON of directory.PublicDoc(u), byte for byte
// what json.Marshal(directory.PublicDoc(u)) writes (members in sorted order,
// HTML-safe escaping), without building the map: every user response and every event
// carries it, and the generic encoder spent more on it than on the rest of
// a GET. TestMarshalPublic and FuzzMarshalPublic hold the two equal.
func MarshalPublic(u *directory.User) []byte {
	b := make([]byte, 0, 1024)
	b = append(b, `{"auth_provider":`...)
	b = appendString(b, u.AuthProvider)
	b = appendField(b, "bio", u.Bio)
	b = appendField(b, "birthdate", u.Birthdate)
	b = appendField(b, "company", u.Company)
	b = appendField(b, "consent_method", u.ConsentMethod)
	b = append(b, `,"consented_at":`...)
	if u.ConsentedAt != nil {
		b = appendString(b, directory.FormatTime(*u.ConsentedAt))
	} else {
		b = append(b, "null"...)
	}
	b = appendField(b, "country", u.Country)
	b = append(b, `,"created_at":`...)
	b = appendString(b, directory.FormatTime(u.CreatedAt))
	b = append(b, `,"deactivated":`...)
	b = strconv.AppendBool(b, u.Deactivated())
	b = appendField(b, "email", u.Email)
	b = append(b, `,"email_verified":`...)
	b = strconv.AppendBool(b, u.EmailVerified)
	b = appendField(b, "external_id", u.ExternalID)
	b = appendField(b, "family_name", u.FamilyName)
	b = appendField(b, "given_name", u.GivenName)
	b = append(b, `,"id":`...)
	b = appendString(b, u.ID)
	b = append(b, `,"is_owner":`...)
	b = strconv.AppendBool(b, u.IsOwner)
	b = appendField(b, "locale", u.Locale)
	b = append(b, `,"location":`...)
	if l := u.Location; l != nil {
		b = append(b, `{"coordinates":[`...)
		b = strconv.AppendFloat(b, l.Longitude, 'f', -1, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, l.Latitude, 'f', -1, 64)
		b = append(b, `],"type":"Point"}`...)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"metadata":`...)
	b = appendObject(b, u.Metadata)
	b = appendField(b, "name", u.Name)
	b = append(b, `,"object":"user"`...)
	b = appendField(b, "picture", u.Picture)
	b = append(b, `,"purge_after":`...)
	if u.PurgeAfter != nil {
		b = appendString(b, directory.FormatTime(*u.PurgeAfter))
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"roles":[`...)
	for i, r := range u.Roles {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, r)
	}
	b = append(b, `],"scim_attributes":`...)
	b = appendObject(b, u.SCIMAttributes)
	b = appendField(b, "scim_user_name", u.SCIMUserName)
	b = append(b, `,"status":`...)
	b = appendString(b, u.Status)
	b = append(b, `,"suspensions":[`...)
	for i, s := range u.Suspensions {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"created_at":`...)
		b = appendString(b, directory.FormatTime(s.CreatedAt))
		b = append(b, `,"ends_at":`...)
		if s.EndsAt != nil {
			b = appendString(b, directory.FormatTime(*s.EndsAt))
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"id":`...)
		b = appendString(b, s.ID)
		b = append(b, `,"reason":`...)
		b = appendString(b, s.Reason)
		b = append(b, '}')
	}
	b = append(b, `],"tenant_id":`...)
	b = appendString(b, u.TenantID)
	b = append(b, `,"updated_at":`...)
	b = appendString(b, directory.FormatTime(u.UpdatedAt))
	b = appendField(b, "username", u.Username)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, u.Version, 10)
	b = appendField(b, "website", u.Website)
	b = appendField(b, "zoneinfo", u.Zoneinfo)
	return append(b, '}')
}

// appendObject appends m, a client's own shape, as encoding/json encodes it;
// nil as {}.
func appendObject(b []byte, m map[string]any) []byte {
	if len(m) == 0 {
		return append(b, "{}"...)
	}
	out, err := json.Marshal(m)
	if err != nil {
		panic("wire: object does not encode: " + err.Error()) // it was decoded from JSON
	}
	return append(b, out...)
}

// appendField appends ,"name": and s as a string, or null for "".
func appendField(b []byte, name, s string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}

// appendString appends s as a JSON string escaped as encoding/json escapes
// it: HTML-safe (<, > and & as \u003c, \u003e, \u0026), U+2028 and U+2029
// escaped, invalid UTF-8 as U+FFFD.
// It must reproduce encoding/json, which every user answer was written with.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
