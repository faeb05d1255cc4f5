package scim

import (
	"net/http"
	"strings"
)

// The discovery documents (RFC 7644 §4) say exactly what this package
// does: PATCH, filters (maxResults), sorting, ETags; no bulk or password
// changes.

func serviceProviderConfig(base string) map[string]any {
	return map[string]any{
		"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"documentationUri": "https://roster.dev/docs/scim",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": maxResults},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": true},
		"etag":             map[string]any{"supported": true},
		"authenticationSchemes": []any{map[string]any{
			"type": "oauthbearertoken", "name": "Bearer token", "primary": true,
			"description": "A Roster tenant API key with users:read and users:write, as Authorization: Bearer <key>.",
		}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": base + "/ServiceProviderConfig"},
	}
}

func groupResourceType(base string) map[string]any {
	return map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"},
		"id":          "Group",
		"name":        "Group",
		"endpoint":    "/Groups",
		"description": "A role of the tenant's role catalog; its members hold it.",
		"schema":      schemaGroup,
		"meta":        map[string]any{"resourceType": "ResourceType", "location": base + "/ResourceTypes/Group"},
	}
}

func groupSchema(base string) map[string]any {
	return map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Schema"},
		"id":          schemaGroup,
		"name":        "Group",
		"description": "A role of the tenant's catalog: displayName is the role's name (1 to 64 of a-z 0-9 _ . : -).",
		"attributes": []any{
			attribute("displayName", "string", false, "required=true", "uniqueness=server", "mutability=immutable"),
			complexAttr("members", true, attribute("value", "string", false, "mutability=immutable"),
				attribute("display", "string", false, "mutability=readOnly"), attribute("$ref", "reference", false, "mutability=immutable")),
		},
		"meta": map[string]any{"resourceType": "Schema", "location": base + "/Schemas/" + schemaGroup},
	}
}

func userResourceType(base string) map[string]any {
	return map[string]any{
		"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"},
		"id":               "User",
		"name":             "User",
		"endpoint":         "/Users",
		"description":      "A user of the tenant's Roster directory.",
		"schema":           schemaUser,
		"schemaExtensions": []any{map[string]any{"schema": schemaEnterprise, "required": false}},
		"meta":             map[string]any{"resourceType": "ResourceType", "location": base + "/ResourceTypes/User"},
	}
}

// attribute describes an attribute in a Schemas document.
func attribute(name, typ string, multi bool, opts ...string) map[string]any {
	a := map[string]any{
		"name": name, "type": typ, "multiValued": multi, "required": false, "caseExact": false,
		"mutability": "readWrite", "returned": "default", "uniqueness": "none",
	}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch v {
		case "true":
			a[k] = true
		default:
			a[k] = v
		}
	}
	return a
}

func complexAttr(name string, multi bool, subs ...map[string]any) map[string]any {
	a := attribute(name, "complex", multi)
	a["subAttributes"] = subs
	return a
}

func userSchema(base string) map[string]any {
	return map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Schema"},
		"id":          schemaUser,
		"name":        "User",
		"description": "User account; see docs/scim.md for how each attribute maps onto Roster.",
		"attributes": []any{
			attribute("userName", "string", false, "required=true", "uniqueness=server"),
			complexAttr("name", false,
				attribute("formatted", "string", false), attribute("familyName", "string", false),
				attribute("givenName", "string", false), attribute("middleName", "string", false),
				attribute("honorificPrefix", "string", false), attribute("honorificSuffix", "string", false)),
			attribute("displayName", "string", false),
			attribute("nickName", "string", false),
			attribute("title", "string", false),
			attribute("userType", "string", false),
			attribute("preferredLanguage", "string", false),
			attribute("locale", "string", false),
			attribute("timezone", "string", false),
			attribute("active", "boolean", false),
			attribute("password", "string", false, "mutability=writeOnly", "returned=never"),
			complexAttr("emails", true, attribute("value", "string", false), attribute("type", "string", false),
				attribute("primary", "boolean", false)),
			complexAttr("phoneNumbers", true, attribute("value", "string", false), attribute("type", "string", false)),
			complexAttr("addresses", true, attribute("formatted", "string", false), attribute("streetAddress", "string", false),
				attribute("locality", "string", false), attribute("region", "string", false),
				attribute("postalCode", "string", false), attribute("country", "string", false),
				attribute("type", "string", false), attribute("primary", "boolean", false)),
			complexAttr("roles", true, attribute("value", "string", false), attribute("display", "string", false)),
			attribute("externalId", "string", false, "caseExact=true"),
		},
		"meta": map[string]any{"resourceType": "Schema", "location": base + "/Schemas/" + schemaUser},
	}
}

func enterpriseSchema(base string) map[string]any {
	return map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Schema"},
		"id":          schemaEnterprise,
		"name":        "EnterpriseUser",
		"description": "Enterprise User; kept as sent.",
		"attributes": []any{
			attribute("employeeNumber", "string", false), attribute("costCenter", "string", false),
			attribute("organization", "string", false), attribute("division", "string", false),
			attribute("department", "string", false),
			complexAttr("manager", false, attribute("value", "string", false), attribute("displayName", "string", false, "mutability=readOnly")),
		},
		"meta": map[string]any{"resourceType": "Schema", "location": base + "/Schemas/" + schemaEnterprise},
	}
}

func listOf(items ...map[string]any) map[string]any {
	return map[string]any{
		"schemas": []string{schemaList}, "totalResults": len(items), "startIndex": 1,
		"itemsPerPage": len(items), "Resources": items,
	}
}

// ServiceProviderConfig is GET /ServiceProviderConfig.
func (a *API) ServiceProviderConfig() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, serviceProviderConfig(a.baseURL(r)))
	})
}

// ResourceTypes is GET /ResourceTypes and GET /ResourceTypes/{id}.
func (a *API) ResourceTypes() http.Handler {
	return a.handle(func(w http.ResponseWriter, r *http.Request) error {
		rt, gt := userResourceType(a.baseURL(r)), groupResourceType(a.baseURL(r))
		switch id := r.PathValue("id"); {
		case id == "":
			writeJSON(w, http.StatusOK, listOf(rt, gt))
		case id == "User":
			writeJSON(w, http.StatusOK, rt)
		case id == "Group":
			writeJSON(w, http.StatusOK, gt)
		default:
			return errorf(http.StatusNotFound, "", "No resource type "+id+".")
		}
		return nil
	})
}

// Schemas is GET /Schemas and GET /Schemas/{id}.
func (a *API) Schemas() http.Handler {
	return a.handle(func(w http.ResponseWriter, r *http.Request) error {
		base := a.baseURL(r)
		user, ent, grp := userSchema(base), enterpriseSchema(base), groupSchema(base)
		switch id := r.PathValue("id"); {
		case id == "":
			writeJSON(w, http.StatusOK, listOf(user, ent, grp))
		case strings.EqualFold(id, schemaGroup):
			writeJSON(w, http.StatusOK, grp)
		case strings.EqualFold(id, schemaUser):
			writeJSON(w, http.StatusOK, user)
		case strings.EqualFold(id, schemaEnterprise):
			writeJSON(w, http.StatusOK, ent)
		default:
			return errorf(http.StatusNotFound, "", "No schema "+id+".")
		}
		return nil
	})
}
