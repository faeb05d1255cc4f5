package scim

import (
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/scim/filter"
)

// attr is a filterable attribute of a User: the Roster field a comparison
// is made on, how the filter's value is prepared, and its SCIM type.
type attr struct {
	field directory.UserField
	kind  attrKind
	// fold: the field is compared in lower case (caseExact false); key:
	// the column already holds the lower case, so only the value is
	// folded.
	fold, key bool
}

type attrKind int

const (
	kindString attrKind = iota
	kindDateTime
	kindActive   // active: a boolean over the user's status
	kindWorkType // emails.type: Roster's one email is of type "work"
	kindPrimary  // emails.primary: Roster's one email is primary
)

// filterable are the attributes a filter may name, by Normalized path. Any
// other is 400 invalidFilter: an attribute the store cannot compare is not
// searched by a full scan.
var filterable = map[filter.AttrPath]attr{
	{Name: "id"}:                        {field: directory.FieldID},
	{Name: "externalid"}:                {field: directory.FieldExternalID},
	{Name: "username"}:                  {field: directory.FieldSCIMUserKey, key: true},
	{Name: "displayname"}:               {field: directory.FieldName, fold: true},
	{Name: "name", Sub: "givenname"}:    {field: directory.FieldGivenName, fold: true},
	{Name: "name", Sub: "familyname"}:   {field: directory.FieldFamilyName, fold: true},
	{Name: "emails"}:                    {field: directory.FieldEmailKey, key: true},
	{Name: "emails", Sub: "value"}:      {field: directory.FieldEmailKey, key: true},
	{Name: "emails", Sub: "type"}:       {field: directory.FieldEmailKey, kind: kindWorkType},
	{Name: "emails", Sub: "primary"}:    {field: directory.FieldEmailKey, kind: kindPrimary},
	{Name: "active"}:                    {field: directory.FieldStatus, kind: kindActive},
	{Name: "meta", Sub: "created"}:      {field: directory.FieldCreatedAt, kind: kindDateTime},
	{Name: "meta", Sub: "lastmodified"}: {field: directory.FieldUpdatedAt, kind: kindDateTime},
}

// matchOptions are the caseExact and dateTime attributes, for filter.Match
// to evaluate a filter over resources as the store does.
var matchOptions = []filter.Option{
	filter.CaseExact(func(p filter.AttrPath) bool {
		return p == filter.AttrPath{Name: "id"} || p == filter.AttrPath{Name: "externalid"}
	}),
	filter.DateTime(func(p filter.AttrPath) bool { return filterable[p].kind == kindDateTime && p.Name == "meta" }),
}

// filterView is what a filter of Users compares, given a user's resource:
// the resource, but for emails, which is Roster's email alone, as a work
// and primary one, whatever type and primary flag it was sent with. That
// one email is the column the stores index (email_key), so emails.value eq
// and Entra's emails[type eq "work"].value eq are index lookups; the other
// emails a client sent are kept and returned, not searched. condOf
// translates filters with these semantics; the differential test checks
// them against filter.Match over filterView.
func filterView(res map[string]any) map[string]any {
	v := maps.Clone(res)
	delete(v, "emails")
	if email, _, err := emailOf(res["emails"]); err == nil && email != nil {
		v["emails"] = []any{map[string]any{"value": email, "type": "work", "primary": true}}
	}
	return v
}

var (
	condTrue  = &directory.UserCond{Kind: directory.CondTrue}
	condFalse = &directory.UserCond{Kind: directory.CondFalse}
)

// condOf translates a parsed filter into a condition the store evaluates,
// with the semantics of filter.Match over the resources of users.
func condOf(e filter.Expr) (*directory.UserCond, error) {
	return translate(e, nil)
}

func translate(e filter.Expr, parent *filter.AttrPath) (*directory.UserCond, error) {
	switch e := e.(type) {
	case *filter.And, *filter.Or:
		kind, l, r := directory.CondAnd, filter.Expr(nil), filter.Expr(nil)
		if a, ok := e.(*filter.And); ok {
			l, r = a.Left, a.Right
		} else {
			o := e.(*filter.Or)
			kind, l, r = directory.CondOr, o.Left, o.Right
		}
		lc, err := translate(l, parent)
		if err != nil {
			return nil, err
		}
		rc, err := translate(r, parent)
		if err != nil {
			return nil, err
		}
		return &directory.UserCond{Kind: kind, Args: []*directory.UserCond{lc, rc}}, nil
	case *filter.Not:
		c, err := translate(e.X, parent)
		if err != nil {
			return nil, err
		}
		return &directory.UserCond{Kind: directory.CondNot, Args: []*directory.UserCond{c}}, nil
	case *filter.ValuePath:
		// Filters see one email (filterView), so a value filter on emails
		// is its filter on the sub-attributes of that one value.
		p := e.Attr
		return translate(e.Filter, &p)
	case *filter.Present:
		a, err := attrOf(e.Path, parent)
		if err != nil {
			return nil, err
		}
		switch a.kind {
		case kindActive:
			return condTrue, nil
		case kindString, kindDateTime, kindWorkType, kindPrimary:
			if a.field == directory.FieldID || a.field == directory.FieldCreatedAt || a.field == directory.FieldUpdatedAt {
				return condTrue, nil
			}
		}
		return &directory.UserCond{Kind: directory.CondPresent, Field: a.field}, nil
	case *filter.Compare:
		a, err := attrOf(e.Path, parent)
		if err != nil {
			return nil, err
		}
		return compare(a, e)
	}
	return nil, errorf(http.StatusBadRequest, typeInvalidFilter, "The filter cannot be evaluated.")
}

