package filter

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Tree builders, so the tables read like the filters.

// ap splits a path the way the grammar does, without the parser: the
// schema ends at the last colon, the sub-attribute follows the dot.
func ap(s string) AttrPath {
	var p AttrPath
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		p.Schema, s = s[:i], s[i+1:]
	}
	p.Name, p.Sub, _ = strings.Cut(s, ".")
	return p
}

func eq(path string, v any) Expr          { return &Compare{Path: ap(path), Op: Eq, Value: v} }
func cmpx(path string, op Op, v any) Expr { return &Compare{Path: ap(path), Op: op, Value: v} }
func pr(path string) Expr                 { return &Present{Path: ap(path)} }
func and(l, r Expr) Expr                  { return &And{Left: l, Right: r} }
func or(l, r Expr) Expr                   { return &Or{Left: l, Right: r} }
func not(x Expr) Expr                     { return &Not{X: x} }
func vp(attr string, f Expr) Expr         { return &ValuePath{Attr: ap(attr), Filter: f} }
func num(s string) json.Number            { return json.Number(s) }
func mustParse(t *testing.T, s string) Expr {
	t.Helper()
	e, err := Parse(s)
	check(t, s, err)
	return e
}

func check(t *testing.T, s string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
}

const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// Every example filter of RFC 7644 §3.4.2.2, and what Okta and Microsoft
// Entra ID send.
func TestParseExamples(t *testing.T) {
	tests := []struct {
		in   string
		want Expr
	}{
		// RFC 7644 §3.4.2.2.
		{`userName eq "bjensen"`, eq("userName", "bjensen")},
		{`name.familyName co "O'Malley"`, cmpx("name.familyName", Co, "O'Malley")},
		{`userName sw "J"`, cmpx("userName", Sw, "J")},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`,
			&Compare{Path: AttrPath{Schema: "urn:ietf:params:scim:schemas:core:2.0:User", Name: "userName"}, Op: Sw, Value: "J"}},
		{`title pr`, pr("title")},
		{`meta.lastModified gt "2011-05-13T04:42:34Z"`, cmpx("meta.lastModified", Gt, "2011-05-13T04:42:34Z")},
		{`meta.lastModified ge "2011-05-13T04:42:34Z"`, cmpx("meta.lastModified", Ge, "2011-05-13T04:42:34Z")},
		{`meta.lastModified lt "2011-05-13T04:42:34Z"`, cmpx("meta.lastModified", Lt, "2011-05-13T04:42:34Z")},
		{`meta.lastModified le "2011-05-13T04:42:34Z"`, cmpx("meta.lastModified", Le, "2011-05-13T04:42:34Z")},
		{`title pr and userType eq "Employee"`, and(pr("title"), eq("userType", "Employee"))},
		{`title pr or userType eq "Intern"`, or(pr("title"), eq("userType", "Intern"))},
		{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, eq("schemas", enterprise)},
		{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
			and(eq("userType", "Employee"), or(cmpx("emails", Co, "example.com"), cmpx("emails.value", Co, "example.org")))},
		{`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
			and(cmpx("userType", Ne, "Employee"), not(or(cmpx("emails", Co, "example.com"), cmpx("emails.value", Co, "example.org"))))},
		{`userType eq "Employee" and (emails.type eq "work")`, and(eq("userType", "Employee"), eq("emails.type", "work"))},
		{`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
			and(eq("userType", "Employee"), vp("emails", and(eq("type", "work"), cmpx("value", Co, "@example.com"))))},
		{`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
			or(vp("emails", and(eq("type", "work"), cmpx("value", Co, "@example.com"))),
				vp("ims", and(eq("type", "xmpp"), cmpx("value", Co, "@foo.com"))))},

		// Okta and Microsoft Entra ID.
		{`userName eq "x@y.com"`, eq("userName", "x@y.com")},
		{`externalId eq "00u1ab2cd3EfGh4iJ5k6"`, eq("externalId", "00u1ab2cd3EfGh4iJ5k6")},
		{`displayName eq "Group"`, eq("displayName", "Group")},
		{`emails[type eq "work"].value eq "user@contoso.com"`,
			vp("emails", and(eq("type", "work"), eq("value", "user@contoso.com")))},
		{`members[value eq "2819c223-7f76-453a-919d-413861904646"]`, vp("members", eq("value", "2819c223-7f76-453a-919d-413861904646"))},
		{`id eq "2819c223" and members eq "902c246b"`, and(eq("id", "2819c223"), eq("members", "902c246b"))},
		{enterprise + `:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`,
			&Compare{Path: AttrPath{Schema: enterprise, Name: "manager", Sub: "value"}, Op: Eq, Value: "26118915-6090-4610-87e4-49d8ca9f808d"}},
		{enterprise + `:employeeNumber eq "701984"`,
			&Compare{Path: AttrPath{Schema: enterprise, Name: "employeeNumber"}, Op: Eq, Value: "701984"}},
		{`active eq true`, eq("active", true)},
		{`members.$ref pr`, pr("members.$ref")},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := mustParse(t, tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%q)\n got %s\nwant %s", tt.in, got, tt.want)
			}
			roundTrip(t, got)
		})
	}
}

