package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

var feedTests = []test{
	{"CommitOrder", testFeedCommitOrder},
	{"ConcurrentWriters", testFeedConcurrentWriters},
	{"Expire", testFeedExpire},
}

// feedEvent returns an event of the user made at at, whose ID sorts by at.
func feedEvent(u *directory.User, at time.Time) *directory.Event {
	id := directory.NewID(directory.PrefixEvent, at)
	return &directory.Event{ID: id, TenantID: u.TenantID, UserID: u.ID, Type: directory.EventUserUpdated,
		Payload: fmt.Appendf(nil, `{"id":%q}`, id), CreatedAt: at}
}

// insertEvent stores e in a transaction of its own.
func insertEvent(t *testing.T, s directory.Store, e *directory.Event, ds ...*directory.Delivery) {
	t.Helper()
	inTx(t, s, func(tx directory.Tx) error { return tx.InsertEvent(t.Context(), e, ds) })
}

// followFeed reads the tenant's feed after c in pages of size until it is
// empty, and returns the events' IDs and the last cursor.
func followFeed(t *testing.T, s directory.Store, tenantID string, c directory.FeedCursor, size int) ([]string, directory.FeedCursor) {
	t.Helper()
	var ids []string
	for {
		es, err := s.ListFeed(t.Context(), tenantID, c, size)
		if err != nil {
			t.Fatalf("ListFeed after %v: %v", c, err)
		}
		if len(es) > size {
			t.Fatalf("ListFeed(limit %d): got %d events", size, len(es))
		}
		for _, e := range es {
			if !c.Less(e.Cursor) {
				t.Fatalf("ListFeed after %v: event %s has cursor %v, not after it", c, e.Event.ID, e.Cursor)
			}
			ids = append(ids, e.Event.ID)
			c = e.Cursor
		}
		if len(es) < size {
			return ids, c
		}
	}
}

// testFeedCommitOrder: events come in the order their transactions
// committed, not in ID order; pages join without a gap; another tenant's
// events are not listed; the payload comes back as stored.
func testFeedCommitOrder(t *testing.T, s directory.Store) {
	tn, other := createTenant(t, s, "Acme"), createTenant(t, s, "Other")
	u, ou := NewUser(tn.ID, "a@example.com", ""), NewUser(other.ID, "o@example.com", "")
	createUser(t, s, u)
	createUser(t, s, ou)
	base := now()
	// Each committed after the one before, with an ID made earlier.
	var want []string
	for i := range 5 {
		e := feedEvent(u, base.Add(-time.Duration(i)*time.Second))
		insertEvent(t, s, e)
		insertEvent(t, s, feedEvent(ou, base))
		want = append(want, e.ID)
	}
	for _, size := range []int{1, 2, 10} {
		got, _ := followFeed(t, s, tn.ID, directory.FeedCursor{}, size)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("feed in pages of %d: got %v, want %v (commit order)", size, got, want)
		}
	}
	es, err := s.ListFeed(t.Context(), tn.ID, directory.FeedCursor{}, 1)
	if err != nil || len(es) != 1 {
		t.Fatalf("ListFeed: got %d events, %v", len(es), err)
	}
	if got, wantPayload := string(es[0].Event.Payload), fmt.Sprintf(`{"id":%q}`, want[0]); got != wantPayload {
		t.Errorf("payload: got %s, want %s", got, wantPayload)
	}
	if e := es[0].Event; e.TenantID != tn.ID || e.UserID != u.ID || e.Type != directory.EventUserUpdated {
		t.Errorf("event: got %+v, want tenant %s user %s type %s", e, tn.ID, u.ID, directory.EventUserUpdated)
	}
	// Caught up: nothing after the last cursor, then the next commit.
	_, last := followFeed(t, s, tn.ID, directory.FeedCursor{}, 10)
	next := feedEvent(u, base.Add(-time.Hour))
	insertEvent(t, s, next)
	if got, _ := followFeed(t, s, tn.ID, last, 10); fmt.Sprint(got) != fmt.Sprint([]string{next.ID}) {
		t.Errorf("feed after the last cursor: got %v, want [%s]", got, next.ID)
	}
}

