package filter

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// userJSON is RFC 7643 §8.2's full user, trimmed, with a few attributes
// added for the edge cases of pr and of numbers.
const userJSON = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "id": "2819c223-7f76-453a-919d-413861904646",
  "externalId": "701984",
  "userName": "bjensen@example.com",
  "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara", "middleName": ""},
  "displayName": "Babs Jensen",
  "nickName": "",
  "title": "Tour Guide",
  "userType": "Employee",
  "locale": null,
  "active": true,
  "verified": false,
  "loginCount": 42,
  "score": 2.5,
  "emails": [
    {"value": "bjensen@example.com", "type": "work", "primary": true},
    {"value": "babs@jensen.org", "type": "home"}
  ],
  "ims": [{"value": "someaimhandle", "type": "aim"}],
  "phoneNumbers": [],
  "x509Certificates": [{"value": null}],
  "preferences": {},
  "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood", "postalCode": "91608"}],
  "groups": [{"value": "e9e30dba-f08f-4109-8486-d5c6a331660a", "display": "Tour Guides"}],
  "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z"},
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
    "employeeNumber": "701984",
    "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
  }
}`

// decode decodes s as a caller would, with numbers as json.Number or as
// float64.
func decode(t *testing.T, s string, useNumber bool) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	if useNumber {
		dec.UseNumber()
	}
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return v
}

func TestMatch(t *testing.T) {
	tests := []struct {
		filter string
		want   bool
	}{
		// Strings: case-insensitive by default, in values and names.
		{`userName eq "bjensen@example.com"`, true},
		{`userName eq "BJensen@Example.COM"`, true},
		{`USERNAME eq "bjensen@example.com"`, true},
		{`userName eq "bjensen"`, false},
		{`userName ne "bjensen@example.com"`, false},
		{`userName ne "other"`, true},
		{`userName co "JENSEN"`, true},
		{`userName co ""`, true},
		{`userName sw "bjen"`, true},
		{`userName sw "jensen"`, false},
		{`userName ew "EXAMPLE.COM"`, true},
		{`userName ew "example"`, false},
		{`name.familyName eq "jensen"`, true},
		{`name.familyName co "O'Malley"`, false},
		{`Name.GivenName sw "b"`, true},
		{`userName gt "a"`, true},
		{`userName lt "C"`, true},
		{`title ge "tour guide"`, true},
		{`title gt "tour guide"`, false},
		{`title le "TOUR GUIDE"`, true},

		// pr: not null, not "", not [], not an object with nothing in it.
		{`title pr`, true},
		{`name pr`, true},
		{`emails pr`, true},
		{`active pr`, true},
		{`verified pr`, true},
		{`loginCount pr`, true},
		{`nickName pr`, false},
		{`locale pr`, false},
		{`phoneNumbers pr`, false},
		{`preferences pr`, false},
		{`x509Certificates pr`, false},
		{`name.middleName pr`, false},
		{`nosuch pr`, false},
		{`nosuch.sub pr`, false},
		{`emails.value pr`, true},
		{`emails.display pr`, false},

		// null is absence.
		{`nickName eq null`, true},
		{`locale eq null`, true},
		{`nosuch eq null`, true},
		{`phoneNumbers eq null`, true},
		{`title eq null`, false},
		{`title ne null`, true},
		{`locale ne null`, false},

		// An absent attribute matches no comparison, not even ne.
		{`nosuch eq "x"`, false},
		{`nosuch ne "x"`, false},
		{`not (nosuch eq "x")`, true},
		{`nosuch.sub eq "x"`, false},
		{`title.sub eq "x"`, false},

		// Multi-valued: any value matches; an object stands for its value.
		{`emails.type eq "home"`, true},
		{`emails.type eq "other"`, false},
		{`emails.type ne "work"`, true},
		{`emails.value ew "@jensen.org"`, true},
		{`emails.primary eq true`, true},
		{`emails.primary eq false`, false},
		{`emails co "example.com"`, true},
		{`emails eq "babs@jensen.org"`, true},
		{`emails eq "nobody@jensen.org"`, false},
		{`groups eq "e9e30dba-f08f-4109-8486-d5c6a331660a"`, true},
		{`name eq "Barbara"`, false},
		{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, true},
		{`schemas eq "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER"`, true},
		{`schemas eq "urn:ietf:params:scim:schemas:core:2.0:Group"`, false},

		// Value filters: one value must pass the whole filter.
		{`emails[type eq "work" and value co "@example.com"]`, true},
		{`emails[type eq "home" and value co "@example.com"]`, false},
		{`emails[type eq "work"].value eq "bjensen@example.com"`, true},
		{`emails[type eq "home"].value eq "bjensen@example.com"`, false},
		{`emails[type eq "work"].primary eq true`, true},
		{`emails[type eq "home"].primary pr`, false},
		{`emails[not (type eq "work")]`, true},
		{`emails[type eq "work" or type eq "home"]`, true},
		{`emails[primary eq true and not (type eq "work")]`, false},
		{`ims[type eq "xmpp" and value co "@foo.com"]`, false},
		{`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`, true},
		{`addresses[type eq "work"].postalCode eq "91608"`, true},
		{`addresses[type eq "home"].postalCode pr`, false},
		{`groups[value eq "e9e30dba-f08f-4109-8486-d5c6a331660a"]`, true},
		{`groups[value eq "2819c223"]`, false},
		{`name[givenName eq "barbara"]`, true},
		{`schemas[value ew "enterprise:2.0:User"]`, true},
		{`x509Certificates[value pr]`, false},
		{`nosuch[value pr]`, false},
		{`locale[value eq null]`, false},

		// Schema URIs: an extension's object, or the top level.
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"`, true},
		{`URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:EmployeeNumber eq "701984"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName sw "john"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "26118915-6090-4610-87e4-49d8ca9f808d"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[displayName eq "John Smith"]`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr`, false},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen@example.com"`, true},
		{`urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq "Jensen"`, true},

		// Numbers by value.
		{`loginCount eq 42`, true},
		{`loginCount eq 42.0`, true},
		{`loginCount eq 4.2e1`, true},
		{`loginCount ne 42`, false},
		{`loginCount gt 41`, true},
		{`loginCount gt 42`, false},
		{`loginCount ge 42`, true},
		{`loginCount lt 42`, false},
		{`loginCount le 42`, true},
		{`loginCount lt 100`, true},
		{`score gt 2`, true},
		{`score eq 2.5`, true},
		{`score eq 25e-1`, true},
		{`score lt 2.5`, false},
		{`score ge -3`, true},

		// Booleans.
		{`active eq true`, true},
		{`active eq TRUE`, true},
		{`active ne false`, true},
		{`active eq false`, false},
		{`verified eq false`, true},

		// Across types, nothing matches.
		{`loginCount eq "42"`, false},
		{`externalId eq 701984`, false},
		{`active eq "true"`, false},
		{`active eq 1`, false},
		{`title eq true`, false},
		{`name.givenName gt 1`, false},
		{`emails eq true`, false},

		// Date-times compare as instants when both sides parse.
		{`meta.lastModified gt "2011-05-13T04:42:33Z"`, true},
		{`meta.lastModified gt "2011-05-13T04:42:34Z"`, false},
		{`meta.lastModified ge "2011-05-13T04:42:34Z"`, true},
		{`meta.lastModified le "2011-05-13T04:42:34Z"`, true},
		{`meta.lastModified eq "2011-05-13T06:42:34+02:00"`, true},
		{`meta.lastModified ne "2011-05-13T06:42:34+02:00"`, false},
		{`meta.lastModified lt "2011-05-13T04:42:34.001Z"`, true},
		{`meta.created lt "2011-05-13T04:42:34Z"`, true},
		{`meta.lastModified sw "2011-05-13"`, true},
		{`meta.lastModified gt "2011"`, true},

		// Logic, with its precedence.
		{`title pr and userType eq "Employee"`, true},
		{`title pr and userType eq "Intern"`, false},
		{`title pr or userType eq "Intern"`, true},
		{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`, true},
		{`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`, false},
		{`userType eq "Employee" and (emails.type eq "work")`, true},
		{`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`, true},
		{`title pr or active eq true and userType eq "Intern"`, true},
		{`(title pr or active eq true) and userType eq "Intern"`, false},
		{`not (title pr) or not (active eq true)`, false},
		{`not (not (title pr))`, true},
	}
	for _, useNumber := range []bool{true, false} {
		user := decode(t, userJSON, useNumber)
		for _, tt := range tests {
			name := tt.filter
			if !useNumber {
				name = "float64/" + name
			}
			t.Run(name, func(t *testing.T) {
				e := mustParse(t, tt.filter)
				if got := Match(e, user); got != tt.want {
					t.Fatalf("Match(%s) = %v, want %v", tt.filter, got, tt.want)
				}
			})
		}
	}
}

// Integers that fit an int64 compare exactly, beyond float64's 2^53.
func TestMatchLargeIntegers(t *testing.T) {
	v := decode(t, `{"n": 9007199254740993}`, true)
	for _, tt := range []struct {
		filter string
		want   bool
	}{
		{`n eq 9007199254740993`, true},
		{`n gt 9007199254740992`, true},
		{`n lt 9007199254740994`, true},
		{`n eq 9007199254740992`, false},
		// Against a decimal, both are float64s.
		{`n gt 9.0e15`, true},
		{`n lt 1e16`, true},
	} {
		if got := Match(mustParse(t, tt.filter), v); got != tt.want {
			t.Errorf("Match(%s) = %v, want %v", tt.filter, got, tt.want)
		}
	}
	// Go-built resources may hold ints.
	if !Match(mustParse(t, `n ge 3 and m eq -1`), map[string]any{"n": 3, "m": int64(-1)}) {
		t.Errorf("ints do not compare")
	}
}

// Keys that differ only in case resolve to the same one every time.
func TestMatchKeyCase(t *testing.T) {
	v := map[string]any{"userName": "a", "username": "b", "USERNAME": "c"}
	if !Match(mustParse(t, `userName eq "a"`), v) || !Match(mustParse(t, `username eq "b"`), v) {
		t.Fatalf("an exact key does not win")
	}
	for range 20 {
		if !Match(mustParse(t, `UserName eq "c"`), v) {
			t.Fatalf(`UserName resolved to another key than "USERNAME"`)
		}
	}
}

func TestMatchCaseExact(t *testing.T) {
	user := decode(t, userJSON, true)
	var asked []AttrPath
	exact := CaseExact(func(p AttrPath) bool {
		asked = append(asked, p)
		return p == AttrPath{Name: "username"} || p == AttrPath{Name: "emails", Sub: "type"} ||
			p == AttrPath{Schema: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user", Name: "manager", Sub: "displayname"}
	})
	tests := []struct {
		filter string
		want   bool
		asked  []AttrPath
	}{
		{`userName eq "bjensen@example.com"`, true, []AttrPath{{Name: "username"}}},
		{`UserName eq "BJensen@example.com"`, false, []AttrPath{{Name: "username"}}},
		{`userName sw "BJ"`, false, []AttrPath{{Name: "username"}}},
		{`userName gt "C"`, true, []AttrPath{{Name: "username"}}},
		{`title eq "TOUR GUIDE"`, true, []AttrPath{{Name: "title"}}},
		{`emails.type eq "WORK"`, false, []AttrPath{{Name: "emails", Sub: "type"}, {Name: "emails", Sub: "type"}}},
		{`emails[Type eq "WORK"]`, false, []AttrPath{{Name: "emails", Sub: "type"}, {Name: "emails", Sub: "type"}}},
		{`emails[type eq "work"].VALUE eq "BJENSEN@example.com"`, true, []AttrPath{{Name: "emails", Sub: "type"}, {Name: "emails", Sub: "value"}}},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName eq "john smith"`, false,
			[]AttrPath{{Schema: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user", Name: "manager", Sub: "displayname"}}},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			asked = nil
			if got := Match(mustParse(t, tt.filter), user, exact); got != tt.want {
				t.Errorf("Match(%s) = %v, want %v", tt.filter, got, tt.want)
			}
			if !reflect.DeepEqual(asked, tt.asked) {
				t.Errorf("CaseExact was asked about %v, want %v", asked, tt.asked)
			}
		})
	}
}

