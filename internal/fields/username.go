package fields

import (
	"unicode/utf8"

	"golang.org/x/text/secure/precis"
)

// Length limits of a username, in characters of its normalized form.
const (
	MinUsernameLength = 3
	MaxUsernameLength = 39
)

var errUsernameChars = fail(CodeInvalidUsername,
	"must contain only letters a-z, digits 0-9, dots, underscores and hyphens")

// Username validates a username and returns its normalized form.
//
// The input is first enforced with the PRECIS UsernameCaseMapped profile
// (RFC 8265): fullwidth characters are mapped to their normal width, letters
// are lower-cased, the result is NFC. So "Alice" and "ＡＬＩＣＥ" both become
// "alice". Spaces and other characters PRECIS disallows are rejected, not
// removed. The normalized form must then be 3 to 39 characters of a-z, 0-9,
// ".", "_" and "-".
//
// Returns CodeInvalidUsername, CodeTooShort or CodeTooLong.
func Username(s string) (string, *Error) {
	if s == "" {
		return "", tooShort(MinUsernameLength, "characters")
	}
	// UsernameCaseMapped shrinks a string by at most 4 runes to 1 (NFC
	// composition), and a rune is at most 4 bytes: longer inputs cannot fit.
	if len(s) > 16*MaxUsernameLength {
		return "", tooLong(MaxUsernameLength, "characters")
	}
	out, ok := asciiUsername(s)
	if !ok {
		var err error
		out, err = precis.UsernameCaseMapped.String(s)
		if err != nil {
			return "", new(errUsernameChars)
		}
		for i := 0; i < len(out); i++ {
			if !usernameChar(out[i]) {
				return "", new(errUsernameChars)
			}
		}
	}
	switch n := utf8.RuneCountInString(out); {
	case n < MinUsernameLength:
		return "", tooShort(MinUsernameLength, "characters")
	case n > MaxUsernameLength:
		return "", tooLong(MaxUsernameLength, "characters")
	}
	return out, nil
}

// asciiUsername is the fast path of Username for inputs made only of the
// allowed characters and ASCII capitals, on which UsernameCaseMapped amounts
// to ASCII lower-casing (ASCII is unaffected by width mapping and NFC, and
// these characters are all PVALID). It allocates only to lower-case.
func asciiUsername(s string) (string, bool) {
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			upper = true
		} else if !usernameChar(c) {
			return "", false
		}
	}
	if !upper {
		return s, true
	}
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b), true
}

func usernameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}
