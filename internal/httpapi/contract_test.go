package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
	"github.com/pb33f/libopenapi-validator/paths"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"github.com/roster-dev/roster/api"
)

// The contract check: every exchange the tests make goes through
// checkContract, which holds it against api/openapi.yaml (§3: the OpenAPI
// document is the contract, and the tests check real responses against it).

// contract is the parsed OpenAPI document and its validators.
type contract struct {
	doc   libopenapi.Document
	model *v3.Document
	// exchange validates requests and responses, bodies included.
	exchange validator.Validator
	// bodiless validates HEAD responses: status and headers, no body.
	bodiless validator.Validator
	// problem is components.schemas.Problem, for answers outside any operation.
	problem *base.Schema
	schemas schema_validation.SchemaValidator
}

var (
	contractOnce sync.Once
	theContract  *contract
	contractErr  error
)

// loadContract parses api/openapi.yaml once per test binary.
func loadContract() (*contract, error) {
	contractOnce.Do(func() { theContract, contractErr = newContract(api.OpenAPI) })
	return theContract, contractErr
}

func newContract(spec []byte) (*contract, error) {
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		return nil, fmt.Errorf("parse openapi.yaml: %w", err)
	}
	m, err := doc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("build openapi.yaml model: %w", err)
	}
	exchange, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		return nil, fmt.Errorf("openapi.yaml validator: %w", errors.Join(errs...))
	}
	bodiless, errs := validator.NewValidator(doc, config.WithoutResponseBodyValidation())
	if len(errs) > 0 {
		return nil, fmt.Errorf("openapi.yaml validator: %w", errors.Join(errs...))
	}
	c := &contract{doc: doc, model: &m.Model, exchange: exchange, bodiless: bodiless, schemas: schema_validation.NewSchemaValidator()}
	if m.Model.Components != nil && m.Model.Components.Schemas != nil {
		if p := m.Model.Components.Schemas.GetOrZero("Problem"); p != nil {
			c.problem = p.Schema()
		}
	}
	if c.problem == nil {
		return nil, errors.New("openapi.yaml has no components.schemas.Problem")
	}
	return c, nil
}

// checkContract validates one exchange against api/openapi.yaml.
//
// The response is always checked: its status must be documented for the
// operation, with its headers and body schema. The request is checked only
// when the server accepted it (status < 400): tests send malformed requests on
// purpose to check the 4xx answers. Its body is checked only when it is
// non-empty JSON. An exchange outside every operation (an unknown path or
// method) must be answered with a documented problem.
func checkContract(t testing.TB, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	t.Helper()
	c, err := loadContract()
	if err != nil {
		t.Fatalf("contract: %v", err)
		return
	}
	for _, msg := range c.check(req, reqBody, resp, respBody) {
		t.Errorf("contract: %s %s → %d: %s", req.Method, req.URL.RequestURI(), resp.StatusCode, msg)
	}
}

// check returns what in the exchange breaks the contract.
func (c *contract) check(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) []string {
	if f := resp.Request; f != nil && f.URL != nil && req.URL != nil && f.URL.String() != req.URL.String() {
		// The client followed a redirect: the response answers its last request.
		if f.Method != req.Method {
			reqBody = nil
		}
		req = f
	}
	r := cloneRequest(req, reqBody)
	v := c.exchange
	if r.Method == http.MethodHead {
		// HEAD is served by every GET route; a HEAD answer has no body.
		v = c.bodiless
		if c.operation(r) == nil {
			r.Method = http.MethodGet
		}
	}
	op := c.operation(r)
	if op == nil {
		return c.checkUnrouted(req.Method, req.URL.Path, resp, respBody)
	}
	if len(respBody) == 0 && resp.Header.Get("Content-Type") == "" && bodyOptional(op, resp.StatusCode) {
		// A response the document marks x-body-optional may come without
		// its content (a user write answered to a key that may not read
		// users): its status and headers are still checked.
		v = c.bodiless
	}
	var msgs []string
	if resp.StatusCode < 400 {
		rq := r
		if !checkableBody(r.Header.Get("Content-Type"), reqBody) {
			rq = cloneRequest(r, nil)
			rq.Header.Del("Content-Type")
		}
		if ok, errs := v.ValidateHttpRequestSync(rq); !ok {
			msgs = append(msgs, describe("request", errs)...)
		}
	}
	rs := cloneResponse(resp, respBody, r)
	if ok, errs := v.ValidateHttpResponse(cloneRequest(r, reqBody), rs); !ok {
		msgs = append(msgs, describe("response", errs)...)
	}
	return msgs
}

