package filter

import (
	"encoding/json"
	"strings"
)

// Expr is a parsed filter: one of *Or, *And, *Not, *Compare, *Present and
// *ValuePath. The set is closed, so a type switch over these six is
// exhaustive. String prints the canonical form, which Parse reads back to an
// equal tree.
type Expr interface {
	String() string
	node()
}

// Or matches when either side matches. A chain "a or b or c" is
// left-associative: Or{Or{a, b}, c}.
type Or struct{ Left, Right Expr }

// And matches when both sides match. It binds tighter than Or, and a chain
// is left-associative like Or's.
type And struct{ Left, Right Expr }

// Not matches when X does not. It is always written "not (X)".
type Not struct{ X Expr }

// Compare is "Path Op Value". Value is a string, a json.Number (the literal
// as written), a bool, or nil for null. Parse only builds the combinations
// that can ever match: co, sw and ew take strings, gt, ge, lt and le take
// strings and numbers, and null goes with eq and ne only.
type Compare struct {
	Path  AttrPath
	Op    Op
	Value any
}

// Present is "Path pr".
type Present struct{ Path AttrPath }

// ValuePath is "Attr[Filter]": it matches when one value of the attribute
// (one element of a multi-valued attribute, or the value of a single-valued
// complex one) matches Filter on its own. The paths inside Filter name
// sub-attributes of Attr and hold only AttrPath.Name; Filter holds no
// ValuePath. Attr has no Sub.
type ValuePath struct {
	Attr   AttrPath
	Filter Expr
}

func (*Or) node()        {}
func (*And) node()       {}
func (*Not) node()       {}
func (*Compare) node()   {}
func (*Present) node()   {}
func (*ValuePath) node() {}

// Op is a comparison operator, always lower case.
type Op string

// The comparison operators of RFC 7644 §3.4.2.2; "pr" is Present.
const (
	Eq Op = "eq"
	Ne Op = "ne"
	Co Op = "co"
	Sw Op = "sw"
	Ew Op = "ew"
	Gt Op = "gt"
	Ge Op = "ge"
	Lt Op = "lt"
	Le Op = "le"
)

// ops lists the operators in the order error messages name them.
var ops = []Op{Eq, Ne, Co, Sw, Ew, Gt, Ge, Lt, Le}

// ordering reports whether op compares by order (gt, ge, lt, le).
func (op Op) ordering() bool { return op == Gt || op == Ge || op == Lt || op == Le }

// AttrPath names an attribute: an optional schema URI, the attribute, and an
// optional sub-attribute, "urn:…:User:name.givenName" being
// {Schema: "urn:…:User", Name: "name", Sub: "givenName"}. The fields keep
// the case the client wrote; attribute names are case-insensitive, so
// compare Normalized forms.
type AttrPath struct {
	Schema string // "" when the path has no URI prefix
	Name   string
	Sub    string // "" when the path names no sub-attribute
}

// Normalized returns p with every part in lower case: the form to compare
// paths by and to look them up in tables. Schema URIs are folded too, since
// SCIM clients differ in how they write them.
func (p AttrPath) Normalized() AttrPath {
	return AttrPath{Schema: strings.ToLower(p.Schema), Name: strings.ToLower(p.Name), Sub: strings.ToLower(p.Sub)}
}

// String prints p as a filter would write it.
func (p AttrPath) String() string {
	var b strings.Builder
	p.write(&b)
	return b.String()
}

func (p AttrPath) write(b *strings.Builder) {
	if p.Schema != "" {
		b.WriteString(p.Schema)
		b.WriteByte(':')
	}
	b.WriteString(p.Name)
	if p.Sub != "" {
		b.WriteByte('.')
		b.WriteString(p.Sub)
	}
}

// Path is a PATCH operation's target (RFC 7644 §3.5.2): an attribute path,
// optionally narrowed by a value filter and then followed by a sub-attribute:
// "members", "name.givenName", `emails[type eq "work"].value`. When Filter
// is set, Sub is the sub-attribute after the brackets and Filter's paths are
// relative to Name, as in ValuePath.
type Path struct {
	AttrPath
	Filter Expr // nil when the path has no "[…]"
}

// String prints p in canonical form, which ParsePath reads back to an equal
// Path.
func (p Path) String() string {
	if p.Filter == nil {
		return p.AttrPath.String()
	}
	var b strings.Builder
	AttrPath{Schema: p.Schema, Name: p.Name}.write(&b)
	b.WriteByte('[')
	write(&b, p.Filter, precOr)
	b.WriteByte(']')
	if p.Sub != "" {
		b.WriteByte('.')
		b.WriteString(p.Sub)
	}
	return b.String()
}

// Binding strengths, for printing the fewest parentheses that keep the tree.
const (
	precOr = iota
	precAnd
	precAtom
)

func (e *Or) String() string        { return format(e) }
func (e *And) String() string       { return format(e) }
func (e *Not) String() string       { return format(e) }
func (e *Compare) String() string   { return format(e) }
func (e *Present) String() string   { return format(e) }
func (e *ValuePath) String() string { return format(e) }

func format(e Expr) string {
	var b strings.Builder
	write(&b, e, precOr)
	return b.String()
}

// write prints e in a context that binds with strength ctx. The right
// operand of a chain is printed one level tighter, so Or{a, Or{b, c}} keeps
// its parentheses and reads back as the same tree.
func write(b *strings.Builder, e Expr, ctx int) {
	switch e := e.(type) {
	case *Or:
		group(b, ctx > precOr, func() {
			write(b, e.Left, precOr)
			b.WriteString(" or ")
			write(b, e.Right, precAnd)
		})
	case *And:
		group(b, ctx > precAnd, func() {
			write(b, e.Left, precAnd)
			b.WriteString(" and ")
			write(b, e.Right, precAtom)
		})
	case *Not:
		b.WriteString("not (")
		write(b, e.X, precOr)
		b.WriteByte(')')
	case *Compare:
		e.Path.write(b)
		b.WriteByte(' ')
		b.WriteString(string(e.Op))
		b.WriteByte(' ')
		writeValue(b, e.Value)
	case *Present:
		e.Path.write(b)
		b.WriteString(" pr")
	case *ValuePath:
		e.Attr.write(b)
		b.WriteByte('[')
		write(b, e.Filter, precOr)
		b.WriteByte(']')
	}
}

func group(b *strings.Builder, paren bool, inner func()) {
	if paren {
		b.WriteByte('(')
	}
	inner()
	if paren {
		b.WriteByte(')')
	}
}

func writeValue(b *strings.Builder, v any) {
	switch v := v.(type) {
	case string:
		quote(b, v)
	case json.Number:
		b.WriteString(string(v))
	case bool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case nil:
		b.WriteString("null")
	}
}

// quote writes s as a JSON string, escaping only what JSON requires, so
// non-ASCII text stays readable.
func quote(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&0xf])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// Walk calls visit for e and then, if visit returns true, for each operand
// of e in the order written, depth first. The expressions inside a
// ValuePath are visited too; their paths are relative to the ValuePath's
// Attr.
func Walk(e Expr, visit func(Expr) bool) {
	if !visit(e) {
		return
	}
	switch e := e.(type) {
	case *Or:
		Walk(e.Left, visit)
		Walk(e.Right, visit)
	case *And:
		Walk(e.Left, visit)
		Walk(e.Right, visit)
	case *Not:
		Walk(e.X, visit)
	case *ValuePath:
		Walk(e.Filter, visit)
	}
}
