package patch

import (
	"testing"
)

// mustDecode decodes JSON written in a test.
func mustDecode(t testing.TB, s string) any {
	t.Helper()
	v, err := Decode([]byte(s))
	if err != nil {
		t.Fatalf("Decode(%q): %v", s, err)
	}
	return v
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name, target, patch, want string
	}{
		{"metadata merges recursively", `{"metadata":{"theme":"dark","lang":"fr"}}`, `{"metadata":{"theme":"light"}}`, `{"metadata":{"theme":"light","lang":"fr"}}`},
		{"null deletes", `{"bio":"x","name":"A"}`, `{"bio":null}`, `{"name":"A"}`},
		{"null for a missing member", `{"name":"A"}`, `{"bio":null}`, `{"name":"A"}`},
		{"arrays replaced whole", `{"roles":["member","admin"]}`, `{"roles":["viewer"]}`, `{"roles":["viewer"]}`},
		{"nulls inside arrays kept", `{}`, `{"a":[null,{"b":null}]}`, `{"a":[null,{"b":null}]}`},
		{"empty patch changes nothing", `{"a":{"b":1}}`, `{}`, `{"a":{"b":1}}`},
		{"object patch on scalar member", `{"location":"x"}`, `{"location":{"type":"Point","x":null}}`, `{"location":{"type":"Point"}}`},
		{"numbers kept exactly", `{}`, `{"n":123456789012345678901234567890}`, `{"n":123456789012345678901234567890}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Merge(mustDecode(t, tt.target), mustDecode(t, tt.patch))
			want := mustDecode(t, tt.want)
			if !Equal(got, want) {
				t.Errorf("got %s, want %s", mustEncode(t, got), tt.want)
			}
		})
	}
}

func TestMergeDoesNotMutateOrAlias(t *testing.T) {
	const targetText = `{"keep":{"x":[1,{"y":2}]},"metadata":{"theme":"dark"},"gone":1}`
	const patchText = `{"metadata":{"lang":"fr","drop":null},"new":{"z":[3]},"gone":null}`
	target, patch := mustDecode(t, targetText), mustDecode(t, patchText)

	got := Merge(target, patch).(map[string]any)

	if !Equal(target, mustDecode(t, targetText)) {
		t.Errorf("target mutated: %s", mustEncode(t, target))
	}
	if !Equal(patch, mustDecode(t, patchText)) {
		t.Errorf("patch mutated: %s", mustEncode(t, patch))
	}
	// Scribble over the result everywhere; neither input may change.
	got["keep"].(map[string]any)["x"].([]any)[1].(map[string]any)["y"] = "changed"
	got["keep"].(map[string]any)["x"].([]any)[0] = "changed"
	got["new"].(map[string]any)["z"].([]any)[0] = "changed"
	got["metadata"].(map[string]any)["theme"] = "changed"
	if !Equal(target, mustDecode(t, targetText)) {
		t.Errorf("result aliases target: %s", mustEncode(t, target))
	}
	if !Equal(patch, mustDecode(t, patchText)) {
		t.Errorf("result aliases patch: %s", mustEncode(t, patch))
	}
}

func TestMergeNonObjectPatchIsCopied(t *testing.T) {
	patch := []any{map[string]any{"a": "b"}}
	got := Merge(map[string]any{}, patch).([]any)
	got[0].(map[string]any)["a"] = "changed"
	if patch[0].(map[string]any)["a"] != "b" {
		t.Errorf("result aliases the patch")
	}
}
