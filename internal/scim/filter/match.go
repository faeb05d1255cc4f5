package filter

import (
	"cmp"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Option adjusts how Match and MatchValue compare values.
type Option func(*matcher)

// CaseExact names the attributes whose strings compare case-sensitively,
// those with caseExact true in their schema (RFC 7643 §2.2). The function
// gets the Normalized path of the attribute compared; inside a value
// filter, that is the bracketed attribute with the sub-attribute as Sub
// ("emails[type eq …]" asks about {Name: "emails", Sub: "type"}). Without
// this option every string compares case-insensitively.
func CaseExact(f func(AttrPath) bool) Option {
	return func(m *matcher) { m.caseExact = f }
}

// DateTime names the attributes of type dateTime, which eq, ne, gt, ge, lt
// and le compare as instants; the function gets paths as CaseExact's does.
// A value of such an attribute, or a filter value compared with one, that
// is not an RFC 3339 date-time matches nothing. Without this option a
// comparison is chronological when both strings parse as RFC 3339
// date-times, and textual otherwise.
func DateTime(f func(AttrPath) bool) Option {
	return func(m *matcher) { m.dateTime = f }
}

type matcher struct {
	caseExact func(AttrPath) bool
	dateTime  func(AttrPath) bool
}

func newMatcher(opts []Option) *matcher {
	m := &matcher{}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Match reports whether resource, a JSON object as encoding/json decodes it
// (numbers as float64 or json.Number), matches e. The package documentation
// gives the semantics. A comparison Match cannot make (a string with a
// number, a value of a type JSON does not produce) is false, not an error.
func Match(e Expr, resource map[string]any, opts ...Option) bool {
	return newMatcher(opts).eval(e, resource, nil)
}

// MatchValue reports whether value, one value of the attribute attr (an
// element of a multi-valued attribute, or a complex attribute's object),
// matches filter, whose paths are relative to attr: what a PATCH path's
// value filter selects (Path.Filter, with Path.AttrPath as attr; attr.Sub
// is ignored). A value that is not an object is seen as {"value": value}.
func MatchValue(attr AttrPath, filter Expr, value any, opts ...Option) bool {
	parent := AttrPath{Schema: attr.Schema, Name: attr.Name}
	return newMatcher(opts).element(filter, value, &parent)
}

// eval matches e against obj; parent is nil at the top of the resource and
// the bracketed attribute inside a value filter, where obj is one of its
// values.
func (m *matcher) eval(e Expr, obj map[string]any, parent *AttrPath) bool {
	switch e := e.(type) {
	case *Or:
		return m.eval(e.Left, obj, parent) || m.eval(e.Right, obj, parent)
	case *And:
		return m.eval(e.Left, obj, parent) && m.eval(e.Right, obj, parent)
	case *Not:
		return !m.eval(e.X, obj, parent)
	case *Present:
		return present(resolve(obj, e.Path, parent))
	case *Compare:
		v := resolve(obj, e.Path, parent)
		if e.Value == nil {
			// RFC 7643 §2.5 makes null and absence one state; pr's
			// "empty" completes it.
			switch e.Op {
			case Eq:
				return !present(v)
			case Ne:
				return present(v)
			}
			return false
		}
		path := e.Path
		if parent != nil {
			path = AttrPath{Schema: parent.Schema, Name: parent.Name, Sub: e.Path.Name}
		}
		path = path.Normalized()
		for _, x := range values(v) {
			if m.compare(path, e.Op, x, e.Value) {
				return true
			}
		}
		return false
	case *ValuePath:
		if parent != nil {
			return false // the parser builds no nested value filter
		}
		attr := e.Attr
		for _, x := range values(resolve(obj, attr, nil)) {
			if m.element(e.Filter, x, &attr) {
				return true
			}
		}
		return false
	}
	return false
}

func (m *matcher) element(filter Expr, value any, parent *AttrPath) bool {
	obj, ok := value.(map[string]any)
	if !ok {
		if value == nil {
			return false
		}
		obj = map[string]any{"value": value}
	}
	return m.eval(filter, obj, parent)
}

// resolve returns the value path names in obj: nil when absent; for a
// sub-attribute of a multi-valued attribute, the sub-attribute's values
// gathered from every element.
func resolve(obj map[string]any, path AttrPath, parent *AttrPath) any {
	if parent == nil && path.Schema != "" {
		// An extension's attributes live in an object named by its URI;
		// the core schema's live at the top.
		if ext, ok := lookup(obj, path.Schema).(map[string]any); ok {
			obj = ext
		}
	}
	v := lookup(obj, path.Name)
	if path.Sub == "" {
		return v
	}
	switch v := v.(type) {
	case map[string]any:
		return lookup(v, path.Sub)
	case []any:
		var subs []any
		for _, x := range v {
			if o, ok := x.(map[string]any); ok {
				subs = append(subs, values(lookup(o, path.Sub))...)
			}
		}
		return subs
	}
	return nil
}

// lookup finds key in obj ignoring case, as attribute names are. The exact
// key wins; among keys differing only in case, the least does, so the
// answer does not depend on map order.
func lookup(obj map[string]any, key string) any {
	if v, ok := obj[key]; ok {
		return v
	}
	var best string
	var v any
	found := false
	for k, x := range obj {
		if strings.EqualFold(k, key) && (!found || k < best) {
			best, v, found = k, x, true
		}
	}
	return v
}

// values returns the values of a multi-valued attribute, or v alone.
func values(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	}
	return []any{v}
}

// present is pr (RFC 7644 §3.4.2.2): a value that is not null, not "", not
// an empty array, and not an object whose members are all absent in turn.
func present(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return v != ""
	case []any:
		for _, x := range v {
			if present(x) {
				return true
			}
		}
		return false
	case map[string]any:
		for _, x := range v {
			if present(x) {
				return true
			}
		}
		return false
	}
	return true
}

