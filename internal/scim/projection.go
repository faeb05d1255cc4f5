package scim

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/roster-dev/roster/internal/scim/filter"
)

// projection is a request's attributes or excludedAttributes (RFC 7644
// §3.4.2.5): which attributes of a resource to return. id and schemas are
// always returned.
type projection struct {
	include, exclude []filter.AttrPath
}

// projectionOf reads the attributes and excludedAttributes parameters.
func projectionOf(q url.Values) (projection, error) {
	var p projection
	var err error
	if p.include, err = attrList(q.Get("attributes")); err != nil {
		return p, err
	}
	if p.exclude, err = attrList(q.Get("excludedAttributes")); err != nil {
		return p, err
	}
	return p, nil
}

// attrList reads a comma-separated list of attribute paths, each with the
// core schema's URI dropped and the enterprise extension's URI kept as
// Schema.
func attrList(s string) ([]filter.AttrPath, error) {
	var out []filter.AttrPath
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.EqualFold(part, schemaEnterprise) {
			out = append(out, filter.AttrPath{Name: schemaEnterprise})
			continue
		}
		e, err := filter.Parse(part + " pr")
		pr, ok := e.(*filter.Present)
		if err != nil || !ok {
			return nil, errorf(http.StatusBadRequest, typeInvalidValue, "Not an attribute path: "+part+".")
		}
		path := pr.Path
		switch {
		case strings.EqualFold(path.Schema, schemaUser):
			path.Schema = ""
		case strings.EqualFold(path.Schema, schemaEnterprise):
			path.Schema = schemaEnterprise
		case path.Schema != "":
			return nil, errorf(http.StatusBadRequest, typeInvalidValue, "Unknown schema in "+part+".")
		}
		out = append(out, path)
	}
	return out, nil
}

// container returns the object a path's attribute lives in: the resource,
// or its enterprise extension object; nil when there is none.
func container(res map[string]any, p filter.AttrPath) map[string]any {
	if p.Schema == "" {
		return res
	}
	ext, _ := res[schemaEnterprise].(map[string]any)
	return ext
}

// key returns the member of o named name case-insensitively, or "".
func key(o map[string]any, name string) string {
	if _, ok := o[name]; ok {
		return name
	}
	for k := range o {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return ""
}

func (p projection) apply(res map[string]any) map[string]any {
	if len(p.include) > 0 {
		out := map[string]any{"schemas": res["schemas"], "id": res["id"]}
		for _, a := range p.include {
			from := container(res, a)
			to := out
			if a.Schema != "" {
				if from == nil {
					continue
				}
				ext, _ := out[schemaEnterprise].(map[string]any)
				if ext == nil {
					ext = map[string]any{}
					out[schemaEnterprise] = ext
				}
				to = ext
			}
			k := key(from, a.Name)
			if k == "" {
				continue
			}
			if a.Sub == "" {
				to[k] = from[k]
				continue
			}
			sub := subOf(from[k], a.Sub)
			if sub == nil {
				continue
			}
			if prev, ok := to[k].(map[string]any); ok {
				for sk, sv := range sub.(map[string]any) {
					prev[sk] = sv
				}
			} else {
				to[k] = sub
			}
		}
		res = out
	}
	for _, a := range p.exclude {
		from := container(res, a)
		k := key(from, a.Name)
		if k == "" || (a.Schema == "" && (k == "id" || k == "schemas")) {
			continue
		}
		if a.Sub == "" {
			delete(from, k)
			continue
		}
		if o, ok := from[k].(map[string]any); ok {
			delete(o, key(o, a.Sub))
		}
	}
	return res
}

// subOf returns v (a complex attribute, or a multi-valued one) with only
// the sub-attribute sub; nil when it has none.
func subOf(v any, sub string) any {
	switch v := v.(type) {
	case map[string]any:
		if k := key(v, sub); k != "" {
			return map[string]any{k: v[k]}
		}
	case []any:
		var out []any
		for _, e := range v {
			if o, ok := e.(map[string]any); ok {
				if k := key(o, sub); k != "" {
					out = append(out, map[string]any{k: o[k]})
				}
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}
