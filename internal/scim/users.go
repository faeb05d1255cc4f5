package scim

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/scim/filter"
)

// opts are the write options of a request: its actor and If-Match.
func (a *API) opts(r *http.Request) directory.WriteOptions {
	return directory.WriteOptions{Actor: a.req.Actor(r), IfMatch: ifMatch(r)}
}

// readsUsers reports whether the request's key may read users: a key
// with users:write alone gets no user in the answer to its writes.
func (a *API) readsUsers(r *http.Request) bool {
	k := a.req.Actor(r).Key
	return k != nil && (k.Platform() || k.Has(directory.ScopeUsersRead))
}

// writeUser answers a user's resource with its ETag; to a key that may not
// read users, only the ETag (and a creation's Location).
func (a *API) writeUser(w http.ResponseWriter, r *http.Request, status int, u *directory.User, p projection) {
	res := resource(u, a.baseURL(r))
	w.Header().Set("ETag", directory.ETag(u))
	if status == http.StatusCreated {
		w.Header().Set("Location", res["meta"].(map[string]any)["location"].(string))
	}
	if !a.readsUsers(r) {
		if status == http.StatusOK {
			status = http.StatusNoContent
		}
		w.Header().Set("Content-Type", mediaType)
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, p.apply(res))
}

// live returns the user unless it is gone or being deleted: for SCIM a
// deleted user is not found at once, whatever the tenant's grace period.
func (a *API) live(ctx context.Context, tenantID, id string) (*directory.User, error) {
	u, err := a.svc.GetUser(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if u.Status == directory.StatusDeleting {
		return nil, directory.ErrNotFound
	}
	return u, nil
}

// UserCreate is POST /Users: 201 with the resource and its Location.
func (a *API) UserCreate() http.Handler {
	return a.handleWrite(func(w http.ResponseWriter, r *http.Request) error {
		obj, err := readJSON(w, r)
		if err != nil {
			return err
		}
		doc, err := fromResource(obj)
		if err != nil {
			return err
		}
		res, err := a.svc.CreateUserActive(r.Context(), a.req.Tenant(r), doc.body(), doc.active == nil || *doc.active, a.opts(r))
		if err != nil {
			return err
		}
		a.quota(w, r, res)
		a.writeUser(w, r, http.StatusCreated, res.User, projection{})
		return nil
	})
}

// UserGet is GET /Users/{id}.
func (a *API) UserGet() http.Handler {
	return a.handle(func(w http.ResponseWriter, r *http.Request) error {
		p, err := projectionOf(r.URL.Query())
		if err != nil {
			return err
		}
		u, err := a.live(r.Context(), a.req.Tenant(r).ID, r.PathValue("id"))
		if err != nil {
			return err
		}
		a.writeUser(w, r, http.StatusOK, u, p)
		return nil
	})
}

// UserReplace is PUT /Users/{id}: the resource replaces every attribute
// SCIM maps; roles and active, when absent, stay as they are.
func (a *API) UserReplace() http.Handler {
	return a.handleWrite(func(w http.ResponseWriter, r *http.Request) error {
		t := a.req.Tenant(r)
		cur, err := a.live(r.Context(), t.ID, r.PathValue("id"))
		if err != nil {
			return err
		}
		obj, err := readJSON(w, r)
		if err != nil {
			return err
		}
		doc, err := fromResource(obj)
		if err != nil {
			return err
		}
		res, err := a.svc.UpdateUserActive(r.Context(), t, cur.ID, directory.BodyJSON, doc.body(), doc.active, a.opts(r))
		if err != nil {
			return err
		}
		a.quota(w, r, res)
		a.writeUser(w, r, http.StatusOK, res.User, projection{})
		return nil
	})
}

// patchAttempts is how many times a PATCH without If-Match reads, applies
// and writes again when another write changed the user in between.
const patchAttempts = 4

// UserPatch is PATCH /Users/{id} (RFC 7644 §3.5.2): the operations apply
// to the user's resource in memory, all or none, and the result is written
// with If-Match on the version read.
func (a *API) UserPatch() http.Handler {
	return a.handleWrite(func(w http.ResponseWriter, r *http.Request) error {
		t := a.req.Tenant(r)
		// The user is found before the body is read, as in the REST API.
		if _, err := a.live(r.Context(), t.ID, r.PathValue("id")); err != nil {
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
		if !a.readsUsers(r) {
			// Operations apply to the user as stored: whether a filtered
			// path matches, and the errors, would let the key read it.
			return directory.Errorf(directory.ECodeInsufficientScope,
				"A PATCH applies to the user as stored, which this API key may not read: it needs the %s scope. Send the whole user with PUT instead.", directory.ScopeUsersRead)
		}
		opts := a.opts(r)
		sent := opts.IfMatch
		for attempt := 1; ; attempt++ {
			cur, err := a.live(r.Context(), t.ID, r.PathValue("id"))
			if err != nil {
				return err
			}
			if sent != nil && !matches(sent, cur.Version) {
				return directory.Errorf(directory.ECodePreconditionFailed, "The user's version is %s, not the one If-Match names.", directory.ETag(cur))
			}
			patched, err := applyOps(resource(cur, a.baseURL(r)), ops)
			if err != nil {
				return err
			}
			doc, err := fromResource(patched)
			if err != nil {
				return err
			}
			if _, ok := doc.members["roles"]; !ok {
				doc.members["roles"] = []any{} // the operations removed them
			}
			opts.IfMatch = &directory.Precondition{Versions: []int64{cur.Version}}
			res, err := a.svc.UpdateUserActive(r.Context(), t, cur.ID, directory.BodyJSON, doc.body(), doc.active, opts)
			if directory.ErrorCode(err) == directory.ECodePreconditionFailed && sent == nil && attempt < patchAttempts {
				continue
			}
			if err != nil {
				return err
			}
			a.quota(w, r, res)
			a.writeUser(w, r, http.StatusOK, res.User, projection{})
			return nil
		}
	})
}

// UserDelete is DELETE /Users/{id}: Roster's deletion, 204.
func (a *API) UserDelete() http.Handler {
	return a.handleWrite(func(w http.ResponseWriter, r *http.Request) error {
		t := a.req.Tenant(r)
		if _, err := a.live(r.Context(), t.ID, r.PathValue("id")); err != nil {
			return err
		}
		res, err := a.svc.DeleteUser(r.Context(), t, r.PathValue("id"), a.opts(r))
		if err != nil {
			return err
		}
		a.quota(w, r, res)
		w.Header().Set("ETag", directory.ETag(res.User))
		w.Header().Set("Content-Type", mediaType)
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// search is a query of users: RFC 7644 §3.4.2's parameters, from the URL
// or a SearchRequest body.
type search struct {
	filter     string
	startIndex int
	count      int
	projection projection
	// sortBy orders the users by a field ("" for creation order),
	// descending when sortDesc.
	sortBy   directory.UserField
	sortDesc bool
}

// UserList is GET /Users.
func (a *API) UserList() http.Handler {
	return a.handle(func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		s, err := searchOf(func(name string) (any, bool) {
			for k, v := range q {
				if strings.EqualFold(k, name) && len(v) > 0 {
					return v[0], true
				}
			}
			return nil, false
		})
		if err != nil {
			return err
		}
		return a.list(w, r, s)
	})
}

// UserSearch is POST /Users/.search and POST /.search (Users are the one
// resource type searched).
func (a *API) UserSearch() http.Handler {
	return a.handle(func(w http.ResponseWriter, r *http.Request) error {
		obj, err := readJSON(w, r)
		if err != nil {
			return err
		}
		s, err := searchOf(func(name string) (any, bool) {
			v := lookup(obj, name)
			return v, v != nil
		})
		if err != nil {
			return err
		}
		return a.list(w, r, s)
	})
}

// searchOf reads a query's parameters through get, which finds one by name
// case-insensitively (a string from a URL, any JSON value from a body).
func searchOf(get func(string) (any, bool)) (search, error) {
	s := search{startIndex: 1, count: defaultCount}
	str := func(name string) (string, error) {
		v, ok := get(name)
		if !ok {
			return "", nil
		}
		switch v := v.(type) {
		case string:
			return v, nil
		case []any: // attributes in a SearchRequest are an array
			parts := make([]string, 0, len(v))
			for _, p := range v {
				ps, ok := p.(string)
				if !ok {
					return "", errorf(http.StatusBadRequest, typeInvalidValue, name+" must be strings.")
				}
				parts = append(parts, ps)
			}
			return strings.Join(parts, ","), nil
		}
		return "", errorf(http.StatusBadRequest, typeInvalidValue, name+" must be a string.")
	}
	num := func(name string, def int) (int, error) {
		v, ok := get(name)
		if !ok {
			return def, nil
		}
		n, err := strconv.Atoi(strings.TrimSpace(toString(v)))
		if err != nil {
			return 0, errorf(http.StatusBadRequest, typeInvalidValue, name+" must be an integer.")
		}
		return n, nil
	}
	var err error
	if s.filter, err = str("filter"); err != nil {
		return s, err
	}
	if s.startIndex, err = num("startIndex", 1); err != nil {
		return s, err
	}
	if s.count, err = num("count", defaultCount); err != nil {
		return s, err
	}
	s.startIndex = max(s.startIndex, 1)
	s.count = min(max(s.count, 0), maxResults)
	if s.sortBy, s.sortDesc, err = sortOf(str); err != nil {
		return s, err
	}
	attrs, err := str("attributes")
	if err != nil {
		return s, err
	}
	excluded, err := str("excludedAttributes")
	if err != nil {
		return s, err
	}
	s.projection, err = projectionOf(url.Values{"attributes": {attrs}, "excludedAttributes": {excluded}})
	return s, err
}

func toString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case interface{ String() string }: // json.Number
		return v.String()
	}
	return "x"
}

// list answers a ListResponse of the users s selects, oldest first.
func (a *API) list(w http.ResponseWriter, r *http.Request, s search) error {
	f := directory.UserFilter{Oldest: true, Offset: s.startIndex - 1, Limit: s.count, SortBy: s.sortBy, SortDescending: s.sortDesc}
	if s.count == 0 {
		f.Limit = -1 // count them, list none
	}
	if strings.TrimSpace(s.filter) != "" {
		e, err := filter.Parse(s.filter)
		if err != nil {
			return err
		}
		if f.Where, err = condOf(e); err != nil {
			return err
		}
	}
	users, total, err := a.svc.FindUsers(r.Context(), a.req.Tenant(r).ID, f)
	if err != nil {
		return err
	}
	base := a.baseURL(r)
	resources := make([]any, 0, len(users))
	for _, u := range users {
		resources = append(resources, s.projection.apply(resource(u, base)))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"schemas":      []string{schemaList},
		"totalResults": total,
		"startIndex":   s.startIndex,
		"itemsPerPage": len(resources),
		"Resources":    resources,
	})
	return nil
}
