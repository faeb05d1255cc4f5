package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/postgres/pgtest"
)

// TestTwoNodesShareOneDirectory runs two roster serve processes on one
// PostgreSQL database and one Redis (§9).
func TestTwoNodesShareOneDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two processes")
	}
	db := pgtest.URL(t)
	redisURL := requireRedis(t)
	var tenant struct {
		Tenant struct{ ID string }
		Token  string
	}
	cli(t, &tenant, "tenants", "create", "--db", db, "--name", "Multi", "--owner-email", "owner@multi.test")
	var platform struct{ Token string }
	cli(t, &platform, "keys", "create", "--db", db, "--platform")

	// A receiver that counts deliveries by webhook-id and keeps each user's
	// deliveries in the order they arrived. It refuses each user's first
	// user.created once, so that the user's later events are written while
	// that one waits for its retry: in-order delivery must hold them back.
	type delivery struct {
		Type    string
		Version int64
	}
	var mu sync.Mutex
	seen := map[string]int{}
	byUser := map[string][]delivery{}
	refused := map[string]bool{}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p struct {
			Type string
			Data struct {
				User struct {
					ID      string
					Version int64
				}
			}
		}
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("delivery body %q: %v", body, err)
		}
		mu.Lock()
		if p.Type == "user.created" && !refused[p.Data.User.ID] {
			refused[p.Data.User.ID] = true
			mu.Unlock()
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		seen[r.Header.Get("webhook-id")]++
		byUser[p.Data.User.ID] = append(byUser[p.Data.User.ID], delivery{p.Type, p.Data.User.Version})
		mu.Unlock()
		w.WriteHeader(204)
	}))
	defer recv.Close()

	args := []string{"--db", db, "--redis", redisURL, "--delivery-lease", "2s"}
	a, b := startNode(t, args...), startNode(t, args...)
	nodes := []*node{a, b}

	call := func(base, method, path, body, token string) (int, map[string]any) {
		status, b := call(t, method, base+path, token, body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return status, m
	}
	if st, m := call(a.URL, "POST", "/v1/webhook-endpoints", `{"kind":"events","url":"`+recv.URL+`"}`, tenant.Token); st != 201 {
		t.Fatalf("create endpoint: %d %v", st, m)
	}

	// Writes through both nodes; racing for one email across them.
	const users = 8
	ids := make([]string, users)
	for i := range ids {
		st, m := call(nodes[i%2].URL, "POST", "/v1/users", fmt.Sprintf(`{"username":"racer%d"}`, i), tenant.Token)
		if st != 201 {
			t.Fatalf("create: %d %v", st, m)
		}
		ids[i] = m["id"].(string)
	}
	var wg sync.WaitGroup
	statuses := make([]int, users)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _ = call(nodes[i%2].URL, "PATCH", "/v1/users/"+ids[i], `{"email":"prize@multi.test"}`, tenant.Token)
		}()
	}
	wg.Wait()
	won := 0
	for _, s := range statuses {
		if s == 200 {
			won++
		} else if s != 409 {
			t.Errorf("status %d in the email race", s)
		}
	}
	if won != 1 {
		t.Errorf("%d nodes' requests won the email, want exactly 1 (statuses %v)", won, statuses)
	}

	// Stopping one node loses nothing it acknowledged: B keeps serving and
	// delivers whatever A had not.
	acked := 0
	for i := range 10 {
		if st, _ := call(a.URL, "PATCH", "/v1/users/"+ids[i%users], fmt.Sprintf(`{"name":"A%d"}`, i), tenant.Token); st == 200 {
			acked++
		}
	}
	a.kill(syscall.SIGTERM)
	for i := range 10 {
		if st, _ := call(b.URL, "PATCH", "/v1/users/"+ids[i%users], fmt.Sprintf(`{"name":"B%d"}`, i), tenant.Token); st == 200 {
			acked++
		}
	}
	// Every event: users created, one email won, then the acknowledged name changes.
	want := users + 1 + acked
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	if len(seen) != want {
		t.Errorf("%d distinct events delivered, want %d", len(seen), want)
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("event %s delivered %d times", id, n)
		}
	}
	// Delivery is in order per user (§7), whichever node delivers: each
	// user's events arrive created first, then by increasing version.
	if got := len(byUser); got != users {
		t.Errorf("deliveries for %d users, want %d", got, users)
	}
	for id, ds := range byUser {
		if ds[0].Type != "user.created" {
			t.Errorf("user %s: first delivery %v, want user.created", id, ds[0])
		}
		for i := 1; i < len(ds); i++ {
			if ds[i].Version <= ds[i-1].Version {
				t.Errorf("user %s: deliveries out of order: %v", id, ds)
				break
			}
		}
	}
	mu.Unlock()

	// The tenant's rate limit is one bucket across both nodes.
	st, _ := call(b.URL, "PATCH", "/v1/tenants/"+tenant.Tenant.ID, `{"plan":{"rate_limit_rps":0.001,"rate_limit_burst":6}}`, platform.Token)
	if st != 200 {
		t.Fatalf("set plan: %d", st)
	}
	c := startNode(t, args...)
	allowed := 0
	for i := range 12 {
		base := []string{b.URL, c.URL}[i%2]
		if st, _ := call(base, "GET", "/v1/users?limit=1", "", tenant.Token); st == 200 {
			allowed++
		}
	}
	if allowed != 6 {
		t.Errorf("%d of 12 requests across two nodes allowed, want the shared burst of 6", allowed)
	}
}