// roundTrip checks that the canonical form parses back to the same tree
// and is a fixed point.
func roundTrip(t *testing.T, e Expr) {
	t.Helper()
	s := e.String()
	back, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(String()) = %v; String() = %q", err, s)
	}
	if !reflect.DeepEqual(back, e) {
		t.Fatalf("Parse(String()) is another tree\n  String %q\n    back %q", s, back)
	}
	if back.String() != s {
		t.Fatalf("String is not a fixed point: %q, then %q", s, back.String())
	}
}

func TestParseCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		// Operators, keywords and literals in any case.
		{`userName EQ "john"`, `userName eq "john"`},
		{`Username Eq "john"`, `Username eq "john"`},
		{`title PR`, `title pr`},
		{`a Ne 1 AND b gE 2 Or c LT 3`, `a ne 1 and b ge 2 or c lt 3`},
		{`NOT (a pr)`, `not (a pr)`},
		{`a eq TRUE or b eq False or c eq NULL`, `a eq true or b eq false or c eq null`},
		{`a Co "x" and b SW "y" and c eW "z" and d gt 1 and e le 2`, `a co "x" and b sw "y" and c ew "z" and d gt 1 and e le 2`},
		// Whitespace: runs of it, tabs and newlines, optional by parentheses
		// and brackets, ignored at the ends.
		{"  a   eq\t1 \n and  b pr  ", `a eq 1 and b pr`},
		{`not(a pr)`, `not (a pr)`},
		{`( a pr )`, `a pr`},
		{`(a pr)and(b pr)`, `a pr and b pr`},
		{`(a pr)or (b pr)`, `a pr or b pr`},
		{`emails[ type eq "work" ]`, `emails[type eq "work"]`},
		{`emails[type eq "work"]and a pr`, `emails[type eq "work"] and a pr`},
		// Parentheses: only those the tree needs.
		{`((a pr))`, `a pr`},
		{`(a pr and b pr) or c pr`, `a pr and b pr or c pr`},
		{`a pr and (b pr or c pr)`, `a pr and (b pr or c pr)`},
		{`a pr or (b pr or c pr)`, `a pr or (b pr or c pr)`},
		{`(a pr or b pr) or c pr`, `a pr or b pr or c pr`},
		{`a pr and (b pr and c pr)`, `a pr and (b pr and c pr)`},
		{`not (not (a pr))`, `not (not (a pr))`},
		{`not ((a pr or b pr)) and c pr`, `not (a pr or b pr) and c pr`},
		{`emails[(type eq "work" or primary eq true)].value pr`, `emails[(type eq "work" or primary eq true) and value pr]`},
		// Strings: decoded, then printed escaping only what JSON requires.
		{`a eq "\u00e9\/\"\\\t\n\r\b\f\u0001"`, `a eq "é/\"\\\t\n\r\u0008\u000c\u0001"`},
		{`a eq "\ud83d\ude00"`, `a eq "😀"`},
		{`a eq "<&>"`, `a eq "<&>"`},
		{`a eq ""`, `a eq ""`},
		// Numbers keep their text.
		{`a eq -0`, `a eq -0`},
		{`a gt 1.50`, `a gt 1.50`},
		{`a lt -12.5e-3`, `a lt -12.5e-3`},
		{`a le 1E+2`, `a le 1E+2`},
		// Names keep their case; URIs too.
		{`URN:IETF:params:scim:schemas:core:2.0:User:NAME.FamilyName pr`, `URN:IETF:params:scim:schemas:core:2.0:User:NAME.FamilyName pr`},
		// Attributes may be called like keywords.
		{`not eq 1 and and pr or or pr`, `not eq 1 and and pr or or pr`},
		{`pr pr and eq eq "eq"`, `pr pr and eq eq "eq"`},
		{`not eq 1`, `not eq 1`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e := mustParse(t, tt.in)
			if got := e.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			roundTrip(t, e)
		})
	}
}

