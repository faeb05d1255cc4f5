package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// receiver is a webhook receiver on loopback that verifies every request's
// signature with the Standard Webhooks library and records its payload.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	got    []map[string]any
	raw    []string
	heads  []http.Header // of each payload in got
	fails  int           // answer 503 to this many requests first
	answer func(payload map[string]any) (int, string)
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{t: t}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if rc.secret != "" {
			wh, err := standardwebhooks.NewWebhook(rc.secret)
			if err != nil {
				t.Errorf("secret %q: %v", rc.secret, err)
			} else if err := wh.Verify(body, r.Header); err != nil {
				t.Errorf("signature does not verify: %v", err)
			}
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("payload is not JSON: %s", body)
		}
		if rc.fails > 0 {
			rc.fails--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		rc.got = append(rc.got, m)
		rc.raw = append(rc.raw, string(body))
		rc.heads = append(rc.heads, r.Header.Clone())
		if rc.answer != nil {
			status, reply := rc.answer(m)
			w.WriteHeader(status)
			_, _ = io.WriteString(w, reply)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// register creates an endpoint for the receiver and keeps its secret.
func (rc *receiver) register(e *env, body map[string]any) string {
	rc.t.Helper()
	body["url"] = rc.srv.URL + "/hook"
	r := e.must(rc.t, http.StatusCreated, req{method: "POST", path: "/v1/webhook-endpoints", body: body})
	ep := r.json(rc.t)
	secret, _ := ep["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") {
		rc.t.Fatalf("secret %q", secret)
	}
	rc.mu.Lock()
	rc.secret = secret
	rc.mu.Unlock()
	return ep["id"].(string)
}

// waitFor waits until the receiver holds n payloads and returns them.
func (rc *receiver) waitFor(n int) []map[string]any {
	rc.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		rc.mu.Lock()
		got := append([]map[string]any(nil), rc.got...)
		rc.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			rc.t.Fatalf("received %d payloads, want %d", len(got), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func types(payloads []map[string]any) []string {
	var out []string
	for _, p := range payloads {
		out = append(out, p["type"].(string))
	}
	return out
}

func TestEventsAreDeliveredSignedAndInOrder(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t)
	epID := rc.register(e, map[string]any{"kind": "events"})
	if ep := e.must(t, 200, req{method: "GET", path: "/v1/webhook-endpoints/" + epID}).json(t); ep["secret"] != nil {
		t.Errorf("GET shows the secret")
	}
	id := e.createUser(t, map[string]any{"email": "ev@example.com", "secure_metadata": map[string]any{"k": "SECRET-EVENT-VALUE"}})["id"].(string)
	e.patchUser(t, id, "application/json", map[string]any{"name": "Ev"})
	e.patchUser(t, id, "application/json", map[string]any{"name": "Ev"}) // a no-op: no event
	e.patchUser(t, id, "application/json", map[string]any{"secure_metadata": map[string]any{"k": "SECRET-TWO"}})
	e.must(t, 200, req{method: "POST", path: "/v1/users/" + id + "/deactivate"})
	e.must(t, 200, req{method: "POST", path: "/v1/users/" + id + "/reactivate"})
	sus := e.must(t, 201, req{method: "POST", path: "/v1/users/" + id + "/suspensions", body: map[string]any{"reason": "r"}}).json(t)
	e.must(t, 200, req{method: "DELETE", path: "/v1/users/" + id + "/suspensions/" + sus["id"].(string)})
	e.must(t, 202, req{method: "DELETE", path: "/v1/users/" + id})
	want := []string{"user.created", "user.updated", "user.updated", "user.deactivated", "user.reactivated", "user.suspended", "user.unsuspended", "user.deleted"}
	got := rc.waitFor(len(want))
	time.Sleep(100 * time.Millisecond) // nothing more comes
	got = rc.waitFor(len(want))
	if fmt.Sprint(types(got)) != fmt.Sprint(want) {
		t.Errorf("events %v, want %v", types(got), want)
	}
	upd := got[1]
	data := upd["data"].(map[string]any)
	if !equalJSON(data["changed_fields"], `["name"]`) || !equalJSON(data["previous"], `{"name":null}`) {
		t.Errorf("user.updated data %v", data)
	}
	if upd["timestamp"] == nil || !strings.HasPrefix(upd["id"].(string), "evt_") {
		t.Errorf("payload envelope %v", upd)
	}
	for _, raw := range rc.raw {
		if strings.Contains(raw, "SECRET-") {
			t.Errorf("secure_metadata in an event: %s", raw)
		}
	}
	ds := e.must(t, 200, req{method: "GET", path: "/v1/webhook-endpoints/" + epID + "/deliveries?limit=100"}).json(t)["data"].([]any)
	if len(ds) != len(want) || ds[0].(map[string]any)["status"] != "delivered" {
		t.Errorf("deliveries %v", ds)
	}
}

func TestEventsSurviveAFailingReceiver(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t)
	rc.fails = 4
	epID := rc.register(e, map[string]any{"kind": "events", "events": []string{"user.created", "user.updated"}})
	var ids []string
	for i := range 2 {
		id := e.createUser(t, map[string]any{"username": fmt.Sprintf("flaky%d", i)})["id"].(string)
		ids = append(ids, id)
		e.patchUser(t, id, "application/json", map[string]any{"name": "One"})
		e.patchUser(t, id, "application/json", map[string]any{"name": "Two"})
		e.must(t, 200, req{method: "POST", path: "/v1/users/" + id + "/deactivate"}) // not subscribed
	}
	got := rc.waitFor(6)
	// Per user, the order is the order of the changes.
	for _, id := range ids {
		var seq []string
		for _, p := range got {
			u := p["data"].(map[string]any)["user"].(map[string]any)
			if u["id"] == id {
				seq = append(seq, fmt.Sprint(p["type"], ":", u["name"]))
			}
		}
		if !slices.Equal(seq, []string{"user.created:<nil>", "user.updated:One", "user.updated:Two"}) {
			t.Errorf("user %s got %v", id, seq)
		}
	}
	ds := e.must(t, 200, req{method: "GET", path: "/v1/webhook-endpoints/" + epID + "/deliveries?limit=100"}).json(t)["data"].([]any)
	retried := 0
	for _, d := range ds {
		d := d.(map[string]any)
		if n, _ := d["attempts"].(json.Number).Int64(); n > 1 {
			retried++
			if len(d["attempt_log"].([]any)) != int(n) {
				t.Errorf("attempt log %v for %d attempts", d["attempt_log"], n)
			}
		}
	}
	if retried == 0 {
		t.Errorf("no delivery shows a retry: %v", ds)
	}
}

func TestValidationWebhook(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t)
	rc.answer = func(p map[string]any) (int, string) {
		after := p["data"].(map[string]any)["after"].(map[string]any)
		if after["name"] == "Forbidden Name" {
			return 200, `{"allow": false, "message": "Names are vetted.", "errors": [{"field": "name", "code": "vetted", "message": "is not allowed"}]}`
		}
		return 200, `{"allow": true}`
	}
	rc.register(e, map[string]any{"kind": "validation"})
	id := e.createUser(t, map[string]any{"username": "hooked", "secure_metadata": map[string]any{"x": "HOOK-SECRET"}})["id"].(string)
	e.patchUser(t, id, "application/json", map[string]any{"name": "Fine"})
	p := problem(t, e.patchUser(t, id, "application/json", map[string]any{"name": "Forbidden Name"}), 422, "validation_rejected")
	if fieldCodes(p)["name"] != "vetted" || p["detail"] != "Names are vetted." {
		t.Errorf("rejection %v", p)
	}
	if got := e.getUser(t, id)["name"]; got != "Fine" {
		t.Errorf("a rejected write was stored: %v", got)
	}
	// No call on a no-op; never secure_metadata.
	n := len(rc.waitFor(3))
	e.patchUser(t, id, "application/json", map[string]any{"name": "Fine"})
	if len(rc.waitFor(0)) != n {
		t.Errorf("hook called on a no-op")
	}
	for _, raw := range rc.raw {
		if strings.Contains(raw, "HOOK-SECRET") || strings.Contains(raw, "secure_metadata") {
			t.Errorf("hook saw secure_metadata: %s", raw)
		}
	}
	before := rc.got[1]["data"].(map[string]any)
	if before["before"].(map[string]any)["name"] != nil || before["after"].(map[string]any)["name"] != "Fine" || !equalJSON(before["changed_fields"], `["name"]`) {
		t.Errorf("hook payload %v", before)
	}
	// A dry run asks the hook too.
	problem(t, e.do(t, req{method: "PATCH", path: "/v1/users/" + id + "?dry_run=true", body: map[string]any{"name": "Forbidden Name"}}), 422, "validation_rejected")
}

func TestValidationWebhookUnavailable(t *testing.T) {
	e := newEnv(t)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	url := down.URL
	down.Close() // connection refused from now on
	e.must(t, 201, req{method: "POST", path: "/v1/webhook-endpoints", body: map[string]any{"kind": "validation", "url": url, "timeout_ms": 300}})
	r := e.do(t, req{method: "POST", path: "/v1/users", body: map[string]any{"username": "blocked"}})
	problem(t, r, 503, "validation_unavailable")
	if r.header.Get("Retry-After") == "" {
		t.Errorf("no Retry-After")
	}
	if l := e.must(t, 200, req{method: "GET", path: "/v1/users?username=blocked"}).json(t)["data"].([]any); len(l) != 0 {
		t.Errorf("a write was stored while the hook was down")
	}
	// A fail-open endpoint lets writes through.
	e2 := newEnv(t)
	e2.must(t, 201, req{method: "POST", path: "/v1/webhook-endpoints", body: map[string]any{"kind": "validation", "url": url, "fail_open": true, "timeout_ms": 300}})
	e2.must(t, 201, req{method: "POST", path: "/v1/users", body: map[string]any{"username": "through"}})
}

// TestWebhookURLRefusalsLookAlike: a URL whose host is private, resolves to
// a private address, or does not resolve gets one answer, byte for byte but
// its request ID, so creating endpoints maps nothing of the operator's
// network. A malformed URL keeps its own message.
func TestWebhookURLRefusalsLookAlike(t *testing.T) {
	e := newEnvWith(t, envOptions{strictWebhooks: true})
	create := func(url string) map[string]any {
		t.Helper()
		p := problem(t, e.do(t, req{method: "POST", path: "/v1/webhook-endpoints", body: map[string]any{"kind": "events", "url": url}}), 422, "validation_failed")
		if fieldCodes(p)["url"] != "invalid_url" {
			t.Errorf("%s: errors %v, want url: invalid_url", url, p["errors"])
		}
		delete(p, "request_id")
		return p
	}
	urls := []string{"http://localhost:9/hook", "http://127.0.0.1:9/hook", "http://10.1.2.3/hook", "https://no-such-host.invalid/hook", "https://hooks.no-such-tenant.invalid/other"}
	want := create(urls[0])
	for _, url := range urls[1:] {
		if got := create(url); !reflect.DeepEqual(got, want) {
			t.Errorf("refusal of %s:\n got %v\nwant %v (as for %s)", url, got, want, urls[0])
		}
	}
	if got := create("ftp://hooks.example.com/"); reflect.DeepEqual(got, want) {
		t.Errorf("a malformed URL gets the answer of an unreachable host: %v", got)
	}
	if got := e.must(t, 200, req{method: "GET", path: "/v1/webhook-endpoints"}).json(t)["data"].([]any); len(got) != 0 {
		t.Errorf("endpoints after refusals: %v", got)
	}
}

func TestWebhookEndpointRules(t *testing.T) {
	e := newEnvWith(t, envOptions{strictWebhooks: true})
	for _, url := range []string{"http://127.0.0.1:9/x", "http://10.1.2.3/x", "http://169.254.169.254/latest", "http://[::1]/x", "http://localhost/x", "ftp://example.com/x"} {
		p := problem(t, e.do(t, req{method: "POST", path: "/v1/webhook-endpoints", body: map[string]any{"kind": "events", "url": url}}), 422, "validation_failed")
		if fieldCodes(p)["url"] == "" {
			t.Errorf("%s: errors %v", url, p["errors"])
		}
	}
	p := problem(t, e.do(t, req{method: "POST", path: "/v1/webhook-endpoints", body: map[string]any{"kind": "sms", "url": "https://hooks.example.com/", "events": []string{"user.exploded"}, "timeout_ms": 1}}), 422, "validation_failed")
	if got := fieldCodes(p); got["kind"] == "" || got["events[0]"] == "" || got["timeout_ms"] == "" {
		t.Errorf("errors %v", got)
	}
	// Only admin keys manage endpoints.
	problem(t, e.do(t, req{method: "GET", path: "/v1/webhook-endpoints", token: e.keyWith("read_write")}), 403, "insufficient_scope")
	problem(t, e.do(t, req{method: "DELETE", path: "/v1/webhook-endpoints/whe_01ARZ3NDEKTSV4RRFFQ69G5FAV"}), 404, "not_found")
}
