// Package gencheck holds api/openapi.yaml to what client generators need:
// its test generates Go clients from the document with oapi-codegen, at the
// version the module's tool directive pins, compiles them, and sends typed
// requests through one of them to a real Roster (testdata/roundtrip_test.go).
//
// Nothing generated is committed: the clients are written to a temporary
// directory at each run and compiled as a package of this module with
// go build -overlay, so the document is checked whole, as it is, and a
// change to it needs no regeneration step.
package gencheck
