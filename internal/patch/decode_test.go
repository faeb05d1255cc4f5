package patch

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want any
	}{
		{"null", `null`, nil},
		{"true", `true`, true},
		{"false", ` false `, false},
		{"string", `"alice"`, "alice"},
		{"empty string", `""`, ""},
		{"integer", `42`, json.Number("42")},
		{"negative zero", `-0`, json.Number("-0")},
		{"fraction and exponent", `-12.5e+3`, json.Number("-12.5e+3")},
		{"capital exponent", `1E-7`, json.Number("1E-7")},
		{"big integer kept exactly", `123456789012345678901234567890`, json.Number("123456789012345678901234567890")},
		{"beyond float64 precision", `9007199254740993`, json.Number("9007199254740993")},
		{"empty object", `{}`, map[string]any{}},
		{"empty array", `[]`, []any{}},
		{"whitespace everywhere", " \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } }\n", map[string]any{
			"a": []any{json.Number("1"), json.Number("2")},
			"b": map[string]any{},
		}},
		{"simple escapes", `"\" \\ \/ \b \f \n \r \t"`, "\" \\ / \b \f \n \r \t"},
		{"unicode escape", `"caf\u00e9"`, "café"},
		{"upper-case hex", `"\u00C9"`, "É"},
		{"surrogate pair", `"\ud83d\ude00"`, "😀"},
		{"raw UTF-8", `"😀 é 中"`, "😀 é 中"},
		{"escaped NUL", `"a\u0000b"`, "a\x00b"},
		{"escape after plain text", `"abc\ndef"`, "abc\ndef"},
		{"escaped member name", `{"\u0065mail": 1}`, map[string]any{"email": json.Number("1")}},
		{"same name in sibling objects", `[{"a":1},{"a":2}]`, []any{
			map[string]any{"a": json.Number("1")},
			map[string]any{"a": json.Number("2")},
		}},
		{"same name at two depths", `{"a":{"a":1}}`, map[string]any{"a": map[string]any{"a": json.Number("1")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.in))
			if err != nil {
				t.Fatalf("Decode(%q): %v", tt.in, err)
			}
			assertIdentical(t, got, tt.want)
		})
	}
}

// assertIdentical is stricter than Equal: numbers must keep their exact
// text and containers their exact types, which is what Decode promises.
func assertIdentical(t *testing.T, got, want any) {
	t.Helper()
	gotText, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("marshal got: %v", err)
	}
	wantText, err := json.Marshal(want)
	if err != nil {
		t.Fatalf("marshal want: %v", err)
	}
	if string(gotText) != string(wantText) || !Equal(got, want) {
		t.Errorf("got %s (%T), want %s (%T)", gotText, got, wantText, want)
	}
}

func TestDecodeNumbersAreJSONNumbers(t *testing.T) {
	got, err := Decode([]byte(`{"id": 18446744073709551617, "ratio": 0.1}`))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	m := got.(map[string]any)
	for name, want := range map[string]json.Number{"id": "18446744073709551617", "ratio": "0.1"} {
		n, ok := m[name].(json.Number)
		if !ok {
			t.Fatalf("%s is a %T, want json.Number", name, m[name])
		}
		if n != want {
			t.Errorf("%s: got %s, want %s", name, n, want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		wantMsg    string // a substring of the message
		wantOffset int
	}{
		{"duplicate member", `{"email":"a","email":"b"}`, `duplicate member "email"`, 13},
		{"duplicate after unescaping", `{"email":1,"\u0065mail":2}`, `duplicate member "email"`, 11},
		{"nested duplicate", `{"a":{"b":1,"b":2}}`, `duplicate member "b"`, 12},
		{"duplicate inside array", `[1,{"x":1,"y":2,"x":3}]`, `duplicate member "x"`, 16},
		{"duplicate empty name", `{"":1,"":2}`, `duplicate member ""`, 6},
		{"invalid UTF-8 in string", "\"a\xffb\"", "invalid UTF-8 in string", 2},
		{"invalid UTF-8 in name", "{\"\xc3\":1}", "invalid UTF-8 in string", 2},
		{"invalid UTF-8 after escape", "\"\\n\xe2\x82\"", "invalid UTF-8 in string", 3},
		{"UTF-8 encoded surrogate", "\"\xed\xa0\x80\"", "invalid UTF-8 in string", 1},
		{"overlong UTF-8", "\"\xc0\xaf\"", "invalid UTF-8 in string", 1},
		{"invalid UTF-8 outside strings", "[1,\xff]", "invalid UTF-8 byte 0xff", 3},
		{"lone high surrogate", `"\ud800"`, `lone surrogate \ud800`, 1},
		{"lone low surrogate", `"\udc00"`, `lone surrogate \udc00`, 1},
		{"high surrogate then text", `"\ud83dx"`, `lone surrogate \ud83d`, 1},
		{"two high surrogates", `"\ud83d\ud83d"`, `lone surrogate \ud83d`, 1},
		{"bad hex in escape", `"\u12g4"`, `invalid \u escape`, 1},
		{"short unicode escape", `"\u12"`, `invalid \u escape`, 1},
		{"unknown escape", `"\x"`, "invalid escape sequence", 1},
		{"raw control character", "\"a\tb\"", "control character U+0009 in string", 2},
		{"unterminated string", `"abc`, "unterminated string", 0},
		{"unterminated after escape", `"ab\"`, "unterminated string", 0},
		{"trailing garbage", `{"a":1} x`, "unexpected character 'x' after top-level value", 8},
		{"two values", `1 2`, "after top-level value", 2},
		{"trailing comma in object", `{"a":1,}`, "expected a member name", 7},
		{"trailing comma in array", `[1,]`, "expected a value", 3},
		{"missing colon", `{"a" 1}`, "expected ':'", 5},
		{"missing comma", `[1 2]`, "expected ',' or ']'", 3},
		{"unquoted name", `{a:1}`, "expected a member name", 1},
		{"single quotes", `{'a':1}`, `character '\''`, 1},
		{"unclosed array", `[1,2`, "unexpected end of input", 4},
		{"unclosed object", `{"a":1`, "unexpected end of input", 6},
		{"leading zero", `01`, "leading zero", 0},
		{"negative leading zero", `-012`, "leading zero", 0},
		{"plus sign", `+1`, "unexpected character '+'", 0},
		{"lone minus", `-`, "invalid number", 1},
		{"bare fraction", `.5`, "unexpected character '.'", 0},
		{"trailing dot", `1.`, "invalid number", 2},
		{"empty exponent", `1e`, "invalid number", 2},
		{"signed empty exponent", `1e+`, "invalid number", 3},
		{"hex number", `0x10`, "unexpected character 'x'", 1},
		{"NaN", `NaN`, "unexpected character 'N'", 0},
		{"Infinity", `-Infinity`, "invalid number", 1},
		{"truncated literal", `tru`, "invalid literal", 0},
		{"misspelt literal", `nul1`, "invalid literal", 0},
		{"literal with suffix", `trueish`, "after top-level value", 4},
		{"byte order mark", "\xef\xbb\xbf{}", "unexpected character '\\ufeff'", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.in))
			if err == nil {
				t.Fatalf("Decode(%q) = %v, want an error", tt.in, got)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is a %T, want *SyntaxError", err, err)
			}
			if !strings.Contains(se.Msg, tt.wantMsg) {
				t.Errorf("got message %q, want it to contain %q", se.Msg, tt.wantMsg)
			}
			if se.Offset != tt.wantOffset {
				t.Errorf("got offset %d, want %d (%v)", se.Offset, tt.wantOffset, err)
			}
		})
	}
}

