package client

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The stable codes of Roster's problems (Problem.Code). A code never
// changes meaning; switch on it rather than on Status or Detail.
const (
	CodeInvalidRequest        = "invalid_request"
	CodeUnknownField          = "unknown_field"
	CodeReadOnlyField         = "read_only_field"
	CodeValidationFailed      = "validation_failed"
	CodeInvalidRole           = "invalid_role"
	CodeUnauthenticated       = "unauthenticated"
	CodeInsufficientScope     = "insufficient_scope"
	CodeTenantMismatch        = "tenant_mismatch"
	CodeForbidden             = "forbidden"
	CodeNotFound              = "not_found"
	CodeEmailTaken            = "email_taken"
	CodeUsernameTaken         = "username_taken"
	CodeUserDeleting          = "user_deleting"
	CodeOwnerProtected        = "owner_protected"
	CodePatchConflict         = "patch_conflict"
	CodePreconditionFailed    = "precondition_failed"
	CodePreconditionRequired  = "precondition_required"
	CodeUnsupportedMediaType  = "unsupported_media_type"
	CodePayloadTooLarge       = "payload_too_large"
	CodeRequestTimeout        = "request_timeout"
	CodeRateLimited           = "rate_limited"
	CodeQuotaExceeded         = "quota_exceeded"
	CodeValidationRejected    = "validation_rejected"
	CodeValidationUnavailable = "validation_unavailable"
	CodeUnavailable           = "unavailable"
	CodeMethodNotAllowed      = "method_not_allowed"
	CodeNotAcceptable         = "not_acceptable"
	CodeRoleInUse             = "role_in_use"
	CodeKeyExpired            = "key_expired"
	CodeLastAdminKey          = "last_admin_key"
	CodeKeyInactive           = "key_inactive"
	CodeLimitExceeded         = "limit_exceeded"
	CodeInternal              = "internal"
)

// Problem is an error the server answered: an RFC 9457 problem
// (application/problem+json). An answer of 400 or more that is not one
// (from a proxy in front, say) is a Problem too, with Status and Title
// only.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Code   string       `json:"code"`
	Errors []FieldError `json:"errors"`
	// Notices are those of the authorization policies that denied a write.
	Notices []string `json:"notices"`
	// RequestID identifies the request in the server's logs: quote it when
	// reporting a problem. From the body, else the X-Request-Id header.
	RequestID string `json:"request_id"`
	// RetryAfter is the server's Retry-After: how long to wait before the
	// same request may succeed; 0 when it sent none.
	RetryAfter time.Duration `json:"-"`
}

// FieldError is one failing field of a request.
type FieldError struct {
	// Field is the member at fault (country, plan.rate_limit_rps, roles[2]),
	// a query parameter or a header.
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error returns the status, code and detail, then each failing field.
func (p *Problem) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "roster: %d", p.Status)
	if p.Code != "" {
		b.WriteString(" " + p.Code)
	}
	if d := p.Detail; d != "" {
		b.WriteString(": " + d)
	} else if p.Title != "" {
		b.WriteString(": " + p.Title)
	}
	for i, fe := range p.Errors {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", fe.Field, fe.Code)
		if i == len(p.Errors)-1 {
			b.WriteString(")")
		}
	}
	return b.String()
}

// newProblem reads the problem of a failed answer.
func newProblem(r *response) *Problem {
	p := &Problem{}
	ct := r.header.Get("Content-Type")
	if !strings.HasPrefix(ct, "application/problem+json") || decode(r.body, p) != nil {
		p = &Problem{}
	}
	if p.Status == 0 {
		p.Status = r.status
	}
	if p.Title == "" {
		p.Title = http.StatusText(r.status)
	}
	if p.RequestID == "" {
		p.RequestID = r.header.Get("X-Request-Id")
	}
	p.RetryAfter = retryAfter(r.header.Get("Retry-After"), time.Now())
	return p
}

// retryAfter reads a Retry-After value, delay-seconds or an HTTP-date
// (RFC 9110 §10.2.3); 0 when there is none or it cannot be read.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 || s > int64(365*24*time.Hour/time.Second) {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// HasCode reports whether err is, or wraps, a *Problem with this code.
func HasCode(err error, code string) bool {
	var p *Problem
	return errors.As(err, &p) && p.Code == code
}

// IsNotFound reports whether err is a 404: the resource does not exist in
// the caller's tenant (or never did, or was purged).
func IsNotFound(err error) bool {
	var p *Problem
	return errors.As(err, &p) && p.Status == http.StatusNotFound
}

// IsPreconditionFailed reports whether err is a 412: the user changed since
// the version the write was conditional on.
func IsPreconditionFailed(err error) bool { return HasCode(err, CodePreconditionFailed) }
