package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

var listTests = []test{
	{"Users", testListUsers},
	{"UsersFilters", testListUsersFilters},
	{"Audit", testListAudit},
	{"AuditRoundTrip", testAuditRoundTrip},
	{"Events", testListEvents},
}

// NewAudit returns an audit entry for a change of u.
func NewAudit(u *directory.User, action directory.EventType) *directory.AuditEntry {
	at := now()
	return &directory.AuditEntry{
		ID:        directory.NewID(directory.PrefixAudit, at),
		TenantID:  u.TenantID,
		UserID:    u.ID,
		Action:    action,
		Actor:     directory.Actor{KeyID: "key_1", RequestID: "req_1"},
		RequestID: "req_1",
		At:        at,
		Changes:   map[string]directory.Change{"name": {From: "", To: u.Name}},
	}
}

// NewEvent returns an outbox event for a change of u.
func NewEvent(u *directory.User, typ directory.EventType) *directory.Event {
	at := now()
	return &directory.Event{
		ID:        directory.NewID(directory.PrefixEvent, at),
		TenantID:  u.TenantID,
		UserID:    u.ID,
		Type:      typ,
		Payload:   fmt.Appendf(nil, `{"type":%q,"data":{"id":%q,"n":12345678901234567890123}}`, typ, u.ID),
		CreatedAt: at,
	}
}

func userIDs(us []*directory.User) []string { return ids(us, userID) }

func userID(u *directory.User) string { return u.ID }

// ids returns the IDs of xs, in order; never nil.
func ids[T any](xs []T, id func(T) string) []string {
	out := []string{}
	for _, x := range xs {
		out = append(out, id(x))
	}
	return out
}

func testListUsers(t *testing.T, s directory.Store) {
	a := createTenant(t, s, "A")
	b := createTenant(t, s, "B")
	var us []*directory.User // oldest first
	for i := range 5 {
		u := NewUser(a.ID, fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("user%d", i))
		createUser(t, s, u)
		us = append(us, u)
	}
	createUser(t, s, NewUser(b.ID, "user0@example.com", "user0"))

	list := func(f directory.UserFilter) []string {
		t.Helper()
		got, err := s.ListUsers(t.Context(), a.ID, f)
		if err != nil {
			t.Fatalf("ListUsers(%+v): %v", f, err)
		}
		return ids(got, userID)
	}
	for _, c := range []struct {
		f    directory.UserFilter
		want []*directory.User
	}{
		{directory.UserFilter{Limit: 100}, []*directory.User{us[4], us[3], us[2], us[1], us[0]}},
		{directory.UserFilter{Limit: 2}, []*directory.User{us[4], us[3]}},
		{directory.UserFilter{Limit: 2, Before: us[3].ID}, []*directory.User{us[2], us[1]}},
		{directory.UserFilter{Limit: 2, Before: us[1].ID}, []*directory.User{us[0]}},
		{directory.UserFilter{Limit: 2, Before: us[0].ID}, nil},
	} {
		checkStrings(t, fmt.Sprintf("ListUsers(%+v)", c.f), list(c.f), userIDs(c.want))
	}

	got, err := s.ListUsers(t.Context(), a.ID, directory.UserFilter{Limit: 1})
	if err != nil || len(got) != 1 {
		t.Fatalf("ListUsers: got %d users, error %v; want 1, nil", len(got), err)
	}
	checkEqual(t, "ListUsers' user", got[0], stored(us[4]))
}

