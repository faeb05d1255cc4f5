package sqlcond

import (
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/directory"
)

// dialect writes comparisons as col=? and knows two fields.
type dialect struct{ b *strings.Builder }

func (dialect) Bool(v bool) string {
	if v {
		return "T"
	}
	return "F"
}

func (dialect) Column(f directory.UserField) (string, bool) {
	switch f {
	case directory.FieldName:
		return "name", true
	case directory.FieldStatus:
		return "status", true
	}
	return "", false
}

func (d dialect) Compare(c *directory.UserCond) error {
	col, _ := d.Column(c.Field)
	d.b.WriteString(col + Ops[c.Op] + "?")
	return nil
}

func TestWrite(t *testing.T) {
	cmp := func(f directory.UserField, op directory.CondOp) *directory.UserCond {
		return &directory.UserCond{Kind: directory.CondCompare, Field: f, Op: op, Value: "x"}
	}
	c := &directory.UserCond{Kind: directory.CondOr, Args: []*directory.UserCond{
		{Kind: directory.CondAnd, Args: []*directory.UserCond{cmp(directory.FieldName, directory.OpEq), {Kind: directory.CondPresent, Field: directory.FieldStatus}}},
		{Kind: directory.CondNot, Args: []*directory.UserCond{cmp(directory.FieldStatus, directory.OpNe)}},
		{Kind: directory.CondFalse},
	}}
	var b strings.Builder
	if err := Write(&b, c, dialect{&b}); err != nil {
		t.Fatal(err)
	}
	if want := "((name=? AND (status IS NOT NULL)) OR NOT status<>? OR F)"; b.String() != want {
		t.Errorf("Write: %s, want %s", b.String(), want)
	}
	for _, bad := range []*directory.UserCond{
		{Kind: directory.CondPresent, Field: directory.FieldRole},
		{Kind: directory.CondNot},
		{Kind: directory.CondKind(99)},
	} {
		var b strings.Builder
		if err := Write(&b, bad, dialect{&b}); err == nil {
			t.Errorf("Write(%+v) = nil, want an error", bad)
		}
	}
}
