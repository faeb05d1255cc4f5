package directory

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The change feed (GET /v1/events): the tenant's outbox events in commit
// order. IDs are made before their transaction, so ID order is not commit
// order; each store gives its events a position that is (see FeedCursor).

// ErrCursorExpired is returned by Store.ListFeed when events after the
// cursor were removed by the retention.
var ErrCursorExpired = &Error{Code: ECodeCursorExpired,
	Message: "Events after this cursor have expired; read the users again (GET /v1/users) and follow the feed from a new cursor."}

// The retention of a tenant's events, Settings.EventRetentionHours.
const (
	DefaultEventRetentionHours = 7 * 24
	MaxEventRetentionHours     = 90 * 24
)

// FeedCursor is a position in a tenant's feed: the events after it are
// those committed after the event it names. The zero cursor is the start
// of the feed. Pos is the store's commit-ordered position (SQLite: a
// sequence assigned by its single writer; PostgreSQL: the ID of the
// writing transaction), ID the event's, which orders the events of one
// position.
type FeedCursor struct {
	Pos uint64
	ID  string
}

// IsZero reports whether c is the start of the feed.
func (c FeedCursor) IsZero() bool { return c.Pos == 0 && c.ID == "" }

// Less reports whether c sorts before d.
func (c FeedCursor) Less(d FeedCursor) bool {
	return c.Pos < d.Pos || c.Pos == d.Pos && c.ID < d.ID
}

// String is the cursor as clients see it: opaque, URL-safe.
func (c FeedCursor) String() string {
	if c.IsZero() {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatUint(c.Pos, 10) + "." + c.ID))
}

// ParseFeedCursor reads a cursor String returned; "" is the zero cursor.
func ParseFeedCursor(s string) (FeedCursor, error) {
	if s == "" {
		return FeedCursor{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return FeedCursor{}, fmt.Errorf("feed cursor: %w", err)
	}
	pos, id, ok := strings.Cut(string(b), ".")
	n, err := strconv.ParseUint(pos, 10, 64)
	if !ok || err != nil || strconv.FormatUint(n, 10) != pos || !ValidID(PrefixEvent, id) {
		return FeedCursor{}, fmt.Errorf("feed cursor: malformed")
	}
	return FeedCursor{Pos: n, ID: id}, nil
}

// FeedEntry is an event of the feed and its position.
type FeedEntry struct {
	Event  *Event
	Cursor FeedCursor
}

// FeedPage is one answer of the feed: at most the limit's events, the
// cursor to ask after next (the request's when there were none), and
// whether more events were ready.
type FeedPage struct {
	Entries []FeedEntry
	Next    FeedCursor
	HasMore bool
}

// FeedPollInterval is how often a long-poll of the feed reads the store
// again for commits of other nodes, which no local signal announces.
const FeedPollInterval = time.Second

// Feed returns the tenant's events after the cursor, at most limit of
// them. With wait > 0 and no event ready it waits, until an event is
// ready, wait has passed or ctx ends (then it answers an empty page, not an
// error); it holds no database connection meanwhile. It returns an error
// wrapping ErrCursorExpired if events after the cursor have expired.
func (s *Service) Feed(ctx context.Context, tenantID string, after FeedCursor, limit int, wait time.Duration) (*FeedPage, error) {
	deadline := time.Now().Add(wait)
	for {
		// Taken before the read, so that a commit between the read and the
		// wait still wakes it.
		changed := s.feed.changed()
		entries, err := s.store.ListFeed(ctx, tenantID, after, limit+1)
		if err != nil {
			if ctx.Err() != nil && wait > 0 {
				return &FeedPage{Next: after}, nil
			}
			return nil, fmt.Errorf("feed: %w", err)
		}
		if len(entries) > 0 || !time.Now().Before(deadline) {
			p := &FeedPage{Entries: entries, Next: after}
			if len(entries) > limit {
				p.Entries, p.HasMore = entries[:limit], true
			}
			if len(p.Entries) > 0 {
				p.Next = p.Entries[len(p.Entries)-1].Cursor
			}
			return p, nil
		}
		t := time.NewTimer(min(FeedPollInterval, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return &FeedPage{Next: after}, nil
		case <-changed:
		case <-t.C:
		}
		t.Stop()
	}
}

// ExpireEvents removes, tenant by tenant, the events older than the
// tenant's retention that no delivery still needs. It returns how many it
// removed.
func (s *Service) ExpireEvents(ctx context.Context) (int, error) {
	now, n, before := s.now(), 0, ""
	for {
		ts, err := s.store.ListTenants(ctx, before, 100)
		if err != nil {
			return n, fmt.Errorf("expire events: %w", err)
		}
		for _, t := range ts {
			cutoff := now.Add(-time.Duration(t.Settings.EventRetention()) * time.Hour)
			for {
				k, err := s.store.ExpireEvents(ctx, t.ID, cutoff, 500)
				n += k
				if err != nil {
					return n, fmt.Errorf("expire events of %s: %w", t.ID, err)
				}
				if k < 500 {
					break
				}
			}
		}
		if len(ts) < 100 {
			return n, nil
		}
		before = ts[len(ts)-1].ID
	}
}

// EventRetention is the tenant's retention of events in hours: its
// setting, or the default for tenants from before the setting.
func (st Settings) EventRetention() int {
	if st.EventRetentionHours == 0 {
		return DefaultEventRetentionHours
	}
	return st.EventRetentionHours
}

// purgedEvent is the event a purge leaves in the feed: as a scrubbed
// event, only the user's ID. It has no deliveries: webhooks learn of the
// purge from the scrubbed payloads of their pending deliveries.
func purgedEvent(ref UserRef, now time.Time) *Event {
	e := &Event{ID: NewID(PrefixEvent, now), TenantID: ref.TenantID, UserID: ref.ID, Type: EventUserPurged, CreatedAt: now}
	e.Payload = scrubbedEvent(e)
	return e
}

// feedSignal wakes the long-polls of the feed on each local commit of an
// event.
type feedSignal struct {
	mu sync.Mutex
	ch chan struct{}
}

// changed returns a channel closed at the next notify.
func (f *feedSignal) changed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ch == nil {
		f.ch = make(chan struct{})
	}
	return f.ch
}

func (f *feedSignal) notify() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ch != nil {
		close(f.ch)
		f.ch = nil
	}
}

// EventExpiryInterval is how often RunEventExpiry runs by default: the
// retention is counted in hours, so a few minutes late is no matter.
const EventExpiryInterval = 10 * time.Minute

// RunEventExpiry runs ExpireEvents every interval until ctx ends.
func (s *Service) RunEventExpiry(ctx context.Context, interval time.Duration, onError func(error)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if _, err := s.ExpireEvents(ctx); err != nil && ctx.Err() == nil {
			onError(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
