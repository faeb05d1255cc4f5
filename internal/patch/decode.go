// Package patch is the JSON machinery of Roster's update path (docs/design.md §4):
// a strict JSON decoder, an encoder and a deep equality for generic JSON
// values, RFC 7396 JSON Merge Patch and RFC 6902 JSON Patch.
//
// A generic JSON value is a tree of map[string]any (object), []any (array),
// string, json.Number (every number, so big integers survive exactly), bool
// and nil (null). Decode produces such trees; every other function takes and
// returns them. No function here mutates its inputs: Merge and Apply return
// new trees that share no containers with their arguments.
//
// The package is pure and uses only the standard library; mapping its errors
// to HTTP statuses is the caller's job: *SyntaxError and *OpError describe a
// request that cannot be understood (400), *ConflictError a well-formed patch
// that cannot be applied to the current document (409).
package patch

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects Decode accepts: a
// top-level array or object is at depth 1. The limit bounds the decoder's
// recursion, so a hostile body cannot exhaust the stack.
const MaxDepth = 64

// ErrEmpty is returned by Decode when its input holds nothing but JSON
// whitespace. Roster treats an empty body as a no-op update, so it is kept
// apart from syntax errors.
var ErrEmpty = errors.New("empty JSON input")

// A SyntaxError reports input that is not acceptable JSON: malformed, with
// trailing data, duplicate member names, invalid UTF-8, a lone surrogate
// escape, or nesting deeper than MaxDepth. Its text quotes at most a short
// excerpt of the input and is safe to show to a client.
type SyntaxError struct {
	Offset int    // byte offset in the input where the problem was found
	Msg    string // description of the problem, lowercase
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s at offset %d", e.Msg, e.Offset)
}

// Decode parses exactly one JSON value (RFC 8259) surrounded by optional
// whitespace and returns it as a generic tree: objects as map[string]any,
// arrays as []any (never nil), numbers as json.Number.
//
// Decode is stricter than encoding/json: it returns a *SyntaxError for
// malformed JSON, data after the value, duplicate member names in any object
// (compared after unescaping), invalid UTF-8 anywhere in the input, escaped
// lone surrogates such as "\ud800", and nesting deeper than MaxDepth. It
// returns ErrEmpty when the input is empty or only whitespace.
//
// Decode copies data once and slices its strings, member names and numbers
// out of that copy, which makes it about twice as fast as encoding/json; the
// flip side is that any string kept from the result keeps the whole copy
// alive. The caller may reuse data at once; use strings.Clone on a small
// piece of a large body that must outlive the request.
func Decode(data []byte) (any, error) {
	d := decoder{data: data, text: string(data)}
	d.skipSpace()
	if d.pos == len(d.data) {
		return nil, ErrEmpty
	}
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.pos < len(d.data) {
		return nil, d.errorf(d.pos, "unexpected %s after top-level value", d.describe(d.pos))
	}
	return v, nil
}

// decoder is a recursive-descent parser over a byte slice. Each method
// starts at d.pos and leaves d.pos just after what it consumed.
type decoder struct {
	data  []byte
	text  string // a copy of data: strings without escapes are slices of it
	pos   int
	depth int // open arrays and objects around d.pos

	// Stacks of the members and elements of the objects and arrays being
	// parsed, shared by all levels of nesting.
	members []member
	elems   []any
}

func (d *decoder) errorf(offset int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Offset: offset, Msg: fmt.Sprintf(format, args...)}
}

