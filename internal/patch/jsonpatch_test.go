package patch

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParsePointer(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"/", []string{""}},
		{"//", []string{"", ""}},
		{"/a", []string{"a"}},
		{"/a/", []string{"a", ""}},
		{"/a/0/-", []string{"a", "0", "-"}},
		{"/a~1b", []string{"a/b"}},
		{"/m~0n", []string{"m~n"}},
		{"/~01", []string{"~1"}},
		{"/~10", []string{"/0"}},
		{"/~0~1~0", []string{"~/~"}},
		{"/ é/%20", []string{" é", "%20"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePointer(tt.in)
			if err != nil {
				t.Fatalf("ParsePointer(%q): %v", tt.in, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if back := formatPointer(got); back != tt.in && !strings.Contains(tt.in, "~") {
				t.Errorf("formatPointer(%q) = %q, want %q", got, back, tt.in)
			}
		})
	}
	for _, in := range []string{"a", "#/a", "a/b", "/~", "/a~", "/~2", "/a~b"} {
		t.Run("invalid "+in, func(t *testing.T) {
			if got, err := ParsePointer(in); err == nil {
				t.Errorf("ParsePointer(%q) = %q, want an error", in, got)
			}
		})
	}
}

func TestFormatPointerRoundTrip(t *testing.T) {
	tokens := []string{"a/b", "~", "~1", "", "-"}
	got, err := ParsePointer(formatPointer(tokens))
	if err != nil {
		t.Fatalf("ParsePointer: %v", err)
	}
	if !slices.Equal(got, tokens) {
		t.Errorf("got %q, want %q", got, tokens)
	}
}

func TestParseOps(t *testing.T) {
	ops, err := ParseOps(mustDecode(t, `[
		{"op":"add","path":"/roles/-","value":"admin","from":12},
		{"op":"replace","path":"/bio","value":null},
		{"op":"remove","path":"/metadata/theme","value":"ignored"},
		{"op":"move","from":"/a","path":"/b"},
		{"op":"copy","from":"","path":"/c","comment":"unknown members are ignored"},
		{"op":"test","path":"/version","value":3}
	]`))
	if err != nil {
		t.Fatalf("ParseOps: %v", err)
	}
	want := []Op{
		{Op: "add", Path: "/roles/-", Value: "admin"},
		{Op: "replace", Path: "/bio", Value: nil},
		{Op: "remove", Path: "/metadata/theme"},
		{Op: "move", From: "/a", Path: "/b"},
		{Op: "copy", From: "", Path: "/c"},
		{Op: "test", Path: "/version", Value: mustDecode(t, "3")},
	}
	if len(ops) != len(want) {
		t.Fatalf("got %d ops, want %d", len(ops), len(want))
	}
	for i := range want {
		got := ops[i]
		if got.Op != want[i].Op || got.Path != want[i].Path || got.From != want[i].From || !Equal(got.Value, want[i].Value) {
			t.Errorf("op %d: got %+v, want %+v", i, got, want[i])
		}
	}
}

