package scim

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/scim/filter"
)

// Groups are the tenant's role catalog: a group is a role, its id and
// displayName the role's name, its members the users holding the role.
// Creating a group adds the role to the catalog, adding a member grants it
// (an ordinary update of the user's roles, audited, with its event),
// removing one takes it away, deleting the group takes it from its holders
// and then removes it from the catalog.

const schemaGroup = "urn:ietf:params:scim:schemas:core:2.0:Group"

// group is the SCIM representation of role, with its members.
func group(role string, members []*directory.User, base string) map[string]any {
	ms := make([]any, 0, len(members))
	for _, u := range members {
		ms = append(ms, map[string]any{"value": u.ID, "display": u.SCIMName(), "$ref": base + "/Users/" + u.ID, "type": "User"})
	}
	return map[string]any{
		"schemas":     []any{schemaGroup},
		"id":          role,
		"displayName": role,
		"members":     ms,
		"meta":        map[string]any{"resourceType": "Group", "location": base + "/Groups/" + role},
	}
}

// holders lists the users holding role, oldest first.
func (a *API) holders(ctx context.Context, tenantID, role string) ([]*directory.User, error) {
	users, _, err := a.svc.FindUsers(ctx, tenantID, directory.UserFilter{Oldest: true,
		Where: &directory.UserCond{Kind: directory.CondCompare, Field: directory.FieldRole, Op: directory.OpEq, Value: role}})
	return users, err
}

func (a *API) writeGroup(w http.ResponseWriter, r *http.Request, status int, t *directory.Tenant, role string, p projection) {
	members, err := a.holders(r.Context(), t.ID, role)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	res := group(role, members, baseURL(r))
	if status == http.StatusCreated {
		w.Header().Set("Location", res["meta"].(map[string]any)["location"].(string))
	}
	if !a.readsUsers(r) { // the members are users
		if status == http.StatusOK {
			status = http.StatusNoContent
		}
		w.Header().Set("Content-Type", mediaType)
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, p.apply(res))
}

// tenant re-reads the tenant, whose cached copy may predate a change of its
// catalog.
func (a *API) tenant(r *http.Request) (*directory.Tenant, error) {
	return a.svc.GetTenant(r.Context(), a.req.Tenant(r).ID)
}

var errNoGroup = errorf(http.StatusNotFound, "", "No such group.")

// GroupList is GET /Groups: filters on displayName and id, eq only.
func (a *API) GroupList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		s, err := searchOf(func(name string) (any, bool) {
			v, ok := q[name]
			if !ok || len(v) == 0 {
				return nil, false
			}
			return v[0], true
		})
		if err != nil {
			a.fail(w, r, err)
			return
		}
		t, err := a.tenant(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		roles := t.Roles
		if strings.TrimSpace(s.filter) != "" {
			e, err := filter.Parse(s.filter)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			if err := groupFilterable(e); err != nil {
				a.fail(w, r, err)
				return
			}
			roles = slices.DeleteFunc(slices.Clone(roles), func(role string) bool {
				return !filter.Match(e, map[string]any{"id": role, "displayName": role}, filter.CaseExact(func(p filter.AttrPath) bool { return p.Name == "id" }))
			})
		}
		total := len(roles)
		start := min(s.startIndex-1, len(roles))
		roles = roles[start:min(start+s.count, len(roles))]
		base := baseURL(r)
		resources := make([]any, 0, len(roles))
		for _, role := range roles {
			var members []*directory.User
			if !slices.ContainsFunc(s.projection.exclude, func(p filter.AttrPath) bool { return strings.EqualFold(p.Name, "members") }) {
				if members, err = a.holders(r.Context(), t.ID, role); err != nil {
					a.fail(w, r, err)
					return
				}
			}
			resources = append(resources, s.projection.apply(group(role, members, base)))
		}
		writeJSON(w, http.StatusOK, map[string]any{"schemas": []string{schemaList}, "totalResults": total,
			"startIndex": s.startIndex, "itemsPerPage": len(resources), "Resources": resources})
	})
}

// groupFilterable refuses filters on anything but displayName and id.
func groupFilterable(e filter.Expr) error {
	var err error
	filter.Walk(e, func(x filter.Expr) bool {
		var p filter.AttrPath
		switch x := x.(type) {
		case *filter.Compare:
			p = x.Path.Normalized()
		case *filter.Present:
			p = x.Path.Normalized()
		case *filter.ValuePath:
			p = x.Attr.Normalized()
		default:
			return true
		}
		if p.Schema != "" && p.Schema != strings.ToLower(schemaGroup) || p.Sub != "" || (p.Name != "displayname" && p.Name != "id") {
			err = errorf(http.StatusBadRequest, typeInvalidFilter, "Groups can be filtered on displayName and id only.")
		}
		return err == nil
	})
	return err
}

