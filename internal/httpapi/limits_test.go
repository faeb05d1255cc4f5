package httpapi_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/policy"
)

// TestEndpointLimitsHoldUnderConcurrency: a tenant's endpoints of each kind
// are capped inside the transaction that creates one, so that parallel
// creates cannot all pass the count: exactly the cap succeed, the others are
// 409 limit_exceeded. Another tenant is not affected, and a deletion frees
// a place.
func TestEndpointLimitsHoldUnderConcurrency(t *testing.T) {
	for _, tc := range []struct {
		kind string
		max  int
	}{
		{directory.EndpointValidation, directory.MaxValidationEndpoints},
		{directory.EndpointEvents, directory.MaxEventsEndpoints},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			e := newEnv(t)
			create := func(token string, i int) *response {
				return e.do(t, req{method: "POST", path: "/v1/webhook-endpoints", token: token,
					body: map[string]any{"kind": tc.kind, "url": fmt.Sprintf("http://127.0.0.1:9/hook%d", i)}})
			}
			n := 4 * tc.max
			responses := make([]*response, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					responses[i] = create("", i)
				})
			}
			close(start)
			wg.Wait()
			created := 0
			for _, r := range responses {
				switch r.status {
				case 201:
					created++
				case 409:
					problem(t, r, 409, "limit_exceeded")
				default:
					t.Errorf("status %d, want 201 or 409: %s", r.status, r.body)
				}
			}
			if created != tc.max {
				t.Errorf("%d of %d parallel creates succeeded, want %d", created, n, tc.max)
			}
			list := e.must(t, 200, req{method: "GET", path: "/v1/webhook-endpoints"}).json(t)
			data := list["data"].([]any)
			if len(data) != tc.max {
				t.Fatalf("the tenant has %d endpoints, want %d", len(data), tc.max)
			}
			p := problem(t, create("", n), 409, "limit_exceeded")
			if want := fmt.Sprintf("at most %d %s endpoints", tc.max, tc.kind); !contains(p["detail"].(string), want) {
				t.Errorf("detail %q does not say %q", p["detail"], want)
			}

			// The cap is the tenant's: another tenant creates its own.
			_, other := e.newTenant("Other")
			if r := create(other, 0); r.status != 201 {
				t.Errorf("another tenant's create: %d %s", r.status, r.body)
			}
			// A deletion frees a place.
			id := data[0].(map[string]any)["id"].(string)
			e.must(t, 204, req{method: "DELETE", path: "/v1/webhook-endpoints/" + id})
			e.must(t, 201, req{method: "POST", path: "/v1/webhook-endpoints",
				body: map[string]any{"kind": tc.kind, "url": "http://127.0.0.1:9/again"}})
		})
	}
}

// TestPolicyLimits: a policy text over 64 KiB or 100 policies is refused
// with one error naming the limit, and nothing is stored. The refused texts
// are broken Cedar, whose parse would list problems: only the limit is
// reported, so the text was not parsed.
func TestPolicyLimits(t *testing.T) {
	e := newEnv(t)
	const broken = "permit (principal, action, resource) when { ( }; "
	for _, tc := range []struct {
		name, text, code, message string
	}{
		{"a megabyte", strings.Repeat(broken, 1_000_000/len(broken)), "too_large", fmt.Sprintf("must be at most %d bytes", policy.MaxTextBytes)},
		{"too many policies", strings.Repeat(broken, policy.MaxPolicies+1), "too_many_policies", fmt.Sprintf("must hold at most %d policies", policy.MaxPolicies)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := problem(t, e.do(t, req{method: "PUT", path: "/v1/policies", body: map[string]any{"policies": tc.text}}), 422, "validation_failed")
			errs := p["errors"].([]any)
			if len(errs) != 1 {
				t.Fatalf("%d errors, want 1: %v", len(errs), errs)
			}
			got := errs[0].(map[string]any)
			if got["field"] != "policies" || got["code"] != tc.code || got["message"] != tc.message {
				t.Errorf("error %v, want policies %s %q", got, tc.code, tc.message)
			}
			if cur := e.must(t, 200, req{method: "GET", path: "/v1/policies"}).json(t); cur["default"] != true {
				t.Errorf("the tenant's policies changed: %v", cur)
			}
		})
	}
	// At the limits, a valid text is stored.
	text := strings.Repeat("permit (principal, action, resource);\n", policy.MaxPolicies)
	e.must(t, 200, req{method: "PUT", path: "/v1/policies", body: map[string]any{"policies": text}})
}

// TestSuspensionLimit: a user may have MaxActiveSuspensions in force; of
// parallel suspensions past that, exactly the cap succeed and the others are
// 409 limit_exceeded, dry runs included. Lifting one frees a place.
func TestSuspensionLimit(t *testing.T) {
	e := newEnv(t)
	id := e.createUser(t, map[string]any{"username": "often"})["id"].(string)
	suspend := func(query string) *response {
		return e.do(t, req{method: "POST", path: "/v1/users/" + id + "/suspensions" + query, body: map[string]any{"reason": "abuse"}})
	}
	const n = 2 * directory.MaxActiveSuspensions
	responses := make([]*response, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			responses[i] = suspend("")
		})
	}
	close(start)
	wg.Wait()
	var first string
	created := 0
	for _, r := range responses {
		switch r.status {
		case 201:
			created++
			first = r.json(t)["id"].(string)
		case 409:
			p := problem(t, r, 409, "limit_exceeded")
			if want := fmt.Sprintf("at most %d suspensions", directory.MaxActiveSuspensions); !contains(p["detail"].(string), want) {
				t.Errorf("detail %q does not say %q", p["detail"], want)
			}
		default:
			t.Errorf("status %d, want 201 or 409: %s", r.status, r.body)
		}
	}
	if created != directory.MaxActiveSuspensions {
		t.Errorf("%d of %d parallel suspensions succeeded, want %d", created, n, directory.MaxActiveSuspensions)
	}
	if got := len(e.getUser(t, id)["suspensions"].([]any)); got != directory.MaxActiveSuspensions {
		t.Errorf("the user has %d suspensions, want %d", got, directory.MaxActiveSuspensions)
	}
	problem(t, suspend("?dry_run=true"), 409, "limit_exceeded")
	e.must(t, 200, req{method: "DELETE", path: "/v1/users/" + id + "/suspensions/" + first})
	if r := suspend(""); r.status != 201 {
		t.Errorf("a suspension after one was lifted: %d %s", r.status, r.body)
	}
}
