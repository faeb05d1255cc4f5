package httpapi

import (
	"net/http"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// Keys as a resource (§11). The same handlers serve a tenant's keys under
// /v1/keys (admin) and the platform keys under /v1/platform-keys
// (platform): owner says whose keys a request is about.

// keyOwner returns the tenant whose keys a request manages: "" for
// platform keys.
type keyOwner func(r *http.Request) string

func tenantKeys(r *http.Request) string { return tenantFrom(r.Context()).ID }
func platformKeys(*http.Request) string { return "" }

// keyWire is a key on the wire: never its token or its hash.
type keyWire struct {
	Object     string   `json:"object"`
	ID         string   `json:"id"`
	TenantID   *string  `json:"tenant_id"`
	Name       string   `json:"name"`
	Scopes     []string `json:"scopes"`
	Prefix     *string  `json:"prefix"`
	CreatedAt  string   `json:"created_at"`
	CreatedBy  *string  `json:"created_by"`
	ExpiresAt  *string  `json:"expires_at"`
	LastUsedAt *string  `json:"last_used_at"`
	RevokedAt  *string  `json:"revoked_at"`
}

// newKeyWire is a key just made, with its token, shown only this once.
type newKeyWire struct {
	keyWire
	Token string `json:"token"`
}

func keyJSON(k *directory.Key) keyWire {
	return keyWire{
		Object: "api_key", ID: k.ID, TenantID: strOrNil(k.TenantID), Name: k.Name, Scopes: k.Scopes,
		Prefix: strOrNil(k.Prefix), CreatedAt: directory.FormatTime(k.Created), CreatedBy: strOrNil(k.CreatedBy),
		ExpiresAt: timeOrNil(k.ExpiresAt), LastUsedAt: timeOrNil(k.LastUsedAt), RevokedAt: timeOrNil(k.RevokedAt),
	}
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func timeOrNil(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := directory.FormatTime(*t)
	return &s
}

// actorOf is who makes a request's change, for the audit trail.
func actorOf(r *http.Request) directory.Actor {
	info := requestInfoFrom(r.Context())
	return directory.Actor{KeyID: info.key.ID, Key: info.key, RequestID: info.id}
}

type keyCreateRequest struct {
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	ExpiresAt *string  `json:"expires_at"`
}

func handleKeyCreate(svc *directory.Service, owner keyOwner, base string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req keyCreateRequest
		if err := readJSON(w, r, &req); err != nil {
			writeProblem(w, r, err)
			return
		}
		in := directory.KeyInput{Name: req.Name, Scopes: req.Scopes}
		if req.ExpiresAt != nil {
			at, err := time.Parse(time.RFC3339Nano, *req.ExpiresAt)
			if err != nil {
				writeProblem(w, r, &directory.Error{Code: directory.ECodeValidationFailed, Message: "1 field is invalid.",
					Fields: []directory.FieldError{{Field: "expires_at", Code: "invalid_timestamp", Message: "must be an RFC 3339 timestamp"}}})
				return
			}
			in.ExpiresAt = &at
		}
		k, token, err := svc.CreateKey(r.Context(), owner(r), in, actorOf(r))
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		w.Header().Set("Location", base+"/"+k.ID)
		writeJSON(w, http.StatusCreated, newKeyWire{keyWire: keyJSON(k), Token: token})
	})
}

func handleKeyList(svc *directory.Service, owner keyOwner) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := queryOf(r)
		limit := q.int("limit")
		ks, err := svc.ListKeys(r.Context(), owner(r), q.string("cursor"), limit+1)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, page(ks, limit, func(k *directory.Key) string { return k.ID },
			func(k *directory.Key) any { return keyJSON(k) }))
	})
}

func handleKeyGet(svc *directory.Service, owner keyOwner) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, err := svc.GetKey(r.Context(), owner(r), r.PathValue("id"))
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, keyJSON(k))
	})
}

// handleKeySelf answers the key that authenticates the request, whatever
// its scopes: a tenant key or a platform key learns what it may do without
// trying, and no other key is shown. It reads no X-Tenant-ID. The key is
// as gate read it, from the database, at the start of the request.
func handleKeySelf() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, keyJSON(requestInfoFrom(r.Context()).key))
	})
}

// handleKeyRevoke revokes a key and answers it as it now is. ?force=true
// revokes even the last key that can manage keys.
func handleKeyRevoke(svc *directory.Service, owner keyOwner) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, err := svc.RevokeKey(r.Context(), owner(r), r.PathValue("id"), queryOf(r).bool("force"), actorOf(r))
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, keyJSON(k))
	})
}

// rotateRequest is the body of a rotation: of a key, or of a webhook
// endpoint's secret.
type rotateRequest struct {
	GraceSeconds *int64 `json:"grace_seconds"`
}

// readGrace reads a rotation's body, which may be empty, and returns its
// grace period: DefaultRotationGrace unless it says otherwise, and -1 (out
// of range, for the service to refuse with the field named) when it says
// too much.
func readGrace(w http.ResponseWriter, r *http.Request) (time.Duration, error) {
	body, err := requireJSON(w, r)
	if err != nil {
		return 0, err
	}
	var req rotateRequest
	if len(body) > 0 {
		if err := decodeStrict(body, &req); err != nil {
			return 0, err
		}
	}
	s := req.GraceSeconds
	switch {
	case s == nil:
		return directory.DefaultRotationGrace, nil
	case *s < 0 || *s > int64(directory.MaxRotationGrace/time.Second):
		return -1, nil
	}
	return time.Duration(*s) * time.Second, nil
}

// handleKeyRotate makes the key's replacement: 201 with the new key and its
// token; the old key, in "replaces", works until its new expires_at.
func handleKeyRotate(svc *directory.Service, owner keyOwner, base string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The key is found before its body is read, as a user is (§4).
		if _, err := svc.GetKey(r.Context(), owner(r), r.PathValue("id")); err != nil {
			writeProblem(w, r, err)
			return
		}
		grace, err := readGrace(w, r)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		k, old, token, err := svc.RotateKey(r.Context(), owner(r), r.PathValue("id"), grace, actorOf(r))
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		w.Header().Set("Location", base+"/"+k.ID)
		writeJSON(w, http.StatusCreated, struct {
			newKeyWire
			Replaces keyWire `json:"replaces"`
		}{newKeyWire{keyWire: keyJSON(k), Token: token}, keyJSON(old)})
	})
}

// adminAuditJSON is an entry of the admin audit trail on the wire.
func adminAuditJSON(e *directory.AdminAuditEntry) any {
	return map[string]any{
		"object": "admin_audit_entry", "id": e.ID, "action": e.Action,
		"actor":      map[string]any{"key_id": strOrNil(e.Actor.KeyID)},
		"request_id": strOrNil(e.RequestID), "at": directory.FormatTime(e.At),
		"target_id": e.TargetID, "details": e.Details,
	}
}

func handleAdminAudit(svc *directory.Service, owner keyOwner) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := queryOf(r)
		limit := q.int("limit")
		es, err := svc.AdminAudit(r.Context(), owner(r), q.string("cursor"), limit+1)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, page(es, limit, func(e *directory.AdminAuditEntry) string { return e.ID }, adminAuditJSON))
	})
}
