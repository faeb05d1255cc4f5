package scim

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/fields"
)

// Schema URIs (RFC 7643 §8.7).
const (
	schemaUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	schemaEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	schemaList       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	schemaPatch      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	schemaSearch     = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
)

// The core attributes a Roster user field holds; every other attribute a
// client sends (title, phoneNumbers, addresses, the enterprise extension,
// the sub-attributes of name other than givenName and familyName, …) is
// kept as sent in scim_attributes. The keys are in lower case: attribute
// names are case-insensitive (RFC 7643 §2.1).
var (
	mapped = map[string]string{
		"username": "userName", "externalid": "externalId", "displayname": "displayName",
		"emails": "emails", "active": "active", "locale": "locale", "timezone": "timezone",
		"roles": "roles", "name": "name",
	}
	// dropped are read-only attributes a client may send back (an Okta PUT
	// sends the whole resource) and password, which Roster never keeps.
	dropped = map[string]bool{"id": true, "meta": true, "schemas": true, "groups": true, "password": true}
)

// scimNameOf names a Roster member the way a SCIM client knows it, for
// error details.
func scimNameOf(field string) string {
	switch field {
	case "scim_user_name":
		return "userName"
	case "username":
		return "userName (as a Roster username)"
	case "external_id":
		return "externalId"
	case "email":
		return "emails"
	case "given_name":
		return "name.givenName"
	case "family_name":
		return "name.familyName"
	case "name":
		return "displayName"
	case "zoneinfo":
		return "timezone"
	case "scim_attributes":
		return "the attributes Roster keeps as sent"
	}
	return field
}

// resource is the SCIM representation of u (RFC 7643 §4.1), with meta's
// location under base (the absolute URL of /scim/v2).
func resource(u *directory.User, base string) map[string]any {
	d := map[string]any{}
	for k, v := range u.SCIMAttributes {
		d[k] = v
	}
	schemas := []any{schemaUser}
	if _, ok := d[schemaEnterprise]; ok {
		schemas = append(schemas, schemaEnterprise)
	}
	d["schemas"] = schemas
	d["id"] = u.ID
	if u.ExternalID != "" {
		d["externalId"] = u.ExternalID
	}
	d["userName"] = u.SCIMName()
	name := map[string]any{}
	if m, ok := d["name"].(map[string]any); ok {
		maps.Copy(name, m)
	}
	delete(name, "givenName")
	delete(name, "familyName")
	if u.GivenName != "" {
		name["givenName"] = u.GivenName
	}
	if u.FamilyName != "" {
		name["familyName"] = u.FamilyName
	}
	if len(name) > 0 {
		d["name"] = name
	} else {
		delete(d, "name")
	}
	if u.Name != "" {
		d["displayName"] = u.Name
	}
	if emails := emailsOf(u, d["emails"]); len(emails) > 0 {
		d["emails"] = emails
	} else {
		delete(d, "emails")
	}
	d["active"] = !u.Deactivated()
	if u.Locale != "" {
		d["locale"] = u.Locale
	}
	if u.Zoneinfo != "" {
		d["timezone"] = u.Zoneinfo
	}
	if len(u.Roles) > 0 {
		roles := make([]any, len(u.Roles))
		for i, r := range u.Roles {
			roles[i] = map[string]any{"value": r}
		}
		d["roles"] = roles
	}
	d["meta"] = map[string]any{
		"resourceType": "User",
		"created":      directory.FormatTime(u.CreatedAt),
		"lastModified": directory.FormatTime(u.UpdatedAt),
		"location":     base + "/Users/" + u.ID,
		"version":      directory.ETag(u),
	}
	return d
}

// rosterDoc is what a SCIM resource sets of a Roster user: an
// application/json update of the members SCIM maps (each replaced whole,
// null clearing), and whether the resource says the user is active (nil
// when it does not say). Members SCIM does not map (metadata, picture,
// bio, …) are not in it, so a SCIM write leaves them alone.
type rosterDoc struct {
	members map[string]any
	active  *bool
}