// bodyOptional reports whether op documents the response of status with
// x-body-optional: true.
func bodyOptional(op *v3.Operation, status int) bool {
	if op.Responses == nil || op.Responses.Codes == nil {
		return false
	}
	resp := op.Responses.Codes.GetOrZero(strconv.Itoa(status))
	if resp == nil || resp.Extensions == nil {
		return false
	}
	n := resp.Extensions.GetOrZero("x-body-optional")
	return n != nil && n.Value == "true"
}

// operation returns the operation of the document that serves r, or nil.
func (c *contract) operation(r *http.Request) *v3.Operation {
	item, _, _ := paths.FindPath(r, c.model, nil)
	if item == nil {
		return nil
	}
	return helpers.ExtractOperation(r, item)
}

// checkUnrouted checks an answer to a request no operation serves: a
// redirect (the mux cleans paths) or a problem, with Allow on a 405.
func (c *contract) checkUnrouted(method, path string, resp *http.Response, body []byte) []string {
	var msgs []string
	if !ulidRE.MatchString(resp.Header.Get("X-Request-Id")) {
		msgs = append(msgs, fmt.Sprintf("X-Request-Id %q is not a ULID", resp.Header.Get("X-Request-Id")))
	}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		if resp.Header.Get("Location") == "" {
			msgs = append(msgs, "a redirect without Location")
		}
		return msgs
	case resp.StatusCode < 400:
		return append(msgs, "no operation of the document serves this request, yet it succeeded")
	case resp.StatusCode == http.StatusMethodNotAllowed && resp.Header.Get("Allow") == "":
		msgs = append(msgs, "405 without Allow")
	}
	want := errorMediaType(path)
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != want {
		msgs = append(msgs, fmt.Sprintf("Content-Type %q, want %s", resp.Header.Get("Content-Type"), want))
	}
	if method == http.MethodHead || want != "application/problem+json" {
		return msgs
	}
	if ok, errs := c.schemas.ValidateSchemaBytes(c.problem, body); !ok {
		msgs = append(msgs, describe("problem body", errs)...)
	}
	var p struct {
		Status int `json:"status"`
	}
	if json.Unmarshal(body, &p) == nil && p.Status != resp.StatusCode {
		msgs = append(msgs, fmt.Sprintf("problem status %d differs from the HTTP status", p.Status))
	}
	return msgs
}

