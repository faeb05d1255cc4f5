package scim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/scim/filter"
)

// Groups are the tenant's role catalog: a group is a role, its id the
// role's key, its displayName the role's display name (directory.RoleName),
// its members the users holding the role. Creating a group adds the role to
// the catalog, its key derived from the displayName; adding a member grants
// it (an ordinary update of the user's roles, audited, with its event),
// removing one takes it away, deleting the group takes it from its holders
// and removes it from the catalog. Each group write is one
// directory.ChangeRole: one transaction, whatever the number of users.

const schemaGroup = "urn:ietf:params:scim:schemas:core:2.0:Group"

// group is the SCIM representation of role in t's catalog, with its members
// and, when they were read, its version.
func group(t *directory.Tenant, role string, members []*directory.User, base string, withVersion bool) map[string]any {
	ms := make([]any, 0, len(members))
	for _, u := range members {
		ms = append(ms, map[string]any{"value": u.ID, "display": u.SCIMName(), "$ref": base + "/Users/" + u.ID, "type": "User"})
	}
	meta := map[string]any{"resourceType": "Group", "location": base + "/Groups/" + role}
	if withVersion {
		meta["version"] = groupVersion(t, role, members)
	}
	return map[string]any{
		"schemas":     []any{schemaGroup},
		"id":          role,
		"displayName": directory.RoleName(t, role),
		"members":     ms,
		"meta":        meta,
	}
}

// groupVersion is a group's ETag, weak: a digest of its display name and
// its members' IDs. A role has no version of its own to give; this one
// changes whenever what GET /Groups/{id} shows does.
func groupVersion(t *directory.Tenant, role string, members []*directory.User) string {
	ids := make([]string, len(members))
	for i, u := range members {
		ids[i] = u.ID
	}
	slices.Sort(ids)
	h := sha256.New()
	h.Write([]byte(directory.RoleName(t, role)))
	for _, id := range ids {
		h.Write([]byte{0})
		h.Write([]byte(id))
	}
	return `W/"` + hex.EncodeToString(h.Sum(nil)[:8]) + `"`
}

// matchedHolders reads the holders of role before a write of its group,
// and applies the request's If-Match to the group they make.
func (a *API) matchedHolders(r *http.Request, t *directory.Tenant, role string) ([]*directory.User, error) {
	cur, err := a.holders(r.Context(), t.ID, role)
	if err != nil {
		return nil, err
	}
	return cur, checkGroupMatch(r, t, role, cur)
}

// checkGroupMatch applies a group write's If-Match to the group as read
// just before the write (members): 412 unless it is * or names the group's
// version. A change committed between that read and the write goes
// unnoticed: the check is not part of the write's transaction.
func checkGroupMatch(r *http.Request, t *directory.Tenant, role string, members []*directory.User) error {
	vals := r.Header.Values("If-Match")
	if len(vals) == 0 {
		return nil
	}
	cur := groupVersion(t, role, members)
	for tag := range strings.SplitSeq(strings.Join(vals, ","), ",") {
		if tag = strings.TrimSpace(tag); tag == "*" || tag == cur {
			return nil
		}
	}
	return errorf(http.StatusPreconditionFailed, "", "The group has changed since you read it: its version is now "+cur+".")
}

// holders lists the users holding role, oldest first.
func (a *API) holders(ctx context.Context, tenantID, role string) ([]*directory.User, error) {
	users, _, err := a.svc.FindUsers(ctx, tenantID, directory.UserFilter{Oldest: true,
		Where: &directory.UserCond{Kind: directory.CondCompare, Field: directory.FieldRole, Op: directory.OpEq, Value: role}})
	return users, err
}

// writeGroup answers role's group with its members; to a key that may not
// read users, no body.
func (a *API) writeGroup(w http.ResponseWriter, r *http.Request, status int, t *directory.Tenant, role string, p projection) error {
	members, err := a.holders(r.Context(), t.ID, role)
	if err != nil {
		return err
	}
	res := group(t, role, members, a.baseURL(r), true)
	meta := res["meta"].(map[string]any)
	if status == http.StatusCreated {
		w.Header().Set("Location", meta["location"].(string))
	}
	w.Header().Set("ETag", meta["version"].(string))
	if !a.readsUsers(r) { // the members are users
		if status == http.StatusOK {
			status = http.StatusNoContent
		}
		w.Header().Set("Content-Type", mediaType)
		w.WriteHeader(status)
		return nil
	}
	writeJSON(w, status, p.apply(res))
	return nil
}

// tenant re-reads the tenant, whose cached copy may predate a change of its
// catalog.
func (a *API) tenant(r *http.Request) (*directory.Tenant, error) {
	return a.svc.GetTenant(r.Context(), a.req.Tenant(r).ID)
}

var errNoGroup = errorf(http.StatusNotFound, "", "No such group.")

