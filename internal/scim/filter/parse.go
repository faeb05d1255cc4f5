package filter

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds on what Parse and ParsePath accept, so a hostile input costs
// little: the parser recurses only into parentheses and brackets, and
// MaxDepth caps that; MaxTerms caps the size of the tree, and with it the
// depth of a left-leaning chain of "or" that a caller walks recursively.
const (
	MaxLength = 8192 // bytes of input
	MaxDepth  = 32   // nested "(" and "[" in one filter
	MaxTerms  = 256  // attribute expressions (compare, pr, value filter) in one filter
)

// Kind says which SCIM error an *Error maps to (RFC 7644 §3.12, Table 9).
type Kind int

const (
	// InvalidFilter: the filter, or the value filter inside a PATCH path's
	// brackets, does not parse.
	InvalidFilter Kind = iota + 1
	// InvalidPath: a PATCH path does not parse outside its brackets.
	InvalidPath
)

// String returns the SCIM scimType of k: "invalidFilter" or "invalidPath".
func (k Kind) String() string {
	if k == InvalidPath {
		return "invalidPath"
	}
	return "invalidFilter"
}

// Error is the one error Parse and ParsePath return. Msg is written for the
// client that sent the input and may be shown to it as is.
type Error struct {
	Kind   Kind
	Offset int // byte offset in the input where the problem is
	Msg    string

	limit bool // a bound (MaxLength, MaxDepth, MaxTerms) was hit
}

func (e *Error) Error() string {
	what := "filter"
	if e.Kind == InvalidPath {
		what = "path"
	}
	return fmt.Sprintf("invalid %s at byte %d: %s", what, e.Offset, e.Msg)
}

// Parse parses a filter (RFC 7644 §3.4.2.2). The package documentation
// describes the grammar accepted. It returns an *Error of Kind
// InvalidFilter when s does not parse or exceeds a bound.
func Parse(s string) (Expr, error) {
	p := &parser{s: s, kind: InvalidFilter, what: "filter"}
	if len(s) > MaxLength {
		return nil, p.limitf(MaxLength, "the filter is longer than %d bytes", MaxLength)
	}
	p.space()
	if p.eof() {
		return nil, p.errorf(p.pos, "the filter is empty")
	}
	e, err := p.or(false)
	if err != nil {
		return nil, err
	}
	p.space()
	if !p.eof() {
		switch p.peek() {
		case ')':
			return nil, p.errorf(p.pos, `")" closes no "("`)
		case ']':
			return nil, p.errorf(p.pos, `"]" closes no "["`)
		}
		return nil, p.errorf(p.pos, `expected "and", "or" or the end of the filter, found %s`, p.found())
	}
	return e, nil
}

// ParsePath parses a PATCH operation's path (RFC 7644 §3.5.2): an attribute
// path, or an attribute with a value filter and an optional sub-attribute
// after it. The path takes no whitespace outside its brackets. It returns
// an *Error of Kind InvalidFilter when the value filter (the brackets and
// what is between them) does not parse, and of Kind InvalidPath for any
// other problem.
func ParsePath(s string) (Path, error) {
	p := &parser{s: s, kind: InvalidPath, what: "path"}
	if len(s) > MaxLength {
		return Path{}, p.limitf(MaxLength, "the path is longer than %d bytes", MaxLength)
	}
	if s == "" {
		return Path{}, p.errorf(0, "the path is empty")
	}
	if !nameStart(s[0]) {
		return Path{}, p.errorf(0, "a path starts with an attribute name, found %s", p.found())
	}
	ap, err := p.attrPath(false)
	if err != nil {
		return Path{}, err
	}
	path := Path{AttrPath: ap}
	if p.eof() {
		return path, nil
	}
	if p.peek() != '[' {
		return Path{}, p.errorf(p.pos, `expected "[" or the end of the path, found %s`, p.found())
	}
	if ap.Sub != "" {
		return Path{}, p.errorf(p.pos, `a value filter follows an attribute, not the sub-attribute %q`, ap.String())
	}
	p.kind, p.what = InvalidFilter, "value filter"
	if path.Filter, err = p.brackets(); err != nil {
		return Path{}, err
	}
	p.kind, p.what = InvalidPath, "path"
	if p.eof() {
		return path, nil
	}
	if p.peek() != '.' {
		return Path{}, p.errorf(p.pos, `expected "." and a sub-attribute or the end of the path, found %s`, p.found())
	}
	p.pos++
	if path.Sub, err = p.name(); err != nil {
		return Path{}, err
	}
	if !p.eof() {
		return Path{}, p.errorf(p.pos, "expected the end of the path, found %s", p.found())
	}
	return path, nil
}

