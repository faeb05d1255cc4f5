package patch

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

func TestEqual(t *testing.T) {
	n := func(s string) json.Number { return json.Number(s) }
	tests := []struct {
		name string
		a, b any
		want bool
	}{
		{"nulls", nil, nil, true},
		{"null and false", nil, false, false},
		{"bools", true, true, true},
		{"different bools", true, false, false},
		{"strings", "a", "a", true},
		{"different strings", "a", "A", false},
		{"number and string", n("10"), "10", false},
		{"integer and decimal", n("1"), n("1.0"), true},
		{"integer and exponent", n("1"), n("1e0"), true},
		{"exponent forms", n("100"), n("1E+2"), true},
		{"fraction and exponent", n("0.001"), n("1e-3"), true},
		{"shifted mantissa", n("12.5e1"), n("1250e-1"), true},
		{"leading zeros in exponent", n("1e007"), n("10000000"), true},
		{"trailing zeros", n("1.50000"), n("1.5"), true},
		{"zeros", n("0"), n("-0.0e5"), true},
		{"zero and tiny", n("0"), n("1e-400"), false},
		{"different numbers", n("1"), n("2"), false},
		{"same digits, different magnitude", n("15"), n("1.5"), false},
		{"same digits, different exponent", n("1e2"), n("1e3"), false},
		{"fraction and integer", n("0.1"), n("1"), false},
		{"sign", n("-1"), n("1"), false},
		{"big integers equal", n("123456789012345678901234567890"), n("1.2345678901234567890123456789e29"), true},
		{"big integers differ in last digit", n("123456789012345678901234567890"), n("123456789012345678901234567891"), false},
		{"same float64, different values", n("9007199254740993"), n("9007199254740992"), false},
		{"huge exponents equal", n("1e999999999999999999999"), n("10e999999999999999999998"), true},
		{"huge exponents differ", n("1e999999999999999999999"), n("1e999999999999999999998"), false},
		{"huge and small exponent", n("1e99999999999999999999"), n("1e9"), false},
		{"huge negative exponent", n("1e-99999999999999999999"), n("0.1e-99999999999999999998"), true},
		{"invalid numbers compare as text", n("abc"), n("abc"), true},
		{"invalid and valid number", n("1x"), n("1"), false},
		{"empty arrays", []any{}, []any{}, true},
		{"nil and empty array", []any(nil), []any{}, true},
		{"array order matters", []any{n("1"), n("2")}, []any{n("2"), n("1")}, false},
		{"array lengths", []any{n("1")}, []any{n("1"), n("1")}, false},
		{"array numbers by value", []any{n("1")}, []any{n("1.0")}, true},
		{"objects any order", map[string]any{"a": n("1"), "b": "x"}, map[string]any{"b": "x", "a": n("1.0")}, true},
		{"object missing member", map[string]any{"a": nil}, map[string]any{"b": nil}, false},
		{"object null member vs absent", map[string]any{"a": nil}, map[string]any{}, false},
		{"nested", map[string]any{"a": []any{map[string]any{"b": n("2")}}}, map[string]any{"a": []any{map[string]any{"b": n("2e0")}}}, true},
		{"object and array", map[string]any{}, []any{}, false},
		{"unsupported types", 1.0, 1.0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Equal(tt.a, tt.b); got != tt.want {
				t.Errorf("Equal(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := Equal(tt.b, tt.a); got != tt.want {
				t.Errorf("Equal(%v, %v) = %v, want %v (reversed)", tt.b, tt.a, got, tt.want)
			}
		})
	}
}

// A test op is a client-controlled comparison: a number with a large
// exponent must not make it expensive (big.Rat's time grows with the exponent).
// TestEqualHugeExponentIsCheap: comparing numbers with huge exponents does
// not expand them (a big.Rat of 1e1000000 holds a million digits).
func TestEqualHugeExponentIsCheap(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 100 {
		if !Equal(json.Number("1e1000000"), json.Number("10e999999")) {
			t.Fatal("got unequal, want equal")
		}
	}
	runtime.ReadMemStats(&after)
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 1<<20 {
		t.Errorf("100 comparisons allocated %d bytes, want under 1 MiB", grown)
	}
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"null", nil, `null`},
		{"bools", []any{true, false}, `[true,false]`},
		{"number text kept", json.Number("1.50e+3"), `1.50e+3`},
		{"big integer", json.Number("123456789012345678901234567890"), `123456789012345678901234567890`},
		{"sorted members", map[string]any{"b": "2", "a": "1", "": "0"}, `{"":"0","a":"1","b":"2"}`},
		{"nil slice", []any(nil), `[]`},
		{"nil map", map[string]any(nil), `{}`},
		{"escapes", "\"\\\n\r\t\x00\x1f", `"\"\\\n\r\t\u0000\u001f"`},
		{"no HTML escaping", "<a href='x'>&</a>", `"<a href='x'>&</a>"`},
		{"line separators", "a\u2028b\u2029c", `"a\u2028b\u2029c"`},
		{"non-ASCII kept", "café 😀", `"café 😀"`},
		{"escaped member name", map[string]any{"a\"b": nil}, `{"a\"b":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encode(tt.in)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	tests := []struct {
		name    string
		in      any
		wantMsg string
	}{
		{"float64", map[string]any{"a": 1.5}, "unsupported type float64"},
		{"int", []any{1}, "unsupported type int"},
		{"invalid number", json.Number("1.2.3"), "invalid number"},
		{"empty number", json.Number(""), "invalid number"},
		{"invalid UTF-8 value", "a\xffb", "invalid UTF-8"},
		{"invalid UTF-8 name", map[string]any{"\xff": nil}, "invalid UTF-8"},
		{"cycle", cyclic, "nesting deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encode(tt.in)
			if err == nil {
				t.Fatalf("got %s, want an error", got)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("got %v, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	v, err := Decode([]byte(userJSON))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	text, err := encode(v)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	got, err := Decode(text)
	if err != nil {
		t.Fatalf("Decode(encode): %v", err)
	}
	assertIdentical(t, got, v)
	if !json.Valid(text) {
		t.Errorf("encode produced invalid JSON: %s", text)
	}
}