func TestParseOpsErrors(t *testing.T) {
	tests := []struct {
		name      string
		patch     string
		wantIndex int
		wantMsg   string
	}{
		{"object instead of array", `{"op":"remove","path":"/a"}`, -1, "must be an array"},
		{"null document", `null`, -1, "must be an array"},
		{"string document", `"[]"`, -1, "must be an array"},
		{"operation not an object", `[["remove","/a"]]`, 0, "must be a JSON object"},
		{"null operation", `[null]`, 0, "must be a JSON object"},
		{"missing op", `[{"path":"/a"}]`, 0, `missing "op" member`},
		{"op not a string", `[{"op":1,"path":"/a"}]`, 0, `"op" must be a string`},
		{"unknown op", `[{"op":"spam","path":"/a"}]`, 0, `unknown op "spam"`},
		{"op is case-sensitive", `[{"op":"Add","path":"/a","value":1}]`, 0, `unknown op "Add"`},
		{"missing path", `[{"op":"remove"}]`, 0, `missing "path" member`},
		{"null path", `[{"op":"remove","path":null}]`, 0, `"path" must be a string`},
		{"numeric path", `[{"op":"remove","path":0}]`, 0, `"path" must be a string`},
		{"relative path", `[{"op":"remove","path":"a/b"}]`, 0, `invalid "path" "a/b"`},
		{"URI fragment path", `[{"op":"remove","path":"#/a"}]`, 0, `invalid "path"`},
		{"bad escape in path", `[{"op":"remove","path":"/a~2"}]`, 0, `must be followed by "0" or "1"`},
		{"move without from", `[{"op":"move","path":"/a"}]`, 0, `missing "from" member`},
		{"copy with null from", `[{"op":"copy","from":null,"path":"/a"}]`, 0, `"from" must be a string`},
		{"copy with bad from", `[{"op":"copy","from":"a","path":"/a"}]`, 0, `invalid "from"`},
		{"add without value", `[{"op":"add","path":"/a"}]`, 0, `missing "value" member for add`},
		{"replace without value", `[{"op":"replace","path":"/a"}]`, 0, `missing "value" member for replace`},
		{"test without value", `[{"op":"test","path":"/a"}]`, 0, `missing "value" member for test`},
		{"error in a later operation", `[{"op":"remove","path":"/a"},{"op":"test","path":"/a","value":1},{"op":"add"}]`, 2, `missing "path" member`},
		{"long op is cut", `[{"op":"` + strings.Repeat("x", 5000) + `","path":""}]`, 0, `…`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops, err := ParseOps(mustDecode(t, tt.patch))
			if err == nil {
				t.Fatalf("got %+v, want an error", ops)
			}
			var oe *OpError
			if !errors.As(err, &oe) {
				t.Fatalf("error %v is a %T, want *OpError", err, err)
			}
			if oe.Index != tt.wantIndex {
				t.Errorf("got index %d, want %d", oe.Index, tt.wantIndex)
			}
			if !strings.Contains(oe.Msg, tt.wantMsg) {
				t.Errorf("got message %q, want it to contain %q", oe.Msg, tt.wantMsg)
			}
			if len(oe.Error()) > 300 {
				t.Errorf("error is %d bytes long, want a short message", len(oe.Error()))
			}
		})
	}
}

// userDoc is the writable representation of a user, as the service would
// patch it.
const userDoc = `{
	"email": "alice@example.com", "name": "Alice", "bio": null,
	"roles": ["member", "viewer"],
	"metadata": {"theme": "dark", "inner": {"a": 1}},
	"location": {"type": "Point", "coordinates": [34.05, 18.25]},
	"version": 3
}`

// applyText runs a JSON Patch written as text against userDoc.
func applyText(t *testing.T, patch string) (any, error) {
	t.Helper()
	ops, err := ParseOps(mustDecode(t, patch))
	if err != nil {
		t.Fatalf("ParseOps: %v", err)
	}
	return Apply(mustDecode(t, userDoc), ops)
}

