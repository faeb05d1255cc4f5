package httpapi_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/roster-dev/roster/internal/directory"
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
