package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/sqlcond"
)

// userQuery appends to base (which ends in its WHERE clause on
// u.tenant_id = $1) the conditions of f, and returns the statement and its
// arguments. paged adds f.Before.
func userQuery(base, tenantID string, f directory.UserFilter, paged bool) (string, []any, error) {
	var q strings.Builder
	q.WriteString(base)
	args := []any{tenantID}
	conds := []struct{ cond, val string }{
		{` AND u.email_key = $`, f.EmailKey},
		{` AND u.username = $`, f.Username},
		{` AND u.external_id = $`, f.ExternalID},
		{` AND u.status = $`, f.Status},
	}
	if paged {
		conds = append(conds, struct{ cond, val string }{` AND u.id < $`, f.Before})
	}
	for _, c := range conds {
		if c.val != "" {
			args = append(args, c.val)
			q.WriteString(c.cond + strconv.Itoa(len(args)))
		}
	}
	if f.Where != nil {
		w := condWriter{args: args}
		if err := w.write(f.Where); err != nil {
			return "", nil, err
		}
		q.WriteString(" AND ")
		q.WriteString(w.b.String())
		args = w.args
	}
	return q.String(), args, nil
}

// CountUsers counts the tenant's users f selects, f.Before, f.Offset and
// f.Limit aside.
func (s *Store) CountUsers(ctx context.Context, tenantID string, f directory.UserFilter) (int, error) {
	q, args, err := userQuery(`SELECT count(*) FROM users u WHERE u.tenant_id = $1`, tenantID, f, false)
	if err != nil {
		return 0, fmt.Errorf("postgres: count users: %w", err)
	}
	var n int
	if err := s.pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		return 0, wrapErr("count users", err)
	}
	return n, nil
}

// condColumns are the SQL expressions of the fields of a UserCond: NULL
// when the user has no value. Text compares by code point (COLLATE "C"),
// as SCIM orders strings.
var condColumns = map[directory.UserField]string{
	directory.FieldID:          `u.id`,
	directory.FieldExternalID:  `u.external_id`,
	directory.FieldSCIMUserKey: `u.scim_user_key`,
	directory.FieldEmailKey:    `u.email_key`,
	directory.FieldName:        `NULLIF(u.name, '') COLLATE "C"`,
	directory.FieldGivenName:   `NULLIF(u.given_name, '') COLLATE "C"`,
	directory.FieldFamilyName:  `NULLIF(u.family_name, '') COLLATE "C"`,
	directory.FieldStatus:      `u.status`,
	directory.FieldRole:        `u.roles`,
	directory.FieldCreatedAt:   `u.created_at`,
	directory.FieldUpdatedAt:   `u.updated_at`,
}

// condWriter writes a UserCond as SQL, every comparison two-valued.
type condWriter struct {
	b    strings.Builder
	args []any
}

// arg adds v to the arguments and returns its placeholder.
func (w *condWriter) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

func (w *condWriter) write(c *directory.UserCond) error { return sqlcond.Write(&w.b, c, w) }

// Bool, Column and Compare make a condWriter the sqlcond.Dialect of its
// store.

func (w *condWriter) Bool(v bool) string {
	if v {
		return "TRUE"
	}
	return "FALSE"
}

func (w *condWriter) Column(f directory.UserField) (string, bool) {
	col, ok := condColumns[f]
	return col, ok
}

func (w *condWriter) Compare(c *directory.UserCond) error {
	col, ok := condColumns[c.Field]
	if !ok {
		return fmt.Errorf("no field %q", c.Field)
	}
	if c.Field == directory.FieldRole {
		if c.Op != directory.OpEq {
			return fmt.Errorf("operator %q on roles", c.Op)
		}
		fmt.Fprintf(&w.b, "(%s::text = ANY (%s))", w.arg(c.Value), col)
		return nil
	}
	var expr string
	switch v := c.Value.(type) {
	case time.Time:
		op, ok := sqlcond.Ops[c.Op]
		if !ok {
			return fmt.Errorf("operator %q on a time", c.Op)
		}
		expr = col + " " + op + " " + w.arg(v) // not ts: the instant compared keeps its precision
	case string:
		x := col
		if c.Fold {
			x = "lower(" + col + `) COLLATE "C"`
		}
		p := w.arg(v) + "::text"
		switch c.Op {
		case directory.OpCo:
			expr = "strpos(" + x + ", " + p + ") > 0"
		case directory.OpSw:
			expr = "left(" + x + ", length(" + p + ")) = " + p
		case directory.OpEw:
			expr = "right(" + x + ", length(" + p + ")) = " + p
		default:
			op, ok := sqlcond.Ops[c.Op]
			if !ok {
				return fmt.Errorf("no operator %q", c.Op)
			}
			expr = x + " " + op + " " + p
		}
	default:
		return fmt.Errorf("field %q: value of type %T", c.Field, c.Value)
	}
	fmt.Fprintf(&w.b, "(%s IS NOT NULL AND %s)", col, expr)
	return nil
}

// scimNameTaken reports a violation of users_scim_user_key as the member
// the user's SCIM userName comes from (User.SCIMNameField): a username or
// an email that is another user's userName is taken as that member.
func scimNameTaken(u *directory.User, err error) error {
	var uv *directory.UniqueViolation
	if errors.As(err, &uv) && uv.Field == "scim_user_name" {
		uv.Field = u.SCIMNameField()
	}
	return err
}

// userOrder is the ORDER BY clause of a list of users f selects.
func userOrder(f directory.UserFilter) (string, error) {
	byID := ` u.id DESC`
	if f.Oldest {
		byID = ` u.id`
	}
	if f.SortBy == "" {
		return ` ORDER BY` + byID, nil
	}
	col, ok := condColumns[f.SortBy]
	if !ok || f.SortBy == directory.FieldRole {
		return "", fmt.Errorf("list users: no sort by %q", f.SortBy)
	}
	dir := ` ASC`
	if f.SortDescending {
		dir = ` DESC`
	}
	return ` ORDER BY ` + col + dir + ` NULLS LAST,` + byID, nil
}