func TestApply(t *testing.T) {
	tests := []struct {
		name  string
		patch string
		want  string // the expected members of the result, merged onto userDoc
	}{
		{"replace email", `[{"op":"replace","path":"/email","value":"bob@example.com"}]`, `{"email":"bob@example.com"}`},
		{"append role", `[{"op":"add","path":"/roles/-","value":"admin"}]`, `{"roles":["member","viewer","admin"]}`},
		{"append at len", `[{"op":"add","path":"/roles/2","value":"admin"}]`, `{"roles":["member","viewer","admin"]}`},
		{"insert first", `[{"op":"add","path":"/roles/0","value":"admin"}]`, `{"roles":["admin","member","viewer"]}`},
		{"remove role", `[{"op":"remove","path":"/roles/0"}]`, `{"roles":["viewer"]}`},
		{"replace role", `[{"op":"replace","path":"/roles/1","value":"admin"}]`, `{"roles":["member","admin"]}`},
		{"add replaces existing member", `[{"op":"add","path":"/name","value":"Bob"}]`, `{"name":"Bob"}`},
		{"replace null member", `[{"op":"replace","path":"/bio","value":"hi"}]`, `{"bio":"hi"}`},
		{"remove metadata key", `[{"op":"remove","path":"/metadata/theme"}]`, `{"metadata":{"theme":null}}`},
		{"add deep", `[{"op":"add","path":"/metadata/inner/b","value":[1]}]`, `{"metadata":{"inner":{"b":[1]}}}`},
		{"dash is a key in objects", `[{"op":"add","path":"/metadata/-","value":1}]`, `{"metadata":{"-":1}}`},
		{"empty key", `[{"op":"add","path":"/metadata/","value":1}]`, `{"metadata":{"":1}}`},
		{"test numbers by value", `[{"op":"test","path":"/version","value":3.0},{"op":"test","path":"/location/coordinates/0","value":3405e-2}]`, `{}`},
		{"test whole document then change it", `[{"op":"test","path":"","value":` + userDoc + `},{"op":"replace","path":"/version","value":4}]`, `{"version":4}`},
		{"test null", `[{"op":"test","path":"/bio","value":null}]`, `{}`},
		{"move to same location", `[{"op":"move","from":"/email","path":"/email"}]`, `{}`},
		{"move member", `[{"op":"move","from":"/metadata/theme","path":"/metadata/colour"}]`, `{"metadata":{"theme":null,"colour":"dark"}}`},
		{"move array element", `[{"op":"move","from":"/roles/0","path":"/roles/-"}]`, `{"roles":["viewer","member"]}`},
		{"copy", `[{"op":"copy","from":"/roles","path":"/metadata/old_roles"}]`, `{"metadata":{"old_roles":["member","viewer"]}}`},
		{"copy then edit the copy", `[{"op":"copy","from":"/metadata/inner","path":"/metadata/copy"},{"op":"add","path":"/metadata/copy/b","value":2}]`, `{"metadata":{"copy":{"a":1,"b":2}}}`},
		{"later op sees earlier ones", `[{"op":"add","path":"/metadata/new","value":{}},{"op":"add","path":"/metadata/new/x","value":1},{"op":"test","path":"/metadata/new","value":{"x":1}}]`, `{"metadata":{"new":{"x":1}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := applyText(t, tt.patch)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			want := Merge(mustDecode(t, userDoc), mustDecode(t, tt.want))
			if !Equal(got, want) {
				t.Errorf("got %s, want %s", mustEncode(t, got), mustEncode(t, want))
			}
		})
	}
}

func TestApplySmallDocuments(t *testing.T) {
	tests := []struct {
		name, doc, patch, want string
	}{
		{"replace root", `{"a":1}`, `[{"op":"replace","path":"","value":[1]}]`, `[1]`},
		{"add root", `[1]`, `[{"op":"add","path":"","value":"x"}]`, `"x"`},
		{"copy root into a member", `{"a":1}`, `[{"op":"copy","from":"","path":"/b"}]`, `{"a":1,"b":{"a":1}}`},
		{"move root onto itself", `{"a":1}`, `[{"op":"move","from":"","path":""}]`, `{"a":1}`},
		{"move a member to root", `{"a":{"b":1}}`, `[{"op":"move","from":"/a","path":""}]`, `{"b":1}`},
		{"scalar document", `"x"`, `[{"op":"test","path":"","value":"x"}]`, `"x"`},
		{"no ops", `{"a":[1]}`, `[]`, `{"a":[1]}`},
		{"set to null", `{"a":1}`, `[{"op":"replace","path":"/a","value":null}]`, `{"a":null}`},
		{"move out of a child to the parent", `{"m":{"t":1,"in":{"a":1}}}`, `[{"op":"move","from":"/m/in","path":"/m"}]`, `{"m":{"a":1}}`},
		{"remove the last element", `{"a":[1]}`, `[{"op":"remove","path":"/a/0"}]`, `{"a":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops, err := ParseOps(mustDecode(t, tt.patch))
			if err != nil {
				t.Fatalf("ParseOps: %v", err)
			}
			got, err := Apply(mustDecode(t, tt.doc), ops)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if want := mustDecode(t, tt.want); !Equal(got, want) {
				t.Errorf("got %s, want %s", mustEncode(t, got), tt.want)
			}
		})
	}
}

