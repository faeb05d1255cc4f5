package patch

import (
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"unicode/utf8"
)

// Encode returns the compact JSON text of a generic value: object members
// sorted by name, no HTML escaping, U+2028 and U+2029 escaped. A nil []any
// encodes as [] and a nil map as {}.
//
// Encode accepts only the types Decode produces. It returns an error for any
// other type, for a json.Number that is not a valid JSON number, and for a
// string (value or member name) that is not valid UTF-8, rather than
// silently rewriting data as encoding/json does.
func Encode(v any) ([]byte, error) {
	return appendValue(nil, v, 0)
}

// maxEncodeDepth stops Encode on a tree that contains itself (only possible
// for a hand-built tree); it is far above MaxDepth.
const maxEncodeDepth = 10000

func appendValue(buf []byte, v any, depth int) ([]byte, error) {
	if depth > maxEncodeDepth {
		return nil, fmt.Errorf("encode: nesting deeper than %d levels (cyclic value?)", maxEncodeDepth)
	}
	switch v := v.(type) {
	case nil:
		return append(buf, "null"...), nil
	case bool:
		if v {
			return append(buf, "true"...), nil
		}
		return append(buf, "false"...), nil
	case string:
		return appendString(buf, v)
	case json.Number:
		if v == "" || scanNumber([]byte(v)) != len(v) {
			return nil, fmt.Errorf("encode: invalid number %s", quoteShort(string(v)))
		}
		return append(buf, v...), nil
	case []any:
		buf = append(buf, '[')
		for i, x := range v {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendValue(buf, x, depth+1); err != nil {
				return nil, err
			}
		}
		return append(buf, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		buf = append(buf, '{')
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendString(buf, k); err != nil {
				return nil, err
			}
			buf = append(buf, ':')
			if buf, err = appendValue(buf, v[k], depth+1); err != nil {
				return nil, err
			}
		}
		return append(buf, '}'), nil
	default:
		return nil, fmt.Errorf("encode: unsupported type %T", v)
	}
}

func appendString(buf []byte, s string) ([]byte, error) {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0 // s[start:i] is pending, copied as is
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return nil, fmt.Errorf("encode: invalid UTF-8 in string")
		}
		// Line and paragraph separators are valid JSON but break JavaScript
		// that embeds it; escape them like encoding/json does.
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"'), nil
}

// Equal reports whether a and b are the same JSON value. Objects are equal
// when they have the same member names with equal values, in any order;
// arrays when they have equal elements in the same order. Numbers compare
// by exact decimal value, so 1, 1.0, 10e-1 and 1e0 are equal, while
// 9007199254740993 and 9007199254740992 are not (they are the same float64).
// A number never equals a string. Values of types Decode never produces are
// never equal to anything.
func Equal(a, b any) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	case string:
		b, ok := b.(string)
		return ok && a == b
	case json.Number:
		b, ok := b.(json.Number)
		return ok && numbersEqual(a, b)
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !Equal(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !Equal(av, bv) {
				return false
			}
		}
		return true
	default:
		return false
	}
}

// numbersEqual compares two JSON numbers exactly. Each is normalized to a
// sign, its significant digits and a decimal exponent, and those are
// compared; the cost is linear in the length of the text whatever the
// exponent. The math/big parsers do not fit a client-controlled comparison:
// big.Rat expands the exponent, so its time grows with it (1e1000000 is
// already slow), and it refuses larger exponents, and big.Float rounds 1e999999999 and 1e999999998 both to +Inf.
func numbersEqual(a, b json.Number) bool {
	if a == b {
		return true
	}
	da, okA := parseDecimal(string(a))
	db, okB := parseDecimal(string(b))
	if !okA || !okB {
		return false // invalid text is equal only to the identical text
	}
	if da.digits == "" || db.digits == "" {
		return da.digits == db.digits // zero, whatever its sign and exponent
	}
	if da.neg != db.neg || da.digits != db.digits {
		return false
	}
	if da.bigExp == nil && db.bigExp == nil {
		return da.exp == db.exp
	}
	return da.exponent().Cmp(db.exponent()) == 0
}

// decimal is a normalized JSON number: (-1 if neg) × 0.digits × 10^exp,
// where digits has no leading or trailing zeros ("" for zero).
type decimal struct {
	neg    bool
	digits string
	exp    int64
	bigExp *big.Int // set instead of exp when the exponent overflows int64
}

func (d decimal) exponent() *big.Int {
	if d.bigExp != nil {
		return d.bigExp
	}
	return big.NewInt(d.exp)
}

// maxSmallExp bounds the exponent digits handled with int64 arithmetic:
// with at most 17 digits, adding the length of any realistic input cannot
// overflow.
const maxSmallExp = 17

func parseDecimal(s string) (decimal, bool) {
	if s == "" || scanNumber([]byte(s)) != len(s) {
		return decimal{}, false
	}
	var d decimal
	if s[0] == '-' {
		d.neg = true
		s = s[1:]
	}
	mant, expText, _ := strings.Cut(strings.ToLower(s), "e")
	intPart, fracPart, _ := strings.Cut(mant, ".")

	// 0.digits × 10^shift == intPart.fracPart
	digits := intPart + fracPart
	shift := int64(len(intPart))
	trimmed := strings.TrimLeft(digits, "0")
	shift -= int64(len(digits) - len(trimmed))
	d.digits = strings.TrimRight(trimmed, "0")
	if d.digits == "" {
		return d, true
	}

	expNeg := false
	if expText != "" && (expText[0] == '+' || expText[0] == '-') {
		expNeg = expText[0] == '-'
		expText = expText[1:]
	}
	expText = strings.TrimLeft(expText, "0")
	if len(expText) <= maxSmallExp {
		var e int64
		for i := 0; i < len(expText); i++ {
			e = e*10 + int64(expText[i]-'0')
		}
		if expNeg {
			e = -e
		}
		d.exp = e + shift
		return d, true
	}
	e, _ := new(big.Int).SetString(expText, 10)
	if expNeg {
		e.Neg(e)
	}
	d.bigExp = e.Add(e, big.NewInt(shift))
	return d, true
}

// clone returns a deep copy of a generic value: every map and slice is new,
// scalars (immutable) are shared. A nil []any becomes an empty one.
func clone(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = clone(x)
		}
		return m
	case []any:
		a := make([]any, len(v))
		for i, x := range v {
			a[i] = clone(x)
		}
		return a
	default:
		return v
	}
}
