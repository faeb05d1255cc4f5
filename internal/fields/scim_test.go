package fields_test

import (
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/fields"
)

func TestIdentifiers(t *testing.T) {
	for _, c := range []struct {
		in, code string
	}{
		{"00ujl29u0le5T6Aj10h7", ""},
		{" Isaac.Brock@Example.com ", ""}, // kept exactly, spaces included
		{"Ünïcode-ид", ""},
		{strings.Repeat("é", 256), ""},
		{"", fields.CodeTooShort},
		{strings.Repeat("a", 257), fields.CodeTooLong},
		{"a\x00b", fields.CodeInvalidCharacters},
		{"line\nbreak", fields.CodeInvalidCharacters},
		{"\xff", fields.CodeInvalidCharacters},
	} {
		for name, rule := range map[string]func(string) (string, *fields.Error){"ExternalID": fields.ExternalID, "SCIMUserName": fields.SCIMUserName} {
			got, err := rule(c.in)
			switch {
			case c.code == "" && err != nil:
				t.Errorf("%s(%q): %v", name, c.in, err.Message)
			case c.code == "" && got != c.in:
				t.Errorf("%s(%q) = %q, want it unchanged", name, c.in, got)
			case c.code != "" && (err == nil || err.Code != c.code):
				t.Errorf("%s(%q): error %v, want code %s", name, c.in, err, c.code)
			}
		}
	}
}

func TestSCIMAttributes(t *testing.T) {
	ok := map[string]any{"title": "Engineer", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"department": "R&D"}}
	if err := fields.SCIMAttributes(ok); err != nil {
		t.Errorf("URN keys: %v", err.Message)
	}
	if err := fields.SCIMAttributes(nil); err != nil {
		t.Errorf("nil: %v", err.Message)
	}
	big := map[string]any{"x": strings.Repeat("a", 8<<10)}
	if err := fields.SCIMAttributes(big); err == nil || err.Code != fields.CodeTooLarge {
		t.Errorf("9 KiB: %v, want too_large", err)
	}
}