func TestApplyConflicts(t *testing.T) {
	tests := []struct {
		name      string
		patch     string
		wantIndex int
		wantPath  string
		wantMsg   string
	}{
		{"remove missing member", `[{"op":"remove","path":"/nickname"}]`, 0, "/nickname", `"/nickname" does not exist`},
		{"remove under missing parent", `[{"op":"remove","path":"/a/b/c"}]`, 0, "/a/b/c", `"/a" does not exist`},
		{"remove whole document", `[{"op":"remove","path":""}]`, 0, "", "cannot remove the whole document"},
		{"replace missing member", `[{"op":"replace","path":"/nickname","value":"x"}]`, 0, "/nickname", `"/nickname" does not exist`},
		{"add under missing parent", `[{"op":"add","path":"/profile/nickname","value":"x"}]`, 0, "/profile/nickname", `"/profile" does not exist`},
		{"add into a string", `[{"op":"add","path":"/email/x","value":1}]`, 0, "/email/x", `"/email" is neither an object nor an array`},
		{"descend through a string", `[{"op":"add","path":"/email/x/y","value":1}]`, 0, "/email/x/y", `"/email/x" does not exist`},
		{"descend through null", `[{"op":"test","path":"/bio/x","value":1}]`, 0, "/bio/x", `"/bio/x" does not exist`},
		{"negative index", `[{"op":"add","path":"/roles/-1","value":"x"}]`, 0, "/roles/-1", `"-1" is not a valid array index`},
		{"leading zero index", `[{"op":"replace","path":"/roles/01","value":"x"}]`, 0, "/roles/01", `"01" is not a valid array index`},
		{"double zero index", `[{"op":"remove","path":"/roles/00"}]`, 0, "/roles/00", `"00" is not a valid array index`},
		{"plus sign index", `[{"op":"test","path":"/roles/+1","value":"viewer"}]`, 0, "/roles/+1", `"+1" is not a valid array index`},
		{"exponent index", `[{"op":"test","path":"/roles/1e0","value":"viewer"}]`, 0, "/roles/1e0", `"1e0" is not a valid array index`},
		{"empty index", `[{"op":"test","path":"/roles/","value":"viewer"}]`, 0, "/roles/", `"" is not a valid array index`},
		{"name on an array", `[{"op":"add","path":"/roles/admin","value":"x"}]`, 0, "/roles/admin", `"admin" is not a valid array index`},
		{"add past the end", `[{"op":"add","path":"/roles/3","value":"x"}]`, 0, "/roles/3", `array index "3" is out of range`},
		{"replace at len", `[{"op":"replace","path":"/roles/2","value":"x"}]`, 0, "/roles/2", `array index "2" is out of range`},
		{"remove at len", `[{"op":"remove","path":"/roles/2"}]`, 0, "/roles/2", `array index "2" is out of range`},
		{"huge index", `[{"op":"add","path":"/roles/99999999999999999999999","value":"x"}]`, 0, "/roles/99999999999999999999999", "out of range"},
		{"dash for replace", `[{"op":"replace","path":"/roles/-","value":"x"}]`, 0, "/roles/-", `"-" refers to the nonexistent element`},
		{"dash for remove", `[{"op":"remove","path":"/roles/-"}]`, 0, "/roles/-", `"-" refers to the nonexistent element`},
		{"dash for test", `[{"op":"test","path":"/roles/-","value":"x"}]`, 0, "/roles/-", `"-" refers to the nonexistent element`},
		{"dash mid-path", `[{"op":"add","path":"/roles/-/x","value":"x"}]`, 0, "/roles/-/x", `"-" refers to the nonexistent element`},
		{"test fails", `[{"op":"test","path":"/email","value":"bob@example.com"}]`, 0, "/email", "test failed"},
		{"test number against string", `[{"op":"test","path":"/version","value":"3"}]`, 0, "/version", "test failed"},
		{"test null against absent", `[{"op":"test","path":"/nickname","value":null}]`, 0, "/nickname", "does not exist"},
		{"test object needs every member", `[{"op":"test","path":"/metadata","value":{"theme":"dark"}}]`, 0, "/metadata", "test failed"},
		{"move into own child", `[{"op":"move","from":"/metadata","path":"/metadata/inner/moved"}]`, 0, "/metadata/inner/moved", `cannot move "/metadata" into its own child`},
		{"move root into child", `[{"op":"move","from":"","path":"/x"}]`, 0, "/x", "cannot move the whole document into its own child"},
		{"move from missing", `[{"op":"move","from":"/nickname","path":"/name"}]`, 0, "/nickname", `"/nickname" does not exist`},
		{"move onto itself from missing", `[{"op":"move","from":"/nickname","path":"/nickname"}]`, 0, "/nickname", `"/nickname" does not exist`},
		{"move to missing parent", `[{"op":"move","from":"/name","path":"/x/y"}]`, 0, "/x/y", `"/x" does not exist`},
		{"copy from missing", `[{"op":"copy","from":"/roles/5","path":"/x"}]`, 0, "/roles/5", "out of range"},
		{"copy to bad index", `[{"op":"copy","from":"/name","path":"/roles/9"}]`, 0, "/roles/9", "out of range"},
		{"later operation fails", `[{"op":"replace","path":"/email","value":"x@y.z"},{"op":"test","path":"/version","value":3},{"op":"remove","path":"/nope"}]`, 2, "/nope", "does not exist"},
		{"a member removed earlier is gone", `[{"op":"remove","path":"/bio"},{"op":"replace","path":"/bio","value":"x"}]`, 1, "/bio", "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := applyText(t, tt.patch)
			if err == nil {
				t.Fatalf("got %s, want a conflict", mustEncode(t, got))
			}
			if got != nil {
				t.Errorf("got a result %v alongside the error", got)
			}
			var ce *ConflictError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is a %T, want *ConflictError", err, err)
			}
			if ce.Index != tt.wantIndex {
				t.Errorf("got index %d, want %d", ce.Index, tt.wantIndex)
			}
			if ce.Path != tt.wantPath {
				t.Errorf("got path %q, want %q", ce.Path, tt.wantPath)
			}
			if !strings.Contains(ce.Msg, tt.wantMsg) {
				t.Errorf("got message %q, want it to contain %q", ce.Msg, tt.wantMsg)
			}
		})
	}
}