func TestMatchDateTime(t *testing.T) {
	user := decode(t, userJSON, true)
	lastModified := AttrPath{Name: "meta", Sub: "lastmodified"}
	onlyLastModified := DateTime(func(p AttrPath) bool { return p == lastModified })
	everything := DateTime(func(AttrPath) bool { return true })
	nothing := DateTime(func(AttrPath) bool { return false })
	tests := []struct {
		filter string
		opt    Option
		want   bool
	}{
		{`meta.lastModified lt "2011-05-13T04:42:34.001Z"`, onlyLastModified, true},
		{`meta.lastModified eq "2011-05-13T06:42:34+02:00"`, onlyLastModified, true},
		// Declared, a value that is not a date-time matches nothing.
		{`meta.lastModified gt "yesterday"`, onlyLastModified, false},
		{`meta.lastModified ne "yesterday"`, onlyLastModified, false},
		{`title ne "2011-05-13T04:42:34Z"`, everything, false},
		// Not declared, strings are strings, even when they parse.
		{`meta.lastModified lt "2011-05-13T04:42:34.001Z"`, nothing, false},
		{`meta.lastModified eq "2011-05-13T06:42:34+02:00"`, nothing, false},
		{`meta.created lt "2011-05-13T04:42:34.001Z"`, onlyLastModified, true},
		{`meta.lastModified gt "yesterday"`, nothing, false},
		{`meta.lastModified lt "yesterday"`, nothing, true},
		// co, sw and ew compare text.
		{`meta.lastModified sw "2011-05-13T04"`, onlyLastModified, true},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			if got := Match(mustParse(t, tt.filter), user, tt.opt); got != tt.want {
				t.Fatalf("Match(%s) = %v, want %v", tt.filter, got, tt.want)
			}
		})
	}
}

