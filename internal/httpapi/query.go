package httpapi

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/roster-dev/roster/internal/directory"
)

// A param is one query parameter a route accepts, and how its value reads.
type param struct {
	name     string
	kind     paramKind
	min, max int      // paramInt: the accepted range
	def      int      // paramInt: the value when the parameter is absent
	values   []string // paramEnum: the accepted values
	prefix   string   // paramCursor: the prefix of the ID a cursor holds
}

type paramKind int

const (
	paramBool    paramKind = iota // true or false
	paramInt                      // a whole number in [min, max], canonical decimal
	paramEnum                     // one of values
	paramString                   // any value
	paramCursor                   // the unpadded base64url of an ID with prefix
	paramSeconds                  // whole seconds in [min, max], "5" or "5s"
)

// params is every query parameter a route accepts: each route of routes.go
// declares its own, and a request with any other parameter, or one of these
// twice, without a value or with a malformed one, is 400. A parameter that
// was ignored would turn a misspelt dry_run into a real write, or a misspelt
// filter into a list of everyone.
type params []param

// The parameters of Roster's routes.
var (
	noParams     = params{}
	dryRunParams = params{{name: "dry_run", kind: paramBool}}
	pictureParam = params{{name: "v", kind: paramString}}
	revokeParams = params{{name: "force", kind: paramBool}}
)

// pageParams are the parameters of a list of IDs with prefix, plus more.
func pageParams(prefix string, more ...param) params {
	return append(params{
		{name: "limit", kind: paramInt, min: 1, max: 100, def: 20},
		{name: "cursor", kind: paramCursor, prefix: prefix},
	}, more...)
}

// feedParams are the parameters of GET /v1/events.
var feedParams = params{
	{name: "after", kind: paramString},
	{name: "limit", kind: paramInt, min: 1, max: 100, def: 20},
	{name: "wait", kind: paramSeconds, min: 0, max: 30, def: 0},
}

var userListParams = pageParams(directory.PrefixUser,
	param{name: "email", kind: paramString},
	param{name: "username", kind: paramString},
	param{name: "q", kind: paramString},
	param{name: "external_id", kind: paramString},
	param{name: "status", kind: paramEnum, values: []string{directory.StatusActive, directory.StatusDeactivated, directory.StatusDeleting}},
)

// queryValues are the parameters of one request, parsed: a bool, an int or
// a string (a cursor decoded to its ID) by name, for every parameter the
// route declares, those absent included.
type queryValues map[string]any

func (q queryValues) bool(name string) bool     { return q[name].(bool) }
func (q queryValues) int(name string) int       { return q[name].(int) }
func (q queryValues) string(name string) string { return q[name].(string) }

// withQuery parses the query string of every request against ps, answers
// 400 with every parameter at fault, and lets the others through with the
// values in the request's info.
func withQuery(ps params, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseQuery(ps, r); err != nil {
			writeProblem(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// parseQuery checks the request's query against ps and keeps it for
// queryOf.
func parseQuery(ps params, r *http.Request) error {
	q, err := ps.parse(r.URL.RawQuery)
	if err != nil {
		return err
	}
	requestInfoFrom(r.Context()).query = q
	return nil
}

// queryOf returns the parsed query of a request that withQuery let through.
func queryOf(r *http.Request) queryValues { return requestInfoFrom(r.Context()).query }

// parse reads a raw query string. It returns an invalid_request
// *directory.Error that lists every parameter at fault, in the order sent:
// unknown, repeated, sent without a value, or with a value of the wrong
// form. url.ParseQuery is not used: it drops pairs it cannot decode, and
// one dropped pair is one parameter ignored.
func (ps params) parse(raw string) (queryValues, error) {
	q := make(queryValues, len(ps))
	for _, p := range ps {
		switch p.kind {
		case paramBool:
			q[p.name] = false
		case paramInt, paramSeconds:
			q[p.name] = p.def
		default:
			q[p.name] = ""
		}
	}
	var fe []directory.FieldError
	bad := func(name, code, msg string) {
		if !slices.ContainsFunc(fe, func(f directory.FieldError) bool { return f.Field == name }) {
			fe = append(fe, directory.FieldError{Field: name, Code: code, Message: msg})
		}
	}
	seen := map[string]bool{}
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue // "?" alone, or "&&": no parameter
		}
		k, v, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			bad(k, "malformed_parameter", "is not a validly percent-encoded name")
			continue
		}
		i := slices.IndexFunc(ps, func(p param) bool { return p.name == name })
		if i < 0 {
			bad(name, "unknown_parameter", "is not a parameter of this route; it takes "+ps.names())
			continue
		}
		if seen[name] {
			bad(name, "repeated_parameter", "must be sent at most once")
			continue
		}
		seen[name] = true
		value, err := url.QueryUnescape(v)
		switch {
		case err != nil:
			bad(name, "malformed_parameter", "is not a validly percent-encoded value")
		case value == "":
			bad(name, "missing_value", "needs a value")
		default:
			val, code, msg := ps[i].read(value)
			if code != "" {
				bad(name, code, msg)
				continue
			}
			q[name] = val
		}
	}
	if len(fe) > 0 {
		msg := fmt.Sprintf("%d query parameters are invalid.", len(fe))
		if len(fe) == 1 {
			msg = fmt.Sprintf("The query parameter %q is invalid.", fe[0].Field)
		}
		return nil, &directory.Error{Code: directory.ECodeInvalidRequest, Message: msg, Fields: fe}
	}
	return q, nil
}

// read converts a non-empty value, or says what is wrong with it.
func (p param) read(s string) (v any, code, msg string) {
	switch p.kind {
	case paramBool:
		switch s {
		case "true":
			return true, "", ""
		case "false":
			return false, "", ""
		}
		return nil, "invalid_boolean", "must be true or false"
	case paramInt:
		// Canonical decimal only: "+5", "05" and "5.0" are not numbers a
		// client means by accident.
		n, err := strconv.Atoi(s)
		if err != nil || strconv.Itoa(n) != s || n < p.min || n > p.max {
			return nil, "out_of_range", fmt.Sprintf("must be a whole number from %d to %d", p.min, p.max)
		}
		return n, "", ""
	case paramSeconds:
		n, err := strconv.Atoi(strings.TrimSuffix(s, "s"))
		if err != nil || strconv.Itoa(n) != strings.TrimSuffix(s, "s") || n < p.min || n > p.max {
			return nil, "out_of_range", fmt.Sprintf("must be whole seconds from %d to %d, as 5 or 5s", p.min, p.max)
		}
		return n, "", ""
	case paramEnum:
		if !slices.Contains(p.values, s) {
			return nil, "invalid_value", "must be one of " + strings.Join(p.values, ", ")
		}
		return s, "", ""
	case paramCursor:
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || !directory.ValidID(p.prefix, string(b)) {
			return nil, "invalid_cursor", "is not a cursor this list returned"
		}
		return string(b), "", ""
	}
	return s, "", ""
}

// names lists the parameters, for a message.
func (ps params) names() string {
	if len(ps) == 0 {
		return "none"
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.name
	}
	return strings.Join(names, ", ")
}