// describe names the byte at offset i for an error message, without
// echoing invalid UTF-8 back to the client.
func (d *decoder) describe(i int) string {
	if i >= len(d.data) {
		return "end of input"
	}
	c := d.data[i]
	switch {
	case c == '\'':
		return `character '\''`
	case c >= 0x20 && c < 0x7f:
		return fmt.Sprintf("character '%c'", c)
	case c < utf8.RuneSelf:
		return fmt.Sprintf("control character U+%04X", c)
	}
	r, size := utf8.DecodeRune(d.data[i:])
	if r == utf8.RuneError && size <= 1 {
		return fmt.Sprintf("invalid UTF-8 byte 0x%02x", c)
	}
	return fmt.Sprintf("character %q", r)
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// value parses any JSON value; leading whitespace is already skipped.
func (d *decoder) value() (any, error) {
	if d.pos >= len(d.data) {
		return nil, d.errorf(d.pos, "unexpected end of input, expected a value")
	}
	switch c := d.data[d.pos]; c {
	case '{':
		return d.object()
	case '[':
		return d.array()
	case '"':
		return d.string()
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	case 'n':
		return nil, d.literal("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return d.number()
		}
		return nil, d.errorf(d.pos, "unexpected %s, expected a value", d.describe(d.pos))
	}
}

func (d *decoder) literal(word string) error {
	end := d.pos + len(word)
	if end > len(d.data) || string(d.data[d.pos:end]) != word {
		return d.errorf(d.pos, "invalid literal, expected %s", word)
	}
	d.pos = end
	return nil
}

// enter and leave track nesting for objects and arrays.
func (d *decoder) enter() error {
	d.depth++
	if d.depth > MaxDepth {
		return d.errorf(d.pos, "nesting deeper than %d levels", MaxDepth)
	}
	return nil
}

func (d *decoder) leave() { d.depth-- }

func (d *decoder) object() (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.leave()
	d.pos++ // '{'
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return map[string]any{}, nil
	}
	// Members collect on the shared stack until '}', so the map can be
	// made at its final size instead of growing step by step.
	base := len(d.members)
	defer d.popMembers(base)
	for {
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, d.errorf(d.pos, "unexpected %s, expected a member name", d.describe(d.pos))
		}
		keyOffset := d.pos
		key, err := d.string()
		if err != nil {
			return nil, err
		}
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, d.errorf(d.pos, "unexpected %s, expected ':' after member name", d.describe(d.pos))
		}
		d.pos++
		d.skipSpace()
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		d.members = append(d.members, member{key: key, offset: keyOffset, value: v})
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, d.errorf(d.pos, "unexpected end of input, expected ',' or '}'")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
			d.skipSpace()
		case '}':
			d.pos++
			members := d.members[base:]
			m := make(map[string]any, len(members))
			for _, x := range members {
				if _, dup := m[x.key]; dup {
					return nil, d.errorf(x.offset, "duplicate member %s", quoteShort(x.key))
				}
				m[x.key] = x.value
			}
			return m, nil
		default:
			return nil, d.errorf(d.pos, "unexpected %s, expected ',' or '}'", d.describe(d.pos))
		}
	}
}

// member is an object member waiting on the decoder's stack.
type member struct {
	key    string
	offset int // of the key, for duplicate errors
	value  any
}

// popMembers and popElems drop what an object or array pushed, clearing
// the slots so the stack does not keep values alive.
func (d *decoder) popMembers(base int) {
	clear(d.members[base:])
	d.members = d.members[:base]
}

func (d *decoder) popElems(base int) {
	clear(d.elems[base:])
	d.elems = d.elems[:base]
}

func (d *decoder) array() (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.leave()
	d.pos++ // '['
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		// Never nil: an empty array must encode as [], not null.
		return []any{}, nil
	}
	base := len(d.elems)
	defer d.popElems(base)
	for {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		d.elems = append(d.elems, v)
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, d.errorf(d.pos, "unexpected end of input, expected ',' or ']'")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
			d.skipSpace()
		case ']':
			d.pos++
			return slices.Clone(d.elems[base:]), nil
		default:
			return nil, d.errorf(d.pos, "unexpected %s, expected ',' or ']'", d.describe(d.pos))
		}
	}
}

// number parses the RFC 8259 grammar
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? and keeps its text.
func (d *decoder) number() (any, error) {
	n := scanNumber(d.data[d.pos:])
	if n <= 0 {
		return nil, d.errorf(d.pos-n, "invalid number")
	}
	// A digit right after a complete number can only follow a leading zero
	// ("01"); say so rather than complaining about the digit.
	if end := d.pos + n; end < len(d.data) && isDigit(d.data[end]) {
		return nil, d.errorf(d.pos, "invalid number: leading zero")
	}
	s := json.Number(d.text[d.pos : d.pos+n])
	d.pos += n
	return s, nil
}

