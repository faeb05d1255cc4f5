package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/scim/filter"
)

// The scimType values of RFC 7644 §3.12 Table 9.
const (
	typeInvalidFilter = "invalidFilter"
	typeTooMany       = "tooMany"
	typeUniqueness    = "uniqueness"
	typeMutability    = "mutability"
	typeInvalidSyntax = "invalidSyntax"
	typeInvalidPath   = "invalidPath"
	typeNoTarget      = "noTarget"
	typeInvalidValue  = "invalidValue"
)

// Error is a SCIM error raised by this package: an HTTP status, a scimType
// ("" for none) and a detail for the client.
type Error struct {
	Status int
	Type   string
	Detail string
}

func (e *Error) Error() string { return e.Detail }

func errorf(status int, scimType, detail string) *Error {
	return &Error{Status: status, Type: scimType, Detail: detail}
}

// codes maps Roster's error codes (directory's, and those the HTTP layer
// raises before a SCIM handler runs) to a SCIM status and scimType.
var codes = map[string]struct {
	status int
	typ    string
}{
	directory.ECodeInvalidRequest:       {http.StatusBadRequest, typeInvalidSyntax},
	directory.ECodeUnknownField:         {http.StatusBadRequest, typeInvalidSyntax},
	directory.ECodeReadOnlyField:        {http.StatusBadRequest, typeMutability},
	directory.ECodeValidationFailed:     {http.StatusBadRequest, typeInvalidValue},
	directory.ECodeInvalidRole:          {http.StatusBadRequest, typeInvalidValue},
	directory.ECodeValidationRejected:   {http.StatusBadRequest, typeInvalidValue},
	directory.ECodePatchConflict:        {http.StatusBadRequest, typeInvalidValue},
	directory.ECodeUnauthenticated:      {http.StatusUnauthorized, ""},
	directory.ECodeKeyExpired:           {http.StatusUnauthorized, ""},
	directory.ECodeInsufficientScope:    {http.StatusForbidden, ""},
	directory.ECodeTenantMismatch:       {http.StatusForbidden, ""},
	directory.ECodeForbidden:            {http.StatusForbidden, ""},
	directory.ECodeNotFound:             {http.StatusNotFound, ""},
	directory.ECodeUserDeleting:         {http.StatusNotFound, ""},
	directory.ECodeEmailTaken:           {http.StatusConflict, typeUniqueness},
	directory.ECodeUsernameTaken:        {http.StatusConflict, typeUniqueness},
	directory.ECodeExternalIDTaken:      {http.StatusConflict, typeUniqueness},
	directory.ECodeRoleTaken:            {http.StatusConflict, typeUniqueness},
	directory.ECodeRoleInUse:            {http.StatusConflict, ""},
	directory.ECodeOwnerProtected:       {http.StatusConflict, typeMutability},
	directory.ECodePreconditionFailed:   {http.StatusPreconditionFailed, ""},
	directory.ECodePreconditionRequired: {http.StatusPreconditionRequired, ""},
	directory.ECodeQuotaExceeded:        {http.StatusTooManyRequests, ""},
	"rate_limited":                      {http.StatusTooManyRequests, ""},
	directory.ECodeValidationUnavail:    {http.StatusServiceUnavailable, ""},
	directory.ECodeUnavailable:          {http.StatusServiceUnavailable, ""},
}

// errorBody is the SCIM Error schema (RFC 7644 §3.12): status is a string.
type errorBody struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail"`
}

const schemaError = "urn:ietf:params:scim:api:messages:2.0:Error"

// writeError answers err as a SCIM error. Errors other than *Error,
// *directory.Error and *filter.Error are internal: logged by the caller's
// log, answered without their text.
func writeError(w http.ResponseWriter, r *http.Request, log func(*http.Request, error), err error) {
	status, typ, detail := http.StatusInternalServerError, "", "An internal error occurred; it has been logged."
	var se *Error
	var de *directory.Error
	var fe *filter.Error
	switch {
	case errors.As(err, &se):
		status, typ, detail = se.Status, se.Type, se.Detail
	case errors.As(err, &fe):
		status, typ, detail = http.StatusBadRequest, fe.Kind.String(), fe.Msg
	case errors.As(err, &de):
		status, typ, detail = http.StatusInternalServerError, "", de.Message
		if c, ok := codes[de.Code]; ok {
			status, typ = c.status, c.typ
		} else {
			detail = "An internal error occurred; it has been logged."
			log(r, err)
		}
		detail = withFields(detail, de.Fields)
		if de.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(de.RetryAfter.Seconds()+0.999)))
		}
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		status, detail = http.StatusServiceUnavailable, directory.ErrUnavailable.Message
	default:
		log(r, err)
	}
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Del("ETag")
	writeJSON(w, status, errorBody{Schemas: []string{schemaError}, Status: strconv.Itoa(status), ScimType: typ, Detail: detail})
}

// withFields appends the failing fields to a detail, each with its code,
// named by Roster's member names.
func withFields(detail string, fes []directory.FieldError) string {
	if len(fes) == 0 {
		return detail
	}
	var b strings.Builder
	b.WriteString(detail)
	for i, f := range fes {
		if i == 0 {
			b.WriteString(" ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(scimNameOf(f.Field) + " " + f.Message + " (" + f.Code + ")")
	}
	return b.String()
}

// mediaType is what every SCIM answer is (RFC 7644 §3.1).
const mediaType = "application/scim+json"

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("scim: answer does not encode: " + err.Error()) // built from decoded JSON
	}
	w.Header().Set("Content-Type", mediaType)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// Errors makes the answers of the layers in front of the SCIM handlers
// (authentication, rate limits, scopes, unknown routes and methods), which
// are RFC 9457 problems, SCIM errors for the paths under /scim/: a SCIM
// client reads only its own error schema. Other paths pass through.
func Errors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/scim/") {
			next.ServeHTTP(w, r)
			return
		}
		pw := &problemWriter{ResponseWriter: w}
		next.ServeHTTP(pw, r)
		pw.finish()
	})
}

// problemWriter passes an answer through unless it is a problem, which it
// holds and rewrites as a SCIM error when the handler is done.
type problemWriter struct {
	http.ResponseWriter
	status  int
	problem *bytes.Buffer
}

func (p *problemWriter) WriteHeader(status int) {
	if p.status != 0 {
		return
	}
	p.status = status
	if strings.HasPrefix(p.Header().Get("Content-Type"), "application/problem+json") {
		p.problem = &bytes.Buffer{}
		return
	}
	p.ResponseWriter.WriteHeader(status)
}

func (p *problemWriter) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.WriteHeader(http.StatusOK)
	}
	if p.problem != nil {
		return p.problem.Write(b)
	}
	return p.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (p *problemWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }

func (p *problemWriter) finish() {
	if p.problem == nil {
		return
	}
	var prob struct {
		Status int    `json:"status"`
		Detail string `json:"detail"`
		Code   string `json:"code"`
	}
	_ = json.Unmarshal(p.problem.Bytes(), &prob)
	status, typ := p.status, ""
	if c, ok := codes[prob.Code]; ok {
		status, typ = c.status, c.typ
	}
	p.Header().Del("Content-Length")
	writeJSON(p.ResponseWriter, status, errorBody{Schemas: []string{schemaError}, Status: strconv.Itoa(status), ScimType: typ, Detail: prob.Detail})
}