// A failed test must not reveal the value it was compared with: the value
// may be a secret the client is not allowed to read.
func TestConflictDoesNotQuoteValues(t *testing.T) {
	doc := mustDecode(t, `{"token":"s3cr3t-value"}`)
	_, err := Apply(doc, []Op{{Op: "test", Path: "/token", Value: "guess"}})
	if err == nil {
		t.Fatal("got no error, want a failed test")
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error %q quotes the document's value", err)
	}
}

func TestApplyHandBuiltOps(t *testing.T) {
	tests := []struct {
		name    string
		ops     []Op
		wantMsg string
	}{
		{"unknown op", []Op{{Op: "test", Path: "", Value: map[string]any{}}, {Op: "merge", Path: "/a"}}, `unknown op "merge"`},
		{"bad path", []Op{{Op: "add", Path: "x", Value: 1}}, `invalid "path" "x"`},
		{"bad from", []Op{{Op: "copy", From: "~", Path: "/x"}}, `invalid "from" "~"`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Apply(map[string]any{}, tt.ops)
			var oe *OpError
			if !errors.As(err, &oe) {
				t.Fatalf("got %v (%T), want *OpError", err, err)
			}
			if want := len(tt.ops) - 1; oe.Index != want {
				t.Errorf("case %d: got index %d, want %d", i, oe.Index, want)
			}
			if !strings.Contains(oe.Msg, tt.wantMsg) {
				t.Errorf("got %q, want it to contain %q", oe.Msg, tt.wantMsg)
			}
		})
	}
}

