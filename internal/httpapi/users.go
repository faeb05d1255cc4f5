package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/patch"
	"github.com/roster-dev/roster/internal/wire"
)

// writeUser answers a user with its ETag. A key without users:read gets no
// user, not even the one it has just written: that scope is what lets a key
// read a user, on every route (§6). It gets the ETag, for its next If-Match,
// and the status without a body: 204 for a 200, a 201 or 202 as it is.
func writeUser(w http.ResponseWriter, r *http.Request, status int, u *directory.User) {
	w.Header().Set("ETag", directory.ETag(u))
	if !readsUsers(r) {
		if status == http.StatusOK {
			status = http.StatusNoContent
		}
		w.WriteHeader(status)
		return
	}
	writeBody(w, status, wire.MarshalPublic(u))
}

// readsUsers reports whether the request's key may read users.
func readsUsers(r *http.Request) bool {
	k := requestInfoFrom(r.Context()).key
	return k != nil && (k.Platform() || k.Has(directory.ScopeUsersRead))
}

// blindWrite refuses, from a key without users:read, what in a PATCH or PUT
// is answered according to the user as stored, and so would let the key
// read it by asking: a JSON Patch, whose test, copy and move read values
// (a copy into roles comes back quoted in the 422) and whose paths must
// exist, and read-only members, accepted only with their current value.
// Other faults of the body are left for the Service to report.
func blindWrite(kind directory.BodyKind, body []byte) error {
	if kind == directory.BodyJSONPatch {
		return directory.Errorf(directory.ECodeInsufficientScope,
			"A JSON Patch applies to the user as stored, which this API key may not read: it needs the %s scope. Send a JSON or merge-patch body instead.", directory.ScopeUsersRead)
	}
	doc, err := patch.Decode(body)
	obj, ok := doc.(map[string]any)
	if err != nil || !ok {
		return nil
	}
	var fe []directory.FieldError
	for name := range obj {
		if directory.IsReadOnly(name) {
			fe = append(fe, directory.FieldError{Field: name, Code: directory.ECodeReadOnlyField,
				Message: "is read-only: a key without " + directory.ScopeUsersRead + " may not send it, whatever its value"})
		}
	}
	if len(fe) == 0 {
		return nil
	}
	slices.SortFunc(fe, func(a, b directory.FieldError) int { return strings.Compare(a.Field, b.Field) })
	msg := fmt.Sprintf("%d members are read-only.", len(fe))
	if len(fe) == 1 {
		msg = fmt.Sprintf("The member %q is read-only.", fe[0].Field)
	}
	return &directory.Error{Code: directory.ECodeReadOnlyField, Message: msg, Fields: fe}
}

// writeOptions reads the request-level options of a write: actor, If-Match
// and dry_run.
func writeOptions(r *http.Request) directory.WriteOptions {
	info := requestInfoFrom(r.Context())
	opts := directory.WriteOptions{Actor: directory.Actor{
		KeyID: info.key.ID, Key: info.key, RequestID: info.id, ActingUserID: r.Header.Get("X-Acting-User"),
	}}
	opts.DryRun = queryOf(r).bool("dry_run")
	if vals := r.Header.Values("If-Match"); len(vals) > 0 {
		opts.IfMatch = parseIfMatch(strings.Join(vals, ","))
	}
	return opts
}

// parseIfMatch reads an If-Match header. Entity tags are opaque and
// compared strongly (RFC 9110 §13.1.1): a tag matches a version only if its
// text is exactly the ETag Roster gives that version, so "02", "+2" and
// " 2" match nothing, and neither does a weak or malformed tag.
func parseIfMatch(h string) *directory.Precondition {
	p := &directory.Precondition{}
	for _, tag := range strings.Split(h, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" {
			p.Any = true
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(tag, `"`), `"`), 10, 64)
		if err != nil || tag != directory.ETag(&directory.User{Version: v}) {
			v = -1
		}
		p.Versions = append(p.Versions, v)
	}
	return p
}

// noneMatch reports whether an If-None-Match header matches etag (weak
// comparison, RFC 9110 §13.1.2).
func noneMatch(h, etag string) bool {
	for _, tag := range strings.Split(h, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
	}
	return false
}

func markDryRun(w http.ResponseWriter, opts directory.WriteOptions) {
	if opts.DryRun {
		w.Header().Set("Roster-Dry-Run", "true")
	}
}

func handleUserCreate(svc *directory.Service) writeFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		body, err := requireJSON(w, r)
		if err != nil {
			return err
		}
		opts := writeOptions(r)
		res, err := svc.CreateUser(r.Context(), tenantFrom(r.Context()), body, opts)
		if err != nil {
			return err
		}
		status := http.StatusOK
		if !opts.DryRun {
			w.Header().Set("Location", "/v1/users/"+res.User.ID)
			status = http.StatusCreated
		}
		answerWrite(svc, w, r, status, res, opts)
		return nil
	}
}

