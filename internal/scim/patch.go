package scim

import (
	"net/http"
	"reflect"
	"strings"

	"github.com/roster-dev/roster/internal/scim/filter"
)

// op is one PATCH operation (RFC 7644 §3.5.2).
type op struct {
	name    string // add, replace or remove
	path    string // "" when the operation has none
	value   any
	hasPath bool
}

// maxOps bounds the operations of one PATCH.
const maxOps = 1000

// parseOps reads a PatchOp body. Member names and operation names are
// case-insensitive: Microsoft Entra ID sends "Replace".
func parseOps(obj map[string]any) ([]op, error) {
	list, ok := lookup(obj, "Operations").([]any)
	if !ok || len(list) == 0 {
		return nil, errorf(http.StatusBadRequest, typeInvalidSyntax, "A PATCH body must have a non-empty Operations array.")
	}
	if len(list) > maxOps {
		return nil, errorf(http.StatusRequestEntityTooLarge, typeTooMany, "A PATCH may have at most 1000 operations.")
	}
	ops := make([]op, 0, len(list))
	for _, item := range list {
		o, ok := item.(map[string]any)
		if !ok {
			return nil, errorf(http.StatusBadRequest, typeInvalidSyntax, "Each operation must be an object.")
		}
		name, _ := lookup(o, "op").(string)
		name = strings.ToLower(name)
		if name != "add" && name != "replace" && name != "remove" {
			return nil, errorf(http.StatusBadRequest, typeInvalidSyntax, `An operation's op must be "add", "replace" or "remove".`)
		}
		p := op{name: name, value: lookup(o, "value")}
		if v := lookup(o, "path"); v != nil {
			s, ok := v.(string)
			if !ok {
				return nil, errorf(http.StatusBadRequest, typeInvalidPath, "An operation's path must be a string.")
			}
			p.path, p.hasPath = s, s != ""
		}
		if !p.hasPath && name == "remove" {
			return nil, errorf(http.StatusBadRequest, typeNoTarget, "A remove operation needs a path.")
		}
		if name != "remove" && p.value == nil {
			return nil, errorf(http.StatusBadRequest, typeInvalidValue, "An "+name+" operation needs a value.")
		}
		ops = append(ops, p)
	}
	return ops, nil
}

// readOnly are the attributes no operation may change.
var readOnly = map[string]bool{"id": true, "meta": true, "groups": true}

// applyOps applies ops to a copy of the resource res, all or none.
func applyOps(res map[string]any, ops []op) (map[string]any, error) {
	doc := clone(res).(map[string]any)
	for _, o := range ops {
		var err error
		if o.hasPath {
			err = applyPath(doc, o.name, o.path, o.value)
		} else {
			err = applyValueMap(doc, o.name, o.value)
		}
		if err != nil {
			return nil, err
		}
	}
	return doc, nil
}

// applyValueMap applies a path-less add or replace: each member of value
// is an attribute path (dotted, or qualified by a schema URI) and its value.
func applyValueMap(doc map[string]any, name string, value any) error {
	m, ok := value.(map[string]any)
	if !ok {
		return errorf(http.StatusBadRequest, typeInvalidValue, "Without a path, an operation's value must be an object of attributes.")
	}
	for k, v := range m {
		if strings.EqualFold(k, "schemas") {
			continue
		}
		if strings.EqualFold(k, schemaEnterprise) {
			ext, ok := v.(map[string]any)
			if !ok {
				return errorf(http.StatusBadRequest, typeInvalidValue, "The enterprise extension must be an object.")
			}
			for ek, ev := range ext {
				if err := applyPath(doc, name, schemaEnterprise+":"+ek, ev); err != nil {
					return err
				}
			}
			continue
		}
		if err := applyPath(doc, name, k, v); err != nil {
			return err
		}
	}
	return nil
}

// applyPath applies one operation at path.
func applyPath(doc map[string]any, name, path string, value any) error {
	p, err := filter.ParsePath(path)
	if err != nil {
		return err
	}
	// A bare extension URI parses as its last segment under the rest.
	if p.Filter == nil && p.Sub == "" && strings.EqualFold(p.Schema+":"+p.Name, schemaEnterprise) {
		if name == "remove" {
			delete(doc, key(doc, schemaEnterprise))
			return nil
		}
		ext, ok := value.(map[string]any)
		if !ok {
			return errorf(http.StatusBadRequest, typeInvalidValue, "The enterprise extension must be an object.")
		}
		for ek, ev := range ext {
			if err := applyPath(doc, name, schemaEnterprise+":"+ek, ev); err != nil {
				return err
			}
		}
		return nil
	}
	c := doc
	switch {
	case p.Schema == "" || strings.EqualFold(p.Schema, schemaUser):
		if readOnly[strings.ToLower(p.Name)] {
			return errorf(http.StatusBadRequest, typeMutability, p.Name+" is read-only.")
		}
	case strings.EqualFold(p.Schema, schemaEnterprise):
		k := key(doc, schemaEnterprise)
		if k == "" {
			if name == "remove" {
				return nil
			}
			k = schemaEnterprise
			doc[k] = map[string]any{}
		}
		ext, ok := doc[k].(map[string]any)
		if !ok {
			return errorf(http.StatusBadRequest, typeInvalidValue, "The enterprise extension must be an object.")
		}
		c = ext
	default:
		return errorf(http.StatusBadRequest, typeInvalidPath, "Unknown schema "+p.Schema+" in path "+path+".")
	}
	k := key(c, p.Name)
	if k == "" {
		k = p.Name
	}
	if p.Filter != nil {
		return applyFiltered(c, k, p, name, value)
	}
	if p.Sub != "" {
		return applySub(c, k, p.Sub, name, value)
	}
	cur, exists := c[k]
	switch {
	case name == "remove" && value != nil:
		// Remove the given values of a multi-valued attribute.
		list, _ := cur.([]any)
		for _, rv := range asList(value) {
			list = removeValue(list, rv)
		}
		c[k] = list
	case name == "remove":
		delete(c, k)
	case !exists || cur == nil:
		c[k] = value
	default:
		switch cv := cur.(type) {
		case []any:
			if name == "add" {
				for _, nv := range asList(value) {
					if !containsValue(cv, nv) {
						cv = append(cv, nv)
					}
				}
				c[k] = cv
			} else {
				c[k] = asList(value)
			}
		case map[string]any:
			if nv, ok := value.(map[string]any); ok {
				for sk, sv := range nv {
					cv[subKey(cv, sk)] = sv
				}
			} else {
				c[k] = value
			}
		default:
			c[k] = value
		}
	}
	return nil
}

