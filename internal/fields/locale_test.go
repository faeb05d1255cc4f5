package fields

import (
	"strings"
	"testing"
)

func TestLocale(t *testing.T) {
	tests := []struct {
		name, in, want, code string
	}{
		{"language", "fr", "fr", ""},
		{"language and region", "fr-FR", "fr-FR", ""},
		{"lower-case region", "fr-fr", "fr-FR", ""},
		{"upper-case language", "EN-gb", "en-GB", ""},
		{"underscore", "fr_FR", "fr-FR", ""},
		{"script", "zh-hans-cn", "zh-Hans-CN", ""},
		{"three-letter language", "yue-HK", "yue-HK", ""},
		{"UN M.49 region", "es-419", "es-419", ""},
		{"deprecated language", "iw", "he", ""},
		{"grandfathered", "i-klingon", "tlh", ""},
		{"variant", "de-DE-1901", "de-DE-1901", ""},
		{"extension", "en-US-u-ca-gregory", "en-US-u-ca-gregory", ""},
		{"extension keys sorted", "fr-FR-u-co-phonebk-ca-buddhist", "fr-FR-u-ca-buddhist-co-phonebk", ""},
		{"private use suffix", "en-US-x-twain", "en-US-x-twain", ""},
		{"private-use region", "fr-QQ", "fr-QQ", ""},

		{"empty", "", "", CodeInvalidLocale},
		{"word", "english", "", CodeInvalidLocale},
		{"POSIX C", "C", "", CodeInvalidLocale},
		{"POSIX with charset", "en_US.UTF-8", "", CodeInvalidLocale},
		{"trailing hyphen", "en-", "", CodeInvalidLocale},
		{"padded", " fr-FR", "", CodeInvalidLocale},
		{"undetermined", "und", "", CodeInvalidLocale},
		{"undetermined with region", "und-FR", "", CodeInvalidLocale},
		{"private use only", "x-klingon", "", CodeInvalidLocale},
		{"unknown language", "zz", "", CodeInvalidLocale},
		{"unknown region", "fr-JJ", "", CodeInvalidLocale},
		{"too long subtag", "abcdefghi", "", CodeInvalidLocale},
		{"garbage", "!!", "", CodeInvalidLocale},
		{"long", "en-US-x-" + strings.Repeat("abcdefgh-", 20) + "a", "", CodeTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Locale(tt.in)
			checkString(t, got, err, tt.want, tt.code)
			if err == nil {
				again, err := Locale(got)
				checkString(t, again, err, got, "")
			}
		})
	}
}