func TestApplyIsAtomicAndNeverMutates(t *testing.T) {
	const patchText = `[
		{"op":"add","path":"/metadata/new","value":{"list":[1]}},
		{"op":"add","path":"/metadata/new/list/-","value":2},
		{"op":"remove","path":"/roles/0"},
		{"op":"replace","path":"/location/coordinates/0","value":0},
		{"op":"move","from":"/metadata/inner","path":"/moved"},
		{"op":"copy","from":"/moved","path":"/copied"},
		{"op":"add","path":"/copied/a","value":"changed"}
	]`
	t.Run("on success", func(t *testing.T) {
		doc := mustDecode(t, userDoc)
		patch := mustDecode(t, patchText)
		ops, err := ParseOps(patch)
		if err != nil {
			t.Fatalf("ParseOps: %v", err)
		}
		first, err := Apply(doc, ops)
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		if !Equal(doc, mustDecode(t, userDoc)) {
			t.Errorf("document mutated: %s", mustEncode(t, doc))
		}
		if !Equal(patch, mustDecode(t, patchText)) {
			t.Errorf("patch values mutated: %s", mustEncode(t, patch))
		}
		second, err := Apply(doc, ops)
		if err != nil {
			t.Fatalf("second Apply: %v", err)
		}
		if !Equal(first, second) {
			t.Errorf("same ops, different results: %s and %s", mustEncode(t, first), mustEncode(t, second))
		}
		if got := first.(map[string]any)["moved"].(map[string]any)["a"]; !Equal(got, mustDecode(t, "1")) {
			t.Errorf("copy aliases its source: /moved/a is %v", got)
		}
		// Scribble over the result: neither input may change.
		m := first.(map[string]any)
		m["metadata"].(map[string]any)["new"].(map[string]any)["list"].([]any)[0] = "changed"
		m["location"].(map[string]any)["coordinates"].([]any)[1] = "changed"
		m["roles"].([]any)[0] = "changed"
		if !Equal(doc, mustDecode(t, userDoc)) {
			t.Errorf("result aliases the document: %s", mustEncode(t, doc))
		}
		if !Equal(patch, mustDecode(t, patchText)) {
			t.Errorf("result aliases the patch: %s", mustEncode(t, patch))
		}
	})
	t.Run("on failure", func(t *testing.T) {
		doc := mustDecode(t, userDoc)
		ops, err := ParseOps(mustDecode(t, patchText))
		if err != nil {
			t.Fatalf("ParseOps: %v", err)
		}
		ops = append(ops, Op{Op: "test", Path: "/version", Value: mustDecode(t, "4")})
		got, err := Apply(doc, ops)
		if err == nil {
			t.Fatalf("got %s, want a conflict", mustEncode(t, got))
		}
		if !Equal(doc, mustDecode(t, userDoc)) {
			t.Errorf("document mutated by a failed patch: %s", mustEncode(t, doc))
		}
	})
	t.Run("no ops returns a copy", func(t *testing.T) {
		doc := mustDecode(t, userDoc)
		got, err := Apply(doc, nil)
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		got.(map[string]any)["email"] = "changed"
		if !Equal(doc, mustDecode(t, userDoc)) {
			t.Errorf("result aliases the document")
		}
	})
}

func TestErrorTexts(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&OpError{Index: -1, Msg: "a JSON Patch document must be an array of operations"}, "invalid json patch: a JSON Patch document must be an array of operations"},
		{&OpError{Index: 2, Msg: `missing "path" member`}, `invalid json patch: operation 2: missing "path" member`},
		{&ConflictError{Index: 1, Op: "test", Path: "/a", Msg: "x"}, "json patch conflict: operation 1 (test): x"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}