func TestParsePrecedence(t *testing.T) {
	a, b, c, d := eq("a", num("1")), eq("b", num("2")), eq("c", num("3")), eq("d", num("4"))
	tests := []struct {
		in   string
		want Expr
	}{
		{`a eq 1 or b eq 2 and c eq 3`, or(a, and(b, c))},
		{`a eq 1 and b eq 2 or c eq 3`, or(and(a, b), c)},
		{`a eq 1 or b eq 2 or c eq 3`, or(or(a, b), c)},
		{`a eq 1 and b eq 2 and c eq 3`, and(and(a, b), c)},
		{`a eq 1 and b eq 2 or c eq 3 and d eq 4`, or(and(a, b), and(c, d))},
		{`(a eq 1 or b eq 2) and c eq 3`, and(or(a, b), c)},
		{`not (a eq 1) and b eq 2`, and(not(a), b)},
		{`not (a eq 1) or b eq 2 and c eq 3`, or(not(a), and(b, c))},
		{`not (a eq 1 or b eq 2) and not (c eq 3)`, and(not(or(a, b)), not(c))},
		{`a eq 1 and not (b eq 2 and (c eq 3 or not (d eq 4)))`, and(a, not(and(b, or(c, not(d)))))},
		{`emails[type eq "work" or type eq "home" and primary eq true]`,
			vp("emails", or(eq("type", "work"), and(eq("type", "home"), eq("primary", true))))},
		{`emails[not (type eq "work")] and a eq 1`, and(vp("emails", not(eq("type", "work"))), a)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := mustParse(t, tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%q)\n got %s\nwant %s", tt.in, got, tt.want)
			}
			roundTrip(t, got)
		})
	}
}

