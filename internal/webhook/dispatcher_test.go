package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roster-dev/roster/internal/directory"
)

// fakeStore keeps deliveries in memory with the claiming rules of
// directory.Store: a delivery is claimed only when due and when no earlier
// pending delivery exists for its endpoint and user; a claim leases it.
// The real stores are tested against the same rules by storetest.
type fakeStore struct {
	mu       sync.Mutex
	rows     []*fakeRow // in event order
	claimErr error
	claims   int
}

type fakeRow struct {
	d        directory.Delivery
	ep       *directory.Endpoint
	payload  []byte
	attempts []fakeAttempt
}

type fakeAttempt struct {
	a    directory.Attempt
	next time.Time
}

// add queues one event for a user to an endpoint and returns its ID.
func (s *fakeStore) add(ep *directory.Endpoint, userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.rows) + 1
	evID := fmt.Sprintf("evt_%04d", n)
	payload, _ := json.Marshal(map[string]any{
		"id": evID, "type": "user.updated", "timestamp": "2026-11-22T22:58:32.123Z",
		"data": map[string]any{"user": map[string]any{"id": userID}},
	})
	s.rows = append(s.rows, &fakeRow{
		d: directory.Delivery{
			ID: fmt.Sprintf("dlv_%04d", n), TenantID: ep.TenantID, EndpointID: ep.ID, EventID: evID,
			UserID: userID, Status: directory.DeliveryPending, CreatedAt: time.Now(),
		},
		ep: ep, payload: payload,
	})
	return evID
}

func (s *fakeStore) ClaimDeliveries(_ context.Context, now time.Time, lease time.Duration, limit int) ([]*directory.ClaimedDelivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.claims++
	if s.claimErr != nil {
		return nil, s.claimErr
	}
	var out []*directory.ClaimedDelivery
	headSeen := map[string]bool{}
	for _, r := range s.rows {
		if r.d.Status != directory.DeliveryPending {
			continue
		}
		pair := r.d.EndpointID + " " + r.d.UserID
		if headSeen[pair] {
			continue
		}
		headSeen[pair] = true
		if r.d.NextAttemptAt.After(now) {
			continue
		}
		r.d.NextAttemptAt = now.Add(lease)
		d := r.d
		out = append(out, &directory.ClaimedDelivery{Delivery: &d, Endpoint: r.ep, Payload: r.payload})
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

func (s *fakeStore) FinishAttempt(_ context.Context, d *directory.Delivery, a *directory.Attempt, next time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.rows {
		if r.d.ID != d.ID {
			continue
		}
		if r.d.Status != directory.DeliveryPending {
			return fmt.Errorf("delivery %s is %s", d.ID, r.d.Status)
		}
		r.attempts = append(r.attempts, fakeAttempt{*a, next})
		if a.Error == "" {
			r.d.Status = directory.DeliveryDelivered
			at := a.At
			r.d.DeliveredAt = &at
			return nil
		}
		r.d.Attempts++
		r.d.NextAttemptAt = next
		r.d.LastStatus, r.d.LastError = a.StatusCode, a.Error
		return nil
	}
	return directory.ErrNotFound
}

// delivered reports whether every delivery is delivered.
func (s *fakeStore) delivered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.rows {
		if r.d.Status != directory.DeliveryDelivered {
			return false
		}
	}
	return true
}

// snapshot returns a copy of the rows.
func (s *fakeStore) snapshot() []fakeRow {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]fakeRow, len(s.rows))
	for i, r := range s.rows {
		out[i] = *r
		out[i].attempts = append([]fakeAttempt(nil), r.attempts...)
	}
	return out
}