type parser struct {
	s     string
	pos   int
	depth int // open "(" and "["
	terms int
	kind  Kind   // the Kind of the errors raised now
	what  string // what is being parsed, for messages: "filter", "path"
}

func (p *parser) errorf(off int, format string, args ...any) *Error {
	return &Error{Kind: p.kind, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) limitf(off int, format string, args ...any) *Error {
	e := p.errorf(off, format, args...)
	e.limit = true
	return e
}

func (p *parser) eof() bool { return p.pos >= len(p.s) }

func (p *parser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.pos]
}

// space skips whitespace and reports whether there was any.
func (p *parser) space() bool {
	start := p.pos
	for !p.eof() && isSpace(p.s[p.pos]) {
		p.pos++
	}
	return p.pos > start
}

// found describes what is at the current position, for error messages.
func (p *parser) found() string {
	if p.eof() {
		return "the end of the " + p.what
	}
	if end := p.pos + wordLen(p.s[p.pos:]); end > p.pos {
		return strconv.Quote(p.s[p.pos:end])
	}
	r, _ := utf8.DecodeRuneInString(p.s[p.pos:])
	return strconv.QuoteRune(r)
}

// or parses a chain of "and" chains joined by "or"; in says whether it is
// inside a value filter's brackets.
func (p *parser) or(in bool) (Expr, error) {
	left, err := p.and(in)
	if err != nil {
		return nil, err
	}
	for {
		ok, err := p.logical("or")
		if err != nil || !ok {
			return left, err
		}
		right, err := p.and(in)
		if err != nil {
			return nil, err
		}
		left = &Or{Left: left, Right: right}
	}
}

func (p *parser) and(in bool) (Expr, error) {
	left, err := p.unary(in)
	if err != nil {
		return nil, err
	}
	for {
		ok, err := p.logical("and")
		if err != nil || !ok {
			return left, err
		}
		right, err := p.unary(in)
		if err != nil {
			return nil, err
		}
		left = &And{Left: left, Right: right}
	}
}

// logical consumes the operator kw ("and" or "or") and the whitespace
// around it, if they come next; otherwise it consumes nothing. Whitespace
// is required on both sides, except next to a parenthesis or bracket.
func (p *parser) logical(kw string) (bool, error) {
	start := p.pos
	before := p.space() || (start > 0 && (p.s[start-1] == ')' || p.s[start-1] == ']'))
	at := p.pos
	if !p.keyword(kw) {
		p.pos = start
		return false, nil
	}
	if !before {
		return false, p.errorf(at, "put a space before %q", kw)
	}
	if !p.space() && p.peek() != '(' {
		if p.eof() {
			return false, p.errorf(p.pos, "expected a filter after %q", kw)
		}
		return false, p.errorf(p.pos, "put a space after %q", kw)
	}
	return true, nil
}

// keyword consumes kw, in any case, if it comes next as a whole word.
func (p *parser) keyword(kw string) bool {
	end := p.pos + len(kw)
	if end > len(p.s) || !strings.EqualFold(p.s[p.pos:end], kw) {
		return false
	}
	if end < len(p.s) && isNameChar(p.s[end]) {
		return false
	}
	p.pos = end
	return true
}

