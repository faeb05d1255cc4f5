package patch

import (
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"
)

// The tests print and round-trip values with encode; the service never
// needs it (the API encodes users with its own writer).

// encode returns the compact JSON text of a generic value: object members
// sorted by name, no HTML escaping, U+2028 and U+2029 escaped. A nil []any
// encodes as [] and a nil map as {}.
//
// encode accepts only the types Decode produces. It returns an error for any
// other type, for a json.Number that is not a valid JSON number, and for a
// string (value or member name) that is not valid UTF-8, rather than
// silently rewriting data as encoding/json does.
func encode(v any) ([]byte, error) {
	return appendValue(nil, v, 0)
}

// maxEncodeDepth stops encode on a tree that contains itself (only possible
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
