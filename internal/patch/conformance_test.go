package patch

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// conformanceDir is where the third-party test vectors live, in the
// repository (see testdata/README.md for their origin and licence). A
// missing file fails the test rather than skips it, so a broken checkout
// cannot pass silently.
const conformanceDir = "testdata"

// readRecords reads a JSON array of test records. Each record stays raw
// member by member: some disabled records hold duplicate member names,
// which Decode rightly refuses, so the outer layer is read with
// encoding/json and each member is decoded with Decode only when used.
func readRecords(t *testing.T, file string) []map[string]json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	var records []map[string]json.RawMessage
	if err := json.Unmarshal(data, &records); err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	if len(records) == 0 {
		t.Fatalf("%s holds no records", file)
	}
	return records
}

// decodeMember decodes a record member with Decode.
func decodeMember(t *testing.T, rec map[string]json.RawMessage, name string) any {
	t.Helper()
	v, err := Decode(rec[name])
	if err != nil {
		t.Fatalf("decode %q: %v", name, err)
	}
	return v
}

func recordName(i int, rec map[string]json.RawMessage) string {
	var comment string
	_ = json.Unmarshal(rec["comment"], &comment)
	if comment == "" {
		return fmt.Sprintf("%03d", i)
	}
	return fmt.Sprintf("%03d %s", i, comment)
}

func TestJSONPatchConformance(t *testing.T) {
	for _, file := range []string{"tests.json", "spec_tests.json"} {
		t.Run(file, func(t *testing.T) {
			records := readRecords(t, filepath.Join(conformanceDir, "json-patch-tests", file))
			var ran, disabled, wantDoc, wantErr, wantOK int
			for i, rec := range records {
				var off bool
				_ = json.Unmarshal(rec["disabled"], &off)
				if off {
					disabled++
					continue
				}
				if _, ok := rec["patch"]; !ok {
					continue // a comment-only record, allowed by the format
				}
				ran++
				_, hasExpected := rec["expected"]
				_, hasError := rec["error"]
				switch {
				case hasError:
					wantErr++
				case hasExpected:
					wantDoc++
				default:
					wantOK++
				}
				t.Run(recordName(i, rec), func(t *testing.T) {
					runPatchRecord(t, rec, hasExpected, hasError)
				})
			}
			t.Logf("%s: ran %d records (%d with expected, %d with error, %d apply-only), skipped %d disabled",
				file, ran, wantDoc, wantErr, wantOK, disabled)
			if ran == 0 {
				t.Fatalf("%s: no enabled records ran", file)
			}
		})
	}
}

func runPatchRecord(t *testing.T, rec map[string]json.RawMessage, hasExpected, hasError bool) {
	t.Helper()
	doc := decodeMember(t, rec, "doc")
	pristine := decodeMember(t, rec, "doc")
	patchDoc, err := Decode(rec["patch"])
	if err != nil {
		if hasError {
			return // refused at the JSON level, which is an error too
		}
		t.Fatalf("decode patch: %v", err)
	}

	got, err := applyPatchDoc(doc, patchDoc)
	if !Equal(doc, pristine) {
		t.Errorf("input document was mutated: got %s, want %s", mustEncode(t, doc), mustEncode(t, pristine))
	}
	if hasError {
		if err == nil {
			t.Fatalf("applied to %s, want an error (%s)", mustEncode(t, got), rec["error"])
		}
		assertPatchErrorType(t, err)
		t.Logf("got error as expected: %v", err)
		return
	}
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if hasExpected {
		want := decodeMember(t, rec, "expected")
		if !Equal(got, want) {
			t.Errorf("got %s, want %s", mustEncode(t, got), mustEncode(t, want))
		}
	}
}

func applyPatchDoc(doc, patchDoc any) (any, error) {
	ops, err := ParseOps(patchDoc)
	if err != nil {
		return nil, err
	}
	return Apply(doc, ops)
}

// assertPatchErrorType checks that err is one of the two kinds callers map
// to HTTP statuses.
func assertPatchErrorType(t *testing.T, err error) {
	t.Helper()
	switch err.(type) {
	case *OpError, *ConflictError:
	default:
		t.Errorf("error %v is a %T, want *OpError or *ConflictError", err, err)
	}
}

func TestMergePatchConformance(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(conformanceDir, "merge-patch", "*.json"))
	if err != nil {
		t.Fatalf("glob: %v", err)
	}
	if len(files) == 0 {
		t.Fatalf("no merge patch vectors in %s", filepath.Join(conformanceDir, "merge-patch"))
	}
	total := 0
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			records := readRecords(t, file)
			for i, rec := range records {
				total++
				t.Run(recordName(i, rec), func(t *testing.T) {
					doc := decodeMember(t, rec, "doc")
					patch := decodeMember(t, rec, "patch")
					want := decodeMember(t, rec, "expected")

					got := Merge(doc, patch)

					if !Equal(got, want) {
						t.Errorf("got %s, want %s", mustEncode(t, got), mustEncode(t, want))
					}
					if !Equal(doc, decodeMember(t, rec, "doc")) {
						t.Errorf("target was mutated: %s", mustEncode(t, doc))
					}
					if !Equal(patch, decodeMember(t, rec, "patch")) {
						t.Errorf("patch was mutated: %s", mustEncode(t, patch))
					}
				})
			}
		})
	}
	t.Logf("ran %d merge patch vectors from %d files", total, len(files))
}

func mustEncode(t *testing.T, v any) string {
	t.Helper()
	b, err := encode(v)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return string(b)
}

// The vectors disable their two records whose patch repeats "op", because
// most JSON parsers silently keep one of the values. Decode refuses them,
// so a body like that never reaches ParseOps.
func TestDuplicateOpRecordsAreRefused(t *testing.T) {
	refused := 0
	for _, file := range []string{"tests.json", "spec_tests.json"} {
		for i, rec := range readRecords(t, filepath.Join(conformanceDir, "json-patch-tests", file)) {
			var why string
			_ = json.Unmarshal(rec["error"], &why)
			if !strings.Contains(why, "two 'op' members") {
				continue
			}
			t.Run(file+"/"+recordName(i, rec), func(t *testing.T) {
				_, err := Decode(rec["patch"])
				var se *SyntaxError
				if !errors.As(err, &se) || !strings.HasPrefix(se.Msg, `duplicate member "op"`) {
					t.Errorf("got %v, want a duplicate member error", err)
				}
			})
			refused++
		}
	}
	if got, want := refused, 2; got != want {
		t.Errorf("found %d records with duplicate ops, want %d", got, want)
	}
}