// compare applies op to one value of the attribute at path and the
// filter's value want (not nil). An object stands for its "value"
// sub-attribute, as in RFC 7644's `emails co "example.com"`.
func (m *matcher) compare(path AttrPath, op Op, have, want any) bool {
	if obj, ok := have.(map[string]any); ok {
		have = lookup(obj, "value")
	}
	switch want := want.(type) {
	case string:
		s, ok := have.(string)
		if !ok {
			return false
		}
		return m.compareStrings(path, op, s, want)
	case json.Number:
		a, ok := toNumber(have)
		if !ok {
			return false
		}
		b, ok := toNumber(want)
		if !ok {
			return false
		}
		return order(op, a.compare(b))
	case bool:
		b, ok := have.(bool)
		if !ok {
			return false
		}
		switch op {
		case Eq:
			return b == want
		case Ne:
			return b != want
		}
	}
	return false
}

func (m *matcher) compareStrings(path AttrPath, op Op, have, want string) bool {
	if op != Co && op != Sw && op != Ew {
		declared := m.dateTime != nil && m.dateTime(path)
		a, errA := time.Parse(time.RFC3339Nano, have)
		b, errB := time.Parse(time.RFC3339Nano, want)
		switch {
		case declared && (errA != nil || errB != nil):
			return false
		case declared || m.dateTime == nil && errA == nil && errB == nil:
			return order(op, a.Compare(b))
		}
	}
	if m.caseExact == nil || !m.caseExact(path) {
		have, want = strings.ToLower(have), strings.ToLower(want)
	}
	switch op {
	case Co:
		return strings.Contains(have, want)
	case Sw:
		return strings.HasPrefix(have, want)
	case Ew:
		return strings.HasSuffix(have, want)
	}
	return order(op, strings.Compare(have, want))
}

// order applies eq, ne, gt, ge, lt or le to the result of a three-way
// comparison.
func order(op Op, c int) bool {
	switch op {
	case Eq:
		return c == 0
	case Ne:
		return c != 0
	case Gt:
		return c > 0
	case Ge:
		return c >= 0
	case Lt:
		return c < 0
	case Le:
		return c <= 0
	}
	return false
}

// number is a JSON number: exact when it is an integer that fits an int64,
// a float64 otherwise.
type number struct {
	i     int64
	f     float64
	exact bool
}

func toNumber(v any) (number, bool) {
	switch v := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return number{i: i, exact: true}, true
		}
		f, err := strconv.ParseFloat(string(v), 64)
		return number{f: f}, err == nil
	case float64:
		return number{f: v}, true
	case int:
		return number{i: int64(v), exact: true}, true
	case int64:
		return number{i: v, exact: true}, true
	}
	return number{}, false
}

func (a number) compare(b number) int {
	if a.exact && b.exact {
		return cmp.Compare(a.i, b.i)
	}
	return cmp.Compare(a.float(), b.float())
}

func (a number) float() float64 {
	if a.exact {
		return float64(a.i)
	}
	return a.f
}
