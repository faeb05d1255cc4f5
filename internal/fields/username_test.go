package fields

import (
	"strings"
	"testing"

	"golang.org/x/text/secure/precis"
)

func TestUsername(t *testing.T) {
	tests := []struct {
		name, in, want, code string
	}{
		{"lower", "alice", "alice", ""},
		{"capitalized", "Alice", "alice", ""},
		{"all allowed characters", "a.b_c-d0", "a.b_c-d0", ""},
		{"fullwidth mapped", "ＡＬＩＣＥ", "alice", ""},
		{"fullwidth digits and underscore", "ｕｓｅｒ＿１２３", "user_123", ""},
		{"3 characters", "abc", "abc", ""},
		{"39 characters", strings.Repeat("a", 39), strings.Repeat("a", 39), ""},
		{"39 after width mapping", strings.Repeat("ａ", 39), strings.Repeat("a", 39), ""},

		{"empty", "", "", CodeTooShort},
		{"2 characters", "ab", "", CodeTooShort},
		{"2 fullwidth characters", "ＡＢ", "", CodeTooShort},
		{"40 characters", strings.Repeat("a", 40), "", CodeTooLong},
		{"40 after width mapping", strings.Repeat("Ａ", 40), "", CodeTooLong},
		{"huge", strings.Repeat("a", 10000), "", CodeTooLong},
		{"space inside", "alice smith", "", CodeInvalidUsername},
		{"leading space", " alice", "", CodeInvalidUsername},
		{"trailing space", "alice ", "", CodeInvalidUsername},
		{"ideographic space", "alice\u3000smith", "", CodeInvalidUsername},
		{"accented letter", "élodie", "", CodeInvalidUsername},
		{"accented capital", "Élodie", "", CodeInvalidUsername},
		{"Greek", "Ωmega", "", CodeInvalidUsername},
		{"CJK", "日本語ユーザー", "", CodeInvalidUsername},
		{"punctuation", "alice!", "", CodeInvalidUsername},
		{"at sign", "alice@example", "", CodeInvalidUsername},
		{"plus", "alice+1", "", CodeInvalidUsername},
		{"titlecase digraph", "ǅemal", "", CodeInvalidUsername},
		{"ligature", "ﬁle", "", CodeInvalidUsername},
		{"control", "ali\x00ce", "", CodeInvalidUsername},
		{"invalid UTF-8", "ali\xffce", "", CodeInvalidUsername},
		{"zero-width joiner", "ali\u200dce", "", CodeInvalidUsername},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Username(tt.in)
			checkString(t, got, err, tt.want, tt.code)
		})
	}
}

// TestASCIIUsername checks that the fast path agrees with PRECIS on every
// printable ASCII character.
func TestASCIIUsername(t *testing.T) {
	for c := byte(0x21); c < 0x7f; c++ {
		s := "ab" + string(c) + "Z"
		got, ok := asciiUsername(s)
		if !ok {
			continue
		}
		want, err := precis.UsernameCaseMapped.String(s)
		if err != nil || got != want {
			t.Errorf("%q: got %q; PRECIS gives %q, %v", s, got, want, err)
		}
	}
}

func BenchmarkUsername(b *testing.B) {
	for _, bb := range []struct{ name, in string }{
		{"normalized", "alice.smith_42"},
		{"capitalized", "Alice.Smith_42"},
		{"fullwidth", "ＡＬＩＣＥ"},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Username(bb.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