var ulidRE = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{26}$`)

// checkableBody reports whether a request body can be held against its
// schema: non-empty, declared as JSON, and valid JSON.
func checkableBody(contentType string, body []byte) bool {
	if len(bytes.TrimSpace(body)) == 0 {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return true // let the validator say that the type is not documented
	}
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return true
	}
	return json.Valid(body)
}

// cloneRequest returns a copy of r whose body reads body. The validator
// reads the body and changes the request it is given, so each use gets its own.
func cloneRequest(r *http.Request, body []byte) *http.Request {
	c := r.Clone(r.Context())
	c.Body = io.NopCloser(bytes.NewReader(body))
	c.ContentLength = int64(len(body))
	c.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return c
}

// cloneResponse returns a copy of resp whose body reads body.
func cloneResponse(resp *http.Response, body []byte, req *http.Request) *http.Response {
	c := *resp
	c.Header = resp.Header.Clone()
	c.Body = io.NopCloser(bytes.NewReader(body))
	c.ContentLength = int64(len(body))
	c.Request = req
	return &c
}

// describe renders validation errors with their schema failures.
func describe(what string, errs []*verrors.ValidationError) []string {
	var out []string
	for _, e := range errs {
		msg := what + ": " + e.Message
		if e.Reason != "" && e.Reason != e.Message {
			msg += " (" + e.Reason + ")"
		}
		for _, f := range e.SchemaValidationErrors {
			loc := f.FieldPath
			if loc == "" {
				loc = "$" + strings.Join(f.InstancePath, ".")
			}
			msg += fmt.Sprintf("\n\t%s: %s", loc, f.Reason)
		}
		out = append(out, msg)
	}
	if len(out) == 0 {
		out = append(out, what+": invalid")
	}
	return out
}

// documentedRoutes is every route of routes.go. A route added there without
// an operation in api/openapi.yaml fails TestOpenAPIDocumentIsValid; so does
// one added here without being served.
var documentedRoutes = []string{
	"POST /v1/users",
	"GET /v1/users",
	"GET /v1/users/{id}",
	"PATCH /v1/users/{id}",
	"PUT /v1/users/{id}",
	"DELETE /v1/users/{id}",
	"OPTIONS /v1/users/{id}",
	"POST /v1/users/{id}/restore",
	"POST /v1/users/{id}/deactivate",
	"POST /v1/users/{id}/reactivate",
	"POST /v1/users/{id}/suspensions",
	"DELETE /v1/users/{id}/suspensions/{sid}",
	"GET /v1/users/{id}/picture",
	"GET /v1/users/{id}/history",
	"GET /v1/roles",
	"PUT /v1/roles",
	"GET /v1/policies",
	"PUT /v1/policies",
	"GET /v1/usage",
	"GET /v1/tenant",
	"GET /v1/events",
	"POST /v1/webhook-endpoints",
	"GET /v1/webhook-endpoints",
	"GET /v1/webhook-endpoints/{id}",
	"DELETE /v1/webhook-endpoints/{id}",
	"POST /v1/webhook-endpoints/{id}/rotate-secret",
	"GET /v1/webhook-endpoints/{id}/deliveries",
	"GET /v1/keys",
	"POST /v1/keys",
	"GET /v1/keys/self",
	"GET /v1/keys/{id}",
	"DELETE /v1/keys/{id}",
	"POST /v1/keys/{id}/rotate",
	"GET /v1/audit",
	"GET /v1/platform-keys",
	"POST /v1/platform-keys",
	"GET /v1/platform-keys/{id}",
	"DELETE /v1/platform-keys/{id}",
	"POST /v1/platform-keys/{id}/rotate",
	"GET /v1/platform-audit",
	"POST /v1/tenants",
	"GET /v1/tenants",
	"GET /v1/tenants/{id}",
	"PATCH /v1/tenants/{id}",
	"GET /healthz",
	"GET /readyz",
	"GET /metrics",
	"GET /openapi.yaml",
	"GET /scim/v2/ServiceProviderConfig",
	"GET /scim/v2/ResourceTypes",
	"GET /scim/v2/ResourceTypes/{id}",
	"GET /scim/v2/Schemas",
	"GET /scim/v2/Schemas/{id}",
	"GET /scim/v2/Users",
	"POST /scim/v2/Users",
	"POST /scim/v2/Users/.search",
	"POST /scim/v2/.search",
	"GET /scim/v2/Users/{id}",
	"PUT /scim/v2/Users/{id}",
	"PATCH /scim/v2/Users/{id}",
	"DELETE /scim/v2/Users/{id}",
	"GET /scim/v2/Groups",
	"POST /scim/v2/Groups",
	"GET /scim/v2/Groups/{id}",
	"PUT /scim/v2/Groups/{id}",
	"PATCH /scim/v2/Groups/{id}",
	"DELETE /scim/v2/Groups/{id}",
}

// errorMediaType is the media type of the errors of a path: SCIM's
// (internal/scim) under /scim/, problems elsewhere.
func errorMediaType(path string) string {
	if strings.HasPrefix(path, "/scim/") {
		return "application/scim+json"
	}
	return "application/problem+json"
}

var routeRE = regexp.MustCompile(`mux\.Handle(?:Func)?\("([A-Z]+) ([^"]+)"`)