// run starts d.Run and returns a function that stops it and waits.
func run(t *testing.T, d *Dispatcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v, want nil", err)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("Run did not return after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// fastOptions are DispatcherOptions for tests: quick polls and retries.
func fastOptions() DispatcherOptions {
	return DispatcherOptions{Interval: 10 * time.Millisecond, BaseBackoff: 20 * time.Millisecond, MaxBackoff: time.Second, Workers: 4}
}

// eventIDOf returns the "id" member of an event payload.
func eventIDOf(t *testing.T, body []byte) (id, user string) {
	t.Helper()
	var p struct {
		ID   string `json:"id"`
		Data struct {
			User struct {
				ID string `json:"id"`
			} `json:"user"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("payload %s: %v", body, err)
	}
	return p.ID, p.Data.User.ID
}

// TestDispatcherRecovers: a receiver fails its first three requests, then
// answers 200. Every event arrives, each user's in order, the failed
// deliveries are retried with a growing back-off, and the attempts are
// recorded.
func TestDispatcherRecovers(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	ep := rc.endpoint("whe_1", directory.EndpointEvents)
	store := &fakeStore{}
	want := map[string][]string{}
	for i := range 12 {
		user := fmt.Sprintf("usr_%d", i%3)
		want[user] = append(want[user], store.add(ep, user))
	}
	reg := prometheus.NewRegistry()
	opts := fastOptions()
	opts.Registerer = reg
	d := NewDispatcher(store, NewClient(true), nil, opts)
	d.jitter = func(bound time.Duration) time.Duration { return bound } // no randomness: the bound itself
	run(t, d)
	eventually(t, 10*time.Second, "every delivery delivered", store.delivered)

	// Every request is signed, its webhook-id is the event's ID, and each
	// user's requests come in event order: a retry holds back later events.
	payloads := map[string][]byte{}
	for _, r := range store.snapshot() {
		payloads[r.d.EventID] = r.payload
	}
	seen := map[string][]string{}
	for i, r := range rc.requests() {
		if r.VerifyErr != nil {
			t.Errorf("request %d: reference library: %v", i+1, r.VerifyErr)
		}
		id, user := eventIDOf(t, r.Body)
		if got := r.Header.Get(HeaderID); got != id {
			t.Errorf("request %d: webhook-id %q, payload id %q", i+1, got, id)
		}
		if string(r.Body) != string(payloads[id]) {
			t.Errorf("request %d: body %s, want the stored payload %s", i+1, r.Body, payloads[id])
		}
		if s := seen[user]; len(s) == 0 || s[len(s)-1] != id {
			seen[user] = append(seen[user], id) // a retry repeats the last ID
		}
	}
	for user, ids := range want {
		if got := strings.Join(seen[user], " "); got != strings.Join(ids, " ") {
			t.Errorf("%s got %s, want %s", user, got, strings.Join(ids, " "))
		}
	}
	if got, wantN := len(rc.requests()), 12+3; got != wantN {
		t.Errorf("receiver got %d requests, want %d", got, wantN)
	}

	// The attempts: three failures in all, each retried after the bound of
	// its back-off, which doubles with each failure of a delivery.
	failures := 0
	for _, r := range store.snapshot() {
		for i, at := range r.attempts {
			last := i == len(r.attempts)-1
			if last {
				if at.a.Error != "" || at.a.StatusCode != 204 {
					t.Errorf("%s: last attempt %+v, want a success", r.d.ID, at.a)
				}
				continue
			}
			failures++
			if at.a.StatusCode != 503 || at.a.Error != "HTTP 503" {
				t.Errorf("%s attempt %d: status %d, error %q", r.d.ID, i+1, at.a.StatusCode, at.a.Error)
			}
			if got, want := at.next.Sub(at.a.At), opts.BaseBackoff<<i; got != want {
				t.Errorf("%s attempt %d: retry after %v, want %v", r.d.ID, i+1, got, want)
			}
			if gap := r.attempts[i+1].a.At.Sub(at.a.At); gap < opts.BaseBackoff<<i {
				t.Errorf("%s attempt %d: retried after %v, before its back-off", r.d.ID, i+2, gap)
			}
		}
		if r.d.Attempts != len(r.attempts)-1 {
			t.Errorf("%s: Attempts = %d with %d attempts", r.d.ID, r.d.Attempts, len(r.attempts))
		}
	}
	if failures != 3 {
		t.Errorf("%d failed attempts recorded, want 3", failures)
	}
	if got := counterValue(t, reg, "roster_webhook_delivery_attempts_total", "outcome", outcomeDelivered); got != 12 {
		t.Errorf("delivered attempts counted = %v, want 12", got)
	}
	if got := counterValue(t, reg, "roster_webhook_delivery_attempts_total", "outcome", outcomeHTTPError); got != 3 {
		t.Errorf("http_error attempts counted = %v, want 3", got)
	}
}

// TestDispatcherOneUserBackoffGrows: one delivery failing again and again
// is retried after 1, 2, 4, 8 … times the base, never beyond MaxBackoff.
func TestDispatcherOneUserBackoffGrows(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= 5 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	ep := rc.endpoint("whe_1", directory.EndpointEvents)
	store := &fakeStore{}
	first := store.add(ep, "usr_1")
	second := store.add(ep, "usr_1")
	opts := fastOptions()
	opts.BaseBackoff, opts.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	d := NewDispatcher(store, NewClient(true), nil, opts)
	d.jitter = func(bound time.Duration) time.Duration { return bound }
	run(t, d)
	eventually(t, 10*time.Second, "every delivery delivered", store.delivered)

	rows := store.snapshot()
	var gaps []time.Duration
	for _, at := range rows[0].attempts {
		if at.a.Error != "" {
			gaps = append(gaps, at.next.Sub(at.a.At))
		}
	}
	want := []time.Duration{10, 20, 40, 50, 50}
	if len(gaps) != len(want) {
		t.Fatalf("back-offs %v, want %v ms", gaps, want)
	}
	for i := range want {
		if gaps[i] != want[i]*time.Millisecond {
			t.Errorf("back-off %d = %v, want %v", i+1, gaps[i], want[i]*time.Millisecond)
		}
	}
	// The second event waited for the first.
	ids := []string{}
	for _, r := range rc.requests() {
		id, _ := eventIDOf(t, r.Body)
		ids = append(ids, id)
	}
	if got, want := strings.Join(ids, " "), strings.Repeat(first+" ", 6)+second; got != want {
		t.Errorf("requests %s, want %s", got, want)
	}
}

func TestBackoffBounds(t *testing.T) {
	d := NewDispatcher(&fakeStore{}, nil, nil, DispatcherOptions{})
	d.jitter = func(bound time.Duration) time.Duration { return bound }
	want := []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300}
	for i, w := range want {
		if got := d.backoff(i + 1); got != w*time.Second {
			t.Errorf("backoff(%d) bound = %v, want %v", i+1, got, w*time.Second)
		}
	}
	if got := d.backoff(1_000_000); got != 5*time.Minute {
		t.Errorf("backoff(1e6) bound = %v, want 5m", got)
	}
	// With the real jitter, delays fall anywhere below the bound.
	d = NewDispatcher(&fakeStore{}, nil, nil, DispatcherOptions{})
	var low, high bool
	for range 1000 {
		got := d.backoff(3)
		if got < 0 || got > 4*time.Second {
			t.Fatalf("backoff(3) = %v, outside [0, 4s]", got)
		}
		low = low || got < time.Second
		high = high || got > 3*time.Second
	}
	if !low || !high {
		t.Errorf("backoff(3) is not spread over [0, 4s]: low %v, high %v", low, high)
	}
}

// TestDispatcherStopFinishesAttempt: a dispatcher stopped while a request
// is in flight lets it finish and records it, so the event is not sent again
// merely because the node was stopping; another dispatcher then retries the
// failed attempt. (A crash, where nothing can be recorded, is covered by the
// lease: see the process tests of cmd/roster.)
func TestDispatcherStopFinishesAttempt(t *testing.T) {
	var rc *receiver
	rc = newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			rc.wait(r) // stalls until the attempt's timeout
		}
	})
	ep := rc.endpoint("whe_1", directory.EndpointEvents)
	ep.TimeoutMS = 300
	store := &fakeStore{}
	store.add(ep, "usr_1")
	opts := fastOptions()
	opts.Lease = 5 * time.Second

	stopA := run(t, NewDispatcher(store, NewClient(true), nil, opts))
	eventually(t, 5*time.Second, "the first request", func() bool { return len(rc.requests()) == 1 })
	stopA()
	if r := store.snapshot()[0]; len(r.attempts) != 1 || r.attempts[0].a.Error == "" || r.d.Status != directory.DeliveryPending {
		t.Fatalf("after the stop: %d attempts, status %s; want one failed attempt recorded, pending", len(r.attempts), r.d.Status)
	}

	run(t, NewDispatcher(store, NewClient(true), nil, opts))
	eventually(t, 5*time.Second, "delivery by the second dispatcher", store.delivered)
	r := store.snapshot()[0]
	if len(r.attempts) != 2 || r.attempts[1].a.Error != "" {
		t.Errorf("attempts %+v, want a failure then a success", r.attempts)
	}
	if n := len(rc.requests()); n != 2 {
		t.Errorf("receiver got %d requests, want 2", n)
	}
}

// TestDispatcherAttemptEndsWithinLease: an attempt whose endpoint timeout
// outlasts the lease is cut short before the lease ends, and recorded.
func TestDispatcherAttemptEndsWithinLease(t *testing.T) {
	var rc *receiver
	rc = newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) { rc.wait(r) })
	ep := rc.endpoint("whe_1", directory.EndpointEvents)
	ep.TimeoutMS = 5000
	store := &fakeStore{}
	store.add(ep, "usr_1")
	opts := fastOptions()
	opts.Lease = 300 * time.Millisecond
	opts.BaseBackoff = time.Hour
	run(t, NewDispatcher(store, NewClient(true), nil, opts))
	eventually(t, 5*time.Second, "a recorded attempt", func() bool { return len(store.snapshot()[0].attempts) > 0 })
	a := store.snapshot()[0].attempts[0].a
	if a.DurationMS >= opts.Lease.Milliseconds() {
		t.Errorf("attempt took %d ms, beyond the %v lease", a.DurationMS, opts.Lease)
	}
	if !strings.HasPrefix(a.Error, "no answer within") || a.StatusCode != 0 {
		t.Errorf("attempt = %+v, want a timeout", a)
	}
}

// TestDispatcherSharedStore: two dispatchers on one store deliver every
// event exactly once, each user's in order.
func TestDispatcherSharedStore(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]string{}
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		user := r.URL.Query().Get("user")
		time.Sleep(time.Millisecond)
		mu.Lock()
		got[user] = append(got[user], r.Header.Get(HeaderID))
		mu.Unlock()
	})
	store := &fakeStore{}
	want := map[string][]string{}
	for i := range 60 {
		user := fmt.Sprintf("usr_%d", i%6)
		// One endpoint, with the user in its URL for the receiver's sake.
		ep := rc.endpoint("whe_1", directory.EndpointEvents)
		ep.URL += "?user=" + user
		want[user] = append(want[user], store.add(ep, user))
	}
	opts := fastOptions()
	opts.BatchSize = 3
	run(t, NewDispatcher(store, NewClient(true), nil, opts))
	run(t, NewDispatcher(store, NewClient(true), nil, opts))
	eventually(t, 10*time.Second, "every delivery delivered", store.delivered)
	mu.Lock()
	defer mu.Unlock()
	for user, ids := range want {
		if g, w := strings.Join(got[user], " "), strings.Join(ids, " "); g != w {
			t.Errorf("%s got %s, want %s", user, g, w)
		}
	}
	if n := len(rc.requests()); n != 60 {
		t.Errorf("receiver got %d requests, want 60", n)
	}
}

func TestDispatcherKick(t *testing.T) {
	rc := newReceiver(t, answerJSON(200, ""))
	ep := rc.endpoint("whe_1", directory.EndpointEvents)
	store := &fakeStore{}
	opts := fastOptions()
	opts.Interval = time.Hour
	d := NewDispatcher(store, NewClient(true), nil, opts)
	run(t, d)
	// Run looks once when it starts, then sleeps for the Interval.
	eventually(t, 5*time.Second, "the first claim", func() bool {
		store.mu.Lock()
		defer store.mu.Unlock()
		return store.claims >= 1
	})
	store.add(ep, "usr_1")
	time.Sleep(100 * time.Millisecond)
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("delivered before the kick (%d requests) with an hour's Interval", n)
	}
	d.Kick()
	d.Kick() // kicks coalesce and never block
	eventually(t, 2*time.Second, "delivery after the kick", store.delivered)

	// A success wakes the loop for the user's next event, with no kick.
	store.add(ep, "usr_1")
	store.add(ep, "usr_1")
	d.Kick()
	eventually(t, 2*time.Second, "delivery of both", store.delivered)
}

func TestDispatcherRedirectAndForbidden(t *testing.T) {
	var targetHits atomic.Int32
	target := newReceiver(t, func(int, http.ResponseWriter, *http.Request) { targetHits.Add(1) })
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.srv.URL, http.StatusFound)
	})
	store := &fakeStore{}
	store.add(rc.endpoint("whe_redirect", directory.EndpointEvents), "usr_1")
	guarded := newReceiver(t, answerJSON(200, ""))
	store.add(guarded.endpoint("whe_private", directory.EndpointEvents), "usr_1")

	reg := prometheus.NewRegistry()
	opts := fastOptions()
	opts.BaseBackoff = time.Hour
	opts.Registerer = reg
	run(t, NewDispatcher(store, NewClient(false), nil, opts))
	eventually(t, 5*time.Second, "both attempted", func() bool {
		rows := store.snapshot()
		return len(rows[0].attempts) > 0 && len(rows[1].attempts) > 0
	})
	// The redirect is reached only with private targets allowed; a
	// second dispatcher does that below.
	rows := store.snapshot()
	// The attempt, shown to the tenant, does not name the address.
	if a := rows[1].attempts[0].a; a.Error != unreachableAttempt || a.StatusCode != 0 {
		t.Errorf("private endpoint attempt = %+v, want refused with %q", a, unreachableAttempt)
	}
	if n := len(guarded.requests()); n != 0 {
		t.Errorf("private endpoint got %d requests", n)
	}
	if got := counterValue(t, reg, "roster_webhook_delivery_attempts_total", "outcome", outcomeForbidden); got != 2 {
		t.Errorf("forbidden attempts = %v, want 2", got)
	}

	store2 := &fakeStore{}
	store2.add(rc.endpoint("whe_redirect", directory.EndpointEvents), "usr_1")
	opts.Registerer = nil
	run(t, NewDispatcher(store2, NewClient(true), nil, opts))
	eventually(t, 5*time.Second, "an attempt", func() bool { return len(store2.snapshot()[0].attempts) > 0 })
	r := store2.snapshot()[0]
	if a := r.attempts[0].a; a.StatusCode != 302 || !strings.Contains(a.Error, "redirect") {
		t.Errorf("attempt = %+v, want a failed 302", a)
	}
	if r.d.Status != directory.DeliveryPending || r.d.Attempts != 1 {
		t.Errorf("delivery %s with %d attempts, want pending with 1", r.d.Status, r.d.Attempts)
	}
	if n := targetHits.Load(); n != 0 {
		t.Errorf("redirect target got %d requests, want 0", n)
	}
}

// TestDispatcherStoreErrors: a failing claim is logged and retried at the
// next Interval, without spinning.
func TestDispatcherStoreErrors(t *testing.T) {
	store := &fakeStore{claimErr: errors.New("database is locked")}
	reg := prometheus.NewRegistry()
	opts := fastOptions()
	opts.Interval = 50 * time.Millisecond
	opts.Registerer = reg
	stop := run(t, NewDispatcher(store, NewClient(true), nil, opts))
	time.Sleep(300 * time.Millisecond)
	stop()
	store.mu.Lock()
	claims := store.claims
	store.mu.Unlock()
	if claims < 2 || claims > 10 {
		t.Errorf("%d claims in 300 ms with a 50 ms Interval", claims)
	}
	if got := counterValue(t, reg, "roster_webhook_store_errors_total", "op", "claim"); got != float64(claims) {
		t.Errorf("claim errors counted = %v, want %d", got, claims)
	}
}

// counterValue returns the value of one labelled counter in reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{%s=%q}", name, label, value)
	return 0
}
