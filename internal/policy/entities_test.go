package policy

import (
	"encoding/json"
	"testing"

	cedar "github.com/cedar-policy/cedar-go"
)

func jsonNumber(s string) json.Number { return json.Number(s) }

func TestNumber(t *testing.T) {
	dec := func(i int64, exp int) cedar.Value {
		d, err := cedar.NewDecimal(i, exp)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	cases := []struct {
		in   string
		want cedar.Value
	}{
		{"0", cedar.Long(0)},
		{"-0", cedar.Long(0)},
		{"42", cedar.Long(42)},
		{"-42", cedar.Long(-42)},
		{"2.0", cedar.Long(2)},
		{"2e0", cedar.Long(2)},
		{"1e3", cedar.Long(1000)},
		{"1.5E+2", cedar.Long(150)},
		{"9223372036854775807", cedar.Long(9223372036854775807)},
		{"-9223372036854775808", cedar.Long(-9223372036854775808)},
		{"9223372036854775808", cedar.String("9223372036854775808")},
		{"1e19", cedar.String("1e19")},
		{"1e1000000000", cedar.String("1e1000000000")},
		{"19.99", dec(1999, -2)},
		{"-0.5", dec(-5, -1)},
		{"0.0001", dec(1, -4)},
		{"1234e-4", dec(1234, -4)},
		{"0.00001", cedar.String("0.00001")},
		{"0.123456", cedar.String("0.123456")},
		{"922337203685477.5807", dec(9223372036854775807, -4)},
		{"922337203685477.5808", cedar.String("922337203685477.5808")},
		{"1e-1000000000", cedar.String("1e-1000000000")},
	}
	for _, c := range cases {
		if got := number(c.in); !got.Equal(c.want) {
			t.Errorf("number(%s) = %v (%T), want %v (%T)", c.in, got, got, c.want, c.want)
		}
	}
}

func TestValue(t *testing.T) {
	cases := []struct {
		in   any
		want cedar.Value
		ok   bool
	}{
		{nil, nil, false},
		{"x", cedar.String("x"), true},
		{true, cedar.True, true},
		{float64(3), cedar.Long(3), true},
		{2.5, func() cedar.Value { d, _ := cedar.NewDecimal(25, -1); return d }(), true},
		{7, cedar.Long(7), true},
		{int64(7), cedar.Long(7), true},
		{[]any{"a", nil, "a"}, cedar.NewSet(cedar.String("a")), true},
		{map[string]any{"a": nil, "b": "c"}, cedar.NewRecord(cedar.RecordMap{"b": cedar.String("c")}), true},
		{struct{}{}, nil, false},
	}
	for _, c := range cases {
		got, ok := value(c.in)
		if ok != c.ok || (ok && !got.Equal(c.want)) {
			t.Errorf("value(%#v) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