// testFeedConcurrentWriters: a reader following the feed in small pages
// while writers commit concurrently sees every event exactly once.
func testFeedConcurrentWriters(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	u := NewUser(tn.ID, "a@example.com", "")
	createUser(t, s, u)
	const writers, each = 8, 15
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		wrote = map[string]bool{}
	)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				// IDs a little in the past, as a slow transaction's are.
				e := feedEvent(u, now().Add(-time.Duration((w*each+i)%7)*time.Millisecond))
				if err := s.InTx(t.Context(), func(tx directory.Tx) error { return tx.InsertEvent(t.Context(), e, nil) }); err != nil {
					t.Errorf("InsertEvent: %v", err)
					return
				}
				mu.Lock()
				wrote[e.ID] = true
				mu.Unlock()
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	seen := map[string]int{}
	var c directory.FeedCursor
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		ids, last := followFeed(t, s, tn.ID, c, 3)
		for _, id := range ids {
			seen[id]++
		}
		c = last
		if finished {
			break
		}
	}
	if len(wrote) != writers*each {
		t.Fatalf("wrote %d events, want %d", len(wrote), writers*each)
	}
	for id := range wrote {
		if seen[id] != 1 {
			t.Errorf("event %s: seen %d times, want once", id, seen[id])
		}
	}
	if len(seen) != len(wrote) {
		t.Errorf("seen %d events, want %d", len(seen), len(wrote))
	}
}

// testFeedExpire: ExpireEvents removes the old events no delivery needs,
// keeps one a pending delivery needs and the recent ones; a cursor from
// before a removed event is ErrCursorExpired, a cursor after them is not.
func testFeedExpire(t *testing.T, s directory.Store) {
	ctx := t.Context()
	tn := createTenant(t, s, "Acme")
	u := NewUser(tn.ID, "a@example.com", "")
	createUser(t, s, u)
	ep := newEndpoint(tn.ID, directory.EndpointEvents)
	createEndpoint(t, s, ep)
	old := now().Add(-48 * time.Hour)
	e1, e2, kept := feedEvent(u, old), feedEvent(u, old.Add(time.Second)), feedEvent(u, old.Add(2*time.Second))
	insertEvent(t, s, e1)
	_, afterE1 := followFeed(t, s, tn.ID, directory.FeedCursor{}, 10)
	insertEvent(t, s, e2)
	insertEvent(t, s, kept, newDelivery(kept, ep))
	_, afterE2 := followFeed(t, s, tn.ID, afterE1, 10)
	recent := feedEvent(u, now())
	insertEvent(t, s, recent)
	afterKept := afterE2
	if es, err := s.ListFeed(ctx, tn.ID, afterE2, 1); err != nil || len(es) != 1 {
		t.Fatalf("ListFeed after e2: %d events, %v", len(es), err)
	} else {
		afterKept = es[0].Cursor
	}

	n, err := s.ExpireEvents(ctx, tn.ID, now().Add(-24*time.Hour), 100)
	if err != nil {
		t.Fatalf("ExpireEvents: %v", err)
	}
	if n != 2 {
		t.Errorf("ExpireEvents: removed %d, want 2 (e1, e2)", n)
	}
	got, _ := followFeed(t, s, tn.ID, directory.FeedCursor{}, 10)
	if want := []string{kept.ID, recent.ID}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("feed after the expiry: got %v, want %v (the pending delivery's event and the recent one)", got, want)
	}
	if _, err := s.ListFeed(ctx, tn.ID, afterE1, 10); !errors.Is(err, directory.ErrCursorExpired) {
		t.Errorf("ListFeed after e1 (e2 expired): got %v, want ErrCursorExpired", err)
	}
	for name, c := range map[string]directory.FeedCursor{"e2": afterE2, "kept": afterKept} {
		if _, err := s.ListFeed(ctx, tn.ID, c, 10); err != nil {
			t.Errorf("ListFeed after %s (nothing after it expired): %v", name, err)
		}
	}
	ds, err := s.ListDeliveries(ctx, tn.ID, ep.ID, "", 0)
	if err != nil || len(ds) != 1 || ds[0].EventID != kept.ID {
		t.Errorf("deliveries after the expiry: got %d, %v; want the pending one of %s", len(ds), err, kept.ID)
	}
	if n, err := s.ExpireEvents(ctx, tn.ID, now().Add(-24*time.Hour), 100); err != nil || n != 0 {
		t.Errorf("ExpireEvents again: removed %d, %v; want 0", n, err)
	}
}
