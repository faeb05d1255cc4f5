package directory

import (
	"encoding/json"
	"strconv"
	"time"
)

// The user's JSON representation as a generic tree (the shape of §2). Patches
// (§4) apply to it, read-only fields are compared against it, and audit
// entries and events take their values from it, so there is exactly one
// definition of how a User looks in JSON.

// TimeFormat is how Roster writes timestamps: RFC 3339, UTC, milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// FormatTime formats t per §1.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// The names of the writable members of a user (the table writable) and of
// its read-only ones (§2).
var (
	writableFields = func() []string {
		names := make([]string, len(writable))
		for i, f := range writable {
			names[i] = f.name
		}
		return names
	}()
	readOnlyFields = []string{
		"object", "id", "tenant_id", "is_owner", "status", "purge_after", "deactivated",
		"suspensions", "auth_provider", "created_at", "updated_at", "version",
	}
	fieldKind = func() map[string]bool {
		m := map[string]bool{}
		for _, f := range writableFields {
			m[f] = true
		}
		for _, f := range readOnlyFields {
			m[f] = false
		}
		return m
	}()
)

// IsReadOnly reports whether name is a read-only member of a user.
func IsReadOnly(name string) bool { w, ok := fieldKind[name]; return ok && !w }

// PublicDoc returns the user as a client sees it: every member of §2, unset
// ones as null, and never secure_metadata.
func PublicDoc(u *User) map[string]any {
	d := make(map[string]any, 32)
	d["object"] = "user"
	d["id"] = u.ID
	d["tenant_id"] = u.TenantID
	d["email"] = strOrNil(u.Email)
	d["email_verified"] = u.EmailVerified
	d["username"] = strOrNil(u.Username)
	d["name"] = strOrNil(u.Name)
	d["given_name"] = strOrNil(u.GivenName)
	d["family_name"] = strOrNil(u.FamilyName)
	d["picture"] = strOrNil(u.Picture)
	d["bio"] = strOrNil(u.Bio)
	d["birthdate"] = strOrNil(u.Birthdate)
	d["location"] = locationDoc(u.Location)
	d["company"] = strOrNil(u.Company)
	d["website"] = strOrNil(u.Website)
	d["country"] = strOrNil(u.Country)
	d["locale"] = strOrNil(u.Locale)
	d["zoneinfo"] = strOrNil(u.Zoneinfo)
	roles := make([]any, len(u.Roles))
	for i, r := range u.Roles {
		roles[i] = r
	}
	d["roles"] = roles
	d["is_owner"] = u.IsOwner
	d["metadata"] = objectOrEmpty(u.Metadata)
	d["status"] = u.Status
	d["purge_after"] = nil
	if u.PurgeAfter != nil {
		d["purge_after"] = FormatTime(*u.PurgeAfter)
	}
	d["deactivated"] = u.Deactivated()
	sus := make([]any, len(u.Suspensions))
	for i, s := range u.Suspensions {
		end := any(nil)
		if s.EndsAt != nil {
			end = FormatTime(*s.EndsAt)
		}
		sus[i] = map[string]any{"id": s.ID, "reason": s.Reason, "created_at": FormatTime(s.CreatedAt), "ends_at": end}
	}
	d["suspensions"] = sus
	d["auth_provider"] = u.AuthProvider
	d["consented_at"] = nil
	if u.ConsentedAt != nil {
		d["consented_at"] = FormatTime(*u.ConsentedAt)
	}
	d["consent_method"] = strOrNil(u.ConsentMethod)
	d["external_id"] = strOrNil(u.ExternalID)
	d["scim_user_name"] = strOrNil(u.SCIMUserName)
	d["scim_attributes"] = objectOrEmpty(u.SCIMAttributes)
	d["created_at"] = FormatTime(u.CreatedAt)
	d["updated_at"] = FormatTime(u.UpdatedAt)
	d["version"] = json.Number(strconv.FormatInt(u.Version, 10))
	return d
}

// fullDoc is PublicDoc plus secure_metadata: the document patches apply to.
func fullDoc(u *User) map[string]any {
	d := PublicDoc(u)
	d["secure_metadata"] = objectOrEmpty(u.SecureMetadata)
	return d
}

func strOrNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func objectOrEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func locationDoc(l *Location) any {
	if l == nil {
		return nil
	}
	return map[string]any{
		"type":        "Point",
		"coordinates": []any{floatNumber(l.Longitude), floatNumber(l.Latitude)},
	}
}

func floatNumber(f float64) json.Number {
	return json.Number(strconv.FormatFloat(f, 'f', -1, 64))
}