func handleUserGet(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := svc.GetUser(r.Context(), tenantFrom(r.Context()).ID, r.PathValue("id"))
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		etag := directory.ETag(u)
		if inm := r.Header.Get("If-None-Match"); inm != "" && noneMatch(inm, etag) {
			w.Header().Set("ETag", etag)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		writeUser(w, r, http.StatusOK, u)
	})
}

func handleUserList(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := queryOf(r)
		limit := q.int("limit")
		users, err := svc.ListUsers(r.Context(), tenantFrom(r.Context()).ID, directory.UserQuery{
			Email: q.string("email"), Username: q.string("username"), Status: q.string("status"), Search: q.string("q"),
			Before: q.string("cursor"), Limit: limit + 1,
		})
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, page(users, limit,
			func(u *directory.User) string { return u.ID },
			func(u *directory.User) any { return json.RawMessage(wire.MarshalPublic(u)) }))
	})
}

// handleUserPatch serves PATCH in its three media types (§4). A request
// with no body and no Content-Type is a no-op.
func handleUserPatch(svc *directory.Service) writeFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		kind, body, err := patchBody(w, r)
		if directory.ErrorCode(err) == codeUnsupportedMediaType {
			w.Header().Set("Accept-Patch", acceptPatch)
		}
		if err != nil {
			return err
		}
		return updateUser(svc, w, r, kind, body)
	}
}

// patchBody reads a PATCH body and the kind its media type says it is.
func patchBody(w http.ResponseWriter, r *http.Request) (directory.BodyKind, []byte, error) {
	mt, err := mediaType(r)
	if err != nil {
		return 0, nil, err
	}
	body, err := readBody(w, r)
	if err != nil {
		return 0, nil, err
	}
	switch {
	case mt == "" && len(body) == 0, mt == mediaJSON:
		return directory.BodyJSON, body, nil
	case mt == mediaMergePatch:
		return directory.BodyMergePatch, body, nil
	case mt == mediaJSONPatch:
		return directory.BodyJSONPatch, body, nil
	}
	return 0, nil, directory.Errorf(codeUnsupportedMediaType, "Send the body as one of: %s.", acceptPatch)
}

// handleUserPut serves PUT: the whole writable representation (§4).
func handleUserPut(svc *directory.Service) writeFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		mt, err := mediaType(r)
		if err != nil {
			return err
		}
		body, err := readBody(w, r)
		if err != nil {
			return err
		}
		if mt != mediaJSON {
			return directory.Errorf(codeUnsupportedMediaType, "Send the body as one of: %s.", mediaJSON)
		}
		return updateUser(svc, w, r, directory.BodyReplace, body)
	}
}

// updateUser makes a PATCH or PUT of the body, read as kind, and answers it.
func updateUser(svc *directory.Service, w http.ResponseWriter, r *http.Request, kind directory.BodyKind, body []byte) error {
	if !readsUsers(r) {
		if err := blindWrite(kind, body); err != nil {
			return err
		}
	}
	opts := writeOptions(r)
	res, err := svc.UpdateUser(r.Context(), tenantFrom(r.Context()), r.PathValue("id"), kind, body, opts)
	if err != nil {
		return err
	}
	answerWrite(svc, w, r, http.StatusOK, res, opts)
	return nil
}

// handleUserOptions answers which methods and patch formats a user accepts.
// It needs no key: it says nothing about any user.
func handleUserOptions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD, PUT, PATCH, DELETE, OPTIONS")
		w.Header().Set("Accept-Patch", acceptPatch)
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleUserHistory(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := queryOf(r)
		limit := q.int("limit")
		entries, err := svc.History(r.Context(), tenantFrom(r.Context()).ID, r.PathValue("id"), q.string("cursor"), limit+1)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, page(entries, limit,
			func(a *directory.AuditEntry) string { return a.ID }, auditJSON))
	})
}

func auditJSON(a *directory.AuditEntry) any {
	orNull := func(s string) any {
		if s == "" {
			return nil // made outside a request, by the command line
		}
		return s
	}
	return map[string]any{
		"object": "audit_entry", "id": a.ID, "action": a.Action,
		"actor":      map[string]any{"key_id": orNull(a.Actor.KeyID), "acting_user_id": orNull(a.Actor.ActingUserID)},
		"request_id": orNull(a.RequestID), "at": directory.FormatTime(a.At), "changes": a.Changes,
	}
}
