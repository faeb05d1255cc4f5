package directory

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. They are stable and machine-readable: clients switch on them, so
// a code never changes meaning once released. The HTTP layer maps each to a
// status (see httpapi's status table).
const (
	ECodeInvalidRequest       = "invalid_request"
	ECodeUnknownField         = "unknown_field"
	ECodeReadOnlyField        = "read_only_field"
	ECodeValidationFailed     = "validation_failed"
	ECodeInvalidRole          = "invalid_role"
	ECodeUnauthenticated      = "unauthenticated"
	ECodeKeyExpired           = "key_expired"
	ECodeInsufficientScope    = "insufficient_scope"
	ECodeTenantMismatch       = "tenant_mismatch"
	ECodeForbidden            = "forbidden"
	ECodeNotFound             = "not_found"
	ECodeEmailTaken           = "email_taken"
	ECodeUsernameTaken        = "username_taken"
	ECodeExternalIDTaken      = "external_id_taken"
	ECodeUserDeleting         = "user_deleting"
	ECodeOwnerProtected       = "owner_protected"
	ECodePatchConflict        = "patch_conflict"
	ECodePreconditionFailed   = "precondition_failed"
	ECodePreconditionRequired = "precondition_required"
	ECodeQuotaExceeded        = "quota_exceeded"
	ECodeValidationRejected   = "validation_rejected"
	ECodeValidationUnavail    = "validation_unavailable"
	ECodeUnavailable          = "unavailable"
	ECodeNotAcceptable        = "not_acceptable"
	ECodeRoleInUse            = "role_in_use"
	ECodeLastAdminKey         = "last_admin_key"
	ECodeKeyInactive          = "key_inactive"
	ECodeLimitExceeded        = "limit_exceeded"
	ECodeCursorExpired        = "cursor_expired" // a feed cursor from before expired events
	ECodeInternal             = "internal"
)

// Error is the one error type of the domain. Its Message is safe to show to a
// client; anything internal stays in wrapped errors that are only logged.
type Error struct {
	Code    string
	Message string
	// Fields lists every failing field of the request, all at once.
	Fields []FieldError
	// Notices carries policy notices (§6).
	Notices []string
	// RetryAfter, when set, tells the client when to try again.
	RetryAfter time.Duration
}

// FieldError names one failing field.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the *Error in err's chain, or ECodeInternal.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ECodeInternal
}

// ErrNotFound is returned by stores when a row does not exist in the caller's
// tenant. Stores return it wrapped or as is; callers test with errors.Is.
var ErrNotFound = &Error{Code: ECodeNotFound, Message: "The resource was not found."}

// ErrVersionConflict is returned by Tx.UpdateUser when the stored version is
// no longer the one the update was computed from.
var ErrVersionConflict = errors.New("version conflict")

// ErrConfigChanged and ErrWriteQuota are returned by Store.InCountedTx
// for the write it counts, when the tenant's config version was
// not the one the write was decided on, or when the write passed the
// writes quota: nothing of the transaction is committed.
var (
	ErrConfigChanged = errors.New("the tenant's configuration changed during the write")
	ErrWriteQuota    = errors.New("the write passes the plan's writes per billing period")
)

// ErrUnavailable is returned by stores when the database cannot be reached or
// is busy beyond its timeout; the request may be retried.
var ErrUnavailable = &Error{Code: ECodeUnavailable, Message: "The service is temporarily unavailable; retry later."}

// UniqueViolation is returned by stores when a write breaks a uniqueness
// constraint. Field is "email", "username", "scim_user_name" or
// "external_id".
type UniqueViolation struct{ Field string }

func (e *UniqueViolation) Error() string { return "unique violation on " + e.Field }

// takenError converts a store's unique violation into the client error.
func takenError(u *UniqueViolation) *Error {
	code := ECodeEmailTaken
	switch u.Field {
	case "username", "scim_user_name":
		code = ECodeUsernameTaken
	case "external_id":
		code = ECodeExternalIDTaken
	}
	return &Error{
		Code:    code,
		Message: fmt.Sprintf("The %s is already used by another user of this tenant.", u.Field),
		Fields:  []FieldError{{Field: u.Field, Code: code, Message: "is already taken"}},
	}
}