func (p *parser) unary(in bool) (Expr, error) {
	switch c := p.peek(); {
	case p.eof():
		return nil, p.errorf(p.pos, "expected a filter, found the end of the %s", p.what)
	case c == '(':
		return p.group(in)
	case nameStart(c):
		start := p.pos
		if p.keyword("not") {
			p.space()
			if p.peek() == '(' {
				x, err := p.group(in)
				if err != nil {
					return nil, err
				}
				return &Not{X: x}, nil
			}
			// An attribute may be called "not".
			p.pos = start
		}
		return p.attrExp(in)
	default:
		return nil, p.errorf(p.pos, `expected an attribute name, "not" or "(", found %s`, p.found())
	}
}

// group parses "(" filter ")".
func (p *parser) group(in bool) (Expr, error) {
	open := p.pos
	if err := p.enter(open); err != nil {
		return nil, err
	}
	p.pos++
	p.space()
	e, err := p.or(in)
	if err != nil {
		return nil, err
	}
	if err := p.close(')', open, in); err != nil {
		return nil, err
	}
	return e, nil
}

// brackets parses "[" valFilter "]".
func (p *parser) brackets() (Expr, error) {
	open := p.pos
	if err := p.enter(open); err != nil {
		return nil, err
	}
	p.pos++
	p.space()
	e, err := p.or(true)
	if err != nil {
		return nil, err
	}
	if err := p.close(']', open, true); err != nil {
		return nil, err
	}
	return e, nil
}

func (p *parser) enter(open int) error {
	p.depth++
	if p.depth > MaxDepth {
		return p.limitf(open, "the filter nests more than %d parentheses and brackets", MaxDepth)
	}
	return nil
}

// close consumes the closer of the "(" or "[" at open, after optional
// whitespace.
func (p *parser) close(closer byte, open int, in bool) error {
	p.space()
	switch c := p.peek(); {
	case c == closer:
		p.pos++
		p.depth--
		return nil
	case p.eof():
		return p.errorf(p.pos, "missing %q to close the %q at byte %d", closer, p.s[open], open)
	case c == ')' || c == ']':
		return p.errorf(p.pos, "expected %q to close the %q at byte %d, found %q", closer, p.s[open], open, c)
	}
	return p.errorf(p.pos, `expected "and", "or" or %q, found %s`, closer, p.found())
}

// attrExp parses "attrPath pr", "attrPath op value", "attr[valFilter]"
// and its extension "attr[valFilter].sub op value".
func (p *parser) attrExp(in bool) (Expr, error) {
	start := p.pos
	path, err := p.attrPath(in)
	if err != nil {
		return nil, err
	}
	if err := p.count(start); err != nil {
		return nil, err
	}
	if p.peek() == '[' {
		if in {
			return nil, p.errorf(p.pos, "value filters do not nest")
		}
		if path.Sub != "" {
			return nil, p.errorf(p.pos, `a value filter follows an attribute, not the sub-attribute %q`, path.String())
		}
		f, err := p.brackets()
		if err != nil {
			return nil, err
		}
		if p.peek() != '.' {
			if err := p.noOperatorAfter(path); err != nil {
				return nil, err
			}
			return &ValuePath{Attr: path, Filter: f}, nil
		}
		// attr[f].sub op value reads as attr[f and sub op value]: the same
		// element must pass both, which is what the clients that send it
		// (Microsoft Entra ID) mean.
		p.pos++
		subStart := p.pos
		sub, err := p.name()
		if err != nil {
			return nil, err
		}
		if err := p.count(subStart); err != nil {
			return nil, err
		}
		cmp, err := p.operation(AttrPath{Name: sub}, "the sub-attribute")
		if err != nil {
			return nil, err
		}
		return &ValuePath{Attr: path, Filter: &And{Left: f, Right: cmp}}, nil
	}
	if strings.EqualFold(path.String(), "not") {
		// Either an attribute called "not" or a "not" without its
		// parentheses; the message serves the likelier one.
		save := p.pos
		p.space()
		if _, ok := p.operator(); !ok {
			return nil, p.errorf(start, `"not" takes a filter in parentheses: not (…)`)
		}
		p.pos = save
	}
	return p.operation(path, strconv.Quote(path.String()))
}

