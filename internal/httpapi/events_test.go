package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// feedAnswer is a decoded page of GET /v1/events.
type feedAnswer struct {
	Data       []map[string]any `json:"data"`
	HasMore    bool             `json:"has_more"`
	NextCursor *string          `json:"next_cursor"`
}

// feedQuery is the query of a feed request after the cursor.
func feedQuery(after string, rest ...string) string {
	v := url.Values{}
	if after != "" {
		v.Set("after", after)
	}
	for i := 0; i+1 < len(rest); i += 2 {
		v.Set(rest[i], rest[i+1])
	}
	return "/v1/events?" + v.Encode()
}

// readFeed asks the feed once and decodes the answer, or reports the
// status and returns nil.
func (e *env) readFeed(t *testing.T, token, after string, rest ...string) (*feedAnswer, *response) {
	t.Helper()
	r := e.do(t, req{method: "GET", path: feedQuery(after, rest...), token: token})
	if r.status != http.StatusOK {
		return nil, r
	}
	var a feedAnswer
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("decode feed page %s: %v", r.body, err)
	}
	return &a, r
}

// rebuild applies a feed event to users, the consumer's copy of them: the
// user an event carries replaces the copy, a purge removes it.
func rebuild(users map[string]map[string]any, ev map[string]any) error {
	data, _ := ev["data"].(map[string]any)
	u, _ := data["user"].(map[string]any)
	id, _ := u["id"].(string)
	if id == "" {
		return fmt.Errorf("event %v carries no user", ev["id"])
	}
	if ev["type"] == string(directory.EventUserPurged) || data["purged"] == true {
		delete(users, id)
		return nil
	}
	users[id] = u
	return nil
}

