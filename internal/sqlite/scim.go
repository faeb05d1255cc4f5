package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/sqlcond"
)

// userQuery appends to base (which ends in its WHERE clause on tenant_id)
// the conditions of f, and returns the statement and its arguments. paged
// adds f.Before.
func userQuery(base, tenantID string, f directory.UserFilter, paged bool) (string, []any, error) {
	var q strings.Builder
	q.WriteString(base)
	args := []any{tenantID}
	conds := []struct{ cond, val string }{
		{` AND email_key = ?`, f.EmailKey},
		{` AND username = ?`, f.Username},
		{` AND external_id = ?`, f.ExternalID},
		{` AND status = ?`, f.Status},
	}
	if paged {
		conds = append(conds, struct{ cond, val string }{` AND id < ?`, f.Before})
	}
	for _, c := range conds {
		if c.val != "" {
			q.WriteString(c.cond)
			args = append(args, c.val)
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
	q, args, err := userQuery(`SELECT count(*) FROM users WHERE tenant_id = ?`, tenantID, f, false)
	if err != nil {
		return 0, fmt.Errorf("sqlite: count users: %w", err)
	}
	var n int
	if err := s.read.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, wrapErr("count users", err)
	}
	return n, nil
}

// condColumns are the SQL expressions of the fields of a UserCond: NULL
// when the user has no value.
var condColumns = map[directory.UserField]string{
	directory.FieldID:          "id",
	directory.FieldExternalID:  "external_id",
	directory.FieldSCIMUserKey: "scim_user_key",
	directory.FieldEmailKey:    "email_key",
	directory.FieldName:        "json_extract(profile, '$.name')",
	directory.FieldGivenName:   "json_extract(profile, '$.given_name')",
	directory.FieldFamilyName:  "json_extract(profile, '$.family_name')",
	directory.FieldStatus:      "status",
	directory.FieldRole:        "EXISTS (SELECT 1 FROM json_each(profile, '$.roles') WHERE value = ?)",
	directory.FieldCreatedAt:   "created_at",
	directory.FieldUpdatedAt:   "updated_at",
}

// condWriter writes a UserCond as SQL, every comparison two-valued.
type condWriter struct {
	b    strings.Builder
	args []any
}

func (w *condWriter) write(c *directory.UserCond) error { return sqlcond.Write(&w.b, c, w) }

// Bool, Column and Compare make a condWriter the sqlcond.Dialect of its
// store.

func (w *condWriter) Bool(v bool) string {
	if v {
		return "1"
	}
	return "0"
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
	if t, ok := c.Value.(time.Time); ok {
		return w.compareTime(col, c.Op, t)
	}
	if c.Field == directory.FieldRole {
		if c.Op != directory.OpEq {
			return fmt.Errorf("operator %q on roles", c.Op)
		}
		w.b.WriteString(col)
		w.args = append(w.args, c.Value)
		return nil
	}
	v, ok := c.Value.(string)
	if !ok {
		return fmt.Errorf("field %q: value of type %T", c.Field, c.Value)
	}
	x := col
	if c.Fold {
		x = "lower(" + col + ")"
	}
	var expr string
	var n int
	switch c.Op {
	case directory.OpEq, directory.OpNe, directory.OpGt, directory.OpGe, directory.OpLt, directory.OpLe:
		expr, n = x+" "+sqlcond.Ops[c.Op]+" ?", 1
	case directory.OpCo:
		expr, n = "instr("+x+", ?) > 0", 1
	case directory.OpSw:
		expr, n = "substr("+x+", 1, length(?)) = ?", 2
	case directory.OpEw:
		expr, n = "length("+x+") >= length(?) AND substr("+x+", length("+x+") - length(?) + 1) = ?", 3
	default:
		return fmt.Errorf("no operator %q", c.Op)
	}
	fmt.Fprintf(&w.b, "(%s IS NOT NULL AND %s)", col, expr)
	for range n {
		w.args = append(w.args, v)
	}
	return nil
}

// compareTime compares a millisecond column with an instant that may have
// a finer precision: a stored time equals it only if it has none, and
// orders against its millisecond floor.
func (w *condWriter) compareTime(col string, op directory.CondOp, t time.Time) error {
	ms := millis(t)
	fine := !fromMillis(ms).Equal(t)
	var expr string
	switch {
	case op == directory.OpEq && fine:
		expr = "0"
	case op == directory.OpNe && fine:
		expr = "1"
	case (op == directory.OpGe || op == directory.OpGt) && fine:
		expr = col + " > ?"
	case (op == directory.OpLt || op == directory.OpLe) && fine:
		expr = col + " <= ?"
	case sqlcond.Ops[op] != "" && op != directory.OpCo:
		expr = col + " " + sqlcond.Ops[op] + " ?"
	default:
		return fmt.Errorf("operator %q on a time", op)
	}
	if strings.Contains(expr, "?") {
		w.args = append(w.args, ms)
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
	byID := ` id DESC`
	if f.Oldest {
		byID = ` id`
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
