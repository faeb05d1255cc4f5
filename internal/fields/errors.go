package fields

import "strconv"

// Error codes. They are part of the API contract: clients match on them, so
// a code is never renamed or reused for another kind of failure.
const (
	CodeTooShort           = "too_short"          // a required text is empty, or shorter than its minimum
	CodeTooLong            = "too_long"           // a text has more characters than allowed
	CodeTooLarge           = "too_large"          // an encoded value (picture, metadata) has more bytes than allowed, or a picture more pixels or frames
	CodeInvalidCharacters  = "invalid_characters" // control characters, bidi overrides, invalid UTF-8
	CodeInvalidEmail       = "invalid_email"
	CodeInvalidUsername    = "invalid_username"
	CodeInvalidURL         = "invalid_url"
	CodeInvalidPicture     = "invalid_picture" // a data: URI that is malformed or whose bytes are not the declared image type
	CodeInvalidDate        = "invalid_date"
	CodeDateTooEarly       = "date_too_early" // a birthdate before 1900, a consent time before 1970
	CodeDateInFuture       = "date_in_future"
	CodeInvalidTimestamp   = "invalid_timestamp"
	CodeInvalidLocation    = "invalid_location"
	CodeInvalidCountry     = "invalid_country"
	CodeInvalidLocale      = "invalid_locale"
	CodeInvalidZoneinfo    = "invalid_zoneinfo"
	CodeInvalidMetadata    = "invalid_metadata"     // not a JSON object of JSON values
	CodeInvalidMetadataKey = "invalid_metadata_key" // a key outside 1–64 characters of A-Za-z0-9_.-
	CodeTooManyKeys        = "too_many_keys"
	CodeInvalidConsent     = "invalid_consent"
	CodeInvalidRole        = "invalid_role"   // a role name not in the tenant's catalog
	CodeDuplicateRole      = "duplicate_role" // the same role named twice
)

// Error is a validation failure of one field value. Code is one of the Code
// constants; Message is an English sentence for the API client that reads
// after the field name ("must be at most 256 characters" → "bio must be at
// most 256 characters"). It never contains internal details or the rejected
// value.
//
// Every function in this package returns a nil *Error on success. Check it
// against nil before storing it in an error interface, or the interface will
// be non-nil.
type Error struct {
	Code    string
	Message string
}

// Error returns "code: message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// fail makes the prototype of an error. Functions return a copy, new(proto),
// so that a caller changing an *Error cannot change what others receive.
func fail(code, message string) Error { return Error{Code: code, Message: message} }

func tooLong(max int, unit string) *Error {
	return &Error{Code: CodeTooLong, Message: "must be at most " + strconv.Itoa(max) + " " + unit}
}

func tooShort(min int, unit string) *Error {
	return &Error{Code: CodeTooShort, Message: "must be at least " + strconv.Itoa(min) + " " + unit}
}