// attrOf finds the filterable attribute path names, relative to parent in
// a value filter.
func attrOf(path filter.AttrPath, parent *filter.AttrPath) (attr, error) {
	p := path.Normalized()
	if parent != nil {
		pp := parent.Normalized()
		p = filter.AttrPath{Schema: pp.Schema, Name: pp.Name, Sub: p.Name}
	}
	if p.Schema != "" && p.Schema != strings.ToLower(schemaUser) {
		return attr{}, errorf(http.StatusBadRequest, typeInvalidFilter, "The attribute "+path.String()+" cannot be filtered on.")
	}
	p.Schema = ""
	a, ok := filterable[p]
	if !ok {
		return attr{}, errorf(http.StatusBadRequest, typeInvalidFilter, "The attribute "+p.String()+" cannot be filtered on; see the Schemas endpoint and docs/scim.md.")
	}
	return a, nil
}

func compare(a attr, e *filter.Compare) (*directory.UserCond, error) {
	present := &directory.UserCond{Kind: directory.CondPresent, Field: a.field}
	if e.Value == nil { // eq null: absent; ne null: present
		switch {
		case a.kind == kindActive || a.field == directory.FieldID || a.kind == kindDateTime:
			present = condTrue
		}
		if e.Op == filter.Eq {
			return &directory.UserCond{Kind: directory.CondNot, Args: []*directory.UserCond{present}}, nil
		}
		return present, nil
	}
	switch a.kind {
	case kindActive:
		b, ok := e.Value.(bool)
		if !ok {
			return condFalse, nil
		}
		status := directory.StatusActive
		if !b {
			status = directory.StatusDeactivated
		}
		op := directory.OpEq
		if e.Op == filter.Ne {
			op = directory.OpNe
		}
		return &directory.UserCond{Kind: directory.CondCompare, Field: a.field, Op: op, Value: status}, nil
	case kindWorkType, kindPrimary:
		// A constant of each user that has an email, compared as Match
		// compares it.
		have := any("work")
		if a.kind == kindPrimary {
			have = true
		}
		c := &filter.Compare{Path: filter.AttrPath{Name: "v"}, Op: e.Op, Value: e.Value}
		if filter.Match(c, map[string]any{"v": have}) {
			return present, nil
		}
		return condFalse, nil
	case kindDateTime:
		s, ok := e.Value.(string)
		if !ok {
			return condFalse, nil
		}
		if e.Op == filter.Co || e.Op == filter.Sw || e.Op == filter.Ew {
			return nil, errorf(http.StatusBadRequest, typeInvalidFilter, e.Path.String()+" is a dateTime: compare it with eq, ne, gt, ge, lt or le.")
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return condFalse, nil
		}
		return &directory.UserCond{Kind: directory.CondCompare, Field: a.field, Op: directory.CondOp(e.Op), Value: t.UTC()}, nil
	}
	s, ok := e.Value.(string)
	if !ok {
		if _, ok := e.Value.(json.Number); ok || e.Value != nil {
			return condFalse, nil
		}
	}
	if a.fold || a.key {
		s = strings.ToLower(s)
	}
	return &directory.UserCond{Kind: directory.CondCompare, Field: a.field, Op: directory.CondOp(e.Op), Value: s, Fold: a.fold}, nil
}

// sortOf reads sortBy and sortOrder (RFC 7644 §3.4.2.3) through str: the
// field to order by, any filterable attribute but the emails' type and
// primary flag, and whether descending. Users without a value come last;
// users with equal values keep their creation order. Without sortBy,
// sortOrder is ignored and users come in creation order.
func sortOf(str func(string) (string, error)) (directory.UserField, bool, error) {
	by, err := str("sortBy")
	if err != nil || strings.TrimSpace(by) == "" {
		return "", false, err
	}
	order, err := str("sortOrder")
	if err != nil {
		return "", false, err
	}
	var desc bool
	switch strings.ToLower(strings.TrimSpace(order)) {
	case "", "ascending":
	case "descending":
		desc = true
	default:
		return "", false, errorf(http.StatusBadRequest, typeInvalidValue, "sortOrder must be ascending or descending.")
	}
	path, err := filter.ParsePath(strings.TrimSpace(by))
	if err != nil || path.Filter != nil {
		return "", false, errorf(http.StatusBadRequest, typeInvalidValue, "sortBy must name an attribute, such as userName or meta.created.")
	}
	a, err := attrOf(path.AttrPath, nil)
	if err != nil || a.kind == kindWorkType || a.kind == kindPrimary {
		return "", false, errorf(http.StatusBadRequest, typeInvalidValue, "The users cannot be sorted by "+by+"; see docs/scim.md.")
	}
	return a.field, desc, nil
}
