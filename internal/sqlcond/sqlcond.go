// Package sqlcond writes a directory.UserCond as an SQL boolean expression,
// the part both stores share: the structure of and, or and not, and presence.
// What differs between their SQL (literals, columns, comparisons and their
// placeholders) each store gives as a Dialect.
package sqlcond

import (
	"fmt"
	"strings"

	"github.com/roster-dev/roster/internal/directory"
)

// Dialect is a store's SQL for the leaves of a condition.
type Dialect interface {
	// Bool is the SQL of a constant truth value.
	Bool(v bool) string
	// Column is the SQL expression of a field, NULL when a user has no
	// value, or false for a field the store cannot compare.
	Column(f directory.UserField) (string, bool)
	// Compare writes a CondCompare to the builder Write writes to.
	Compare(c *directory.UserCond) error
}

// Write writes c to b, every comparison two-valued.
func Write(b *strings.Builder, c *directory.UserCond, d Dialect) error {
	switch c.Kind {
	case directory.CondTrue, directory.CondFalse:
		b.WriteString(d.Bool(c.Kind == directory.CondTrue))
	case directory.CondAnd, directory.CondOr:
		op := " AND "
		if c.Kind == directory.CondOr {
			op = " OR "
		}
		b.WriteString("(")
		for i, a := range c.Args {
			if i > 0 {
				b.WriteString(op)
			}
			if err := Write(b, a, d); err != nil {
				return err
			}
		}
		b.WriteString(")")
	case directory.CondNot:
		if len(c.Args) != 1 {
			return fmt.Errorf("not takes one condition")
		}
		b.WriteString("NOT ")
		return Write(b, c.Args[0], d)
	case directory.CondPresent:
		col, ok := d.Column(c.Field)
		if !ok {
			return fmt.Errorf("no field %q", c.Field)
		}
		fmt.Fprintf(b, "(%s IS NOT NULL)", col)
	case directory.CondCompare:
		return d.Compare(c)
	default:
		return fmt.Errorf("no condition kind %d", c.Kind)
	}
	return nil
}

// Ops are the SQL operators of the comparisons that have one.
var Ops = map[directory.CondOp]string{
	directory.OpEq: "=", directory.OpNe: "<>",
	directory.OpGt: ">", directory.OpGe: ">=", directory.OpLt: "<", directory.OpLe: "<=",
}