// What a PATCH with a value filter does: pick the elements it selects.
func TestMatchValue(t *testing.T) {
	user := decode(t, userJSON, true)
	selected := func(path string, opts ...Option) []int {
		t.Helper()
		p, err := ParsePath(path)
		if err != nil {
			t.Fatalf("ParsePath(%q): %v", path, err)
		}
		var got []int
		for i, v := range values(user[p.Name]) {
			if MatchValue(p.AttrPath, p.Filter, v, opts...) {
				got = append(got, i)
			}
		}
		return got
	}
	tests := []struct {
		path string
		opts []Option
		want []int
	}{
		{`emails[type eq "work"].value`, nil, []int{0}},
		{`emails[type eq "home"]`, nil, []int{1}},
		{`emails[type eq "HOME"]`, []Option{CaseExact(func(p AttrPath) bool { return p == AttrPath{Name: "emails", Sub: "type"} })}, nil},
		{`emails[type eq "HOME"]`, []Option{CaseExact(func(p AttrPath) bool { return p == AttrPath{Name: "type"} })}, []int{1}},
		{`emails[value co "jensen"]`, nil, []int{0, 1}},
		{`emails[primary pr]`, nil, []int{0}},
		{`emails[not (primary eq true)]`, nil, []int{1}},
		{`emails[type eq "other"]`, nil, nil},
		{`schemas[value sw "urn:ietf:params:scim:schemas:extension"]`, nil, []int{1}},
		{`groups[value eq "e9e30dba-f08f-4109-8486-d5c6a331660a"].display`, nil, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := selected(tt.path, tt.opts...); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("selected %v, want %v", got, tt.want)
			}
		})
	}
	if MatchValue(AttrPath{Name: "emails"}, mustParse(t, `value eq null`), nil) {
		t.Errorf("a null element matched")
	}
}

// Trees built by hand with operands Parse refuses never match.
func TestMatchBuiltTrees(t *testing.T) {
	user := decode(t, userJSON, true)
	for _, e := range []Expr{
		&Compare{Path: ap("loginCount"), Op: Co, Value: json.Number("4")},
		&Compare{Path: ap("loginCount"), Op: Eq, Value: 42},
		&Compare{Path: ap("active"), Op: Gt, Value: false},
		&Compare{Path: ap("title"), Op: Gt, Value: nil},
		&Compare{Path: ap("title"), Op: "xx", Value: "Tour Guide"},
		&Compare{Path: ap("loginCount"), Op: Eq, Value: json.Number("forty-two")},
		vp("emails", vp("x", pr("value"))),
	} {
		if Match(e, user) {
			t.Errorf("Match(%s) = true", e)
		}
	}
}
