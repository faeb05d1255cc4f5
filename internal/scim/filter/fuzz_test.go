package filter

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	`userName eq "bjensen"`,
	`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`,
	`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
	`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
	`emails[type eq "work"].value eq "user@contoso.com"`,
	`emails[(type eq "work" or primary eq true)].value pr`,
	`a eq 1 or b eq 2 and c eq 3`,
	`not(a pr)and(b pr)`,
	`a eq "\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t"`,
	`a eq -12.5e-3 or b gt 1E+2 or c eq TRUE or d eq Null`,
	`members.$ref pr`,
	`not eq 1 and and pr or or pr`,
	`a pr)`, `(a pr`, `emails[type[value pr]]`, `a eq 01`, `a eq "\ud800"`, "a eq \"\xff\"",
	strings.Repeat("(", MaxDepth) + "a pr" + strings.Repeat(")", MaxDepth),
	strings.Repeat("not (", MaxDepth) + "a pr" + strings.Repeat(")", MaxDepth),
}

// Parse never panics, fails only with an *Error that points into the
// input, and what it accepts prints to a canonical form that parses back
// to the same tree.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			checkError(t, s, err, InvalidFilter)
			return
		}
		out := e.String()
		back, err := Parse(out)
		if err != nil {
			// The canonical form may add a few bytes (a space after "not",
			// the "and" of an Entra value path, its parentheses) and so
			// cross a bound the input stayed within; nothing else may fail.
			var fe *Error
			if errors.As(err, &fe) && fe.limit {
				t.Skip()
			}
			t.Fatalf("Parse(%q) = %q, which does not parse: %v", s, out, err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Fatalf("Parse(%q) printed as %q, which parses to another tree, %q", s, out, back)
		}
		if back.String() != out {
			t.Fatalf("the canonical form %q is not a fixed point: %q", out, back.String())
		}
	})
}

// ParsePath likewise, and a path's value filter is a filter.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		`userName`, `name.givenName`, `emails[type eq "work"].value`, `members[value eq "2819c223"]`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`,
		`emails[type eq "work"`, `emails[type eq "work"].value.x`, `a[b pr]c`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			checkError(t, s, err, 0)
			return
		}
		back, err := ParsePath(p.String())
		if err != nil {
			var fe *Error
			if errors.As(err, &fe) && fe.limit {
				t.Skip()
			}
			t.Fatalf("ParsePath(%q) = %q, which does not parse: %v", s, p, err)
		}
		if !reflect.DeepEqual(back, p) {
			t.Fatalf("ParsePath(%q) printed as %q, which parses to another path", s, p)
		}
		if p.Filter != nil {
			if _, err := Parse(p.Filter.String()); err != nil {
				t.Fatalf("the value filter of %q does not parse on its own: %v", s, err)
			}
		}
	})
}

// checkError checks an error of Parse (kind InvalidFilter) or ParsePath
// (kind 0: either).
func checkError(t *testing.T, s string, err error, kind Kind) {
	t.Helper()
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is a %T, want *Error", err, err)
	}
	if kind != 0 && fe.Kind != kind {
		t.Fatalf("error %v has Kind %v, want %v", err, fe.Kind, kind)
	}
	if fe.Kind != InvalidFilter && fe.Kind != InvalidPath {
		t.Fatalf("error %v has no Kind", err)
	}
	if fe.Offset < 0 || fe.Offset > len(s) && !fe.limit {
		t.Fatalf("error %v points outside the %d bytes of input", err, len(s))
	}
	if fe.Msg == "" {
		t.Fatalf("error without a message at byte %d", fe.Offset)
	}
}