// applySub applies an operation to attr.sub: of a complex attribute, or of
// every value of a multi-valued one.
func applySub(c map[string]any, k, sub, name string, value any) error {
	switch cur := c[k].(type) {
	case nil:
		if name != "remove" {
			c[k] = map[string]any{sub: value}
		}
	case map[string]any:
		if name == "remove" {
			delete(cur, subKey(cur, sub))
		} else {
			cur[subKey(cur, sub)] = value
		}
	case []any:
		for _, e := range cur {
			if o, ok := e.(map[string]any); ok {
				if name == "remove" {
					delete(o, subKey(o, sub))
				} else {
					o[subKey(o, sub)] = value
				}
			}
		}
	default:
		return errorf(http.StatusBadRequest, typeInvalidPath, k+" has no sub-attribute "+sub+".")
	}
	return nil
}

// applyFiltered applies an operation to the values of a multi-valued
// attribute its filter selects. An add or replace that selects none adds a
// value made of the filter's equalities (`emails[type eq "work"].value`
// creates a work email): Entra ID sends such a replace for a user that
// has no work email yet.
func applyFiltered(c map[string]any, k string, p filter.Path, name string, value any) error {
	list, _ := c[k].([]any)
	if c[k] != nil && list == nil {
		return errorf(http.StatusBadRequest, typeInvalidPath, k+" is not multi-valued.")
	}
	attr := filter.AttrPath{Name: k}
	var hit []int
	for i, e := range list {
		if filter.MatchValue(attr, p.Filter, e, matchOptions...) {
			hit = append(hit, i)
		}
	}
	if name == "remove" {
		if p.Sub != "" {
			for _, i := range hit {
				if o, ok := list[i].(map[string]any); ok {
					delete(o, subKey(o, p.Sub))
				}
			}
			return nil
		}
		keep := list[:0:0]
		for i, e := range list {
			if !containsInt(hit, i) {
				keep = append(keep, e)
			}
		}
		c[k] = keep
		return nil
	}
	if len(hit) == 0 {
		elem, ok := equalities(p.Filter)
		if !ok {
			return errorf(http.StatusBadRequest, typeNoTarget, "No value of "+k+" matches the path's filter.")
		}
		list = append(list, elem)
		hit = []int{len(list) - 1}
		c[k] = list
	}
	for _, i := range hit {
		o, ok := list[i].(map[string]any)
		if !ok {
			o = map[string]any{"value": list[i]}
			list[i] = o
		}
		switch {
		case p.Sub != "":
			o[subKey(o, p.Sub)] = value
		default:
			nv, ok := value.(map[string]any)
			if !ok {
				return errorf(http.StatusBadRequest, typeInvalidValue, "The value of "+k+" must be an object.")
			}
			if name == "replace" {
				for ok := range o {
					delete(o, ok)
				}
			}
			for sk, sv := range nv {
				o[subKey(o, sk)] = sv
			}
		}
	}
	return nil
}

// equalities returns the object a filter of "eq" comparisons joined by
// "and" describes; false for any other filter.
func equalities(e filter.Expr) (map[string]any, bool) {
	switch e := e.(type) {
	case *filter.Compare:
		if e.Op != filter.Eq || e.Path.Sub != "" {
			return nil, false
		}
		return map[string]any{e.Path.Name: e.Value}, true
	case *filter.And:
		l, ok := equalities(e.Left)
		if !ok {
			return nil, false
		}
		r, ok := equalities(e.Right)
		if !ok {
			return nil, false
		}
		for k, v := range r {
			l[k] = v
		}
		return l, true
	}
	return nil, false
}

// subKey is the member of o named sub case-insensitively, or sub.
func subKey(o map[string]any, sub string) string {
	if k := key(o, sub); k != "" {
		return k
	}
	return sub
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// sameValue reports whether two values of a multi-valued attribute are the
// same: by their "value" sub-attribute when both have one.
func sameValue(a, b any) bool {
	av, bv := a, b
	if o, ok := a.(map[string]any); ok {
		av = lookup(o, "value")
	}
	if o, ok := b.(map[string]any); ok {
		bv = lookup(o, "value")
	}
	if av != nil && bv != nil {
		return reflect.DeepEqual(av, bv)
	}
	return reflect.DeepEqual(a, b)
}

func containsValue(list []any, v any) bool {
	for _, e := range list {
		if sameValue(e, v) {
			return true
		}
	}
	return false
}

func removeValue(list []any, v any) []any {
	out := list[:0:0]
	for _, e := range list {
		if !sameValue(e, v) {
			out = append(out, e)
		}
	}
	return out
}

func containsInt(s []int, n int) bool {
	for _, x := range s {
		if x == n {
			return true
		}
	}
	return false
}

// clone deep-copies a decoded JSON value.
func clone(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = clone(e)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, e := range v {
			l[i] = clone(e)
		}
		return l
	}
	return v
}
