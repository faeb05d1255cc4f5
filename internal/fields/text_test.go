package fields

import (
	"strings"
	"testing"
)

func TestName(t *testing.T) {
	tests := []struct {
		name, in, want, code string
	}{
		{"simple", "Alice Smith", "Alice Smith", ""},
		{"trimmed", "  Alice Smith \t", "Alice Smith", ""},
		{"trimmed no-break and ideographic spaces", "\u00a0Alice\u3000", "Alice", ""},
		{"inner spaces kept", "Alice  Smith", "Alice  Smith", ""},
		{"NFC composed", "Ame\u0301lie", "Amélie", ""},
		{"Hangul jamo composed", "\u1100\u1161", "\uac00", ""},
		{"already NFC", "Łódź", "Łódź", ""},
		{"one character", "A", "A", ""},
		{"zero-width joiner emoji", "Dev 👩\u200d💻", "Dev 👩\u200d💻", ""},
		{"zero-width non-joiner", "می\u200cخواهم", "می\u200cخواهم", ""},
		{"right-to-left mark", "שלום\u200f", "שלום\u200f", ""},
		{"256 characters", strings.Repeat("é", 256), strings.Repeat("é", 256), ""},
		{"256 characters once composed", strings.Repeat("e\u0301", 256), strings.Repeat("é", 256), ""},

		{"empty", "", "", CodeTooShort},
		{"spaces only", "   ", "", CodeTooShort},
		{"tab and newline only", "\t\n", "", CodeTooShort},
		{"257 characters", strings.Repeat("é", 257), "", CodeTooLong},
		{"257 characters after trimming", " " + strings.Repeat("a", 257) + " ", "", CodeTooLong},
		{"huge", strings.Repeat("a", 100000), "", CodeTooLong},
		{"NUL", "Al\x00ice", "", CodeInvalidCharacters},
		{"newline inside", "Alice\nSmith", "", CodeInvalidCharacters},
		{"tab inside", "Alice\tSmith", "", CodeInvalidCharacters},
		{"DEL", "Alice\x7f", "", CodeInvalidCharacters},
		{"C1 control", "Alice\u0085Smith", "", CodeInvalidCharacters},
		{"escape sequence", "\x1b[31mAlice", "", CodeInvalidCharacters},
		{"right-to-left override", "Alice\u202egnp.exe", "", CodeInvalidCharacters},
		{"left-to-right embedding", "\u202aAlice", "", CodeInvalidCharacters},
		{"first strong isolate", "Alice\u2068", "", CodeInvalidCharacters},
		{"line separator", "Alice\u2028Smith", "", CodeInvalidCharacters},
		{"invalid UTF-8", "Alice\xff", "", CodeInvalidCharacters},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Name(tt.in)
			checkString(t, got, err, tt.want, tt.code)
			if err == nil {
				again, err := Name(got)
				checkString(t, again, err, got, "")
			}
		})
	}
}

func TestBio(t *testing.T) {
	tests := []struct {
		name, in, want, code string
	}{
		{"simple", "Gardener.", "Gardener.", ""},
		{"empty", "", "", ""},
		{"spaces only", "  \n ", "", ""},
		{"lines and tabs kept", "Line 1\n\tLine 2", "Line 1\n\tLine 2", ""},
		{"CRLF to LF", "Line 1\r\nLine 2\r\n", "Line 1\nLine 2", ""},
		{"CR to LF", "Line 1\rLine 2", "Line 1\nLine 2", ""},
		{"line separator kept", "Line 1\u2028Line 2", "Line 1\u2028Line 2", ""},
		{"NFC", "Cafe\u0301", "Café", ""},
		{"1024 characters", strings.Repeat("ü", 1024), strings.Repeat("ü", 1024), ""},
		{"1024 characters with CRLF", strings.Repeat("a\r\n", 341) + "a", strings.Repeat("a\n", 341) + "a", ""},

		{"1025 characters", strings.Repeat("ü", 1025), "", CodeTooLong},
		{"bell", "Hi\x07", "", CodeInvalidCharacters},
		{"vertical tab", "Hi\vthere", "", CodeInvalidCharacters},
		{"form feed", "Hi\fthere", "", CodeInvalidCharacters},
		{"NUL", "Hi\x00", "", CodeInvalidCharacters},
		{"override", "Hi \u202e", "", CodeInvalidCharacters},
		{"isolate", "Hi \u2066x\u2069", "", CodeInvalidCharacters},
		{"invalid UTF-8", "Hi \xc3", "", CodeInvalidCharacters},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Bio(tt.in)
			checkString(t, got, err, tt.want, tt.code)
			if err == nil {
				again, err := Bio(got)
				checkString(t, again, err, got, "")
			}
		})
	}
}

func BenchmarkName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Name("Amélie Poulain"); err != nil {
			b.Fatal(err)
		}
	}
}