// noOperatorAfter refuses "attr[…] eq value", which RFC 7644 does not
// define, with a message that says what to write instead.
func (p *parser) noOperatorAfter(path AttrPath) error {
	save := p.pos
	defer func() { p.pos = save }()
	if !p.space() {
		return nil
	}
	at := p.pos
	if _, ok := p.operator(); ok {
		return p.errorf(at, "%s[…] is a whole filter and takes no operator; compare a sub-attribute inside the brackets, %s[… and value eq …]", path.Name, path.Name)
	}
	return nil
}

func (p *parser) count(at int) error {
	p.terms++
	if p.terms > MaxTerms {
		return p.limitf(at, "the filter has more than %d attribute expressions", MaxTerms)
	}
	return nil
}

// operation parses " pr" or " op value" after path; subject names the
// path in messages.
func (p *parser) operation(path AttrPath, subject string) (Expr, error) {
	if !p.space() {
		return nil, p.errorf(p.pos, "expected a space and an operator after %s, found %s", subject, p.found())
	}
	at := p.pos
	op, ok := p.operator()
	if !ok {
		if p.eof() {
			return nil, p.errorf(at, "expected an operator after %s", subject)
		}
		return nil, p.errorf(at, "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after %s, found %s", subject, p.found())
	}
	if op == "pr" {
		if err := p.endOfTerm(); err != nil {
			return nil, err
		}
		return &Present{Path: path}, nil
	}
	if !p.space() {
		return nil, p.errorf(p.pos, "expected a space and a value after %q, found %s", op, p.found())
	}
	at = p.pos
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if msg := checkOperand(op, v); msg != "" {
		return nil, p.errorf(at, "%s", msg)
	}
	if err := p.endOfTerm(); err != nil {
		return nil, err
	}
	return &Compare{Path: path, Op: op, Value: v}, nil
}

// operator consumes a comparison operator or "pr", in any case.
func (p *parser) operator() (Op, bool) {
	for _, op := range ops {
		if p.keyword(string(op)) {
			return op, true
		}
	}
	if p.keyword("pr") {
		return "pr", true
	}
	return "", false
}

// checkOperand refuses the operator and value pairs that can never match,
// and the ordering of booleans, which RFC 7644 §3.4.2.2 makes an error.
func checkOperand(op Op, v any) string {
	switch {
	case (op == Co || op == Sw || op == Ew) && !isString(v):
		return fmt.Sprintf("%q compares strings; give it a string in double quotes", op)
	case op.ordering() && v == nil:
		return fmt.Sprintf("%q cannot compare with null; use eq or ne", op)
	case op.ordering() && isBool(v):
		return fmt.Sprintf("%q cannot order booleans; use eq or ne", op)
	}
	return ""
}

func isString(v any) bool { _, ok := v.(string); return ok }
func isBool(v any) bool   { _, ok := v.(bool); return ok }

// endOfTerm checks that a term ends where it should: before whitespace, a
// closer, or the end.
func (p *parser) endOfTerm() error {
	if p.eof() || isSpace(p.peek()) || p.peek() == ')' || p.peek() == ']' {
		return nil
	}
	return p.errorf(p.pos, `expected a space, ")", "]" or the end of the %s, found %s`, p.what, p.found())
}

