package postgres_test

import (
	"fmt"
	"testing"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/postgres/pgtest"
)

// TestFeedWaitsForOpenTransaction: a transaction that took its ID before
// another, still open when the other commits, holds the feed back: the
// reader does not move past it, so its event, committed last with the
// smaller position, is not skipped.
func TestFeedWaitsForOpenTransaction(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	u := pgtest.URL(t)
	s := open(t, u)
	at := directory.Now()
	tn := &directory.Tenant{ID: directory.NewID(directory.PrefixTenant, at), Name: "Acme", Plan: directory.DefaultPlan(),
		Settings: directory.DefaultSettings(), Roles: directory.DefaultRoles(), CreatedAt: at, UpdatedAt: at}
	if err := s.InTx(ctx, func(tx directory.Tx) error { return tx.CreateTenant(ctx, tn) }); err != nil {
		t.Fatal(err)
	}
	event := func() *directory.Event {
		id := directory.NewID(directory.PrefixEvent, directory.Now())
		return &directory.Event{ID: id, TenantID: tn.ID, UserID: "usr_x", Type: directory.EventUserUpdated,
			Payload: []byte(`{}`), CreatedAt: directory.Now()}
	}
	feed := func() []string {
		t.Helper()
		es, err := s.ListFeed(ctx, tn.ID, directory.FeedCursor{}, 10)
		if err != nil {
			t.Fatalf("ListFeed: %v", err)
		}
		var ids []string
		for _, e := range es {
			ids = append(ids, e.Event.ID)
		}
		return ids
	}

	conn := connect(t, u)
	older, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer older.Rollback(ctx)
	var olderXID string
	if err := older.QueryRow(ctx, `SELECT pg_current_xact_id()::text`).Scan(&olderXID); err != nil {
		t.Fatal(err)
	}
	first := event() // the smaller ID too, as a slow write's
	second := event()
	if err := s.InTx(ctx, func(tx directory.Tx) error { return tx.InsertEvent(ctx, second, nil) }); err != nil {
		t.Fatalf("InsertEvent: %v", err)
	}
	if got := feed(); len(got) != 0 {
		t.Fatalf("feed while a transaction older than the commit is open: got %v, want nothing", got)
	}
	if _, err := older.Exec(ctx, `INSERT INTO outbox (id, tenant_id, user_id, type, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		first.ID, first.TenantID, first.UserID, first.Type, first.Payload, first.CreatedAt); err != nil {
		t.Fatal(err)
	}
	if got := feed(); len(got) != 0 {
		t.Fatalf("feed before the older transaction commits: got %v, want nothing", got)
	}
	if err := older.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := feed(), []string{first.ID, second.ID}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("feed after both committed: got %v, want %v (the older transaction's first)", got, want)
	}
}
