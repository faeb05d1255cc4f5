package directory

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// TestEventPayloadIsTheMapsJSON: an event's payload has the bytes of the
// map of its members, which is what subscribers have always been sent.
func TestEventPayloadIsTheMapsJSON(t *testing.T) {
	now := time.Date(2026, 5, 6, 7, 8, 9, 123e6, time.UTC)
	u := &User{ID: "usr_01J0000000000000000000000", TenantID: "ten_01J0000000000000000000000"}
	for _, data := range []map[string]any{
		nil,
		{},
		{"user": json.RawMessage(`{"id": "usr_1", "name": "Ann <&>"}`), "changed_fields": []string{"name"}, "previous": map[string]any{"name": nil}},
	} {
		r := newRecord(u, EventUserUpdated, nil, Actor{}, now, data, nil)
		want, err := json.Marshal(map[string]any{"id": r.event.ID, "type": EventUserUpdated, "timestamp": FormatTime(now), "data": data})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(r.event.Payload, want) {
			t.Errorf("payload\n%s\nwant\n%s", r.event.Payload, want)
		}
	}
}

func BenchmarkNewRecord(b *testing.B) {
	now := time.Now()
	u := &User{ID: "usr_01J0000000000000000000000", TenantID: "ten_01J0000000000000000000000"}
	data := map[string]any{"user": json.RawMessage(`{"id":"usr_1","name":"Ann"}`), "changed_fields": []string{"name"}, "previous": map[string]any{"name": nil}}
	for b.Loop() {
		now = now.Add(time.Millisecond)
		newRecord(u, EventUserUpdated, nil, Actor{}, now, data, nil)
	}
}