func TestParseValues(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{`"plain"`, "plain"},
		{`"O'Malley"`, "O'Malley"},
		{`"say \"hi\""`, `say "hi"`},
		{`"back\\slash"`, `back\slash`},
		{`"a\/b"`, "a/b"},
		{`"\b\f\n\r\t"`, "\b\f\n\r\t"},
		{`"caf\u00E9"`, "café"},
		{`"\u0000"`, "\x00"},
		{`"\uD83D\uDE00"`, "😀"},
		{`"日本語"`, "日本語"},
		{`"a)b]c(d[e and f or g"`, "a)b]c(d[e and f or g"},
		{`0`, num("0")},
		{`-0`, num("-0")},
		{`42`, num("42")},
		{`-7`, num("-7")},
		{`3.25`, num("3.25")},
		{`1e3`, num("1e3")},
		{`1E-3`, num("1E-3")},
		{`2.5e+10`, num("2.5e+10")},
		{`123456789012345678901234567890`, num("123456789012345678901234567890")},
		{`true`, true},
		{`True`, true},
		{`FALSE`, false},
		{`false`, false},
		{`null`, nil},
		{`Null`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e := mustParse(t, "a eq "+tt.in)
			c, ok := e.(*Compare)
			if !ok {
				t.Fatalf("Parse gave %T, want *Compare", e)
			}
			if !reflect.DeepEqual(c.Value, tt.want) {
				t.Fatalf("value = %#v, want %#v", c.Value, tt.want)
			}
			roundTrip(t, e)
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in     string
		offset int
		msg    string // a part of the message
	}{
		{``, 0, "empty"},
		{`   `, 3, "empty"},
		{`userName`, 8, "expected a space and an operator"},
		{`userName `, 9, "expected an operator after"},
		{`userName equals "x"`, 9, `found "equals"`},
		{`userName = "x"`, 9, `found '='`},
		{`userName eq`, 11, `expected a space and a value after "eq"`},
		{`userName eq `, 12, "expected a value, found the end"},
		{`userName eq bjensen`, 12, `put strings in double quotes: "bjensen"`},
		{`userName eq 'bjensen'`, 12, "double quotes"},
		{`userName eq "bjensen`, 12, "unterminated string"},
		{`userName eq "a\"`, 12, "unterminated string"},
		{`userName eq "a\`, 14, "unterminated string"},
		{`userName eq "a\qb"`, 14, `invalid escape "\q"`},
		{`userName eq "\u12"`, 13, `four hex digits`},
		{`userName eq "\ud800"`, 13, "unpaired UTF-16 surrogate"},
		{`userName eq "\udc00\ud800"`, 13, "unpaired UTF-16 surrogate"},
		{`userName eq "\ud83dx"`, 13, "unpaired UTF-16 surrogate"},
		{"userName eq \"a\tb\"", 14, `escaped, as \u0009`},
		{"userName eq \"a\xffb\"", 14, "not valid UTF-8"},
		{`userName eq "x"y`, 15, `expected a space, ")", "]" or the end of the filter, found "y"`},
		{`userName eq "x"and a pr`, 15, `found "and"`},
		{`a eq 01`, 5, "leading zeros"},
		{`a eq 1.`, 7, "after the decimal point"},
		{`a eq .5`, 5, "expected a value"},
		{`a eq 1e`, 7, "exponent"},
		{`a eq -`, 6, "expected a digit"},
		{`a eq +1`, 5, "expected a value"},
		{`a eq 1e999`, 5, "out of range"},
		{`a eq 1x`, 6, `found "x"`},
		{`a eq truex`, 5, "found truex"},
		{`a co 1`, 5, `"co" compares strings`},
		{`a sw true`, 5, `"sw" compares strings`},
		{`a ew null`, 5, `"ew" compares strings`},
		{`a gt true`, 5, `"gt" cannot order booleans`},
		{`a le false`, 5, `"le" cannot order booleans`},
		{`a lt null`, 5, `"lt" cannot compare with null`},
		{`a pr b pr`, 5, `expected "and", "or" or the end of the filter, found "b"`},
		{`a pr and`, 8, `expected a filter after "and"`},
		{`a pr or `, 8, "expected a filter, found the end"},
		{`a pr andb pr`, 5, `found "andb"`},
		{`a pr)`, 4, `")" closes no "("`},
		{`a pr]`, 4, `"]" closes no "["`},
		{`(a pr`, 5, `missing ')' to close the '(' at byte 0`},
		{`(a pr]`, 5, `expected ')' to close the '(' at byte 0, found ']'`},
		{`(a pr b pr)`, 6, `expected "and", "or" or ')', found "b"`},
		{`()`, 1, `expected an attribute name, "not" or "(", found ')'`},
		{`not a pr`, 0, `"not" takes a filter in parentheses`},
		{`not`, 0, `"not" takes a filter in parentheses`},
		{`and pr or`, 9, `expected a filter after "or"`},
		{`1 eq 1`, 0, `expected an attribute name, "not" or "(", found "1"`},
		{`"a" eq 1`, 0, `expected an attribute name`},
		{`_a eq 1`, 0, `expected an attribute name`},
		{`a_b-c.d_e-f pr and a.b.c pr`, 22, "at most one sub-attribute"},
		{`a. pr`, 2, "expected a sub-attribute name"},
		{`a.1 pr`, 2, "an attribute name starts with a letter"},
		{`a.b/c pr`, 3, "an attribute name starts with a letter"},
		{`a$b pr`, 1, "an attribute name starts with a letter"},
		{`$refs pr`, 0, "an attribute name starts with a letter"},
		{`urn: pr`, 0, `"urn" is not a schema URI`},
		{`foo:bar pr`, 0, `"foo" is not a schema URI`},
		{`urn:x:: pr`, 0, `is not a schema URI`},
		{`urn:x:y: pr`, 8, "expected an attribute name after the schema URI"},
		{`1urn:x:y pr`, 0, `expected an attribute name`},
		{`u_rn:x:y pr`, 0, `"u_rn:x" is not a schema URI`},
		{`emails[type eq "work"`, 21, `missing ']' to close the '[' at byte 6`},
		{`emails[type eq "work")`, 21, `expected ']' to close the '[' at byte 6, found ')'`},
		{`emails[]`, 7, `expected an attribute name`},
		{`emails[emails.type eq "work"]`, 7, `inside "[…]" name a sub-attribute`},
		{`emails[` + enterprise + `:type eq "work"]`, 7, `inside "[…]" name a sub-attribute`},
		{`emails[type[value pr]]`, 11, "value filters do not nest"},
		{`name.givenName[value pr]`, 14, `follows an attribute, not the sub-attribute "name.givenName"`},
		{`emails[type eq "work"] eq "x"`, 23, `takes no operator`},
		{`emails[type eq "work"].`, 23, "an attribute name starts with a letter"},
		{`emails[type eq "work"].value`, 28, "expected a space and an operator after the sub-attribute"},
		{`emails[type eq "work"].value.x eq "y"`, 28, `expected a space and an operator after the sub-attribute, found ".x"`},
		{`emails[type eq "work"] x`, 23, `expected "and", "or" or the end of the filter, found "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want an error", tt.in, e)
			}
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is a %T, want *Error", err, err)
			}
			if fe.Kind != InvalidFilter || fe.Kind.String() != "invalidFilter" {
				t.Errorf("Kind = %v, want invalidFilter", fe.Kind)
			}
			if fe.Offset != tt.offset {
				t.Errorf("Offset = %d, want %d (%s)", fe.Offset, tt.offset, fe.Msg)
			}
			if !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("Msg = %q, want it to hold %q", fe.Msg, tt.msg)
			}
			if fe.limit {
				t.Errorf("a syntax error marked as a limit: %v", fe)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	_, err := Parse(`userName equals "x"`)
	want := `invalid filter at byte 9: expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after "userName", found "equals"`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant %s", err, want)
	}
	_, err = ParsePath(`name..x`)
	want = `invalid path at byte 5: a path names at most one sub-attribute`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant %s", err, want)
	}
}