// fromResource maps a SCIM User resource onto Roster's members. The
// resource's attribute names are matched case-insensitively.
func fromResource(res map[string]any) (*rosterDoc, error) {
	doc := &rosterDoc{members: map[string]any{}}
	rest := map[string]any{}
	core := map[string]any{}
	for k, v := range res {
		lk := strings.ToLower(k)
		if p, ok := strings.CutPrefix(lk, strings.ToLower(schemaUser)+":"); ok {
			lk, k = p, k[len(schemaUser)+1:]
		}
		switch {
		case dropped[lk]:
		case mapped[lk] != "":
			core[mapped[lk]] = v
		case strings.EqualFold(k, schemaEnterprise):
			rest[schemaEnterprise] = v
		default:
			rest[k] = v
		}
	}
	m := doc.members

	userName, ok := core["userName"].(string)
	if !ok || userName == "" {
		return nil, errorf(http.StatusBadRequest, typeInvalidValue, "userName is required and must be a non-empty string.")
	}
	m["scim_user_name"] = userName
	m["username"] = nil
	if un, err := fields.Username(userName); err == nil {
		m["username"] = un
	}

	m["external_id"] = nil
	if v, ok := core["externalId"]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return nil, errorf(http.StatusBadRequest, typeInvalidValue, "externalId must be a string.")
		}
		m["external_id"] = s
	}

	email, _, err := emailOf(core["emails"])
	if err != nil {
		return nil, err
	}
	if list, _ := core["emails"].([]any); len(list) > 0 {
		rest["emails"] = list // every one as sent; Roster's email is one of them
	}
	if email == nil {
		if _, ferr := fields.Email(userName); ferr == nil {
			email = userName // Okta's userName is the user's email address
		}
	}
	m["email"] = email

	m["given_name"], m["family_name"] = nil, nil
	var formatted any
	if v, ok := core["name"]; ok && v != nil {
		name, ok := v.(map[string]any)
		if !ok {
			return nil, errorf(http.StatusBadRequest, typeInvalidValue, "name must be an object.")
		}
		kept := map[string]any{}
		for k, sv := range name {
			switch strings.ToLower(k) {
			case "givenname":
				m["given_name"] = sv
			case "familyname":
				m["family_name"] = sv
			case "formatted":
				formatted = sv
				kept[k] = sv
			default:
				kept[k] = sv
			}
		}
		if len(kept) > 0 {
			rest["name"] = kept
		}
	}
	// Roster's name is the displayName, else the formatted name.
	m["name"] = formatted
	if v, ok := core["displayName"]; ok && v != nil {
		m["name"] = v
	}
	m["locale"] = core["locale"]
	m["zoneinfo"] = core["timezone"]
	if v, ok := core["roles"]; ok {
		roles, err := rolesOf(v)
		if err != nil {
			return nil, err
		}
		m["roles"] = roles
	}
	if v, ok := core["active"]; ok && v != nil {
		b, err := boolOf("active", v)
		if err != nil {
			return nil, err
		}
		doc.active = &b
	}
	m["scim_attributes"] = rest
	return doc, nil
}

// emailOf picks Roster's email of SCIM emails: the primary one, else the
// work one, else the first; nil when there is none. It returns the index
// of its entry too (-1 for none).
func emailOf(v any) (any, int, error) {
	if v == nil {
		return nil, -1, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, -1, errorf(http.StatusBadRequest, typeInvalidValue, "emails must be an array of objects.")
	}
	primary, work, first := -1, -1, -1
	for i, e := range list {
		o, ok := e.(map[string]any)
		if !ok {
			return nil, -1, errorf(http.StatusBadRequest, typeInvalidValue, "emails must be an array of objects.")
		}
		val := lookup(o, "value")
		if val == nil {
			continue
		}
		if _, ok := val.(string); !ok {
			return nil, -1, errorf(http.StatusBadRequest, typeInvalidValue, "emails.value must be a string.")
		}
		if first < 0 {
			first = i
		}
		if p, _ := lookup(o, "primary").(bool); p && primary < 0 {
			primary = i
		}
		if t, _ := lookup(o, "type").(string); strings.EqualFold(t, "work") && work < 0 {
			work = i
		}
	}
	for _, c := range []int{primary, work, first} {
		if c >= 0 {
			return lookup(list[c].(map[string]any), "value"), c, nil
		}
	}
	return nil, -1, nil
}

// emailsOf is the emails of u's resource: those sent (kept in
// scim_attributes), with the one that is Roster's email as Roster has it
// now, should the REST API have changed it since; without any sent,
// Roster's email alone, as a work and primary one; none when Roster's
// email is cleared (then another of the list would be taken for it).
func emailsOf(u *directory.User, sent any) []any {
	if u.Email == "" {
		return nil
	}
	list, _ := sent.([]any)
	_, i, err := emailOf(list)
	if err != nil || i < 0 {
		return []any{map[string]any{"value": u.Email, "type": "work", "primary": true}}
	}
	v, _ := lookup(list[i].(map[string]any), "value").(string)
	if directory.EmailKey(v) != directory.EmailKey(u.Email) {
		list = slices.Clone(list)
		e := maps.Clone(list[i].(map[string]any))
		for k := range e {
			if strings.EqualFold(k, "value") {
				delete(e, k)
			}
		}
		e["value"] = u.Email
		list[i] = e
	}
	return list
}

// rolesOf reads SCIM roles (objects with a value, or bare strings) as
// Roster role names.
func rolesOf(v any) ([]any, error) {
	if v == nil {
		return []any{}, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, errorf(http.StatusBadRequest, typeInvalidValue, "roles must be an array.")
	}
	out := []any{}
	for _, r := range list {
		switch r := r.(type) {
		case string:
			out = append(out, r)
		case map[string]any:
			s, ok := lookup(r, "value").(string)
			if !ok {
				return nil, errorf(http.StatusBadRequest, typeInvalidValue, "each of roles must have a string value.")
			}
			if !slices.Contains(out, any(s)) {
				out = append(out, s)
			}
		default:
			return nil, errorf(http.StatusBadRequest, typeInvalidValue, "roles must be an array of objects.")
		}
	}
	return out, nil
}

// boolOf reads a SCIM boolean, which Microsoft Entra ID may send as the
// string "True" or "False".
func boolOf(name string, v any) (bool, error) {
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		switch strings.ToLower(v) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, errorf(http.StatusBadRequest, typeInvalidValue, name+" must be a boolean.")
}

// lookup returns the member of o named key, case-insensitively.
func lookup(o map[string]any, key string) any {
	if v, ok := o[key]; ok {
		return v
	}
	for k, v := range o {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// body encodes a Roster update.
func (d *rosterDoc) body() []byte {
	b, err := json.Marshal(d.members)
	if err != nil {
		panic("scim: update does not encode: " + err.Error()) // built from decoded JSON
	}
	return b
}
