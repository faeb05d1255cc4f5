package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/roster-dev/roster/internal/directory"
)

// problemType is the base of every problem's type URI.
const problemType = "https://roster.dev/problems/"

// Codes of errors only the HTTP layer raises: they are about the request as
// HTTP carries it (method, media type, body size, deadline, rate), never
// about anything the domain decides. The domain's codes are directory's.
const (
	codeMethodNotAllowed     = "method_not_allowed"
	codeUnsupportedMediaType = "unsupported_media_type"
	codePayloadTooLarge      = "payload_too_large"
	codeRequestTimeout       = "request_timeout"
	codeRateLimited          = "rate_limited"
	// The Idempotency-Key of the request names another request, or one
	// still running (idempotency.go).
	codeIdempotencyKeyReused = "idempotency_key_reused"
	codeIdempotencyKeyInUse  = "idempotency_key_in_use"
)

// statusOf maps each error code to its HTTP status and title, in one place.
var statusOf = map[string]struct {
	status int
	title  string
}{
	directory.ECodeInvalidRequest:       {http.StatusBadRequest, "Invalid request"},
	directory.ECodeUnknownField:         {http.StatusBadRequest, "Unknown field"},
	directory.ECodeReadOnlyField:        {http.StatusBadRequest, "Read-only field"},
	directory.ECodeValidationFailed:     {http.StatusUnprocessableEntity, "Validation failed"},
	directory.ECodeInvalidRole:          {http.StatusUnprocessableEntity, "Invalid role"},
	directory.ECodeUnauthenticated:      {http.StatusUnauthorized, "Unauthenticated"},
	directory.ECodeKeyExpired:           {http.StatusUnauthorized, "Key expired"},
	directory.ECodeInsufficientScope:    {http.StatusForbidden, "Insufficient scope"},
	directory.ECodeTenantMismatch:       {http.StatusForbidden, "Tenant mismatch"},
	directory.ECodeForbidden:            {http.StatusForbidden, "Forbidden"},
	directory.ECodeNotFound:             {http.StatusNotFound, "Not found"},
	directory.ECodeCursorExpired:        {http.StatusGone, "Cursor expired"},
	codeMethodNotAllowed:                {http.StatusMethodNotAllowed, "Method not allowed"},
	directory.ECodeNotAcceptable:        {http.StatusNotAcceptable, "Not acceptable"},
	directory.ECodeEmailTaken:           {http.StatusConflict, "Email taken"},
	directory.ECodeUsernameTaken:        {http.StatusConflict, "Username taken"},
	directory.ECodeExternalIDTaken:      {http.StatusConflict, "External ID taken"},
	directory.ECodeUserDeleting:         {http.StatusConflict, "User is being deleted"},
	directory.ECodeOwnerProtected:       {http.StatusConflict, "Owner protected"},
	directory.ECodeRoleInUse:            {http.StatusConflict, "Role in use"},
	directory.ECodeLastAdminKey:         {http.StatusConflict, "Last admin key"},
	directory.ECodeKeyInactive:          {http.StatusConflict, "Key inactive"},
	directory.ECodeLimitExceeded:        {http.StatusConflict, "Limit exceeded"},
	directory.ECodePatchConflict:        {http.StatusConflict, "Patch conflict"},
	codeIdempotencyKeyInUse:             {http.StatusConflict, "Idempotency key in use"},
	codeIdempotencyKeyReused:            {http.StatusUnprocessableEntity, "Idempotency key reused"},
	directory.ECodePreconditionFailed:   {http.StatusPreconditionFailed, "Precondition failed"},
	directory.ECodePreconditionRequired: {http.StatusPreconditionRequired, "Precondition required"},
	codeUnsupportedMediaType:            {http.StatusUnsupportedMediaType, "Unsupported media type"},
	codePayloadTooLarge:                 {http.StatusRequestEntityTooLarge, "Payload too large"},
	codeRequestTimeout:                  {http.StatusRequestTimeout, "Request timeout"},
	codeRateLimited:                     {http.StatusTooManyRequests, "Rate limited"},
	directory.ECodeQuotaExceeded:        {http.StatusTooManyRequests, "Quota exceeded"},
	directory.ECodeValidationRejected:   {http.StatusUnprocessableEntity, "Validation rejected"},
	directory.ECodeValidationUnavail:    {http.StatusServiceUnavailable, "Validation unavailable"},
	directory.ECodeUnavailable:          {http.StatusServiceUnavailable, "Service unavailable"},
	directory.ECodeInternal:             {http.StatusInternalServerError, "Internal error"},
}

// Problem is an RFC 9457 problem details body (§5).
type Problem struct {
	Type      string                 `json:"type"`
	Title     string                 `json:"title"`
	Status    int                    `json:"status"`
	Detail    string                 `json:"detail"`
	Code      string                 `json:"code"`
	RequestID string                 `json:"request_id"`
	Errors    []directory.FieldError `json:"errors,omitempty"`
	Notices   []string               `json:"notices,omitempty"`
}

// problemOf is the error a client is shown for err.
func problemOf(err error) *directory.Error {
	var e *directory.Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return directory.ErrUnavailable
	}
	return &directory.Error{Code: directory.ECodeInternal, Message: "An internal error occurred; it has been logged. Quote the request_id when reporting it."}
}

// writeProblem answers err as a problem. A *directory.Error is shown as it
// is; anything else is logged and answered as a bare 500 (or a 503 when the
// database is unavailable), never with its internal text.
func writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	e := problemOf(err)
	st, ok := statusOf[e.Code]
	if !ok {
		st = statusOf[directory.ECodeInternal]
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(e.RetryAfter.Seconds())), 10))
	}
	info := requestInfoFrom(r.Context())
	info.problem = e.Code
	if st.status >= 500 {
		info.log().LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("error", err.Error()))
		if st.status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "1")
		}
	}
	p := Problem{
		Type: problemType + e.Code, Title: st.title, Status: st.status, Detail: e.Message,
		Code: e.Code, RequestID: info.id, Errors: e.Fields, Notices: e.Notices,
	}
	switch e.Code {
	case directory.ECodeUnauthenticated:
		w.Header().Set("WWW-Authenticate", `Bearer realm="roster"`)
	case directory.ECodeKeyExpired:
		w.Header().Set("WWW-Authenticate", `Bearer realm="roster", error="invalid_token", error_description="the key expired"`)
	case directory.ECodeInsufficientScope:
		w.Header().Set("WWW-Authenticate", `Bearer realm="roster", error="insufficient_scope"`)
	}
	body, _ := json.Marshal(p)
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Del("ETag")
	w.WriteHeader(st.status)
	_, _ = w.Write(body)
}