// scanNumber returns the length of the JSON number at the start of b, or
// -k <= 0 when b does not start with one, k being the offset of the first
// byte that breaks the grammar.
func scanNumber(b []byte) int {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return -i
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return -i
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return -i
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// string parses a JSON string starting at its opening quote. The common case
// (no escapes) costs one allocation; strings with escapes are rebuilt in a
// buffer.
func (d *decoder) string() (string, error) {
	start := d.pos + 1
	i := start
	for i < len(d.data) {
		c := d.data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			return d.text[start:i], nil
		case c == '\\':
			return d.escapedString(start, i)
		case c < 0x20:
			return "", d.errorf(i, "control character U+%04X in string", c)
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(d.data[i:])
			if r == utf8.RuneError && size == 1 {
				return "", d.errorf(i, "invalid UTF-8 in string")
			}
			i += size
		}
	}
	return "", d.errorf(d.pos, "unterminated string")
}

// escapedString continues string from offset i, the first backslash; the
// bytes from start to i are plain.
func (d *decoder) escapedString(start, i int) (string, error) {
	buf := make([]byte, 0, i-start+16)
	buf = append(buf, d.data[start:i]...)
	for i < len(d.data) {
		c := d.data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			return string(buf), nil
		case c == '\\':
			if i+1 >= len(d.data) {
				return "", d.errorf(i, "unterminated string")
			}
			switch e := d.data[i+1]; e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, n, err := d.unicodeEscape(i)
				if err != nil {
					return "", err
				}
				buf = utf8.AppendRune(buf, r)
				i += n
				continue
			default:
				return "", d.errorf(i, "invalid escape sequence in string")
			}
			i += 2
		case c < 0x20:
			return "", d.errorf(i, "control character U+%04X in string", c)
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			i++
		default:
			r, size := utf8.DecodeRune(d.data[i:])
			if r == utf8.RuneError && size == 1 {
				return "", d.errorf(i, "invalid UTF-8 in string")
			}
			buf = append(buf, d.data[i:i+size]...)
			i += size
		}
	}
	return "", d.errorf(d.pos, "unterminated string")
}

// unicodeEscape decodes the \uXXXX escape at offset i, combining a surrogate
// pair into one rune. It returns the rune and the number of bytes consumed.
// A lone surrogate has no UTF-8 encoding, so it is an error rather than
// being silently replaced by U+FFFD as encoding/json does.
func (d *decoder) unicodeEscape(i int) (rune, int, error) {
	r, ok := hex4(d.data[i+2:])
	if !ok {
		return 0, 0, d.errorf(i, `invalid \u escape in string`)
	}
	switch {
	case r >= 0xDC00 && r <= 0xDFFF:
		return 0, 0, d.errorf(i, `lone surrogate \u%04x in string`, r)
	case r >= 0xD800 && r <= 0xDBFF:
		j := i + 6
		if j+1 >= len(d.data) || d.data[j] != '\\' || d.data[j+1] != 'u' {
			return 0, 0, d.errorf(i, `lone surrogate \u%04x in string`, r)
		}
		lo, ok := hex4(d.data[j+2:])
		if !ok {
			return 0, 0, d.errorf(j, `invalid \u escape in string`)
		}
		if lo < 0xDC00 || lo > 0xDFFF {
			return 0, 0, d.errorf(i, `lone surrogate \u%04x in string`, r)
		}
		return 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00), 12, nil
	}
	return r, 6, nil
}

// hex4 parses four hexadecimal digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// quoteShort quotes s for an error message, cutting it to a readable length
// so a megabyte-long key does not become a megabyte-long error.
func quoteShort(s string) string {
	const max = 64
	if utf8.RuneCountInString(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	n := 0
	for i := range s {
		if n == max {
			return fmt.Sprintf("%q…", s[:i])
		}
		n++
	}
	return fmt.Sprintf("%q", s)
}
