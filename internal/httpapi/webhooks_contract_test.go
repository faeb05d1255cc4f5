package httpapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// TestWebhookPayloadsMatchTheContract holds what Roster really sends to
// webhook endpoints against the webhooks section of api/openapi.yaml, as
// checkContract holds the answers against the paths: every event type, the
// purged form of an event, and the question put to a validation endpoint,
// bodies and Standard Webhooks headers.
func TestWebhookPayloadsMatchTheContract(t *testing.T) {
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	events := newReceiver(t)
	events.register(e, map[string]any{"kind": "events"})
	// This one refuses everything until the user it follows is purged, so
	// that it gets that user's events in their purged form.
	late := newReceiver(t)
	late.fails = 1 << 30
	late.register(e, map[string]any{"kind": "events"})
	validation := newReceiver(t)
	validation.answer = func(map[string]any) (int, string) { return 200, `{"allow": true}` }
	validation.register(e, map[string]any{"kind": "validation"})

	id := e.createUser(t, map[string]any{"email": "hooks@example.com", "metadata": map[string]any{"theme": "dark"}})["id"].(string)
	e.patchUser(t, id, "application/json", map[string]any{"name": "Hooks", "metadata": map[string]any{"theme": "light"}})
	e.patchUser(t, id, "application/json", map[string]any{"secure_metadata": map[string]any{"k": "v"}})
	e.must(t, 200, req{method: "POST", path: "/v1/users/" + id + "/deactivate"})
	e.must(t, 200, req{method: "POST", path: "/v1/users/" + id + "/reactivate"})
	sus := e.must(t, 201, req{method: "POST", path: "/v1/users/" + id + "/suspensions",
		body: map[string]any{"reason": "spam", "ends_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}}).json(t)
	e.must(t, 200, req{method: "DELETE", path: "/v1/users/" + id + "/suspensions/" + sus["id"].(string)})
	e.must(t, http.StatusAccepted, req{method: "DELETE", path: "/v1/users/" + id})
	e.must(t, 200, req{method: "POST", path: "/v1/users/" + id + "/restore"})
	gone := e.createUser(t, map[string]any{"email": "gone@example.com"})["id"].(string)
	e.must(t, http.StatusAccepted, req{method: "DELETE", path: "/v1/users/" + gone})
	events.waitFor(11)
	if n, err := e.svc.PurgeDue(t.Context()); err != nil || n != 1 {
		t.Fatalf("PurgeDue = %d, %v; want 1, nil", n, err)
	}
	late.mu.Lock()
	late.fails = 0
	late.mu.Unlock()
	late.waitFor(11)

	// Which message of the document each payload is: its type, or purged.
	var seen []string
	check := func(who string, rc *receiver) {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		for i, raw := range rc.raw {
			name := rc.got[i]["type"].(string)
			if data, _ := rc.got[i]["data"].(map[string]any); data["purged"] == true {
				name = "purged"
			}
			seen = append(seen, name)
			for _, msg := range c.checkWebhook(name, rc.heads[i], []byte(raw)) {
				t.Errorf("%s, %s payload %s: %s", who, name, raw, msg)
			}
		}
	}
	check("events endpoint", events)
	check("late events endpoint", late)
	check("validation endpoint", validation)
	for name := range c.model.Webhooks.KeysFromOldest() {
		if !slices.Contains(seen, name) {
			t.Errorf("the document describes webhook %q, which this test never received", name)
		}
	}

	// The check is not vacuous.
	events.mu.Lock()
	var first map[string]any
	_ = json.Unmarshal([]byte(events.raw[0]), &first)
	heads := events.heads[0]
	events.mu.Unlock()
	delete(first["data"].(map[string]any)["user"].(map[string]any), "email")
	broken, _ := json.Marshal(first)
	if msgs := c.checkWebhook("user.created", heads, broken); len(msgs) == 0 {
		t.Errorf("a user.created payload whose user has no email was not reported")
	}
	noSig := heads.Clone()
	noSig.Del("webhook-signature")
	if msgs := c.checkWebhook("user.created", noSig, []byte(events.raw[0])); len(msgs) == 0 {
		t.Errorf("a user.created message without webhook-signature was not reported")
	}
}

// checkWebhook returns what in one message Roster sent breaks the webhook
// name of the document: its body, or a header it declares.
func (c *contract) checkWebhook(name string, h http.Header, body []byte) []string {
	item := c.model.Webhooks.GetOrZero(name)
	if item == nil || item.Post == nil {
		return []string{"the document has no webhook " + name}
	}
	op := item.Post
	var msgs []string
	media := op.RequestBody.Content.GetOrZero("application/json")
	if ct := h.Get("Content-Type"); media == nil || !strings.HasPrefix(ct, "application/json") {
		return append(msgs, "Content-Type "+ct+", not the document's application/json")
	}
	if ok, errs := c.schemas.ValidateSchemaBytes(media.Schema.Schema(), body); !ok {
		msgs = append(msgs, describe("body", errs)...)
	}
	msgs = append(msgs, c.checkHeaders(op, h)...)
	return msgs
}

// checkHeaders checks the header parameters of op against h.
func (c *contract) checkHeaders(op *v3.Operation, h http.Header) []string {
	var msgs []string
	for _, p := range op.Parameters {
		if p.In != "header" {
			continue
		}
		v := h.Values(p.Name)
		switch {
		case len(v) == 0 && p.Required != nil && *p.Required:
			msgs = append(msgs, "no "+p.Name+" header")
		case len(v) > 1:
			msgs = append(msgs, p.Name+" sent more than once")
		case len(v) == 1:
			b, _ := json.Marshal(v[0])
			if ok, errs := c.schemas.ValidateSchemaBytes(p.Schema.Schema(), b); !ok {
				msgs = append(msgs, describe(p.Name+" header "+v[0], errs)...)
			}
		}
	}
	return msgs
}
