package httpapi_test

// Strict headers: If-Match compares opaque entity tags,
// a header Roster reads as one value is refused when it comes on several
// field lines, and the X-RateLimit-* headers agree with one another.

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// doHeader sends a request with header as given, each value on a field line
// of its own, and checks the exchange against the contract.
func (e *env) doHeader(t *testing.T, method, path string, body []byte, header http.Header) *response {
	t.Helper()
	r, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header = header
	resp, err := e.srv.Client().Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	checkContract(t, r, body, resp, got)
	return &response{status: resp.StatusCode, header: resp.Header, body: got}
}

// TestIfMatchComparesOpaqueTags: an entity tag matches only when its text is
// the ETag itself (strong comparison, RFC 9110 §13.1.1), so tags that merely
// parse to the same number match nothing.
func TestIfMatchComparesOpaqueTags(t *testing.T) {
	e := newEnv(t)
	id := e.createUser(t, map[string]any{"username": "tagged"})["id"].(string)
	e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + id, body: map[string]any{"name": "Two"}})
	for _, tag := range []string{`"02"`, `"+2"`, `" 2"`, `"2 "`, `"2.0"`, `"0x2"`, `2`, `W/"2"`, `"1"`, `"3"`, `"02", "+2"`, `""`, `"`} {
		for _, rq := range []req{
			{method: "PATCH", path: "/v1/users/" + id, body: map[string]any{"name": "Changed"}},
			{method: "POST", path: "/v1/users/" + id + "/deactivate"},
		} {
			t.Run(rq.method+" If-Match "+tag, func(t *testing.T) {
				rq.headers = []string{"If-Match", tag}
				problem(t, e.do(t, rq), http.StatusPreconditionFailed, "precondition_failed")
			})
		}
	}
	if u := e.getUser(t, id); u["version"] != json.Number("2") || u["name"] != "Two" || u["status"] != "active" {
		t.Fatalf("a failed precondition wrote: %v", u)
	}
	// The ETag itself matches, alone, in a list, or as *; a weak tag in the
	// list matches nothing but does not spoil the list.
	for i, tag := range []string{`"2"`, `"1", "3"`, `*`, `W/"5", "5"`, `"9","6"`} {
		name := fmt.Sprint("Name", i)
		r := e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + id, body: map[string]any{"name": name}, headers: []string{"If-Match", tag}})
		if got, want := r.header.Get("ETag"), strconv.Quote(fmt.Sprint(i+3)); got != want {
			t.Errorf("If-Match %s: ETag %s, want %s", tag, got, want)
		}
	}
}

// TestRepeatedHeadersAreRefused: a header Roster reads as one value, sent on
// two field lines, is 400 invalid_request naming it, even when the lines
// agree, and the write does not happen.
func TestRepeatedHeadersAreRefused(t *testing.T) {
	e := newEnv(t)
	owner := e.must(t, 200, req{method: "GET", path: "/v1/users?email=owner@acme.test"}).json(t)["data"].([]any)[0].(map[string]any)["id"].(string)
	id := e.createUser(t, map[string]any{"username": "twice"})["id"].(string)
	otherTenant, otherToken := e.newTenant("Other")
	body := []byte(`{"name":"Written"}`)
	base := func() http.Header {
		return http.Header{"Authorization": {"Bearer " + e.token}, "Content-Type": {"application/json"}}
	}
	for _, c := range []struct {
		name   string
		values []string
	}{
		{"Authorization", []string{"Bearer " + e.token, "Bearer " + e.token}},
		{"Authorization", []string{"Bearer rst_wrong", "Bearer " + e.token}},
		{"Authorization", []string{"Bearer " + e.token, "Bearer " + otherToken}},
		{"X-Tenant-ID", []string{e.tenant, e.tenant}},
		{"X-Tenant-ID", []string{e.tenant, otherTenant}},
		{"X-Acting-User", []string{owner, owner}},
		{"If-Match", []string{`"1"`, `"1"`}},
		{"If-Match", []string{`"1"`, `*`}},
		{"If-None-Match", []string{`"1"`, `"2"`}},
		{"Content-Type", []string{"application/json", "application/json"}},
		{"Content-Type", []string{"application/json", "application/merge-patch+json"}},
	} {
		t.Run(fmt.Sprint(c.name, c.values), func(t *testing.T) {
			h := base()
			h[http.CanonicalHeaderKey(c.name)] = c.values
			p := problem(t, e.doHeader(t, "PATCH", "/v1/users/"+id, body, h), http.StatusBadRequest, "invalid_request")
			if got := fieldCodes(p); got[c.name] != "repeated_header" || len(got) != 1 {
				t.Errorf("errors %v, want %s: repeated_header", p["errors"], c.name)
			}
		})
	}
	t.Run("a platform key naming two tenants", func(t *testing.T) {
		h := http.Header{"Authorization": {"Bearer " + e.platform}, "X-Tenant-Id": {otherTenant, e.tenant}}
		r := e.doHeader(t, "GET", "/v1/users", nil, h)
		p := problem(t, r, http.StatusBadRequest, "invalid_request")
		if fieldCodes(p)["X-Tenant-ID"] != "repeated_header" || bytes.Contains(r.body, []byte(owner)) {
			t.Errorf("answer %s", r.body)
		}
	})
	t.Run("every repeated header is named", func(t *testing.T) {
		h := base()
		h["X-Acting-User"] = []string{owner, owner}
		h["If-Match"] = []string{`"1"`, `"1"`}
		p := problem(t, e.doHeader(t, "PATCH", "/v1/users/"+id, body, h), http.StatusBadRequest, "invalid_request")
		if got := fieldCodes(p); len(got) != 2 || got["X-Acting-User"] == "" || got["If-Match"] == "" {
			t.Errorf("errors %v, want X-Acting-User and If-Match", p["errors"])
		}
	})
	t.Run("a compressed body named on a second line", func(t *testing.T) {
		h := base()
		h["Content-Encoding"] = []string{"identity", "gzip"}
		problem(t, e.doHeader(t, "PATCH", "/v1/users/"+id, body, h), http.StatusUnsupportedMediaType, "unsupported_media_type")
	})
	if u := e.getUser(t, id); u["version"] != json.Number("1") || u["name"] != nil {
		t.Errorf("a refused request wrote: %v", u)
	}
	// One line of each is the ordinary case.
	h := base()
	h["X-Tenant-Id"], h["X-Acting-User"], h["If-Match"] = []string{e.tenant}, []string{owner}, []string{`"1"`}
	if r := e.doHeader(t, "PATCH", "/v1/users/"+id, body, h); r.status != 200 {
		t.Errorf("one line each: %d %s", r.status, r.body)
	}
}