// GroupGet is GET /Groups/{id}.
func (a *API) GroupGet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := projectionOf(r.URL.Query())
		if err != nil {
			a.fail(w, r, err)
			return
		}
		t, err := a.tenant(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if !slices.Contains(t.Roles, r.PathValue("id")) {
			a.fail(w, r, errNoGroup)
			return
		}
		a.writeGroup(w, r, http.StatusOK, t, r.PathValue("id"), p)
	})
}

// GroupCreate is POST /Groups: a new role, with its members.
func (a *API) GroupCreate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		obj, err := readJSON(w, r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		name, _ := lookup(obj, "displayName").(string)
		if name == "" {
			a.fail(w, r, errorf(http.StatusBadRequest, typeInvalidValue, "displayName is required: it is the name of the role."))
			return
		}
		members, err := memberIDs(lookup(obj, "members"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		t, err := a.tenant(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if slices.Contains(t.Roles, name) {
			a.fail(w, r, errorf(http.StatusConflict, typeUniqueness, "The role "+name+" exists."))
			return
		}
		if t, err = a.svc.SetRoles(r.Context(), t, append(slices.Clone(t.Roles), name)); err != nil {
			a.fail(w, r, err)
			return
		}
		if err := a.grant(r, t, name, members, true); err != nil {
			a.fail(w, r, err)
			return
		}
		a.writeGroup(w, r, http.StatusCreated, t, name, projection{})
	})
}

// grant gives role to (or, with add false, takes it from) each user.
func (a *API) grant(r *http.Request, t *directory.Tenant, role string, ids []string, add bool) error {
	opts := directory.WriteOptions{Actor: a.req.Actor(r)}
	for _, id := range ids {
		u, err := a.live(r.Context(), t.ID, id)
		if err != nil {
			if directory.ErrorCode(err) == directory.ECodeNotFound {
				return errorf(http.StatusBadRequest, typeInvalidValue, "No user "+id+" to be a member.")
			}
			return err
		}
		roles := slices.DeleteFunc(slices.Clone(u.Roles), func(x string) bool { return x == role })
		if add {
			roles = append(roles, role)
		}
		if slices.Equal(roles, u.Roles) {
			continue
		}
		body, _ := json.Marshal(map[string]any{"roles": roles})
		if _, err := a.svc.UpdateUser(r.Context(), t, id, directory.BodyJSON, body, opts); err != nil {
			return err
		}
	}
	return nil
}

// memberIDs reads members: an array of {"value": id} (a "$ref" and a
// "display" may come with it, null or not) or of bare ids.
func memberIDs(v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	var out []string
	for _, m := range asList(v) {
		switch m := m.(type) {
		case string:
			out = append(out, m)
		case map[string]any:
			id, ok := lookup(m, "value").(string)
			if !ok {
				return nil, errorf(http.StatusBadRequest, typeInvalidValue, "Each member needs a string value: the user's id.")
			}
			out = append(out, id)
		default:
			return nil, errorf(http.StatusBadRequest, typeInvalidValue, "members must be objects with a value.")
		}
	}
	return out, nil
}

// GroupReplace is PUT /Groups/{id}: the members become those given.
func (a *API) GroupReplace() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, role, ok := a.findGroup(w, r)
		if !ok {
			return
		}
		obj, err := readJSON(w, r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if name, _ := lookup(obj, "displayName").(string); name != "" && name != role {
			a.fail(w, r, errorf(http.StatusBadRequest, typeMutability, "A group's displayName is its role's name, which cannot change."))
			return
		}
		want, err := memberIDs(lookup(obj, "members"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		cur, err := a.holders(r.Context(), t.ID, role)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		var gone []string
		for _, u := range cur {
			if !slices.Contains(want, u.ID) {
				gone = append(gone, u.ID)
			}
		}
		if err := a.grant(r, t, role, want, true); err != nil {
			a.fail(w, r, err)
			return
		}
		if err := a.grant(r, t, role, gone, false); err != nil {
			a.fail(w, r, err)
			return
		}
		a.writeGroup(w, r, http.StatusOK, t, role, projection{})
	})
}

// GroupPatch is PATCH /Groups/{id}: members added and removed, in every
// form Okta and Entra ID send (a value array, members[value eq "…"], a
// path-less {"members": […]}).
func (a *API) GroupPatch() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, role, ok := a.findGroup(w, r)
		if !ok {
			return
		}
		obj, err := readJSON(w, r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		ops, err := parseOps(obj)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		// Every operation is understood before any user is written.
		type change struct {
			ids     []string
			add     bool
			replace bool
		}
		var changes []change
		for _, o := range ops {
			value, path := o.value, o.path
			if !o.hasPath {
				m, ok := value.(map[string]any)
				if !ok {
					a.fail(w, r, errorf(http.StatusBadRequest, typeInvalidValue, "Without a path, an operation's value must be an object."))
					return
				}
				for k, v := range m {
					switch {
					case strings.EqualFold(k, "members"):
						path, value = "members", v
					case strings.EqualFold(k, "displayName") && v == role, strings.EqualFold(k, "id") && v == role, strings.EqualFold(k, "schemas"):
					default:
						a.fail(w, r, errorf(http.StatusBadRequest, typeMutability, "Only a group's members can change."))
						return
					}
				}
				if path == "" {
					continue
				}
			}
			p, err := filter.ParsePath(path)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			if !strings.EqualFold(p.Name, "members") || p.Sub != "" {
				a.fail(w, r, errorf(http.StatusBadRequest, typeMutability, "Only a group's members can change."))
				return
			}
			c := change{add: o.name != "remove", replace: o.name == "replace" && p.Filter == nil}
			if p.Filter != nil {
				if o.name != "remove" {
					a.fail(w, r, errorf(http.StatusBadRequest, typeInvalidPath, "A filtered members path can only be removed."))
					return
				}
				cur, err := a.holders(r.Context(), t.ID, role)
				if err != nil {
					a.fail(w, r, err)
					return
				}
				for _, u := range cur {
					if filter.MatchValue(filter.AttrPath{Name: "members"}, p.Filter, map[string]any{"value": u.ID, "display": u.SCIMName()}, matchOptions...) {
						c.ids = append(c.ids, u.ID)
					}
				}
			} else if o.name == "remove" && value == nil {
				cur, err := a.holders(r.Context(), t.ID, role)
				if err != nil {
					a.fail(w, r, err)
					return
				}
				for _, u := range cur {
					c.ids = append(c.ids, u.ID)
				}
			} else if c.ids, err = memberIDs(value); err != nil {
				a.fail(w, r, err)
				return
			}
			changes = append(changes, c)
		}
		for _, c := range changes {
			if c.replace {
				cur, err := a.holders(r.Context(), t.ID, role)
				if err != nil {
					a.fail(w, r, err)
					return
				}
				var gone []string
				for _, u := range cur {
					if !slices.Contains(c.ids, u.ID) {
						gone = append(gone, u.ID)
					}
				}
				if err := a.grant(r, t, role, gone, false); err != nil {
					a.fail(w, r, err)
					return
				}
			}
			if err := a.grant(r, t, role, c.ids, c.add); err != nil {
				a.fail(w, r, err)
				return
			}
		}
		a.writeGroup(w, r, http.StatusOK, t, role, projection{})
	})
}

// GroupDelete is DELETE /Groups/{id}: the role is taken from its holders,
// then removed from the catalog.
func (a *API) GroupDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, role, ok := a.findGroup(w, r)
		if !ok {
			return
		}
		cur, err := a.holders(r.Context(), t.ID, role)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		ids := make([]string, len(cur))
		for i, u := range cur {
			ids[i] = u.ID
		}
		if err := a.grant(r, t, role, ids, false); err != nil {
			a.fail(w, r, err)
			return
		}
		if _, err := a.svc.SetRoles(r.Context(), t, slices.DeleteFunc(slices.Clone(t.Roles), func(x string) bool { return x == role })); err != nil {
			a.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", mediaType)
		w.WriteHeader(http.StatusNoContent)
	})
}

// findGroup returns the tenant and the role the path names, or answers 404.
func (a *API) findGroup(w http.ResponseWriter, r *http.Request) (*directory.Tenant, string, bool) {
	t, err := a.tenant(r)
	if err != nil {
		a.fail(w, r, err)
		return nil, "", false
	}
	role := r.PathValue("id")
	if !slices.Contains(t.Roles, role) {
		a.fail(w, r, errNoGroup)
		return nil, "", false
	}
	return t, role, true
}
