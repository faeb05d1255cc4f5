package fields

import (
	"unicode"
	"unicode/utf8"
)

// MaxIdentifierLength is the most characters of an external_id or a
// scim_user_name.
const MaxIdentifierLength = 256

// ExternalID validates an external_id, the identifier an identity provider
// gives a user. It is kept exactly as sent (no trimming, no case folding):
// the provider compares it as it wrote it. It must be 1 to 256 characters
// of valid UTF-8 without control characters. Returns CodeTooShort,
// CodeTooLong or CodeInvalidCharacters.
func ExternalID(s string) (string, *Error) { return identifier(s) }

// SCIMUserName validates a scim_user_name, the SCIM userName an identity
// provider sent (often an email address). It is kept exactly as sent;
// uniqueness is decided case-insensitively by the store. The rules are
// ExternalID's.
func SCIMUserName(s string) (string, *Error) { return identifier(s) }

func identifier(s string) (string, *Error) {
	switch {
	case s == "":
		return "", new(errEmpty)
	case !utf8.ValidString(s):
		return "", new(errInvalidUTF8)
	case utf8.RuneCountInString(s) > MaxIdentifierLength:
		return "", &Error{Code: CodeTooLong, Message: "must be at most 256 characters"}
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", &Error{Code: CodeInvalidCharacters, Message: "must not contain control characters"}
		}
	}
	return s, nil
}

// SCIMAttributes validates a scim_attributes object: the attributes of an
// identity provider's user that Roster has no field for, any decoded JSON
// object whose compact JSON encoding is at most 8 KiB, like metadata. Its
// keys are SCIM's, so they are not restricted. Returns CodeInvalidMetadata
// or CodeTooLarge.
func SCIMAttributes(m map[string]any) *Error { return metadataSize(m) }
