package patch

import (
	"encoding/json"
	"math/big"
	"strings"
)

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