// redisForTest returns the Redis the HTTP tests may use, or skips the test
// without one (CI always has one).
func redisForTest(t *testing.T) string {
	t.Helper()
	url := cmp.Or(os.Getenv("ROSTER_TEST_REDIS"), "redis://127.0.0.1:6379/0")
	if os.Getenv("ROSTER_TEST_REDIS") == "" {
		c, err := net.DialTimeout("tcp", "127.0.0.1:6379", time.Second)
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("no Redis at %s: %v; CI never skips this", url, err)
			}
			t.Skipf("no Redis at %s (set ROSTER_TEST_REDIS): %v", url, err)
		}
		c.Close()
	}
	return url
}

// TestRateLimitHeadersAgree: X-RateLimit-Limit is the bucket's capacity (the
// plan's burst, not its rate), X-RateLimit-Remaining the whole requests left,
// never above it, and X-RateLimit-Reset when the bucket is full again, never
// before; the same with buckets in memory and in Redis.
func TestRateLimitHeadersAgree(t *testing.T) {
	for _, store := range []string{"memory", "redis"} {
		t.Run(store, func(t *testing.T) {
			// Rates far below their bursts, so that no token comes back
			// during the test, and Limit is the burst, not the rate.
			for _, plan := range []directory.Plan{
				{RateLimitRPS: 0.5, RateLimitBurst: 5, WritesPerPeriod: 1e9, MaxActiveUsers: 1e9},
				{RateLimitRPS: 0.01, RateLimitBurst: 3, WritesPerPeriod: 1e9, MaxActiveUsers: 1e9},
			} {
				o := envOptions{plan: &plan}
				if store == "redis" {
					o.redis = redisForTest(t)
				}
				e := newEnvWith(t, o)
				burst := plan.RateLimitBurst
				last := burst
				for i := range burst + 2 {
					start := time.Now()
					r := e.do(t, req{method: "GET", path: "/v1/usage"})
					limit, err1 := strconv.ParseFloat(r.header.Get("X-RateLimit-Limit"), 64)
					remaining, err2 := strconv.Atoi(r.header.Get("X-RateLimit-Remaining"))
					reset, err3 := time.Parse(time.RFC3339, r.header.Get("X-RateLimit-Reset"))
					if err1 != nil || err2 != nil || err3 != nil {
						t.Fatalf("request %d: headers %v", i, r.header)
					}
					if limit != float64(burst) {
						t.Errorf("request %d: X-RateLimit-Limit %v, want the burst %d", i, limit, burst)
					}
					if remaining < 0 || float64(remaining) > limit || remaining > last {
						t.Errorf("request %d: X-RateLimit-Remaining %d with Limit %v after %d", i, remaining, limit, last)
					}
					last = remaining
					// Full again once the tokens taken have refilled: more
					// than burst-remaining-1 of them are missing.
					missing := float64(burst - remaining - 1)
					if full := start.Add(time.Duration(missing / plan.RateLimitRPS * float64(time.Second))); reset.Before(full) {
						t.Errorf("request %d: X-RateLimit-Reset %v, before the bucket can be full at %v", i, reset, full)
					}
					if i < burst-1 && r.status != 200 {
						t.Fatalf("request %d: %d %s", i, r.status, r.body)
					}
					if r.status == 429 && remaining != 0 {
						t.Errorf("a 429 with X-RateLimit-Remaining %d", remaining)
					}
				}
				if last != 0 {
					t.Errorf("after %d requests, X-RateLimit-Remaining %d, want 0", burst+2, last)
				}
			}
		})
	}
}