func testListUsersFilters(t *testing.T, s directory.Store) {
	a := createTenant(t, s, "A")
	b := createTenant(t, s, "B")
	mk := func(tenantID, email, username, status string) *directory.User {
		u := NewUser(tenantID, email, username)
		u.Status = status
		createUser(t, s, u)
		return u
	}
	alice := mk(a.ID, "Alice@Example.com", "alice", directory.StatusActive)
	bob := mk(a.ID, "bob@example.com", "bob", directory.StatusDeactivated)
	carol := mk(a.ID, "", "carol", directory.StatusActive)
	dave := mk(a.ID, "dave@example.com", "", directory.StatusDeactivated)
	otherAlice := mk(b.ID, "alice@example.com", "alice", directory.StatusDeactivated)

	for _, c := range []struct {
		tenant string
		f      directory.UserFilter
		want   []*directory.User
	}{
		{a.ID, directory.UserFilter{EmailKey: directory.EmailKey("ALICE@example.com"), Limit: 10}, []*directory.User{alice}},
		{a.ID, directory.UserFilter{EmailKey: directory.EmailKey("nobody@example.com"), Limit: 10}, nil},
		{a.ID, directory.UserFilter{Username: "carol", Limit: 10}, []*directory.User{carol}},
		{a.ID, directory.UserFilter{Status: directory.StatusDeactivated, Limit: 10}, []*directory.User{dave, bob}},
		{a.ID, directory.UserFilter{Status: directory.StatusDeactivated, Limit: 1}, []*directory.User{dave}},
		{a.ID, directory.UserFilter{Status: directory.StatusDeactivated, Before: dave.ID, Limit: 1}, []*directory.User{bob}},
		{a.ID, directory.UserFilter{Status: directory.StatusActive, Username: "alice", Limit: 10}, []*directory.User{alice}},
		{a.ID, directory.UserFilter{Status: directory.StatusDeactivated, Username: "alice", Limit: 10}, nil},
		{b.ID, directory.UserFilter{Limit: 10}, []*directory.User{otherAlice}},
		{b.ID, directory.UserFilter{EmailKey: directory.EmailKey("alice@example.com"), Limit: 10}, []*directory.User{otherAlice}},
		{b.ID, directory.UserFilter{Username: "bob", Limit: 10}, nil},
	} {
		got, err := s.ListUsers(t.Context(), c.tenant, c.f)
		if err != nil {
			t.Fatalf("ListUsers(%+v): %v", c.f, err)
		}
		checkStrings(t, fmt.Sprintf("ListUsers(%+v)", c.f), userIDs(got), userIDs(c.want))
	}
}

func testListAudit(t *testing.T, s directory.Store) {
	a := createTenant(t, s, "A")
	b := createTenant(t, s, "B")
	u := NewUser(a.ID, "alice@example.com", "alice")
	v := NewUser(a.ID, "bob@example.com", "bob")
	w := NewUser(b.ID, "alice@example.com", "alice")
	var entries []*directory.AuditEntry // u's, oldest first
	inTx(t, s, func(tx directory.Tx) error {
		for _, x := range []*directory.User{u, v, w} {
			if err := tx.CreateUser(t.Context(), x); err != nil {
				return err
			}
		}
		for i := range 4 {
			e := NewAudit(u, directory.EventUserUpdated)
			e.Changes = map[string]directory.Change{"name": {From: fmt.Sprint(i), To: fmt.Sprint(i + 1)}}
			if err := tx.InsertAudit(t.Context(), e); err != nil {
				return err
			}
			entries = append(entries, e)
			if err := tx.InsertAudit(t.Context(), NewAudit(v, directory.EventUserUpdated)); err != nil {
				return err
			}
			if err := tx.InsertAudit(t.Context(), NewAudit(w, directory.EventUserUpdated)); err != nil {
				return err
			}
		}
		return nil
	})

	auditID := func(e *directory.AuditEntry) string { return e.ID }
	list := func(tenantID, userID, before string, limit int) []string {
		t.Helper()
		got, err := s.ListAudit(t.Context(), tenantID, userID, before, limit)
		if err != nil {
			t.Fatalf("ListAudit(%q, %d): %v", before, limit, err)
		}
		return ids(got, auditID)
	}
	e := entries
	for _, c := range []struct {
		before string
		limit  int
		want   []*directory.AuditEntry
	}{
		{"", 10, []*directory.AuditEntry{e[3], e[2], e[1], e[0]}},
		{"", 3, []*directory.AuditEntry{e[3], e[2], e[1]}},
		{e[1].ID, 3, []*directory.AuditEntry{e[0]}},
		{e[2].ID, 1, []*directory.AuditEntry{e[1]}},
		{e[0].ID, 3, nil},
	} {
		checkStrings(t, fmt.Sprintf("ListAudit(before %q, limit %d)", c.before, c.limit),
			list(a.ID, u.ID, c.before, c.limit), ids(c.want, auditID))
	}
	if got := list(b.ID, u.ID, "", 10); len(got) != 0 {
		t.Errorf("ListAudit of a user in another tenant: got %d entries, want 0", len(got))
	}
	if got := list(a.ID, v.ID, "", 10); len(got) != 4 {
		t.Errorf("ListAudit of another user: got %d entries, want 4", len(got))
	}
}