// attrPath parses [schema ":"] name ["." sub]. Inside a value filter's
// brackets (in), only a bare name is allowed: it names a sub-attribute of
// the bracketed attribute.
func (p *parser) attrPath(in bool) (AttrPath, error) {
	start := p.pos
	end := start
	for end < len(p.s) && isPathChar(p.s[end]) {
		end++
	}
	tok := p.s[start:end]
	var path AttrPath
	rest, restAt := tok, start
	if i := strings.LastIndexByte(tok, ':'); i >= 0 {
		path.Schema = tok[:i]
		if !isURI(path.Schema) {
			return AttrPath{}, p.errorf(start, `%q is not a schema URI; a prefixed path reads "urn:…:attribute"`, path.Schema)
		}
		rest, restAt = tok[i+1:], start+i+1
		if rest == "" {
			return AttrPath{}, p.errorf(restAt, "expected an attribute name after the schema URI")
		}
	}
	name, sub, dotted := strings.Cut(rest, ".")
	if off := badName(name); off >= 0 {
		return AttrPath{}, p.errorf(restAt+off, "%s", nameRule)
	}
	path.Name = name
	if dotted {
		subAt := restAt + len(name) + 1
		if i := strings.IndexByte(sub, '.'); i >= 0 {
			return AttrPath{}, p.errorf(subAt+i, "a path names at most one sub-attribute")
		}
		if sub == "" {
			return AttrPath{}, p.errorf(subAt, "expected a sub-attribute name after %q", ".")
		}
		if off := badName(sub); off >= 0 {
			return AttrPath{}, p.errorf(subAt+off, "%s", nameRule)
		}
		path.Sub = sub
	}
	if in && (path.Schema != "" || path.Sub != "") {
		return AttrPath{}, p.errorf(start, `inside "[…]" name a sub-attribute of the bracketed attribute on its own, such as "value", not %q`, tok)
	}
	p.pos = end
	return path, nil
}

// name parses a bare attribute name, as after "].".
func (p *parser) name() (string, error) {
	start := p.pos
	end := start
	for end < len(p.s) && isNameChar(p.s[end]) {
		end++
	}
	name := p.s[start:end]
	if off := badName(name); off >= 0 {
		return "", p.errorf(start+off, "%s", nameRule)
	}
	p.pos = end
	return name, nil
}

const nameRule = `an attribute name starts with a letter and holds letters, digits, "-" and "_"`

// badName returns the offset in s of the first byte that breaks the ATTRNAME
// rule of RFC 7643 §2.1, or -1 when s is a name. "$ref", the one name SCIM
// defines outside that rule, is a name too.
func badName(s string) int {
	if strings.EqualFold(s, "$ref") {
		return -1
	}
	if s == "" || !isAlpha(s[0]) {
		return 0
	}
	for i := 1; i < len(s); i++ {
		if !isAlpha(s[i]) && !isDigit(s[i]) && s[i] != '-' && s[i] != '_' {
			return i
		}
	}
	return -1
}

