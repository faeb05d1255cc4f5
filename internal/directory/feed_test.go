package directory_test

import (
	"context"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// TestExpireEventsKeepsTheRetention: ExpireEvents removes the events older
// than the tenant's event_retention_hours and keeps the newer ones.
func TestExpireEventsKeepsTheRetention(t *testing.T) {
	ctx := context.Background()
	svc, tenant, clock := newService(t)
	tn, err := svc.UpdateTenant(ctx, tenant.ID, func(t *directory.Tenant) error {
		t.Settings.EventRetentionHours = 1
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	start := *clock
	*clock = start.Add(-3 * time.Hour)
	for _, name := range []string{"old1", "old2"} {
		mustWrite(t)(svc.CreateUser(ctx, tn, []byte(`{"username":"`+name+`"}`), directory.WriteOptions{}))
	}
	*clock = start.Add(-30 * time.Minute)
	recent := mustWrite(t)(svc.CreateUser(ctx, tn, []byte(`{"username":"recent"}`), directory.WriteOptions{}))
	*clock = start

	n, err := svc.ExpireEvents(ctx)
	if err != nil || n != 2 {
		t.Fatalf("ExpireEvents: removed %d, %v; want 2", n, err)
	}
	p, err := svc.Feed(ctx, tn.ID, directory.FeedCursor{}, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Entries) != 1 || p.Entries[0].Event.UserID != recent.ID {
		t.Errorf("feed after the expiry: %d events, want only the creation of %s", len(p.Entries), recent.ID)
	}
}

// TestFeedWaitEndsWithTheContext: a long-poll whose client goes away
// returns at once, an empty page and no error.
func TestFeedWaitEndsWithTheContext(t *testing.T) {
	svc, tenant, _ := newService(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	p, err := svc.Feed(ctx, tenant.ID, directory.FeedCursor{}, 10, 10*time.Second)
	if err != nil || len(p.Entries) != 0 || !p.Next.IsZero() {
		t.Fatalf("Feed: %+v, %v; want an empty page at the start", p, err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Feed returned %v after its context ended, want at once", el)
	}
}

// TestFeedCursorRoundTrip: a cursor reads back as itself; others are
// refused.
func TestFeedCursorRoundTrip(t *testing.T) {
	c := directory.FeedCursor{Pos: 1 << 40, ID: directory.NewID(directory.PrefixEvent, directory.Now())}
	got, err := directory.ParseFeedCursor(c.String())
	if err != nil || got != c {
		t.Errorf("ParseFeedCursor(%s) = %v, %v; want %v", c, got, err, c)
	}
	for _, bad := range []string{"x", "MS5ub3Rhbl9pZA", c.String() + "A"} {
		if _, err := directory.ParseFeedCursor(bad); err == nil {
			t.Errorf("ParseFeedCursor(%q): no error", bad)
		}
	}
}
