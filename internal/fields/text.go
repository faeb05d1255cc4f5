package fields

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Length limits of free-text fields, in Unicode code points (runes) of the
// normalized form.
const (
	MaxNameLength = 256
	MaxBioLength  = 1024
)

var (
	errEmpty       = fail(CodeTooShort, "must not be empty")
	errInvalidUTF8 = fail(CodeInvalidCharacters, "must be valid UTF-8 text")
	errNameControl = fail(CodeInvalidCharacters,
		"must not contain control characters, line breaks or bidirectional formatting characters")
	errBioControl = fail(CodeInvalidCharacters,
		"must not contain control characters other than line breaks and tabs, or bidirectional formatting characters")
)

// Name validates a one-line display text — name, given_name, family_name,
// company — and returns its normalized form: surrounding white space
// (unicode.IsSpace) trimmed, then NFC. The result must be 1 to 256 characters
// (Unicode code points, not bytes or grapheme clusters).
//
// Rejected characters: controls (Unicode Cc, which includes tab and line
// feed), the line and paragraph separators U+2028 and U+2029, and the
// bidirectional embeddings, overrides and isolates U+202A–U+202E and
// U+2066–U+2069: an unterminated one reorders whatever a client displays
// next to the name, and they are the tool of "Trojan Source" spoofing. Other
// format characters (Cf) are allowed, since scripts need them: zero-width
// joiners for Persian, Indic scripts and emoji sequences, LRM and RLM marks
// for mixed-direction names.
//
// Returns CodeInvalidCharacters, CodeTooShort (empty after trimming) or
// CodeTooLong.
func Name(s string) (string, *Error) {
	return text(s, 1, MaxNameLength, false)
}

// Bio validates a free, possibly multi-line text and returns its normalized
// form: line breaks CRLF and CR turned into LF, surrounding white space
// trimmed, then NFC. The result must be at most 1024 characters (code
// points); it may be empty.
//
// The character rules are those of Name, except that line feed (U+000A), tab
// (U+0009) and the separators U+2028 and U+2029 are allowed.
//
// Returns CodeInvalidCharacters or CodeTooLong.
func Bio(s string) (string, *Error) {
	return text(s, 0, MaxBioLength, true)
}

func text(s string, minRunes, maxRunes int, multiline bool) (string, *Error) {
	if !utf8.ValidString(s) {
		return "", new(errInvalidUTF8)
	}
	if multiline && strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	s = strings.TrimSpace(s)
	// NFC shrinks a string by at most 4 runes to 1, and a rune is at most 4
	// bytes: longer inputs cannot fit, and are not worth normalizing.
	if len(s) > 16*maxRunes {
		return "", tooLong(maxRunes, "characters")
	}
	ascii := true
	for _, r := range s {
		if r < utf8.RuneSelf && r >= ' ' && r != 0x7f {
			continue // printable ASCII, the common case
		}
		ascii = false
		if !textRuneAllowed(r, multiline) {
			if multiline {
				return "", new(errBioControl)
			}
			return "", new(errNameControl)
		}
	}
	// ASCII is always NFC; QuickSpanString does not allocate, unlike
	// IsNormalString, and spans all of most normalized texts.
	if !ascii && norm.NFC.QuickSpanString(s) != len(s) {
		s = norm.NFC.String(s)
	}
	n := utf8.RuneCountInString(s)
	if n < minRunes {
		return "", new(errEmpty)
	}
	if n > maxRunes {
		return "", tooLong(maxRunes, "characters")
	}
	return s, nil
}

func textRuneAllowed(r rune, multiline bool) bool {
	switch {
	case r == '\n' || r == '\t' || r == '\u2028' || r == '\u2029':
		return multiline
	case unicode.IsControl(r):
		return false
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return false
	}
	return true
}