func TestSyntaxErrorText(t *testing.T) {
	_, err := Decode([]byte(`{"name": "Alice", "email": "a@x.io", "email": "b@x.io"}`))
	got := err.Error()
	want := `duplicate member "email" at offset 37`
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDecodeLongDuplicateNameIsCut(t *testing.T) {
	name := strings.Repeat("k", 10000)
	_, err := Decode([]byte(`{"` + name + `":1,"` + name + `":2}`))
	if err == nil {
		t.Fatal("got no error, want duplicate member")
	}
	if got := len(err.Error()); got > 200 {
		t.Errorf("got an error of %d bytes, want a short one", got)
	}
}

func TestDecodeEmpty(t *testing.T) {
	for _, in := range []string{"", " ", "\n\t\r "} {
		t.Run(strings.ReplaceAll(in, "\n", `\n`), func(t *testing.T) {
			got, err := Decode([]byte(in))
			if !errors.Is(err, ErrEmpty) {
				t.Errorf("Decode(%q) = %v, %v; want ErrEmpty", in, got, err)
			}
		})
	}
	t.Run("nil", func(t *testing.T) {
		if _, err := Decode(nil); !errors.Is(err, ErrEmpty) {
			t.Errorf("got %v, want ErrEmpty", err)
		}
	})
	t.Run("not a SyntaxError", func(t *testing.T) {
		_, err := Decode(nil)
		var se *SyntaxError
		if errors.As(err, &se) {
			t.Errorf("ErrEmpty must be distinct from syntax errors, got %v", se)
		}
	})
}

func TestDecodeDepth(t *testing.T) {
	nest := func(open, close string, n int) string {
		return strings.Repeat(open, n) + "1" + strings.Repeat(close, n)
	}
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{"arrays at the limit", nest("[", "]", MaxDepth), false},
		{"arrays past the limit", nest("[", "]", MaxDepth+1), true},
		{"objects at the limit", nest(`{"a":`, "}", MaxDepth), false},
		{"objects past the limit", nest(`{"a":`, "}", MaxDepth+1), true},
		{"mixed past the limit", nest(`[{"a":`, "}]", MaxDepth/2+1), true},
		{"siblings do not add up", "[" + strings.Repeat(nest("[", "]", MaxDepth-1)+",", 100) + "0]", false},
		{"depth counts only open containers", "[" + strings.Repeat("[],", 1000) + "[]]", false},
		{"very deep input fails fast", nest("[", "]", 1_000_000), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.in))
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("got error %v, want error: %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "nesting deeper than 64") {
				t.Errorf("got %v, want a nesting error", err)
			}
		})
	}
}

// Decode must agree with encoding/json on every input both accept.
func TestDecodeMatchesEncodingJSON(t *testing.T) {
	inputs := []string{
		userJSON,
		`{"a":[1,2.5,-3e10,{"b":null,"c":[true,false]}],"d":"\u00e9\ud83d\ude00\n"}`,
		`[[],{},"",0,-0.0,1E+2]`,
	}
	for i, in := range inputs {
		got, err := Decode([]byte(in))
		if err != nil {
			t.Fatalf("input %d: Decode: %v", i, err)
		}
		dec := json.NewDecoder(strings.NewReader(in))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("input %d: encoding/json: %v", i, err)
		}
		assertIdentical(t, got, want)
	}
}