// TestFeedRebuildsUsers races writers (creates, updates, suspensions,
// deactivations, deletions) against a reader that follows the feed in
// small pages, then purges the deleted users: the users the reader rebuilt
// from the feed are exactly those GET /v1/users lists, and the purged ones
// are gone from both.
func TestFeedRebuildsUsers(t *testing.T) {
	e := newEnv(t)
	const writers, each = 4, 6
	var wg sync.WaitGroup
	fail := func(format string, args ...any) { t.Errorf(format, args...) }
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				r := e.do(t, req{method: "POST", path: "/v1/users", body: map[string]any{
					"email": fmt.Sprintf("w%d.u%d@example.com", w, i), "name": "First"}})
				if r.status != http.StatusCreated {
					fail("create: %d %s", r.status, r.body)
					return
				}
				id := r.json(t)["id"].(string)
				steps := []req{
					{method: "PATCH", path: "/v1/users/" + id, body: map[string]any{"name": "Second", "metadata": map[string]any{"n": i}}},
					{method: "POST", path: "/v1/users/" + id + "/suspensions", body: map[string]any{"reason": "abuse"}},
					{method: "POST", path: "/v1/users/" + id + "/deactivate"},
				}
				switch i % 3 {
				case 1:
					steps = append(steps, req{method: "POST", path: "/v1/users/" + id + "/reactivate"})
				case 2:
					steps = append(steps, req{method: "DELETE", path: "/v1/users/" + id})
				}
				for _, s := range steps {
					if r := e.do(t, s); r.status >= 300 {
						fail("%s %s: %d %s", s.method, s.path, r.status, r.body)
					}
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	users := map[string]map[string]any{}
	seen := map[string]bool{}
	cursor := ""
	// follow reads until a page comes back empty.
	follow := func() {
		for {
			a, r := e.readFeed(t, "", cursor, "limit", "3")
			if a == nil {
				t.Fatalf("feed: %d %s", r.status, r.body)
			}
			for _, ev := range a.Data {
				id := ev["id"].(string)
				if seen[id] {
					t.Errorf("event %s read twice", id)
				}
				seen[id] = true
				if err := rebuild(users, ev); err != nil {
					t.Error(err)
				}
			}
			if a.NextCursor != nil {
				cursor = *a.NextCursor
			}
			if len(a.Data) == 0 {
				return
			}
		}
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		follow()
	}
	if n, err := e.svc.PurgeDue(context.Background()); err != nil || n != writers*(each/3) {
		t.Errorf("PurgeDue: purged %d, %v; want %d", n, err, writers*(each/3))
	}
	// Until the feed is quiet for a while: on PostgreSQL a transaction of
	// the node's workers may hold the feed back a moment.
	want := listAll(t, e)
	for deadline := time.Now().Add(5 * time.Second); ; {
		follow()
		if reflect.DeepEqual(users, want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(want) != writers*each+1-writers*(each/3) { // the owner too
		t.Errorf("GET /v1/users lists %d users, want %d", len(want), writers*each+1-writers*(each/3))
	}
	for id, u := range want {
		if !reflect.DeepEqual(users[id], u) {
			t.Errorf("user %s:\n rebuilt %v\n    want %v", id, users[id], u)
		}
	}
	for id := range users {
		if want[id] == nil {
			t.Errorf("user %s rebuilt from the feed, not listed by GET /v1/users (purged?)", id)
		}
	}
}

// listAll lists every user of the default tenant, by ID.
func listAll(t *testing.T, e *env) map[string]map[string]any {
	t.Helper()
	all := map[string]map[string]any{}
	path := "/v1/users?limit=100"
	for {
		page := e.must(t, http.StatusOK, req{method: "GET", path: path}).json(t)
		for _, u := range page["data"].([]any) {
			m := u.(map[string]any)
			all[m["id"].(string)] = m
		}
		next, _ := page["next_cursor"].(string)
		if next == "" {
			return all
		}
		path = "/v1/users?limit=100&cursor=" + next
	}
}

// TestFeedLongPoll: a long-poll with nothing new waits, and answers as
// soon as a write commits, with that write's event, well before the store
// would have been read again; with nothing at all it answers an empty page
// and the same cursor when the wait is over.
func TestFeedLongPoll(t *testing.T) {
	e := newEnv(t)
	e.createUser(t, map[string]any{"email": "first@example.com"})
	a, r := e.readFeed(t, "", "")
	if a == nil || a.NextCursor == nil {
		t.Fatalf("feed: %d %s", r.status, r.body)
	}
	cursor := *a.NextCursor

	start := time.Now()
	empty, r := e.readFeed(t, "", cursor, "wait", "1s")
	if empty == nil {
		t.Fatalf("feed with wait: %d %s", r.status, r.body)
	}
	if el := time.Since(start); el < time.Second {
		t.Errorf("wait=1s with nothing new answered after %v, want at least 1s", el)
	}
	if len(empty.Data) != 0 || empty.NextCursor == nil || *empty.NextCursor != cursor {
		t.Errorf("wait=1s with nothing new: got %d events, cursor %v; want none and %s", len(empty.Data), empty.NextCursor, cursor)
	}

	type result struct {
		a  *feedAnswer
		at time.Time
	}
	got := make(chan result, 1)
	go func() {
		a, _ := e.readFeed(t, "", cursor, "wait", "20")
		got <- result{a, time.Now()}
	}()
	time.Sleep(300 * time.Millisecond)
	select {
	case res := <-got:
		t.Fatalf("the long-poll answered before any write: %+v", res.a)
	default:
	}
	u := e.createUser(t, map[string]any{"email": "second@example.com"})
	wrote := time.Now()
	select {
	case res := <-got:
		if res.a == nil || len(res.a.Data) != 1 {
			t.Fatalf("long-poll answer: %+v, want the one new event", res.a)
		}
		ev := res.a.Data[0]
		if ev["type"] != "user.created" || ev["data"].(map[string]any)["user"].(map[string]any)["id"] != u["id"] {
			t.Errorf("long-poll event: got %v, want user.created of %s", ev, u["id"])
		}
		if lag := res.at.Sub(wrote); lag > directory.FeedPollInterval*8/10 {
			t.Errorf("long-poll answered %v after the write, want it woken by the commit, not the next poll", lag)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the long-poll did not answer within 10s of a write")
	}
}

// TestFeedErrors: the scope, malformed parameters, and a cursor from
// before events the retention removed (410); the retention setting's
// bounds.
func TestFeedErrors(t *testing.T) {
	e := newEnv(t)
	problem(t, e.do(t, req{method: "GET", path: "/v1/events", token: e.keyWith("users:write")}), 403, "insufficient_scope")
	e.must(t, http.StatusOK, req{method: "GET", path: "/v1/events", token: e.keyWith("users:read")})

	p := problem(t, e.do(t, req{method: "GET", path: "/v1/events?after=nope&wait=31&limit=0"}), 400, "invalid_request")
	if got := fieldCodes(p); got["wait"] != "out_of_range" || got["limit"] != "out_of_range" {
		t.Errorf("bad wait and limit: got %v, want both out_of_range", got)
	}
	p = problem(t, e.do(t, req{method: "GET", path: "/v1/events?after=nope"}), 400, "invalid_request")
	if got := fieldCodes(p); got["after"] != "invalid_cursor" {
		t.Errorf("bad after: got %v, want invalid_cursor", got)
	}

	e.createUser(t, map[string]any{"email": "a@example.com"})
	first, _ := e.readFeed(t, "", "")
	e.createUser(t, map[string]any{"email": "b@example.com"})
	e.createUser(t, map[string]any{"email": "c@example.com"})
	if first == nil || first.NextCursor == nil {
		t.Fatal("no cursor")
	}
	// Expire everything but the last event (an hour from now, every event
	// is old); the events are not any delivery's.
	if _, err := e.store.ExpireEvents(context.Background(), e.tenant, time.Now().Add(time.Hour), 100); err != nil {
		t.Fatal(err)
	}
	p = problem(t, e.do(t, req{method: "GET", path: feedQuery(*first.NextCursor)}), 410, "cursor_expired")
	if p["detail"] == "" {
		t.Error("410 without a detail")
	}

	r := e.do(t, req{method: "PATCH", path: "/v1/tenants/" + e.tenant, token: e.platform, ctype: "application/merge-patch+json",
		body: map[string]any{"settings": map[string]any{"event_retention_hours": 2161}}})
	if got := fieldCodes(problem(t, r, 422, "validation_failed")); got["settings.event_retention_hours"] != "out_of_range" {
		t.Errorf("retention 2161: got %v, want out_of_range", got)
	}
	r = e.do(t, req{method: "PATCH", path: "/v1/tenants/" + e.tenant, token: e.platform, ctype: "application/merge-patch+json",
		body: map[string]any{"settings": map[string]any{"event_retention_hours": 24}}})
	if r.status != http.StatusOK {
		t.Fatalf("retention 24: %d %s", r.status, r.body)
	}
	if got := r.json(t)["settings"].(map[string]any)["event_retention_hours"]; fmt.Sprint(got) != "24" {
		t.Errorf("retention after PATCH: got %v, want 24", got)
	}
}