// GroupList is GET /Groups: filters on displayName and id, eq only.
func (a *API) GroupList() http.Handler {
	return a.handle(func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		s, err := searchOf(func(name string) (any, bool) {
			v, ok := q[name]
			if !ok || len(v) == 0 {
				return nil, false
			}
			return v[0], true
		})
		if err != nil {
			return err
		}
		t, err := a.tenant(r)
		if err != nil {
			return err
		}
		roles := t.Roles
		if strings.TrimSpace(s.filter) != "" {
			e, err := filter.Parse(s.filter)
			if err != nil {
				return err
			}
			if err := groupFilterable(e); err != nil {
				return err
			}
			roles = slices.DeleteFunc(slices.Clone(roles), func(role string) bool {
				return !filter.Match(e, map[string]any{"id": role, "displayName": directory.RoleName(t, role)}, filter.CaseExact(func(p filter.AttrPath) bool { return p.Name == "id" }))
			})
		}
		total := len(roles)
		start := min(s.startIndex-1, len(roles))
		roles = roles[start:min(start+s.count, len(roles))]
		base := a.baseURL(r)
		resources := make([]any, 0, len(roles))
		for _, role := range roles {
			var members []*directory.User
			read := !slices.ContainsFunc(s.projection.exclude, func(p filter.AttrPath) bool { return strings.EqualFold(p.Name, "members") })
			if read {
				if members, err = a.holders(r.Context(), t.ID, role); err != nil {
					return err
				}
			}
			resources = append(resources, s.projection.apply(group(t, role, members, base, read)))
		}
		writeJSON(w, http.StatusOK, map[string]any{"schemas": []string{schemaList}, "totalResults": total,
			"startIndex": s.startIndex, "itemsPerPage": len(resources), "Resources": resources})
		return nil
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
	return a.handle(func(w http.ResponseWriter, r *http.Request) error {
		p, err := projectionOf(r.URL.Query())
		if err != nil {
			return err
		}
		t, err := a.tenant(r)
		if err != nil {
			return err
		}
		if !slices.Contains(t.Roles, r.PathValue("id")) {
			return errNoGroup
		}
		return a.writeGroup(w, r, http.StatusOK, t, r.PathValue("id"), p)
	})
}

// GroupCreate is POST /Groups: a new role, named by the displayName, with
// its members.
func (a *API) GroupCreate() http.Handler {
	return a.handleWrite(func(w http.ResponseWriter, r *http.Request) error {
		obj, err := readJSON(w, r)
		if err != nil {
			return err
		}
		name, ok := lookup(obj, "displayName").(string)
		if !ok || name == "" {
			return errorf(http.StatusBadRequest, typeInvalidValue, "displayName is required: it is the name of the role.")
		}
		members, err := memberIDs(lookup(obj, "members"))
		if err != nil {
			return err
		}
		t, role, err := a.svc.ChangeRole(r.Context(), a.req.Tenant(r), directory.RoleChange{Create: true, Name: name, Grant: members}, a.groupOpts(r))
		if err != nil {
			return err
		}
		a.quota(w, r, nil)
		return a.writeGroup(w, r, http.StatusCreated, t, role, projection{})
	})
}

// groupOpts are the write options of a group's change: its actor. The
// request's If-Match names a version of the group (checkGroupMatch), not of
// its users.
func (a *API) groupOpts(r *http.Request) directory.WriteOptions {
	return directory.WriteOptions{Actor: a.req.Actor(r)}
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

// GroupReplace is PUT /Groups/{id}: the members become those given; a
// different displayName renames the group (its id, the role's key, stays).
func (a *API) GroupReplace() http.Handler {
	return a.handleWrite(func(w http.ResponseWriter, r *http.Request) error {
		t, role, err := a.findGroup(r)
		if err != nil {
			return err
		}
		obj, err := readJSON(w, r)
		if err != nil {
			return err
		}
		c := directory.RoleChange{Role: role}
		if v := lookup(obj, "displayName"); v != nil {
			name, ok := v.(string)
			if !ok {
				return errorf(http.StatusBadRequest, typeInvalidValue, "displayName must be a string.")
			}
			c.Rename, c.Name = name != directory.RoleName(t, role), name
		}
		want, err := memberIDs(lookup(obj, "members"))
		if err != nil {
			return err
		}
		cur, err := a.matchedHolders(r, t, role)
		if err != nil {
			return err
		}
		c.Grant = want
		for _, u := range cur {
			if !slices.Contains(want, u.ID) {
				c.Revoke = append(c.Revoke, u.ID)
			}
		}
		if t, _, err = a.svc.ChangeRole(r.Context(), t, c, a.groupOpts(r)); err != nil {
			return err
		}
		a.quota(w, r, nil)
		return a.writeGroup(w, r, http.StatusOK, t, role, projection{})
	})
}

// GroupPatch is PATCH /Groups/{id}: members added and removed, in every
// form Okta and Entra ID send (a value array, members[value eq "…"], a
// path-less {"members": […]}), and the displayName replaced. The
// operations apply in order to the set of members; the outcome is one
// write of the users that gain or lose the role.
func (a *API) GroupPatch() http.Handler {
	return a.handleWrite(func(w http.ResponseWriter, r *http.Request) error {
		t, role, err := a.findGroup(r)
		if err != nil {
			return err
		}
		obj, err := readJSON(w, r)
		if err != nil {
			return err
		}
		ops, err := parseOps(obj)
		if err != nil {
			return err
		}
		cur, err := a.matchedHolders(r, t, role)
		if err != nil {
			return err
		}
		held := make([]string, len(cur))
		display := map[string]string{}
		for i, u := range cur {
			held[i] = u.ID
			display[u.ID] = u.SCIMName()
		}
		members := slices.Clone(held)
		c := directory.RoleChange{Role: role}
		for _, o := range ops {
			if members, err = applyGroupOp(t, role, o, members, display, &c); err != nil {
				return err
			}
		}
		for _, id := range members {
			if !slices.Contains(held, id) {
				c.Grant = append(c.Grant, id)
			}
		}
		for _, id := range held {
			if !slices.Contains(members, id) {
				c.Revoke = append(c.Revoke, id)
			}
		}
		if t, _, err = a.svc.ChangeRole(r.Context(), t, c, a.groupOpts(r)); err != nil {
			return err
		}
		a.quota(w, r, nil)
		return a.writeGroup(w, r, http.StatusOK, t, role, projection{})
	})
}

// applyGroupOp applies one PATCH operation to a group: to its members (the
// users' IDs, display their userNames) or, recorded in c, its displayName.
func applyGroupOp(t *directory.Tenant, role string, o op, members []string, display map[string]string, c *directory.RoleChange) ([]string, error) {
	rename := func(v any) error {
		name, ok := v.(string)
		if !ok || o.name == "remove" {
			return errorf(http.StatusBadRequest, typeInvalidValue, "A group's displayName is a string and cannot be removed.")
		}
		c.Rename, c.Name = name != directory.RoleName(t, role), name
		return nil
	}
	if !o.hasPath {
		m, ok := o.value.(map[string]any)
		if !ok {
			return nil, errorf(http.StatusBadRequest, typeInvalidValue, "Without a path, an operation's value must be an object.")
		}
		for k, v := range m {
			switch {
			case strings.EqualFold(k, "members"):
				var err error
				if members, err = memberOp(o.name, v, members); err != nil {
					return nil, err
				}
			case strings.EqualFold(k, "displayName"):
				if err := rename(v); err != nil {
					return nil, err
				}
			case strings.EqualFold(k, "id") && v == role, strings.EqualFold(k, "schemas"):
			default:
				return nil, errorf(http.StatusBadRequest, typeMutability, "Only a group's members and displayName can change.")
			}
		}
		return members, nil
	}
	p, err := filter.ParsePath(o.path)
	if err != nil {
		return nil, err
	}
	switch {
	case strings.EqualFold(p.Name, "displayName") && p.Sub == "" && p.Filter == nil:
		return members, rename(o.value)
	case !strings.EqualFold(p.Name, "members") || p.Sub != "":
		return nil, errorf(http.StatusBadRequest, typeMutability, "Only a group's members and displayName can change.")
	case p.Filter != nil:
		if o.name != "remove" {
			return nil, errorf(http.StatusBadRequest, typeInvalidPath, "A filtered members path can only be removed.")
		}
		return slices.DeleteFunc(members, func(id string) bool {
			return filter.MatchValue(filter.AttrPath{Name: "members"}, p.Filter, map[string]any{"value": id, "display": display[id]}, matchOptions...)
		}), nil
	case o.name == "remove" && o.value == nil:
		return nil, nil // a bare members path: all of them
	}
	return memberOp(o.name, o.value, members)
}

// memberOp applies an add, remove or replace of the members value v.
func memberOp(name string, v any, members []string) ([]string, error) {
	ids, err := memberIDs(v)
	if err != nil {
		return nil, err
	}
	switch name {
	case "remove":
		return slices.DeleteFunc(members, func(id string) bool { return slices.Contains(ids, id) }), nil
	case "replace":
		members = nil
	}
	for _, id := range ids {
		if !slices.Contains(members, id) {
			members = append(members, id)
		}
	}
	return members, nil
}

// GroupDelete is DELETE /Groups/{id}: the role is taken from its holders
// and removed from the catalog, in one transaction.
func (a *API) GroupDelete() http.Handler {
	return a.handleWrite(func(w http.ResponseWriter, r *http.Request) error {
		t, role, err := a.findGroup(r)
		if err != nil {
			return err
		}
		cur, err := a.matchedHolders(r, t, role)
		if err != nil {
			return err
		}
		ids := make([]string, len(cur))
		for i, u := range cur {
			ids[i] = u.ID
		}
		if _, _, err := a.svc.ChangeRole(r.Context(), t, directory.RoleChange{Role: role, Revoke: ids, Drop: true}, a.groupOpts(r)); err != nil {
			return err
		}
		w.Header().Set("Content-Type", mediaType)
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// findGroup returns the tenant and the role the path names, or a 404.
func (a *API) findGroup(r *http.Request) (*directory.Tenant, string, error) {
	t, err := a.tenant(r)
	if err != nil {
		return nil, "", err
	}
	role := r.PathValue("id")
	if !slices.Contains(t.Roles, role) {
		return nil, "", errNoGroup
	}
	return t, role, nil
}
