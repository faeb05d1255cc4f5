// Package api holds Roster's HTTP contract, the OpenAPI 3.1 document that the
// server serves at /openapi.yaml and that the tests check responses against.
package api

import _ "embed"

// OpenAPI is the contents of openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
