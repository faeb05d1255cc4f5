package usercache

import (
	"reflect"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// fill sets every field reachable from v to a value that is not zero:
// pointers point, slices hold one element, maps one entry whose value is a
// nested object and array (for map[string]any).
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type().PkgPath() == "time" {
			v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		val := reflect.New(v.Type().Elem()).Elem()
		if v.Type().Elem().Kind() == reflect.Interface {
			val.Set(reflect.ValueOf(map[string]any{"nested": []any{"x", map[string]any{"deep": "y"}}}))
		} else {
			fill(val)
		}
		v.SetMapIndex(reflect.ValueOf("k"), val)
	case reflect.String:
		v.SetString("s")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(1)
	case reflect.Float64:
		v.SetFloat(1.5)
	}
}

// scribble changes everything mutable reachable from v in place: struct
// fields behind pointers, slice elements, map entries, and what nested
// JSON values hold.
func scribble(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type().PkgPath() == "time" {
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				scribbleValue(v.Field(i))
			}
		}
	case reflect.Pointer:
		if !v.IsNil() {
			e := v.Elem()
			if e.Kind() == reflect.Struct && e.Type().PkgPath() == "time" {
				e.Set(reflect.Zero(e.Type()))
				return
			}
			scribbleValue(e)
		}
	case reflect.Slice:
		for i := range v.Len() {
			scribbleValue(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := v.MapIndex(k)
			if e.Kind() == reflect.Interface {
				scribbleAny(e.Interface())
			}
			v.SetMapIndex(k, reflect.Zero(v.Type().Elem()))
		}
		v.SetMapIndex(reflect.ValueOf("added"), reflect.Zero(v.Type().Elem()))
	}
}

// scribbleValue changes an element held in place (a slice's, a pointer's).
func scribbleValue(e reflect.Value) {
	switch e.Kind() {
	case reflect.String:
		e.SetString("scribbled")
	case reflect.Float64:
		e.SetFloat(-1)
	case reflect.Bool:
		e.SetBool(false)
	case reflect.Int, reflect.Int64:
		e.SetInt(-1)
	case reflect.Interface:
		scribbleAny(e.Interface())
		e.Set(reflect.Zero(e.Type()))
	default:
		scribble(e)
	}
}

func scribbleAny(x any) {
	switch x := x.(type) {
	case map[string]any:
		for k, e := range x {
			scribbleAny(e)
			x[k] = "scribbled"
		}
	case []any:
		for i, e := range x {
			scribbleAny(e)
			x[i] = "scribbled"
		}
	}
}

// TestCloneSharesNothing fails when directory.User gains a field that holds
// something mutable and cloneUser shares it.
func TestCloneSharesNothing(t *testing.T) {
	var orig, want directory.User
	fill(reflect.ValueOf(&orig).Elem())
	fill(reflect.ValueOf(&want).Elem())
	if !reflect.DeepEqual(orig, want) {
		t.Fatal("fill is not deterministic")
	}
	c := cloneUser(&orig)
	if !reflect.DeepEqual(*c, want) {
		t.Fatalf("clone %+v differs from the original %+v", *c, want)
	}
	scribble(reflect.ValueOf(c).Elem())
	if !reflect.DeepEqual(orig, want) {
		t.Fatalf("changing the clone changed the original:\n got %+v\nwant %+v", orig, want)
	}
}

// TestSizeGrowsWithTheUser: sizeOf counts strings, roles, suspensions and
// JSON objects.
func TestSizeGrowsWithTheUser(t *testing.T) {
	base := &directory.User{ID: "usr_1", TenantID: "ten_1", Email: "a@example.com"}
	n := sizeOf(base)
	for name, u := range map[string]*directory.User{
		"name":        {ID: "usr_1", TenantID: "ten_1", Email: "a@example.com", Name: "Ada Lovelace"},
		"roles":       {ID: "usr_1", TenantID: "ten_1", Email: "a@example.com", Roles: []string{"admin"}},
		"metadata":    {ID: "usr_1", TenantID: "ten_1", Email: "a@example.com", Metadata: map[string]any{"theme": "dark"}},
		"suspensions": {ID: "usr_1", TenantID: "ten_1", Email: "a@example.com", Suspensions: []directory.Suspension{{ID: "sus_1"}}},
		"nested":      {ID: "usr_1", TenantID: "ten_1", Email: "a@example.com", SCIMAttributes: map[string]any{"a": []any{map[string]any{"b": "c"}}}},
	} {
		if got := sizeOf(u); got <= n {
			t.Errorf("%s: size %d, not more than the bare user's %d", name, got, n)
		}
	}
}
