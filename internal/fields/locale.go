package fields

import "golang.org/x/text/language"

// MaxLocaleLength bounds the input of Locale. BCP 47 asks implementations to
// handle at least 35 characters; real tags with extensions stay far below.
const MaxLocaleLength = 128

var errLocale = fail(CodeInvalidLocale,
	"must be a BCP 47 language tag with a known language, such as fr-FR")

// Locale validates a BCP 47 language tag and returns its canonical form.
//
// It parses with golang.org/x/text/language, which accepts any letter case and
// "_" for "-", and canonicalizes: "fr-fr" and "fr_FR" become "fr-FR",
// "zh-hans-cn" becomes "zh-Hans-CN", deprecated and grandfathered tags are
// replaced ("iw" → "he", "i-klingon" → "tlh"), and extensions are sorted.
// The tag must be well-formed, use registered subtags, and name a language:
// "und" (undetermined), "und-FR" and private-use-only tags ("x-foo") are
// rejected, since none of them says which language to use. At most 128
// characters.
//
// Returns CodeInvalidLocale or CodeTooLong.
func Locale(s string) (string, *Error) {
	if len(s) > MaxLocaleLength {
		return "", tooLong(MaxLocaleLength, "characters")
	}
	tag, err := language.Parse(s)
	if err != nil {
		return "", new(errLocale)
	}
	if _, conf := tag.Base(); conf != language.Exact {
		return "", new(errLocale)
	}
	return tag.String(), nil
}