// A hostile filter is refused at its bound, quickly, whatever its shape.
func TestParseLimits(t *testing.T) {
	term := `a eq "x"`
	chain := func(n int) string {
		return strings.Repeat(term+" or ", n-1) + term
	}
	nest := func(n int, open, inner, close string) string {
		return strings.Repeat(open, n) + inner + strings.Repeat(close, n)
	}
	tests := []struct {
		name   string
		in     string
		ok     bool
		offset int
	}{
		{"longest", `a eq "` + strings.Repeat("x", MaxLength-7) + `"`, true, 0},
		{"too long", `a eq "` + strings.Repeat("x", MaxLength-6) + `"`, false, MaxLength},
		{"huge", strings.Repeat("(", 1<<20), false, MaxLength},
		{"deepest", nest(MaxDepth, "(", "a pr", ")"), true, 0},
		{"too deep", nest(MaxDepth+1, "(", "a pr", ")"), false, MaxDepth},
		{"deepest not", nest(MaxDepth, "not (", "a pr", ")"), true, 0},
		{"too deep not", nest(MaxDepth+1, "not (", "a pr", ")"), false, 5*MaxDepth + 4},
		{"deep brackets", nest(MaxDepth-1, "(", "e[a pr]", ")"), true, 0},
		{"too deep brackets", nest(MaxDepth, "(", "e[a pr]", ")"), false, MaxDepth + 1},
		{"unclosed", strings.Repeat("(", MaxLength), false, MaxDepth},
		{"most terms", chain(MaxTerms), true, 0},
		{"too many terms", chain(MaxTerms + 1), false, MaxTerms * len(term+" or ")},
		{"too many in brackets", "e[" + chain(MaxTerms) + "]", false, 2 + (MaxTerms-1)*len(term+" or ")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			e, err := Parse(tt.in)
			if elapsed := time.Since(start); elapsed > time.Second {
				t.Errorf("Parse took %v", elapsed)
			}
			if tt.ok {
				check(t, tt.in, err)
				roundTrip(t, e)
				return
			}
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("Parse = %v, %v; want an *Error", e, err)
			}
			if !fe.limit || fe.Offset != tt.offset {
				t.Fatalf("error %v (limit %v), want a limit at byte %d", fe, fe.limit, tt.offset)
			}
		})
	}
}