// isURI checks the shape of a schema URI prefix: a scheme, a colon, and a
// rest that does not end in a colon.
func isURI(s string) bool {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || rest == "" || scheme == "" || !isAlpha(scheme[0]) || strings.HasSuffix(rest, ":") {
		return false
	}
	for i := 1; i < len(scheme); i++ {
		if c := scheme[i]; !isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// value parses a compValue: a JSON string or number, true, false or null
// (the keywords in any case).
func (p *parser) value() (any, error) {
	switch c := p.peek(); {
	case c == '"':
		return p.str()
	case c == '-' || isDigit(c):
		return p.number()
	case c == '\'':
		return nil, p.errorf(p.pos, "strings take double quotes")
	case isAlpha(c):
		for _, kw := range []struct {
			word string
			v    any
		}{{"true", true}, {"false", false}, {"null", nil}} {
			if p.keyword(kw.word) {
				return kw.v, nil
			}
		}
		word := p.s[p.pos : p.pos+wordLen(p.s[p.pos:])]
		return nil, p.errorf(p.pos, "expected a value (a JSON string, number, true, false or null), found %s; put strings in double quotes: %q", word, word)
	case p.eof():
		return nil, p.errorf(p.pos, "expected a value, found the end of the %s", p.what)
	}
	return nil, p.errorf(p.pos, "expected a value (a JSON string, number, true, false or null), found %s", p.found())
}

// str parses a JSON string (RFC 8259 §7). It refuses invalid UTF-8 and
// unpaired surrogates rather than replace them, so what matches is what
// the client wrote.
func (p *parser) str() (string, error) {
	open := p.pos
	var b strings.Builder
	i := open + 1
	for {
		if i >= len(p.s) {
			return "", p.errorf(open, `unterminated string: close it with "`)
		}
		c := p.s[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return b.String(), nil
		case c == '\\':
			n, err := p.escape(i, &b)
			if err != nil {
				return "", err
			}
			i += n
		case c < 0x20:
			return "", p.errorf(i, "control characters in a string must be escaped, as \\u%04x", c)
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(p.s[i:])
			if r == utf8.RuneError && size == 1 {
				return "", p.errorf(i, "the string is not valid UTF-8")
			}
			b.WriteString(p.s[i : i+size])
			i += size
		}
	}
}

// escape decodes the escape sequence at i into b and returns its length.
func (p *parser) escape(i int, b *strings.Builder) (int, error) {
	if i+1 >= len(p.s) {
		return 0, p.errorf(i, `unterminated string: close it with "`)
	}
	switch c := p.s[i+1]; c {
	case '"', '\\', '/':
		b.WriteByte(c)
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'u':
		r, ok := hex4(p.s, i+2)
		if !ok {
			return 0, p.errorf(i, `"\u" takes four hex digits`)
		}
		if r < 0xd800 || r > 0xdfff {
			b.WriteRune(r)
			return 6, nil
		}
		if r <= 0xdbff && strings.HasPrefix(p.s[i+6:], `\u`) {
			if lo, ok := hex4(p.s, i+8); ok && lo >= 0xdc00 && lo <= 0xdfff {
				b.WriteRune(0x10000 + (r-0xd800)<<10 + (lo - 0xdc00))
				return 12, nil
			}
		}
		return 0, p.errorf(i, "unpaired UTF-16 surrogate %q", p.s[i:i+6])
	default:
		r, _ := utf8.DecodeRuneInString(p.s[i+1:])
		return 0, p.errorf(i, `invalid escape "\%c"; strings allow \" \\ \/ \b \f \n \r \t and \uXXXX`, r)
	}
	return 2, nil
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		var d byte
		switch {
		case isDigit(c):
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

// number parses a JSON number (RFC 8259 §6) and keeps its text. A number
// too large for a float64 is refused, so comparisons never meet infinity.
func (p *parser) number() (json.Number, error) {
	s, start := p.s, p.pos
	i := start
	if s[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		return i - j
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
		if i < len(s) && isDigit(s[i]) {
			return "", p.errorf(start, "numbers take no leading zeros")
		}
	case digits() == 0:
		return "", p.errorf(i, "expected a digit")
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return "", p.errorf(i, "expected a digit after the decimal point")
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return "", p.errorf(i, "expected a digit in the exponent")
		}
	}
	lit := s[start:i]
	if _, err := strconv.ParseFloat(lit, 64); err != nil {
		return "", p.errorf(start, "the number %s is out of range", lit)
	}
	p.pos = i
	return json.Number(lit), nil
}

func isSpace(c byte) bool    { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isAlpha(c byte) bool    { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool    { return '0' <= c && c <= '9' }
func nameStart(c byte) bool  { return isAlpha(c) || c == '$' }
func isNameChar(c byte) bool { return isAlpha(c) || isDigit(c) || c == '-' || c == '_' || c == '$' }

// isPathChar reports whether c may appear in an attribute path token: a
// name's characters, the "." before a sub-attribute, and those of a schema
// URI prefix.
func isPathChar(c byte) bool {
	return isNameChar(c) || c == '.' || c == ':' || c == '/' || c == '~' || c == '%' || c == '+'
}

// wordLen returns the length of the run of path characters at the start of
// s, for quoting a word in messages.
func wordLen(s string) int {
	n := 0
	for n < len(s) && (isPathChar(s[n]) || s[n] == '@') {
		n++
	}
	return n
}
