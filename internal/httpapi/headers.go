package httpapi

import (
	"fmt"
	"net/http"

	"github.com/roster-dev/roster/internal/directory"
)

// singleFields are the request headers Roster reads as one value, and that
// a request may therefore carry on one field line only. Where a field came
// twice, a proxy in front may have read the other line than Roster reads:
// its tenant, key, acting user or precondition, or, for Content-Type, the
// format the body is in, or, for Idempotency-Key, which request it is.
var singleFields = []string{"Authorization", "X-Tenant-ID", "X-Acting-User", "If-Match", "If-None-Match", "Content-Type", "Idempotency-Key"}

// singleHeaders refuses a request that sends one of singleFields on more
// than one field line.
func singleHeaders(h http.Header) error {
	var fe []directory.FieldError
	for _, name := range singleFields {
		if len(h.Values(name)) > 1 {
			fe = append(fe, directory.FieldError{Field: name, Code: "repeated_header", Message: "must be sent on one field line only"})
		}
	}
	if len(fe) == 0 {
		return nil
	}
	msg := fmt.Sprintf("The header %s is sent more than once.", fe[0].Field)
	if len(fe) > 1 {
		msg = fmt.Sprintf("%d headers are sent more than once.", len(fe))
	}
	return &directory.Error{Code: directory.ECodeInvalidRequest, Message: msg, Fields: fe}
}