func TestOpenAPIDocumentIsValid(t *testing.T) {
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("schema", func(t *testing.T) {
		if ok, errs := c.exchange.ValidateDocument(); !ok {
			for _, msg := range describe("openapi.yaml", errs) {
				t.Error(msg)
			}
		}
		if c.model.Version != "3.1.0" {
			t.Errorf("openapi %q, want 3.1.0", c.model.Version)
		}
	})

	t.Run("routes", func(t *testing.T) {
		src, err := os.ReadFile("routes.go")
		if err != nil {
			t.Fatal(err)
		}
		var served []string
		for _, m := range routeRE.FindAllStringSubmatch(string(src), -1) {
			served = append(served, m[1]+" "+m[2])
		}
		if len(served) == 0 {
			t.Fatal("found no mux.Handle(\"METHOD /path\", …) in routes.go")
		}
		for _, r := range served {
			if !slices.Contains(documentedRoutes, r) {
				t.Errorf("routes.go serves %s: document it in api/openapi.yaml and add it to documentedRoutes", r)
			}
		}
		for _, r := range documentedRoutes {
			if !slices.Contains(served, r) {
				t.Errorf("documentedRoutes lists %s, which routes.go does not serve", r)
			}
		}
		for _, r := range documentedRoutes {
			method, path, _ := strings.Cut(r, " ")
			if c.op(method, path) == nil {
				t.Errorf("api/openapi.yaml has no operation for %s", r)
			}
		}
		// And the other way: every operation is served (HEAD by its GET route).
		for path, item := range c.model.Paths.PathItems.FromOldest() {
			for method := range item.GetOperations().FromOldest() {
				route := strings.ToUpper(method) + " " + path
				if method == "head" {
					route = "GET " + path
				}
				if !slices.Contains(served, route) {
					t.Errorf("api/openapi.yaml documents %s %s, which routes.go does not serve", strings.ToUpper(method), path)
				}
			}
		}
	})

	t.Run("responses", func(t *testing.T) {
		ids := map[string]bool{}
		for path, item := range c.model.Paths.PathItems.FromOldest() {
			for method, op := range item.GetOperations().FromOldest() {
				name := strings.ToUpper(method) + " " + path
				if op.OperationId == "" || ids[op.OperationId] {
					t.Errorf("%s: operationId %q is missing or not unique", name, op.OperationId)
				}
				ids[op.OperationId] = true
				if op.Summary == "" || op.Description == "" {
					t.Errorf("%s: no summary or description", name)
				}
				if op.Responses == nil || op.Responses.Codes == nil {
					t.Errorf("%s: no responses", name)
					continue
				}
				for code, resp := range op.Responses.Codes.FromOldest() {
					if resp.Headers == nil || resp.Headers.GetOrZero("X-Request-Id") == nil {
						t.Errorf("%s %s: no X-Request-Id header", name, code)
					}
					if n, _ := strconv.Atoi(code); n >= 400 && method != "head" {
						if mt := errorMediaType(path); resp.Content == nil || resp.Content.GetOrZero(mt) == nil {
							t.Errorf("%s %s: not an %s response", name, code, mt)
						}
					}
				}
				if op.Responses.Codes.GetOrZero("500") == nil {
					t.Errorf("%s: no 500 response", name)
				}
			}
		}
	})

	t.Run("problem codes", func(t *testing.T) {
		// The Problem code enum is exactly the codes of internal/directory
		// and those only the HTTP layer raises.
		var want []string
		for file, re := range map[string]*regexp.Regexp{
			"../directory/errors.go": regexp.MustCompile(`\bECode\w+\s*=\s*"([a-z_]+)"`),
			"problem.go":             regexp.MustCompile(`\bcode\w+\s*=\s*"([a-z_]+)"`),
		} {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range re.FindAllStringSubmatch(string(src), -1) {
				want = append(want, m[1])
			}
		}
		var got []string
		if s := c.model.Components.Schemas.GetOrZero("ProblemCode"); s != nil {
			for _, v := range s.Schema().Enum {
				got = append(got, v.Value)
			}
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("ProblemCode enum\n got  %v\n want %v (the ECode constants of internal/directory/errors.go, the code constants of problem.go)", got, want)
		}
	})
}

// op returns the operation for method and path template, or nil.
func (c *contract) op(method, path string) *v3.Operation {
	item := c.model.Paths.PathItems.GetOrZero(path)
	if item == nil {
		return nil
	}
	return item.GetOperations().GetOrZero(strings.ToLower(method))
}