func TestParsePath(t *testing.T) {
	tests := []struct {
		in   string
		want Path
	}{
		{`userName`, Path{AttrPath: ap("userName")}},
		{`members`, Path{AttrPath: ap("members")}},
		{`name.givenName`, Path{AttrPath: ap("name.givenName")}},
		{`NAME.GIVENNAME`, Path{AttrPath: ap("NAME.GIVENNAME")}},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName`, Path{AttrPath: ap("urn:ietf:params:scim:schemas:core:2.0:User:userName")}},
		{enterprise + `:manager`, Path{AttrPath: AttrPath{Schema: enterprise, Name: "manager"}}},
		{enterprise + `:manager.value`, Path{AttrPath: AttrPath{Schema: enterprise, Name: "manager", Sub: "value"}}},
		{`emails[type eq "work"].value`, Path{AttrPath: AttrPath{Name: "emails", Sub: "value"}, Filter: eq("type", "work")}},
		{`members[value eq "2819c223"]`, Path{AttrPath: AttrPath{Name: "members"}, Filter: eq("value", "2819c223")}},
		{`addresses[type eq "work"].streetAddress`, Path{AttrPath: AttrPath{Name: "addresses", Sub: "streetAddress"}, Filter: eq("type", "work")}},
		{`members[value eq "2819c223"].displayName`, Path{AttrPath: AttrPath{Name: "members", Sub: "displayName"}, Filter: eq("value", "2819c223")}},
		{`emails[ type eq "work" and primary eq true ]`, Path{AttrPath: AttrPath{Name: "emails"}, Filter: and(eq("type", "work"), eq("primary", true))}},
		{`x509Certificates[value pr]`, Path{AttrPath: AttrPath{Name: "x509Certificates"}, Filter: pr("value")}},
		{`members.$ref`, Path{AttrPath: ap("members.$ref")}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePath(tt.in)
			if err != nil {
				t.Fatalf("ParsePath(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParsePath(%q)\n got %#v\nwant %#v", tt.in, got, tt.want)
			}
			back, err := ParsePath(got.String())
			if err != nil || !reflect.DeepEqual(back, got) {
				t.Fatalf("ParsePath(%q) = %#v, %v; want the same path", got.String(), back, err)
			}
		})
	}
}

func TestParsePathErrors(t *testing.T) {
	tests := []struct {
		in     string
		kind   Kind
		offset int
		msg    string
	}{
		{``, InvalidPath, 0, "empty"},
		{` userName`, InvalidPath, 0, "starts with an attribute name"},
		{`userName `, InvalidPath, 8, `expected "[" or the end of the path, found ' '`},
		{`userName eq "x"`, InvalidPath, 8, `expected "[" or the end`},
		{`name.givenName.x`, InvalidPath, 14, "at most one sub-attribute"},
		{`name.`, InvalidPath, 5, "expected a sub-attribute name"},
		{`1name`, InvalidPath, 0, "starts with an attribute name"},
		{`na/me`, InvalidPath, 2, "an attribute name starts with a letter"},
		{`urn:x:`, InvalidPath, 6, "expected an attribute name after the schema URI"},
		{`name.givenName[value pr]`, InvalidPath, 14, "not the sub-attribute"},
		{`emails[type eq "work"]value`, InvalidPath, 22, `expected "." and a sub-attribute or the end of the path, found "value"`},
		{`emails[type eq "work"].`, InvalidPath, 23, "an attribute name starts with a letter"},
		{`emails[type eq "work"].value.x`, InvalidPath, 28, `expected the end of the path, found ".x"`},
		{`emails[type eq "work"].value[x pr]`, InvalidPath, 28, `expected the end of the path, found '['`},
		{`emails[type eq "work"] `, InvalidPath, 22, `found ' '`},
		// Inside the brackets, the filter's errors.
		{`emails[type eq "work"`, InvalidFilter, 21, `missing ']'`},
		{`emails[type equals "work"]`, InvalidFilter, 12, `found "equals"`},
		{`emails[]`, InvalidFilter, 7, "expected an attribute name"},
		{`emails[type eq work]`, InvalidFilter, 15, "double quotes"},
		{`emails[emails.type eq "work"]`, InvalidFilter, 7, `inside "[…]"`},
		{`emails[type[value pr]]`, InvalidFilter, 11, "do not nest"},
		{`emails[type eq "work")`, InvalidFilter, 21, `expected ']' to close the '[' at byte 6, found ')'`},
		{`emails[` + strings.Repeat("(", MaxDepth) + `a pr` + strings.Repeat(")", MaxDepth) + `]`, InvalidFilter, 7 + MaxDepth - 1, "nests more than"},
		{strings.Repeat("a", MaxLength+1), InvalidPath, MaxLength, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePath(tt.in)
			if err == nil {
				t.Fatalf("ParsePath(%q) = %s, want an error", tt.in, p)
			}
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is a %T, want *Error", err, err)
			}
			if fe.Kind != tt.kind {
				t.Errorf("Kind = %v, want %v", fe.Kind, tt.kind)
			}
			if fe.Offset != tt.offset {
				t.Errorf("Offset = %d, want %d (%s)", fe.Offset, tt.offset, fe.Msg)
			}
			if !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("Msg = %q, want it to hold %q", fe.Msg, tt.msg)
			}
		})
	}
}

func TestWalk(t *testing.T) {
	e := mustParse(t, `a pr and not (b eq 1 or emails[type eq "work" and value pr])`)
	var got []string
	Walk(e, func(e Expr) bool {
		got = append(got, reflect.TypeOf(e).Elem().Name()+" "+e.String())
		return true
	})
	want := []string{
		`And a pr and not (b eq 1 or emails[type eq "work" and value pr])`,
		`Present a pr`,
		`Not not (b eq 1 or emails[type eq "work" and value pr])`,
		`Or b eq 1 or emails[type eq "work" and value pr]`,
		`Compare b eq 1`,
		`ValuePath emails[type eq "work" and value pr]`,
		`And type eq "work" and value pr`,
		`Compare type eq "work"`,
		`Present value pr`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Walk visited\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// false prunes: the value filter's insides are skipped.
	got = got[:0]
	Walk(e, func(e Expr) bool {
		got = append(got, reflect.TypeOf(e).Elem().Name())
		_, vp := e.(*ValuePath)
		return !vp
	})
	if want := []string{"And", "Present", "Not", "Or", "Compare", "ValuePath"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Walk with pruning visited %v, want %v", got, want)
	}
}

func TestNormalized(t *testing.T) {
	e := mustParse(t, `URN:IETF:Params:Scim:Schemas:Core:2.0:User:Name.FamilyName pr`)
	got := e.(*Present).Path.Normalized()
	want := AttrPath{Schema: "urn:ietf:params:scim:schemas:core:2.0:user", Name: "name", Sub: "familyname"}
	if got != want {
		t.Fatalf("Normalized = %#v, want %#v", got, want)
	}
	if s := e.String(); s != `URN:IETF:Params:Scim:Schemas:Core:2.0:User:Name.FamilyName pr` {
		t.Fatalf("the tree lost the written case: %s", s)
	}
}

// Hand-built trees print so that they parse back the same, whatever their
// shape.
func TestStringOfBuiltTrees(t *testing.T) {
	a, b, c := pr("a"), pr("b"), pr("c")
	tests := []struct {
		e    Expr
		want string
	}{
		{or(a, or(b, c)), `a pr or (b pr or c pr)`},
		{and(a, and(b, c)), `a pr and (b pr and c pr)`},
		{and(or(a, b), c), `(a pr or b pr) and c pr`},
		{and(a, or(b, c)), `a pr and (b pr or c pr)`},
		{or(and(a, b), and(b, c)), `a pr and b pr or b pr and c pr`},
		{not(and(a, b)), `not (a pr and b pr)`},
		{vp("emails", or(a, b)), `emails[a pr or b pr]`},
		{eq("a", "tab\there \"q\" \x7f é"), `a eq "tab\there \"q\" ` + "\x7f" + ` é"`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.e.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			roundTrip(t, tt.e)
		})
	}
}