func testAuditRoundTrip(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "A")
	u := NewUser(tn.ID, "alice@example.com", "alice")
	at := time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.FixedZone("UTC+9", 9*3600))
	e := &directory.AuditEntry{
		ID:       directory.NewID(directory.PrefixAudit, at),
		TenantID: tn.ID,
		UserID:   u.ID,
		Action:   directory.EventUserUpdated,
		Actor: directory.Actor{
			KeyID:        directory.NewID(directory.PrefixKey, at),
			ActingUserID: directory.NewID(directory.PrefixUser, at),
			RequestID:    "01JREQUEST",
		},
		RequestID: "01JREQUEST",
		At:        at,
		// Values as JSON decodes them with UseNumber.
		Changes: map[string]directory.Change{
			"email":           {From: "alice@example.com", To: "alice@new.example"},
			"email_verified":  {From: true, To: false},
			"roles":           {From: []any{"member"}, To: []any{"admin", "member"}},
			"metadata":        {From: map[string]any{"n": json.Number("98765432109876543210"), "x": nil}, To: map[string]any{}},
			"location":        {From: nil, To: map[string]any{"type": "Point", "coordinates": []any{json.Number("2.35"), json.Number("48.85")}}},
			"secure_metadata": {From: "[redacted]", To: "[redacted]"},
		},
	}
	inTx(t, s, func(tx directory.Tx) error {
		if err := tx.CreateUser(t.Context(), u); err != nil {
			return err
		}
		return tx.InsertAudit(t.Context(), e)
	})

	got, err := s.ListAudit(t.Context(), tn.ID, u.ID, "", 10)
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("ListAudit: got %d entries, want 1", len(got))
	}
	checkEqual(t, "ListAudit", got[0], e)
}

func testListEvents(t *testing.T, s directory.Store) {
	a := createTenant(t, s, "A")
	b := createTenant(t, s, "B")
	u := NewUser(a.ID, "alice@example.com", "alice")
	w := NewUser(b.ID, "alice@example.com", "alice")
	var events []*directory.Event // a's, oldest first
	inTx(t, s, func(tx directory.Tx) error {
		for _, x := range []*directory.User{u, w} {
			if err := tx.CreateUser(t.Context(), x); err != nil {
				return err
			}
		}
		for range 4 {
			e := NewEvent(u, directory.EventUserUpdated)
			if err := tx.InsertEvent(t.Context(), e, nil); err != nil {
				return err
			}
			events = append(events, e)
			if err := tx.InsertEvent(t.Context(), NewEvent(w, directory.EventUserUpdated), nil); err != nil {
				return err
			}
		}
		return nil
	})

	eventID := func(e *directory.Event) string { return e.ID }
	e := events
	for _, c := range []struct {
		after string
		limit int
		want  []*directory.Event
	}{
		{"", 10, []*directory.Event{e[0], e[1], e[2], e[3]}},
		{"", 2, []*directory.Event{e[0], e[1]}},
		{e[1].ID, 1, []*directory.Event{e[2]}},
		{e[1].ID, 10, []*directory.Event{e[2], e[3]}},
		{e[3].ID, 10, nil},
	} {
		got, err := listEvents(t, s, a.ID, c.after, c.limit)
		if err != nil {
			t.Fatalf("ListEvents(%q, %d): %v", c.after, c.limit, err)
		}
		checkStrings(t, fmt.Sprintf("ListEvents(after %q, limit %d)", c.after, c.limit), ids(got, eventID), ids(c.want, eventID))
	}

	got, err := listEvents(t, s, a.ID, "", 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("ListEvents: got %d events, error %v; want 1, nil", len(got), err)
	}
	checkEqual(t, "ListEvents' event", got[0], e[0])

	got, err = listEvents(t, s, b.ID, "", 10)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	if len(got) != 4 {
		t.Errorf("ListEvents of another tenant: got %d events, want 4", len(got))
	}
	for _, ev := range got {
		if ev.TenantID != b.ID {
			t.Errorf("ListEvents(%s): got an event of tenant %s", b.ID, ev.TenantID)
		}
	}
}
