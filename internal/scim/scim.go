// Package scim serves SCIM 2.0 (RFC 7643, RFC 7644) at /scim/v2, so that
// identity providers such as Okta and Microsoft Entra ID provision a
// tenant's users: the User resource over Roster's users, filters turned
// into conditions the store evaluates (directory.UserCond), PATCH applied
// to a user's SCIM representation, and SCIM's error schema and media type.
//
// It is an adapter over directory.Service, not a second store: every write
// is one of the Service's write methods, so validation, policies, the
// validation webhook, uniqueness, quotas, audit entries and events apply
// as they do to the REST API. Authentication, scopes, rate limits, request
// IDs and logs are the HTTP layer's, which mounts these handlers
// (internal/httpapi/routes.go) and passes each request's tenant and actor
// through Request. docs/scim.md is the mapping and what is supported.
package scim

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/roster-dev/roster/internal/directory"
)

// Request gives the handlers what the HTTP layer resolved of a request.
type Request struct {
	// Tenant is the tenant the request's key may act in.
	Tenant func(*http.Request) *directory.Tenant
	// Actor is who makes the request, for the audit trail.
	Actor func(*http.Request) directory.Actor
	// Log records an internal error with the request's logger.
	Log func(*http.Request, error)
	// Origin is the scheme and host the client reached the server at
	// ("https://roster.example.com"), for absolute URLs: meta.location,
	// Location, $ref. Nil takes the request's own Host and TLS.
	Origin func(*http.Request) string
	// Quota sets the X-Quota-* headers on the answer to a write, from its
	// outcome (nil: the figures as they are now). Nil sets none.
	Quota func(http.ResponseWriter, *http.Request, *directory.Written)
}

// API holds the handlers of /scim/v2.
type API struct {
	svc *directory.Service
	req Request
}

// New returns the SCIM handlers over svc.
func New(svc *directory.Service, req Request) *API { return &API{svc: svc, req: req} }

// Paging limits (advertised in ServiceProviderConfig as filter.maxResults).
const (
	maxResults   = 200
	defaultCount = 100
	maxBody      = 1 << 20
)

// fail answers err as a SCIM error.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, r, a.req.Log, err)
}

// handlerFunc serves a request: it answers a success itself and returns a
// failure.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle makes h a handler: the one place where a failure is answered.
func (a *API) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.fail(w, r, err)
		}
	})
}

// handleWrite is handle for a write: as on /v1, its answers carry the
// X-Quota-* headers, a success's from the figures its commit left (h calls
// quota), a failure's as they are now — but when the database did not
// answer, which asking again would only prolong.
func (a *API) handleWrite(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			if directory.ErrorCode(err) != directory.ECodeUnavailable && r.Context().Err() == nil {
				a.quota(w, r, nil)
			}
			a.fail(w, r, err)
		}
	})
}

// quota sets the X-Quota-* headers of a write's answer from its outcome
// (nil: the figures as they are now).
func (a *API) quota(w http.ResponseWriter, r *http.Request, res *directory.Written) {
	if a.req.Quota != nil {
		a.req.Quota(w, r, res)
	}
}

// baseURL is the absolute URL of /scim/v2 as the client reached it.
func (a *API) baseURL(r *http.Request) string {
	if a.req.Origin != nil {
		return a.req.Origin(r) + "/scim/v2"
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/scim/v2"
}

// readJSON reads a request body of application/scim+json, application/json
// or no declared type, as a JSON object with numbers kept as written.
func readJSON(w http.ResponseWriter, r *http.Request) (map[string]any, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || (mt != mediaType && mt != "application/json") {
			return nil, errorf(http.StatusUnsupportedMediaType, typeInvalidSyntax, "Send the body as application/scim+json or application/json.")
		}
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
			return nil, errorf(http.StatusUnsupportedMediaType, typeInvalidSyntax, "Send the body in UTF-8.")
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, errorf(http.StatusRequestEntityTooLarge, "", "The body is larger than "+strconv.Itoa(maxBody)+" bytes.")
	}
	if err != nil {
		return nil, errorf(http.StatusBadRequest, typeInvalidSyntax, "The body could not be read.")
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, errorf(http.StatusBadRequest, typeInvalidSyntax, "The body must be a JSON object.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errorf(http.StatusBadRequest, typeInvalidSyntax, "The body must be one JSON object.")
	}
	return obj, nil
}

// ifMatch reads an If-Match header: nil when absent.
func ifMatch(r *http.Request) *directory.Precondition {
	vals := r.Header.Values("If-Match")
	if len(vals) == 0 {
		return nil
	}
	p := &directory.Precondition{}
	for v := range strings.SplitSeq(strings.Join(vals, ","), ",") {
		v = strings.TrimSpace(v)
		if v == "*" {
			p.Any = true
			continue
		}
		if n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64); err == nil && v == `"`+strconv.FormatInt(n, 10)+`"` {
			p.Versions = append(p.Versions, n)
		}
	}
	return p
}

// matches reports whether p admits version.
func matches(p *directory.Precondition, version int64) bool {
	if p.Any {
		return true
	}
	for _, v := range p.Versions {
		if v == version {
			return true
		}
	}
	return false
}