// TestContractCatchesMismatches makes sure the checker is not vacuous: each
// exchange here breaks the contract in one way and must be reported.
func TestContractCatchesMismatches(t *testing.T) {
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	const (
		rid  = "01JD8X2Q5T3N6W9Y0Z1A2B3C4D"
		uid  = "usr_01JD8X2Q5T3N6W9Y0Z1A2B3C4D"
		tid  = "ten_01JD8X2Q5T3N6W9Y0Z1A2B3C4D"
		when = "2026-11-22T22:58:32.123Z"
	)
	user := func(edit func(map[string]any)) []byte {
		u := map[string]any{
			"object": "user", "id": uid, "tenant_id": tid, "email": "alice@example.com", "email_verified": false,
			"username": "alice", "name": nil, "given_name": nil, "family_name": nil, "picture": nil, "bio": nil,
			"birthdate": nil, "location": map[string]any{"type": "Point", "coordinates": []any{2.35, 48.85}},
			"company": nil, "website": nil, "country": "FR", "locale": nil, "zoneinfo": nil,
			"roles": []any{"member"}, "is_owner": false, "metadata": map[string]any{}, "status": "active",
			"purge_after": nil, "deactivated": false, "suspensions": []any{}, "auth_provider": "local", "consented_at": nil,
			"consent_method": nil, "external_id": nil, "scim_user_name": nil, "scim_attributes": map[string]any{}, "created_at": when, "updated_at": when, "version": 1,
		}
		if edit != nil {
			edit(u)
		}
		b, _ := json.Marshal(u)
		return b
	}
	problem := func(status int, code string) []byte {
		b, _ := json.Marshal(map[string]any{
			"type": "https://roster.dev/problems/" + code, "title": "x", "status": status,
			"detail": "x", "code": code, "request_id": rid,
		})
		return b
	}
	type exchange struct {
		method, path, reqType string
		reqBody               []byte
		status                int
		header                []string // name, value pairs besides X-Request-Id
		body                  []byte
	}
	userHeaders := []string{"Content-Type", "application/json", "ETag", `"1"`}
	problemHeaders := []string{"Content-Type", "application/problem+json"}
	patch415Headers := append([]string{"Accept-Patch", "application/json, application/merge-patch+json, application/json-patch+json"}, problemHeaders...)
	do := func(e exchange) []string {
		r, _ := http.NewRequest(e.method, "http://roster.test"+e.path, bytes.NewReader(e.reqBody))
		r.Header.Set("Authorization", "Bearer x")
		if e.reqType != "" {
			r.Header.Set("Content-Type", e.reqType)
		}
		h := http.Header{"X-Request-Id": {rid}}
		for i := 0; i+1 < len(e.header); i += 2 {
			h.Set(e.header[i], e.header[i+1])
		}
		resp := &http.Response{StatusCode: e.status, Header: h, Body: http.NoBody}
		return c.check(r, e.reqBody, resp, e.body)
	}

	good := []exchange{
		{method: "GET", path: "/v1/users/" + uid, status: 200, header: userHeaders, body: user(nil)},
		{method: "PATCH", path: "/v1/users/" + uid, reqType: "application/json-patch+json",
			reqBody: []byte(`[{"op":"replace","path":"/name","value":"A"}]`), status: 200, header: userHeaders, body: user(nil)},
		{method: "PATCH", path: "/v1/users/" + uid, reqType: "text/plain", reqBody: []byte("x"), status: 415,
			header: patch415Headers, body: problem(415, "unsupported_media_type")},
		{method: "DELETE", path: "/v1/tenants", status: 405, header: append([]string{"Allow", "GET, POST"}, problemHeaders...),
			body: problem(405, "method_not_allowed")},
		{method: "GET", path: "/nope", status: 404, header: problemHeaders, body: problem(404, "not_found")},
		{method: "HEAD", path: "/v1/users/" + uid, status: 200, header: userHeaders},
		{method: "GET", path: "/v1/users/" + uid, status: 200, header: userHeaders,
			body: user(func(u map[string]any) { u["status"], u["purge_after"] = "deleting", when })},
		{method: "POST", path: "/v1/users", reqType: "application/json", reqBody: []byte(`{"email":"a@example.com"}`),
			status: 201, header: []string{"ETag", `"1"`, "Location", "/v1/users/" + uid}},
		{method: "HEAD", path: "/v1/users", status: 200, header: []string{"Content-Type", "application/json"}},
		{method: "GET", path: "/readyz", status: 503, header: append([]string{"Retry-After", "1"}, problemHeaders...),
			body: problem(503, "unavailable")},
	}
	for _, e := range good {
		if msgs := do(e); len(msgs) > 0 {
			t.Errorf("%s %s → %d: reported a valid exchange:\n%s", e.method, e.path, e.status, strings.Join(msgs, "\n"))
		}
	}

	bad := map[string]exchange{
		"missing member": {method: "GET", path: "/v1/users/" + uid, status: 200, header: userHeaders,
			body: user(func(u map[string]any) { delete(u, "bio") })},
		"secure_metadata in a response": {method: "GET", path: "/v1/users/" + uid, status: 200, header: userHeaders,
			body: user(func(u map[string]any) { u["secure_metadata"] = map[string]any{} })},
		"version as a string": {method: "GET", path: "/v1/users/" + uid, status: 200, header: userHeaders,
			body: user(func(u map[string]any) { u["version"] = "1" })},
		"location not a point": {method: "GET", path: "/v1/users/" + uid, status: 200, header: userHeaders,
			body: user(func(u map[string]any) { u["location"] = map[string]any{"longitude": 1, "latitude": 2} })},
		"purge_after not a time": {method: "GET", path: "/v1/users/" + uid, status: 200, header: userHeaders,
			body: user(func(u map[string]any) { u["status"], u["purge_after"] = "deleting", 3600 })},
		"no ETag": {method: "GET", path: "/v1/users/" + uid, status: 200, header: []string{"Content-Type", "application/json"},
			body: user(nil)},
		"undocumented status": {method: "GET", path: "/v1/users/" + uid, status: 418, header: problemHeaders,
			body: problem(418, "internal")},
		"problem as application/json": {method: "GET", path: "/v1/users/" + uid, status: 404,
			header: []string{"Content-Type", "application/json"}, body: problem(404, "not_found")},
		"wrong code for the status": {method: "GET", path: "/v1/users/" + uid, status: 404, header: problemHeaders,
			body: problem(404, "email_taken")},
		"401 without WWW-Authenticate": {method: "GET", path: "/v1/users", status: 401, header: problemHeaders,
			body: problem(401, "unauthenticated")},
		"415 on PATCH without Accept-Patch": {method: "PATCH", path: "/v1/users/" + uid, reqType: "text/plain",
			reqBody: []byte("x"), status: 415, header: problemHeaders, body: problem(415, "unsupported_media_type")},
		"accepted an unknown member": {method: "PATCH", path: "/v1/users/" + uid, reqType: "application/json",
			reqBody: []byte(`{"nickname":"al"}`), status: 200, header: userHeaders, body: user(nil)},
		"an empty 200 where a user is due": {method: "GET", path: "/v1/users/" + uid, status: 200,
			header: []string{"ETag", `"1"`}},
		"201 without Location": {method: "POST", path: "/v1/users", reqType: "application/json",
			reqBody: []byte(`{"email":"a@example.com"}`), status: 201, header: userHeaders, body: user(nil)},
		"405 without Allow": {method: "DELETE", path: "/v1/tenants", status: 405, header: problemHeaders,
			body: problem(405, "method_not_allowed")},
		"HEAD without ETag": {method: "HEAD", path: "/v1/users/" + uid, status: 200,
			header: []string{"Content-Type", "application/json"}},
		"503 without Retry-After": {method: "GET", path: "/readyz", status: 503, header: problemHeaders,
			body: problem(503, "unavailable")},
		"unknown route not a problem": {method: "GET", path: "/nope", status: 404,
			header: []string{"Content-Type", "text/plain"}, body: []byte("404 page not found")},
	}
	for name, e := range bad {
		if msgs := do(e); len(msgs) == 0 {
			t.Errorf("%s: not reported", name)
		}
	}
}
