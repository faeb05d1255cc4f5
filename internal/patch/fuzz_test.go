package patch

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		userJSON,
		`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `""`, " \t\n",
		`123456789012345678901234567890`, `-1.5e-300`, `1E+2`, `0.0`,
		`01`, `1.`, `-`, `.5`, `+1`, `1e`, `NaN`,
		`"\u00e9\ud83d\ude00\n\t\"\\\/"`, `"\ud800"`, `"\udc00"`, `"\ud800\u0041"`,
		"\"\xff\"", "\"\xed\xa0\x80\"", "\xef\xbb\xbf{}", "\"a\x00b\"",
		`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"a":{"b":1,"b":2}}`,
		`[1,2,]`, `{"a":1,}`, `{"a" 1}`, `[1 2]`, `{} {}`, `[] x`,
		strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth),
		strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
		`{"op":"add","path":"/a~1b","value":[{"x":null}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data)
		if err != nil {
			checkDecodeError(t, data, err)
			return
		}
		if !json.Valid(data) {
			t.Fatalf("Decode accepted %q, which encoding/json says is invalid", data)
		}
		if !utf8.Valid(data) {
			t.Fatalf("Decode accepted invalid UTF-8 %q", data)
		}

		// Same value as encoding/json, down to the text of each number.
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var std any
		if err := dec.Decode(&std); err != nil {
			t.Fatalf("encoding/json refused %q: %v", data, err)
		}
		stdText, err := json.Marshal(std)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		gotText, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if !bytes.Equal(gotText, stdText) {
			t.Fatalf("Decode and encoding/json disagree on %q:\n got %s\nwant %s", data, gotText, stdText)
		}

		// encode, then Decode again: an equal value, and a fixed point.
		text, err := encode(v)
		if err != nil {
			t.Fatalf("encode(Decode(%q)): %v", data, err)
		}
		back, err := Decode(text)
		if err != nil {
			t.Fatalf("Decode(encode(...)) of %q: %v", text, err)
		}
		if !Equal(back, v) {
			t.Fatalf("round trip changed the value: %q became %q", data, text)
		}
		again, err := encode(back)
		if err != nil || !bytes.Equal(again, text) {
			t.Fatalf("encode is not canonical: %q then %q (%v)", text, again, err)
		}
		if !Equal(v, v) {
			t.Fatalf("Equal(v, v) is false for %q", data)
		}
	})
}

// checkDecodeError checks that a refusal is one of the documented kinds,
// and that input encoding/json accepts is refused only for the reasons
// Decode is deliberately stricter.
func checkDecodeError(t *testing.T, data []byte, err error) {
	t.Helper()
	onlySpace := len(bytes.Trim(data, " \t\r\n")) == 0
	if errors.Is(err, ErrEmpty) != onlySpace {
		t.Fatalf("Decode(%q): got %v; ErrEmpty exactly when the input is only whitespace", data, err)
	}
	if onlySpace {
		return
	}
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("Decode(%q): got %T %v, want *SyntaxError", data, err, err)
	}
	if se.Offset < 0 || se.Offset > len(data) {
		t.Fatalf("Decode(%q): offset %d outside the input", data, se.Offset)
	}
	if json.Valid(data) && utf8.Valid(data) {
		for _, deliberate := range []string{"duplicate member", "nesting deeper", "lone surrogate"} {
			if strings.HasPrefix(se.Msg, deliberate) {
				return
			}
		}
		t.Fatalf("Decode refused valid JSON %q: %v", data, err)
	}
}

func FuzzApply(f *testing.F) {
	for _, seed := range []struct{ doc, patch string }{
		{userJSON, `[{"op":"replace","path":"/email","value":"x@y.z"},{"op":"add","path":"/roles/-","value":"viewer"}]`},
		{userJSON, `[{"op":"move","from":"/metadata","path":"/location/meta"},{"op":"copy","from":"/location","path":"/roles/0"}]`},
		{userJSON, `[{"op":"test","path":"/version","value":18446744073709551617.0},{"op":"remove","path":"/suspensions"}]`},
		{`{"a":{"b":[1,2,{"c":null}]}}`, `[{"op":"move","from":"/a","path":"/a/b/0"}]`},
		{`{"a":{"b":[1,2,{"c":null}]}}`, `[{"op":"copy","from":"","path":"/a/b/-"},{"op":"add","path":"/a/b/3/a/x","value":1}]`},
		{`{"a":[1,2]}`, `[{"op":"remove","path":"/a/01"},{"op":"add","path":"/a/-1","value":0}]`},
		{`[]`, `[{"op":"add","path":"/-","value":{"x":[]}},{"op":"add","path":"/0/x/0","value":1}]`},
		{`{"":{"~":{"/":1}}}`, `[{"op":"test","path":"//~0/~1","value":1e0},{"op":"remove","path":"/"}]`},
		{`{"a":1}`, `[{"op":"move","from":"","path":""},{"op":"replace","path":"","value":[null]}]`},
		{`{"a":1}`, `[{"op":"add","path":"/b"}]`},
		{`{"a":1}`, `{"a":null,"b":{"c":{"d":null}}}`},
		{`"x"`, `[{"op":"add","path":"/a","value":1}]`},
	} {
		f.Add([]byte(seed.doc), []byte(seed.patch))
	}
	f.Fuzz(func(t *testing.T, docText, patchText []byte) {
		doc, err := Decode(docText)
		if err != nil {
			return
		}
		patch, err := Decode(patchText)
		if err != nil {
			return
		}
		docBefore := mustEncodeFuzz(t, doc)
		patchBefore := mustEncodeFuzz(t, patch)
		unchanged := func(what string) {
			t.Helper()
			if got := mustEncodeFuzz(t, doc); !bytes.Equal(got, docBefore) {
				t.Fatalf("%s mutated the document: %s became %s", what, docBefore, got)
			}
			if got := mustEncodeFuzz(t, patch); !bytes.Equal(got, patchBefore) {
				t.Fatalf("%s mutated the patch: %s became %s", what, patchBefore, got)
			}
		}

		merged := Merge(doc, patch)
		unchanged("Merge")
		mustEncodeFuzz(t, merged)

		ops, err := ParseOps(patch)
		if err != nil {
			var oe *OpError
			if !errors.As(err, &oe) {
				t.Fatalf("ParseOps: got %T %v, want *OpError", err, err)
			}
			return
		}
		got, err := Apply(doc, ops)
		unchanged("Apply")
		if err != nil {
			var ce *ConflictError
			if !errors.As(err, &ce) || got != nil {
				t.Fatalf("Apply: got %v and %T %v, want nil and a *ConflictError", got, err, err)
			}
			if ce.Index < 0 || ce.Index >= len(ops) {
				t.Fatalf("conflict index %d outside [0, %d)", ce.Index, len(ops))
			}
			return
		}
		gotText := mustEncodeFuzz(t, got)
		// Scribble over the result: the inputs must not see it.
		scribble(got)
		unchanged("changing Apply's result")

		again, err := Apply(doc, ops)
		if err != nil {
			t.Fatalf("second Apply failed: %v", err)
		}
		if againText := mustEncodeFuzz(t, again); !bytes.Equal(againText, gotText) {
			t.Fatalf("same ops, different results: %s then %s", gotText, againText)
		}
	})
}

// scribble overwrites every container element of v in place.
func scribble(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			scribble(x)
			v[k] = "scribbled"
		}
	case []any:
		for i, x := range v {
			scribble(x)
			v[i] = "scribbled"
		}
	}
}

func mustEncodeFuzz(t *testing.T, v any) []byte {
	t.Helper()
	b, err := encode(v)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b
}
