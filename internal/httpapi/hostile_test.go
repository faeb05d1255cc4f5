package httpapi_test

// Hostile input with bounds: oversized bodies and headers, deep
// JSON, compressed bodies and clients that send their headers slowly.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/server"
)

// serveProduction serves the env's handler through the server `roster
// serve` runs (server.HTTPServer) on loopback and returns its address.
func serveProduction(t *testing.T, e *env) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := server.HTTPServer(e.srv.Config.Handler, slog.New(slog.DiscardHandler))
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// slowClientsRan lets the slow-client test run once per process: it does
// not touch the database, and it takes the 5 s of the timeout.
var slowClientsRan atomic.Bool

// TestSlowHeadersAreCutOff is a slowloris client: it sends a request's
// header lines one by one, slowly, and never ends them. The server of
// `roster serve` closes the connection once ReadHeaderTimeout (5 s) has
// passed, whatever the client still trickles.
func TestSlowHeadersAreCutOff(t *testing.T) {
	if slowClientsRan.Swap(true) {
		t.Skip("ran on the first backend; it does not depend on the database")
	}
	t.Parallel()
	e := newEnv(t)
	addr := serveProduction(t, e)

	// A prompt client is served.
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, "GET /v1/users HTTP/1.1\r\nHost: roster.test\r\n"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond):
			}
			if _, err := fmt.Fprintf(conn, "X-Slow-%d: a\r\n", i); err != nil {
				return // the server hung up
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	status, err := bufio.NewReader(conn).ReadString('\n')
	elapsed := time.Since(start)
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		t.Fatalf("the server still held the trickling connection after %v", elapsed)
	case err == nil && !strings.Contains(status, " 408 "):
		t.Fatalf("the server answered %q to headers that never ended", status)
	}
	if elapsed < 4*time.Second || elapsed > 9*time.Second {
		t.Errorf("connection cut after %v, want about 5 s (ReadHeaderTimeout)", elapsed.Round(time.Millisecond))
	}
}

// TestOversizedHeadersAreRefused: the server of `roster serve` refuses
// request headers past MaxHeaderBytes (64 KiB) with 431, and serves large
// but allowed ones without a 5xx.
func TestOversizedHeadersAreRefused(t *testing.T) {
	e := newEnv(t)
	addr := serveProduction(t, e)
	get := func(h http.Header) int {
		t.Helper()
		r, _ := http.NewRequest("GET", "http://"+addr+"/v1/users", nil)
		r.Header = h
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	bearer := "Bearer " + e.token
	cases := []struct {
		name   string
		header http.Header
		want   int
	}{
		{"one 128 KiB header", http.Header{"Authorization": {bearer}, "X-Big": {strings.Repeat("a", 128<<10)}}, 431},
		{"many headers, 160 KiB in all", func() http.Header {
			h := http.Header{"Authorization": {bearer}}
			for i := range 160 {
				h.Set(fmt.Sprintf("X-H%d", i), strings.Repeat("b", 1<<10))
			}
			return h
		}(), 431},
		{"a 32 KiB header", http.Header{"Authorization": {bearer}, "X-Big": {strings.Repeat("c", 32<<10)}}, 200},
		{"a 32 KiB token", http.Header{"Authorization": {"Bearer rst_" + strings.Repeat("d", 32<<10)}}, 401},
		{"a 32 KiB If-None-Match", http.Header{"Authorization": {bearer}, "If-None-Match": {strings.Repeat(`"1",`, 8<<10)}}, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := get(c.header); got != c.want {
				t.Errorf("status %d, want %d", got, c.want)
			}
		})
	}
}

// ignoresBody lists the POST, PUT and PATCH routes that read no body.
var ignoresBody = map[string]bool{
	"POST /v1/users/{id}/restore":    true,
	"POST /v1/users/{id}/deactivate": true,
	"POST /v1/users/{id}/reactivate": true,
}

