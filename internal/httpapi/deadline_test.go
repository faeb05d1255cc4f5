package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

// TestWriteNeverCommitsAfterItsDeadline: validation webhooks share the
// request's one deadline; when it passes before the commit, nothing is
// written and the caller is told so.
func TestWriteNeverCommitsAfterItsDeadline(t *testing.T) {
	e := newEnvWith(t, envOptions{requestTimeout: time.Second})
	id := e.createUser(t, map[string]any{"username": "early", "name": "Early"})["id"].(string)
	// Each fails open within its own timeout; together they outlast the
	// request.
	for range 2 {
		slow := newReceiver(t)
		slow.answer = func(map[string]any) (int, string) {
			time.Sleep(1500 * time.Millisecond)
			return 200, `{"allow": true}`
		}
		slow.register(e, map[string]any{"kind": "validation", "fail_open": true, "timeout_ms": 700})
	}
	problem(t, e.do(t, req{method: "POST", path: "/v1/users", body: map[string]any{"username": "late"}}), 503, "validation_unavailable")
	problem(t, e.do(t, req{method: "PATCH", path: "/v1/users/" + id, body: map[string]any{"name": "Late"}}), 503, "validation_unavailable")
	if l := e.must(t, 200, req{method: "GET", path: "/v1/users?username=late"}).json(t)["data"].([]any); len(l) != 0 {
		t.Errorf("the create committed after its deadline: %v", l)
	}
	if u := e.getUser(t, id); u["name"] != "Early" || u["version"] != json.Number("1") {
		t.Errorf("the update committed after its deadline: %v", u)
	}
}

// TestSlowBodyWritesNothing: a body that arrives after the request's
// deadline is not applied.
func TestSlowBodyWritesNothing(t *testing.T) {
	e := newEnvWith(t, envOptions{requestTimeout: time.Second})
	id := e.createUser(t, map[string]any{"username": "early", "name": "Early"})["id"].(string)
	body := &slowBody{parts: [][]byte{[]byte(`{"name":`), []byte(`"Late"}`)}, pause: 1500 * time.Millisecond}
	r, err := http.NewRequest("PATCH", e.srv.URL+"/v1/users/"+id, body)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+e.token)
	r.Header.Set("Content-Type", "application/json")
	resp, err := e.srv.Client().Do(r)
	if err == nil {
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("status %d, want 408 (or the connection closed): %s", resp.StatusCode, got)
		}
	}
	if u := e.getUser(t, id); u["name"] != "Early" || u["version"] != json.Number("1") {
		t.Errorf("a body read after the deadline was applied: %v", u)
	}
}

// slowBody is a request body that sends its first part at once and the rest
// after a pause.
type slowBody struct {
	parts [][]byte
	pause time.Duration
	i     int
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.i == len(b.parts) {
		return 0, io.EOF
	}
	if b.i > 0 {
		time.Sleep(b.pause)
	}
	n := copy(p, b.parts[b.i])
	b.i++
	return n, nil
}
