package gencheck_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	// What the generated client and testdata/roundtrip_test.go import. go
	// mod tidy never sees those files, which exist for the go command only
	// through -overlay: these imports keep the modules in go.mod and go.sum.
	_ "github.com/oapi-codegen/nullable"
	_ "github.com/oapi-codegen/runtime"
	_ "github.com/oapi-codegen/runtime/types"
	_ "go.yaml.in/yaml/v3"
)

// generatedPkg is the import path the generated clients are compiled as.
// No directory holds it: go build -overlay supplies its one file.
const generatedPkg = "./internal/gencheck/rosterapi"

// TestOapiCodegen generates Go clients from api/openapi.yaml with the
// oapi-codegen that go.mod's tool directive pins, and checks that they
// compile (with the generator's default options, and with nullable types)
// and that typed requests sent through one reach a real Roster intact
// (testdata/roundtrip_test.go, run as a test of the generated package).
func TestOapiCodegen(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and compiles clients of the whole API")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	spec := filepath.Join(root, "api", "openapi.yaml")

	t.Run("default options compile", func(t *testing.T) {
		gen := filepath.Join(t.TempDir(), "client.gen.go")
		run(t, root, "go", "tool", "oapi-codegen", "-generate", "types,client", "-package", "rosterapi", "-o", gen, spec)
		run(t, root, "go", "build", "-overlay", overlay(t, root, gen), generatedPkg)
	})

	t.Run("typed requests reach the server", func(t *testing.T) {
		gen := filepath.Join(t.TempDir(), "client.gen.go")
		run(t, root, "go", "tool", "oapi-codegen", "-config", filepath.Join(root, "internal", "gencheck", "oapi-codegen.yaml"), "-o", gen, spec)
		roundtrip := filepath.Join(root, "internal", "gencheck", "testdata", "roundtrip_test.go")
		// Compiled, then run here: go test would run the binary in the
		// package's directory, which does not exist. Vet is off because
		// it too works in that directory.
		bin := filepath.Join(t.TempDir(), "rosterapi.test")
		run(t, root, "go", "test", "-c", "-o", bin, "-vet=off", "-overlay", overlay(t, root, gen, roundtrip), generatedPkg)
		t.Logf("%s", run(t, t.TempDir(), bin, "-test.count=1", "-test.v"))
	})
}

// overlay writes a go build -overlay file that places the generated
// client gen, and the given test files, in generatedPkg, and returns its
// path.
func overlay(t *testing.T, root, gen string, tests ...string) string {
	t.Helper()
	files := map[string]string{filepath.Join(root, generatedPkg, "client.gen.go"): gen}
	for _, f := range tests {
		files[filepath.Join(root, generatedPkg, filepath.Base(f))] = f
	}
	b, err := json.Marshal(map[string]map[string]string{"Replace": files})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "overlay.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// run runs a command in dir and returns its output; the test fails with
// that output if the command does.
func run(t *testing.T, dir, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}