// TestHostileBodies sends every route that reads a body an oversized body
// (413), JSON nested past 64 levels (400), and compressed bodies (415).
func TestHostileBodies(t *testing.T) {
	e := newEnv(t)
	uid := e.createUser(t, map[string]any{"username": "target"})["id"].(string)
	kid, pkid := e.keyID(t, e.tenant), e.keyID(t, "")
	eid := e.must(t, 201, req{method: "POST", path: "/v1/webhook-endpoints", body: map[string]any{"url": "http://127.0.0.1:9/hook", "kind": "events"}}).json(t)["id"].(string)
	type target struct {
		path, token, ctype string
		wrap               func(inner string) string // puts a JSON value where the route reads one
	}
	member := func(name string) func(string) string {
		return func(v string) string { return `{"` + name + `":` + v + `}` }
	}
	targets := map[string]target{
		"POST /v1/users":                                {"/v1/users", "", "application/json", func(v string) string { return `{"username":"deep","metadata":{"a":` + v + `}}` }},
		"PATCH /v1/users/{id}":                          {"/v1/users/" + uid, "", "application/merge-patch+json", func(v string) string { return `{"metadata":{"a":` + v + `}}` }},
		"PUT /v1/users/{id}":                            {"/v1/users/" + uid, "", "application/json", func(v string) string { return `{"username":"target","metadata":{"a":` + v + `}}` }},
		"POST /v1/users/{id}/suspensions":               {"/v1/users/" + uid + "/suspensions", "", "application/json", member("reason")},
		"PUT /v1/roles":                                 {"/v1/roles", "", "application/json", member("roles")},
		"PUT /v1/policies":                              {"/v1/policies", "", "application/json", member("policies")},
		"POST /v1/webhook-endpoints":                    {"/v1/webhook-endpoints", "", "application/json", member("url")},
		"POST /v1/webhook-endpoints/{id}/rotate-secret": {"/v1/webhook-endpoints/" + eid + "/rotate-secret", "", "application/json", member("grace_seconds")},
		"POST /v1/keys":                                 {"/v1/keys", "", "application/json", member("name")},
		"POST /v1/keys/{id}/rotate":                     {"/v1/keys/" + kid + "/rotate", "", "application/json", member("grace_seconds")},
		"POST /v1/platform-keys":                        {"/v1/platform-keys", e.platform, "application/json", member("name")},
		"POST /v1/platform-keys/{id}/rotate":            {"/v1/platform-keys/" + pkid + "/rotate", e.platform, "application/json", member("grace_seconds")},
		"POST /v1/tenants":                              {"/v1/tenants", e.platform, "application/json", member("name")},
		"PATCH /v1/tenants/{id}":                        {"/v1/tenants/" + e.tenant, e.platform, "application/merge-patch+json", member("name")},
	}
	nest := func(depth int) string { return strings.Repeat("[", depth) + strings.Repeat("]", depth) }

	for _, r := range servedRoutes(t) {
		if r.method != "POST" && r.method != "PUT" && r.method != "PATCH" || ignoresBody[r.String()] {
			continue
		}
		tg, ok := targets[r.String()]
		if !ok {
			t.Errorf("%s takes a body: add it to TestHostileBodies", r)
			continue
		}
		t.Run(r.String(), func(t *testing.T) {
			send := func(body, ctype string, headers ...string) *response {
				return e.do(t, req{method: r.method, path: tg.path, token: tg.token, body: body, ctype: ctype, headers: headers})
			}
			big := tg.wrap(`"` + strings.Repeat("x", 1<<20) + `"`)
			problem(t, send(big, tg.ctype), 413, "payload_too_large")
			// Past the nesting limit, at any depth up to what 1 MiB holds.
			for _, depth := range []int{65, 1000, 400000} {
				problem(t, send(tg.wrap(nest(depth)), tg.ctype), 400, "invalid_request")
			}
			for _, ce := range []string{"gzip", "deflate", "br", "zstd", "x-roster-unknown", "gzip, identity"} {
				problem(t, send(tg.wrap(`"x"`), tg.ctype, "Content-Encoding", ce), 415, "unsupported_media_type")
			}
		})
	}
	// Within the limit, nesting is not refused for its depth: the top-level
	// object, metadata and its member make three levels.
	r := e.do(t, req{method: "POST", path: "/v1/users", body: `{"username":"deep64","metadata":{"a":` + nest(62) + `}}`})
	if r.status == 400 || r.status >= 500 {
		t.Errorf("64 levels: %d %s", r.status, r.body)
	}
	// The lifecycle routes ignore a body, whatever it is.
	for route := range ignoresBody {
		path := strings.Replace(strings.TrimPrefix(route, "POST "), "{id}", uid, 1)
		if r := e.do(t, req{method: "POST", path: path, body: nest(100000), headers: []string{"Content-Encoding", "gzip"}}); r.status >= 500 {
			t.Errorf("%s with a hostile body: %d", route, r.status)
		}
	}
}

// TestNumbersBeyondDoublesAreRefused: a number no IEEE 754 double holds
// (RFC 7493 §2.2) is refused, not stored: Roster would serve it back in
// every read, list, audit entry and event of the user, where clients such
// as Go's encoding/json cannot decode it and JavaScript reads Infinity.
func TestNumbersBeyondDoublesAreRefused(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"1e999999", "-1e400", "1" + strings.Repeat("0", 400)} {
		r := e.do(t, req{method: "POST", path: "/v1/users", body: `{"username":"num","metadata":{"n":` + n + `}}`})
		if r.status != 400 && r.status != 422 {
			t.Errorf("metadata number %s: %d %s", n, r.status, r.body)
		}
	}
}
