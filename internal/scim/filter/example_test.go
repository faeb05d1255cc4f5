package filter_test

import (
	"errors"
	"fmt"

	"github.com/roster-dev/roster/internal/scim/filter"
)

func ExampleParse() {
	e, err := filter.Parse(`emails[type eq "work"].value eq "bjensen@example.com" and NOT(active eq False)`)
	if err != nil {
		panic(err)
	}
	fmt.Println(e)

	_, err = filter.Parse(`userName eq bjensen`)
	var fe *filter.Error
	if errors.As(err, &fe) {
		fmt.Println(fe.Kind, fe.Offset, fe.Msg)
	}
	// Output:
	// emails[type eq "work" and value eq "bjensen@example.com"] and not (active eq false)
	// invalidFilter 12 expected a value (a JSON string, number, true, false or null), found bjensen; put strings in double quotes: "bjensen"
}

func ExampleMatch() {
	user := map[string]any{
		"userName": "bjensen",
		"emails": []any{
			map[string]any{"type": "work", "value": "bjensen@example.com"},
			map[string]any{"type": "home", "value": "babs@jensen.org"},
		},
	}
	for _, s := range []string{
		`userName eq "BJENSEN"`,
		`emails[type eq "home" and value co "example.com"]`,
		`emails[type eq "work" and value co "example.com"]`,
	} {
		e, _ := filter.Parse(s)
		fmt.Println(filter.Match(e, user), s)
	}
	// Output:
	// true userName eq "BJENSEN"
	// false emails[type eq "home" and value co "example.com"]
	// true emails[type eq "work" and value co "example.com"]
}

// A translator to SQL is a type switch over the tree; which attributes
// have columns, and which operators it pushes down, are the caller's.
func ExampleExpr_sql() {
	columns := map[filter.AttrPath]string{{Name: "username"}: "username", {Name: "externalid"}: "external_id"}
	var args []any
	var where func(e filter.Expr) (string, error)
	binary := func(l filter.Expr, op string, r filter.Expr) (string, error) {
		ls, err := where(l)
		if err != nil {
			return "", err
		}
		rs, err := where(r)
		if err != nil {
			return "", err
		}
		return "(" + ls + " " + op + " " + rs + ")", nil
	}
	where = func(e filter.Expr) (string, error) {
		switch e := e.(type) {
		case *filter.And:
			return binary(e.Left, "AND", e.Right)
		case *filter.Or:
			return binary(e.Left, "OR", e.Right)
		case *filter.Compare:
			if col, ok := columns[e.Path.Normalized()]; ok && e.Op == filter.Eq {
				args = append(args, e.Value)
				return "lower(" + col + ") = lower(?)", nil
			}
		}
		return "", fmt.Errorf("cannot filter with %s", e)
	}

	e, _ := filter.Parse(`userName eq "a@example.com" or externalId eq "701984"`)
	sql, err := where(e)
	fmt.Println("tenant_id = ? AND "+sql, args, err)
	e, _ = filter.Parse(`title pr`)
	_, err = where(e)
	fmt.Println(err)
	// Output:
	// tenant_id = ? AND (lower(username) = lower(?) OR lower(external_id) = lower(?)) [a@example.com 701984] <nil>
	// cannot filter with title pr
}
