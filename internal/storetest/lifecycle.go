package storetest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

var lifecycleTests = []test{
	{"StatusAndPurgeAfter", testStatusAndPurgeAfter},
	{"Suspensions", testSuspensions},
	{"SuspensionsInTx", testSuspensionsInTx},
	{"LiftSuspensionNotFound", testLiftSuspensionNotFound},
	{"Picture", testPicture},
	{"PictureOtherTenant", testPictureOtherTenant},
	{"UsersHoldingRoles", testUsersHoldingRoles},
	{"DuePurges", testDuePurges},
	{"PurgeUser", testPurgeUser},
	{"PurgeUserDeliveryErrors", testPurgeUserDeliveryErrors},
	{"PurgeUserNotFound", testPurgeUserNotFound},
	{"PurgeUserRollback", testPurgeUserRollback},
}

var usageTests = []test{
	{"AddWrite", testAddWrite},
	{"AddWriteRollback", testAddWriteRollback},
	{"AddWriteCounters", testAddWriteCounters},
	{"InCountedTx", testInCountedTx},
	{"ActiveUsers", testUsageActiveUsers},
	{"ActiveUsersRollback", testActiveUsersRollback},
	{"ActiveUsersNotFound", testActiveUsersNotFound},
	{"LockTenant", testLockTenant},
}

// updateUser stores edit(u) at the next version and returns it.
func updateUser(t *testing.T, s directory.Store, u *directory.User, edit func(u *directory.User)) *directory.User {
	t.Helper()
	up := *u
	edit(&up)
	up.Version = u.Version + 1
	up.UpdatedAt = u.UpdatedAt.Add(time.Millisecond)
	inTx(t, s, func(tx directory.Tx) error { return tx.UpdateUser(t.Context(), &up, u.Version) })
	return &up
}

func testStatusAndPurgeAfter(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	purge := time.Date(2026, 12, 24, 18, 30, 0, 1_000_000, time.FixedZone("UTC+1", 3600))
	u := NewUser(tn.ID, "alice@example.com", "alice")
	u.Status, u.PurgeAfter = directory.StatusDeleting, &purge
	createUser(t, s, u)
	checkEqual(t, "GetUser of a user being deleted", getUser(t, s, tn.ID, u.ID), stored(u))

	// Restored: the status changes and PurgeAfter is cleared.
	restored := updateUser(t, s, u, func(u *directory.User) { u.Status, u.PurgeAfter = directory.StatusActive, nil })
	checkEqual(t, "GetUser after a restore", getUser(t, s, tn.ID, u.ID), stored(restored))

	later := purge.Add(time.Hour)
	deleting := updateUser(t, s, restored, func(u *directory.User) { u.Status, u.PurgeAfter = directory.StatusDeleting, &later })
	checkEqual(t, "GetUser after a second deletion", getUser(t, s, tn.ID, u.ID), stored(deleting))

	got, err := s.ListUsers(t.Context(), tn.ID, directory.UserFilter{Status: directory.StatusDeleting})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("ListUsers(status deleting): got %d users, want 1", len(got))
	}
	checkEqual(t, "ListUsers' user being deleted", got[0], stored(deleting))
}

// newSuspension returns a suspension made at at.
func newSuspension(at time.Time, reason string, ends *time.Time) directory.Suspension {
	return directory.Suspension{ID: directory.NewID(directory.PrefixSuspension, at), Reason: reason, CreatedAt: at, EndsAt: ends}
}

func insertSuspension(t *testing.T, s directory.Store, u *directory.User, sus directory.Suspension) {
	t.Helper()
	inTx(t, s, func(tx directory.Tx) error { return tx.InsertSuspension(t.Context(), u.TenantID, u.ID, &sus) })
}

// liftSuspension lifts a suspension of u in its own transaction and returns
// InTx's error.
func liftSuspension(t *testing.T, s directory.Store, u *directory.User, id string, at time.Time) error {
	t.Helper()
	return s.InTx(t.Context(), func(tx directory.Tx) error { return tx.LiftSuspension(t.Context(), u.TenantID, u.ID, id, at) })
}

func testSuspensions(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	u := fullUser(tn.ID)
	other := NewUser(tn.ID, "bob@example.com", "bob")
	createUser(t, s, u)
	createUser(t, s, other)

	at := now()
	past, future := at.Add(-time.Hour), at.Add(30*24*time.Hour)
	// Made in ID order; inserted out of it.
	expired := newSuspension(at.Add(-2*time.Hour), "spam", &past)
	open := newSuspension(at.Add(-time.Minute), "Line one\nline \"two\" \\ <b>&</b>\u2028 Żółć ✓", nil)
	timed := newSuspension(at, "", &future)
	for _, sus := range []directory.Suspension{timed, expired, open} {
		insertSuspension(t, s, u, sus)
	}
	insertSuspension(t, s, other, newSuspension(at, "other's", nil))

	// Expired ones too: which are in force is the Service's business.
	want := stored(u, expired, open, timed)
	checkEqual(t, "GetUser with suspensions", getUser(t, s, tn.ID, u.ID), want)
	list, err := s.ListUsers(t.Context(), tn.ID, directory.UserFilter{})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	for _, got := range list {
		if got.ID == u.ID {
			checkEqual(t, "ListUsers' user with suspensions", got, want)
		} else if len(got.Suspensions) != 1 || got.Suspensions[0].Reason != "other's" {
			t.Errorf("ListUsers' other user: got suspensions %+v, want its one", got.Suspensions)
		}
	}

	// Lifted ones disappear, whether expired or not.
	if err := liftSuspension(t, s, u, open.ID, at); err != nil {
		t.Fatalf("LiftSuspension: %v", err)
	}
	if err := liftSuspension(t, s, u, expired.ID, at); err != nil {
		t.Fatalf("LiftSuspension of an expired suspension: %v", err)
	}
	checkEqual(t, "GetUser after LiftSuspension", getUser(t, s, tn.ID, u.ID), stored(u, timed))

	// A user update leaves the suspensions alone.
	up := updateUser(t, s, u, func(u *directory.User) { u.Name = "Renamed"; u.Suspensions = nil })
	checkEqual(t, "GetUser after UpdateUser", getUser(t, s, tn.ID, u.ID), stored(up, timed))
}

func testSuspensionsInTx(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	u := NewUser(tn.ID, "alice@example.com", "alice")
	createUser(t, s, u)
	sus := newSuspension(now(), "abuse", nil)
	inTx(t, s, func(tx directory.Tx) error {
		if err := tx.InsertSuspension(t.Context(), tn.ID, u.ID, &sus); err != nil {
			return err
		}
		got, err := tx.GetUser(t.Context(), tn.ID, u.ID)
		if err != nil {
			return err
		}
		checkEqual(t, "Tx.GetUser after InsertSuspension in the same transaction", got, stored(u, sus))
		if err := tx.LiftSuspension(t.Context(), tn.ID, u.ID, sus.ID, now()); err != nil {
			return err
		}
		got, err = tx.GetUser(t.Context(), tn.ID, u.ID)
		if err != nil {
			return err
		}
		checkEqual(t, "Tx.GetUser after LiftSuspension in the same transaction", got, stored(u))
		return nil
	})
}

func testLiftSuspensionNotFound(t *testing.T, s directory.Store) {
	a := createTenant(t, s, "A")
	b := createTenant(t, s, "B")
	u := NewUser(a.ID, "alice@example.com", "alice")
	v := NewUser(a.ID, "bob@example.com", "bob")
	w := NewUser(b.ID, "carol@example.com", "carol")
	for _, x := range []*directory.User{u, v, w} {
		createUser(t, s, x)
	}
	sus := newSuspension(now(), "abuse", nil)
	insertSuspension(t, s, u, sus)

	// Another tenant's, another user's, a missing one.
	wantNotFound(t, "LiftSuspension in another tenant",
		liftSuspension(t, s, &directory.User{TenantID: b.ID, ID: u.ID}, sus.ID, now()))
	wantNotFound(t, "LiftSuspension of another user's suspension", liftSuspension(t, s, v, sus.ID, now()))
	wantNotFound(t, "LiftSuspension of a missing suspension",
		liftSuspension(t, s, u, directory.NewID(directory.PrefixSuspension, now()), now()))
	checkEqual(t, "GetUser after refused lifts", getUser(t, s, a.ID, u.ID), stored(u, sus))

	if err := liftSuspension(t, s, u, sus.ID, now()); err != nil {
		t.Fatalf("LiftSuspension: %v", err)
	}
	wantNotFound(t, "LiftSuspension of a lifted suspension", liftSuspension(t, s, u, sus.ID, now()))

	// A suspension of another tenant's user cannot be reached either.
	theirs := newSuspension(now(), "theirs", nil)
	insertSuspension(t, s, w, theirs)
	wantNotFound(t, "LiftSuspension of another tenant's suspension",
		liftSuspension(t, s, &directory.User{TenantID: a.ID, ID: w.ID}, theirs.ID, now()))
	checkEqual(t, "the other tenant's user", getUser(t, s, b.ID, w.ID), stored(w, theirs))
}

func getPicture(t *testing.T, s directory.Store, tenantID, userID string) *directory.Picture {
	t.Helper()
	p, err := s.GetPicture(t.Context(), tenantID, userID)
	if err != nil {
		t.Fatalf("GetPicture: %v", err)
	}
	return p
}

func putPicture(t *testing.T, s directory.Store, u *directory.User, p *directory.Picture) {
	t.Helper()
	inTx(t, s, func(tx directory.Tx) error { return tx.PutPicture(t.Context(), u.TenantID, u.ID, p) })
}

// pngBytes returns bytes that start like a PNG and hold every byte value,
// so that no encoding of the column can get away with text.
func pngBytes(tag string) []byte {
	b := []byte("\x89PNG\r\n\x1a\n\x00")
	for i := range 256 {
		b = append(b, byte(i))
	}
	return append(b, tag...)
}

func testPicture(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	u := NewUser(tn.ID, "alice@example.com", "alice")
	v := NewUser(tn.ID, "bob@example.com", "bob")
	createUser(t, s, u)
	createUser(t, s, v)

	_, err := s.GetPicture(t.Context(), tn.ID, u.ID)
	wantNotFound(t, "GetPicture before PutPicture", err)

	p := &directory.Picture{ContentType: "image/png", Data: pngBytes("one"), ETag: `"sha256-one"`, UpdatedAt: now()}
	putPicture(t, s, u, p)
	checkEqual(t, "GetPicture", getPicture(t, s, tn.ID, u.ID), p)

	q := &directory.Picture{ContentType: "image/webp", Data: []byte("RIFF\x00\x00\x00\x00WEBPVP8 "), ETag: `"sha256-two"`,
		UpdatedAt: p.UpdatedAt.Add(time.Second)}
	putPicture(t, s, u, q)
	checkEqual(t, "GetPicture after a replacing PutPicture", getPicture(t, s, tn.ID, u.ID), q)
	_, err = s.GetPicture(t.Context(), tn.ID, v.ID)
	wantNotFound(t, "GetPicture of a user without one", err)

	inTx(t, s, func(tx directory.Tx) error { return tx.DeletePicture(t.Context(), tn.ID, u.ID) })
	_, err = s.GetPicture(t.Context(), tn.ID, u.ID)
	wantNotFound(t, "GetPicture after DeletePicture", err)
	err = s.InTx(t.Context(), func(tx directory.Tx) error { return tx.DeletePicture(t.Context(), tn.ID, u.ID) })
	if err != nil {
		t.Errorf("DeletePicture of a user without a picture: got %v, want nil", err)
	}
}

func testPictureOtherTenant(t *testing.T, s directory.Store) {
	a := createTenant(t, s, "A")
	b := createTenant(t, s, "B")
	u := NewUser(a.ID, "alice@example.com", "alice")
	createUser(t, s, u)
	p := &directory.Picture{ContentType: "image/gif", Data: []byte("GIF89a..."), ETag: `"x"`, UpdatedAt: now()}
	putPicture(t, s, u, p)

	_, err := s.GetPicture(t.Context(), b.ID, u.ID)
	wantNotFound(t, "GetPicture in another tenant", err)
	// Deleting through another tenant deletes nothing.
	inTx(t, s, func(tx directory.Tx) error { return tx.DeletePicture(t.Context(), b.ID, u.ID) })
	checkEqual(t, "GetPicture after DeletePicture in another tenant", getPicture(t, s, a.ID, u.ID), p)
}

func testUsersHoldingRoles(t *testing.T, s directory.Store) {
	a := createTenant(t, s, "A")
	b := createTenant(t, s, "B")
	// Names that break LIKE patterns, JSON text searches and quoting.
	odd := []string{`a"b`, `50%_off`, `back\slash`, `it's`, "Ünïcødé ✓", "with space", "[x]", "<&>"}
	mk := func(tenantID, username, status string, roles ...string) {
		u := NewUser(tenantID, "", username)
		u.Roles, u.Status = roles, status
		createUser(t, s, u)
	}
	mk(a.ID, "u1", directory.StatusActive, "member", odd[0], odd[1])
	mk(a.ID, "u2", directory.StatusActive, odd[2], odd[3], odd[4])
	mk(a.ID, "u3", directory.StatusDeactivated, odd[5], "admin") // held whatever the status
	mk(a.ID, "u4", directory.StatusDeleting, odd[6])
	mk(a.ID, "u5", directory.StatusActive)
	mk(a.ID, "u6", directory.StatusActive, []string{}...)
	mk(b.ID, "u1", directory.StatusActive, "viewer", odd[7], "Admin")

	for _, c := range []struct {
		tenant string
		roles  []string
		want   []string
	}{
		{a.ID, []string{"member", "admin", "viewer"}, []string{"member", "admin"}},
		{a.ID, odd, odd[:7]},
		{a.ID, []string{"%", "_", "50%", "a", `"`, "mem", "ember", "ADMIN", "Admin", `a\"b`, `a\\"b`}, nil},
		{a.ID, []string{"viewer", "<&>"}, nil},
		{a.ID, nil, nil},
		{b.ID, []string{"member", "admin", "viewer", "<&>", "Admin"}, []string{"viewer", "<&>", "Admin"}},
	} {
		got, err := s.UsersHoldingRoles(t.Context(), c.tenant, c.roles)
		if err != nil {
			t.Fatalf("UsersHoldingRoles(%q): %v", c.roles, err)
		}
		checkStrings(t, fmt.Sprintf("UsersHoldingRoles(%q), sorted", c.roles), sorted(got), sorted(c.want))
	}
}

// sorted returns a sorted copy of xs; never nil.
func sorted(xs []string) []string {
	return slices.Sorted(slices.Values(append([]string{}, xs...)))
}

func testDuePurges(t *testing.T, s directory.Store) {
	a := createTenant(t, s, "A")
	b := createTenant(t, s, "B")
	at := now()
	mk := func(tenantID, username, status string, purgeAfter *time.Time) directory.UserRef {
		u := NewUser(tenantID, "", username)
		u.Status, u.PurgeAfter = status, purgeAfter
		createUser(t, s, u)
		return directory.UserRef{TenantID: tenantID, ID: u.ID}
	}
	ptr := func(d time.Duration) *time.Time { x := at.Add(d); return &x }
	// Created in an order unlike the purge order.
	onTime := mk(a.ID, "ontime", directory.StatusDeleting, ptr(0)) // due: PurgeAfter is not after now
	oldest := mk(b.ID, "oldest", directory.StatusDeleting, ptr(-2*time.Hour))
	early := mk(a.ID, "early", directory.StatusDeleting, ptr(time.Millisecond))
	older := mk(a.ID, "older", directory.StatusDeleting, ptr(-time.Hour))
	mk(a.ID, "restored", directory.StatusActive, ptr(-3*time.Hour)) // not deleting: never due
	mk(b.ID, "deactivated", directory.StatusDeactivated, ptr(-3*time.Hour))
	mk(b.ID, "active", directory.StatusActive, nil)

	for _, c := range []struct {
		now   time.Time
		limit int
		want  []directory.UserRef
	}{
		{at, 0, []directory.UserRef{oldest, older, onTime}},
		{at, 10, []directory.UserRef{oldest, older, onTime}},
		{at, 2, []directory.UserRef{oldest, older}},
		{at.Add(-time.Millisecond), 10, []directory.UserRef{oldest, older}},
		{at.Add(time.Millisecond), 10, []directory.UserRef{oldest, older, onTime, early}},
		{at.Add(-2*time.Hour - time.Millisecond), 10, nil},
	} {
		got, err := s.DuePurges(t.Context(), c.now, c.limit)
		if err != nil {
			t.Fatalf("DuePurges: %v", err)
		}
		if !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("DuePurges(now%+v, limit %d): got %v, want %v", c.now.Sub(at), c.limit, got, c.want)
		}
	}
}

func testPurgeUser(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	u := fullUser(tn.ID)
	bystander := NewUser(tn.ID, "bob@example.com", "bob")
	ep := newEndpoint(tn.ID, directory.EndpointEvents)
	createEndpoint(t, s, ep)

	var audits []*directory.AuditEntry
	var events []*directory.Event
	inTx(t, s, func(tx directory.Tx) error {
		for _, x := range []*directory.User{u, bystander} {
			if err := tx.CreateUser(t.Context(), x); err != nil {
				return err
			}
		}
		for i, changes := range []map[string]directory.Change{
			{"email": {From: nil, To: u.Email}, "name": {From: nil, To: u.Name}, "secure_metadata": {From: nil, To: "[redacted]"}},
			{"metadata": {From: map[string]any{"n": json.Number("1")}, To: map[string]any{}}, "roles": {From: []any{"member"}, To: []any{"admin"}}},
			{"location": {From: nil, To: map[string]any{"type": "Point"}}, "email_verified": {From: false, To: true}},
			{},
		} {
			a := NewAudit(u, directory.EventUserUpdated)
			a.Actor = directory.Actor{KeyID: "key_" + fmt.Sprint(i), ActingUserID: bystander.ID, RequestID: "req_" + fmt.Sprint(i)}
			a.RequestID, a.Changes = a.Actor.RequestID, changes
			if err := tx.InsertAudit(t.Context(), a); err != nil {
				return err
			}
			audits = append(audits, a)
			e := NewEvent(u, directory.EventUserUpdated)
			e.Payload = fmt.Appendf(nil, `{"type":"user.updated","data":{"email":%q,"i":%d}}`, u.Email, i)
			if err := tx.InsertEvent(t.Context(), e, []*directory.Delivery{newDelivery(e, ep)}); err != nil {
				return err
			}
			events = append(events, e)
		}
		if err := tx.InsertAudit(t.Context(), NewAudit(bystander, directory.EventUserCreated)); err != nil {
			return err
		}
		return tx.InsertEvent(t.Context(), NewEvent(bystander, directory.EventUserCreated), nil)
	})
	sus := newSuspension(now(), "abuse by "+u.Email, nil)
	insertSuspension(t, s, u, sus)
	putPicture(t, s, u, &directory.Picture{ContentType: "image/png", Data: pngBytes("alice"), ETag: `"a"`, UpdatedAt: now()})
	bystanderAudit, err := s.ListAudit(t.Context(), tn.ID, bystander.ID, "", 0)
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	allBefore, err := listEvents(t, s, tn.ID, "", 0)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}

	scrub := func(e *directory.Event) []byte {
		return fmt.Appendf(nil, `{"type":%q,"data":{"id":%q}}`, e.Type, e.UserID)
	}
	var offered []*directory.Event
	inTx(t, s, func(tx directory.Tx) error {
		return tx.PurgeUser(t.Context(), tn.ID, u.ID, func(e *directory.Event) []byte {
			offered = append(offered, e)
			return scrub(e)
		})
	})

	// scrubbed is asked once per event of the user, with the event as stored.
	slices.SortFunc(offered, func(x, y *directory.Event) int { return cmp.Compare(x.ID, y.ID) })
	if len(offered) != len(events) {
		t.Errorf("PurgeUser called scrubbed %d times, want %d, once per event of the user", len(offered), len(events))
	} else {
		for i, e := range offered {
			checkEqual(t, fmt.Sprintf("event %d offered to scrubbed", i), e, events[i])
		}
	}

	_, err = s.GetUser(t.Context(), tn.ID, u.ID)
	wantNotFound(t, "GetUser after PurgeUser", err)
	_, err = s.GetPicture(t.Context(), tn.ID, u.ID)
	wantNotFound(t, "GetPicture after PurgeUser", err)
	wantNotFound(t, "LiftSuspension after PurgeUser", liftSuspension(t, s, u, sus.ID, now()))

	// Audit entries keep their skeleton: every field name, no value.
	got, err := s.ListAudit(t.Context(), tn.ID, u.ID, "", 0)
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	if len(got) != len(audits) {
		t.Fatalf("ListAudit after PurgeUser: got %d entries, want %d", len(got), len(audits))
	}
	for i, a := range audits {
		want := *a
		want.Changes = map[string]directory.Change{}
		for field := range a.Changes {
			want.Changes[field] = directory.Change{From: nil, To: nil}
		}
		checkEqual(t, fmt.Sprintf("audit entry %d after PurgeUser", i), got[len(got)-1-i], &want)
	}
	checkAudit(t, s, bystander, bystanderAudit)

	// Events keep everything but their payload.
	all, err := listEvents(t, s, tn.ID, "", 0)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	if len(all) != len(allBefore) {
		t.Fatalf("ListEvents after PurgeUser: got %d events, want %d", len(all), len(allBefore))
	}
	for i, e := range allBefore {
		want := *e
		if e.UserID == u.ID {
			want.Payload = scrub(e)
		}
		checkEqual(t, fmt.Sprintf("event %d after PurgeUser", i), all[i], &want)
	}

	// Pending deliveries deliver the scrubbed payload.
	claimed := claim(t, s, now(), time.Minute, 0)
	if len(claimed) != 1 {
		t.Fatalf("ClaimDeliveries after PurgeUser: got %d deliveries, want 1 (the user's first event)", len(claimed))
	}
	if p, want := claimed[0].Payload, scrub(events[0]); !bytes.Equal(p, want) {
		t.Errorf("claimed payload after PurgeUser: got %s, want %s", p, want)
	}

	checkEqual(t, "the other user after PurgeUser", getUser(t, s, tn.ID, bystander.ID), stored(bystander))
	// The email and username are free again.
	if err := tryCreateUser(t, s, NewUser(tn.ID, u.Email, u.Username)); err != nil {
		t.Errorf("CreateUser with the purged user's email and username: got %v, want nil", err)
	}
}

// checkAudit fails the test unless u's audit entries are still want.
func checkAudit(t *testing.T, s directory.Store, u *directory.User, want []*directory.AuditEntry) {
	t.Helper()
	got, err := s.ListAudit(t.Context(), u.TenantID, u.ID, "", 0)
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("ListAudit of %s: got %d entries, want %d", u.ID, len(got), len(want))
	}
	for i := range got {
		checkEqual(t, "audit entry of "+u.ID, got[i], want[i])
	}
}

func noScrub(*directory.Event) []byte { return []byte(`{}`) }

// testPurgeUserDeliveryErrors: the error text of the deliveries of a purged
// user's events and of their attempts, where a receiver may have echoed
// personal data, becomes PurgedErrorText; everything else of them stays,
// and so do the deliveries of other users' events.
func testPurgeUserDeliveryErrors(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	u := NewUser(tn.ID, "zelda@example.com", "zelda")
	bystander := NewUser(tn.ID, "bob@example.com", "bob")
	createUser(t, s, u)
	createUser(t, s, bystander)
	ep := newEndpoint(tn.ID, directory.EndpointEvents)
	createEndpoint(t, s, ep)
	at := now()
	_, retried := emit(t, s, u, at, ep)        // fails, then is delivered
	_, failing := emit(t, s, u, at, ep)        // fails twice
	_, delivered := emit(t, s, u, at, ep)      // delivered at once
	_, others := emit(t, s, bystander, at, ep) // another user's, failing
	echo := func(d *directory.Delivery, i int, who string) *directory.Attempt {
		return &directory.Attempt{DeliveryID: d.ID, At: at.Add(time.Duration(i) * time.Millisecond), StatusCode: 0,
			Error: `malformed HTTP response "unknown user ` + who + `"`, DurationMS: int64(i)}
	}
	finish(t, s, retried[0], echo(retried[0], 1, u.Email), at)
	finish(t, s, retried[0], &directory.Attempt{DeliveryID: retried[0].ID, At: at.Add(2 * time.Millisecond), StatusCode: 204, DurationMS: 2}, at)
	finish(t, s, failing[0], echo(failing[0], 3, u.Email), at)
	finish(t, s, failing[0], &directory.Attempt{DeliveryID: failing[0].ID, At: at.Add(4 * time.Millisecond), StatusCode: 500, Error: "HTTP 500", DurationMS: 4}, at)
	finish(t, s, delivered[0], &directory.Attempt{DeliveryID: delivered[0].ID, At: at.Add(5 * time.Millisecond), StatusCode: 200, DurationMS: 5}, at)
	finish(t, s, others[0], echo(others[0], 6, bystander.Email), at)

	mine := []string{retried[0].ID, failing[0].ID, delivered[0].ID}
	all := append(slices.Clone(mine), others[0].ID)
	deliveriesBefore := deliveriesByID(t, s, ep)
	attemptsBefore, err := s.ListAttempts(t.Context(), tn.ID, all)
	if err != nil || len(attemptsBefore) != 6 {
		t.Fatalf("ListAttempts: got %d attempts, error %v; want 6, nil", len(attemptsBefore), err)
	}
	if d := deliveriesBefore[failing[0].ID]; d.LastError != "HTTP 500" {
		t.Fatalf("a failed delivery's LastError: got %q, want the last attempt's", d.LastError)
	}

	inTx(t, s, func(tx directory.Tx) error { return tx.PurgeUser(t.Context(), tn.ID, u.ID, noScrub) })

	deliveriesAfter := deliveriesByID(t, s, ep)
	for id, before := range deliveriesBefore {
		want := *before
		if slices.Contains(mine, id) && want.LastError != "" {
			want.LastError = directory.PurgedErrorText
		}
		checkEqual(t, "delivery "+id+" after PurgeUser", deliveriesAfter[id], &want)
	}
	attemptsAfter, err := s.ListAttempts(t.Context(), tn.ID, all)
	if err != nil || len(attemptsAfter) != len(attemptsBefore) {
		t.Fatalf("ListAttempts after PurgeUser: got %d attempts, error %v; want %d, nil", len(attemptsAfter), err, len(attemptsBefore))
	}
	for i, before := range attemptsBefore {
		want := *before
		if slices.Contains(mine, want.DeliveryID) && want.Error != "" {
			want.Error = directory.PurgedErrorText
		}
		checkEqual(t, fmt.Sprintf("attempt %d after PurgeUser", i), attemptsAfter[i], &want)
	}

	// An attempt under way during the purge, recorded after it, keeps no
	// text either; a success is recorded as ever.
	late := echo(failing[0], 7, u.Email)
	finish(t, s, failing[0], late, at)
	finish(t, s, failing[0], &directory.Attempt{DeliveryID: failing[0].ID, At: at.Add(8 * time.Millisecond), StatusCode: 200, DurationMS: 8}, at)
	got := deliveriesByID(t, s, ep)[failing[0].ID]
	if got.LastError != directory.PurgedErrorText || got.Status != directory.DeliveryDelivered || got.Attempts != 4 {
		t.Errorf("delivery after attempts past the purge: status %s, %d attempts, LastError %q; want delivered, 4, %q",
			got.Status, got.Attempts, got.LastError, directory.PurgedErrorText)
	}
	as, err := s.ListAttempts(t.Context(), tn.ID, []string{failing[0].ID})
	if err != nil || len(as) != 4 {
		t.Fatalf("ListAttempts: got %d attempts, error %v; want 4, nil", len(as), err)
	}
	if as[2].Error != directory.PurgedErrorText || as[2].StatusCode != late.StatusCode || as[3].Error != "" {
		t.Errorf("attempts recorded after the purge: %+v, %+v; want the failure's text %q, the success's none", as[2], as[3], directory.PurgedErrorText)
	}
	// Another user's failures keep their text.
	finish(t, s, others[0], echo(others[0], 9, bystander.Email), at)
	if got := deliveriesByID(t, s, ep)[others[0].ID]; got.LastError != echo(others[0], 9, bystander.Email).Error {
		t.Errorf("another user's delivery: LastError %q, want the attempt's", got.LastError)
	}
}

// deliveriesByID returns the endpoint's deliveries by ID.
func deliveriesByID(t *testing.T, s directory.Store, ep *directory.Endpoint) map[string]*directory.Delivery {
	t.Helper()
	ds, err := s.ListDeliveries(t.Context(), ep.TenantID, ep.ID, "", 0)
	if err != nil {
		t.Fatalf("ListDeliveries: %v", err)
	}
	out := map[string]*directory.Delivery{}
	for _, d := range ds {
		out[d.ID] = d
	}
	return out
}

func testPurgeUserNotFound(t *testing.T, s directory.Store) {
	a := createTenant(t, s, "A")
	b := createTenant(t, s, "B")
	u := NewUser(a.ID, "alice@example.com", "alice")
	createUser(t, s, u)
	purge := func(tenantID, userID string) error {
		return s.InTx(t.Context(), func(tx directory.Tx) error { return tx.PurgeUser(t.Context(), tenantID, userID, noScrub) })
	}
	wantNotFound(t, "PurgeUser of a missing user", purge(a.ID, directory.NewID(directory.PrefixUser, now())))
	wantNotFound(t, "PurgeUser in another tenant", purge(b.ID, u.ID))
	checkEqual(t, "GetUser after refused purges", getUser(t, s, a.ID, u.ID), stored(u))
	if err := purge(a.ID, u.ID); err != nil {
		t.Fatalf("PurgeUser: %v", err)
	}
	wantNotFound(t, "PurgeUser of a purged user", purge(a.ID, u.ID))
}

func testPurgeUserRollback(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	u := NewUser(tn.ID, "alice@example.com", "alice")
	a := NewAudit(u, directory.EventUserCreated)
	e := NewEvent(u, directory.EventUserCreated)
	inTx(t, s, func(tx directory.Tx) error {
		if err := tx.CreateUser(t.Context(), u); err != nil {
			return err
		}
		if err := tx.InsertAudit(t.Context(), a); err != nil {
			return err
		}
		return tx.InsertEvent(t.Context(), e, nil)
	})
	errAbort := errors.New("abort")
	err := s.InTx(t.Context(), func(tx directory.Tx) error {
		if err := tx.PurgeUser(t.Context(), tn.ID, u.ID, noScrub); err != nil {
			t.Errorf("PurgeUser: %v", err)
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("InTx: got %v, want fn's error", err)
	}
	checkEqual(t, "GetUser after a rolled back PurgeUser", getUser(t, s, tn.ID, u.ID), stored(u))
	checkAudit(t, s, u, []*directory.AuditEntry{a})
	es, err := listEvents(t, s, tn.ID, "", 0)
	if err != nil || len(es) != 1 {
		t.Fatalf("ListEvents: got %d events, error %v; want 1, nil", len(es), err)
	}
	checkEqual(t, "event after a rolled back PurgeUser", es[0], e)
}

// addWrite counts a write in its own transaction and returns the count.
func addWrite(t *testing.T, s directory.Store, tenantID string, period time.Time) int64 {
	t.Helper()
	var c directory.Counters
	inTx(t, s, func(tx directory.Tx) error {
		var err error
		c, err = tx.AddWrite(t.Context(), tenantID, period)
		return err
	})
	return c.Writes
}

func usage(t *testing.T, s directory.Store, tenantID string, period time.Time) *directory.Usage {
	t.Helper()
	u, err := s.Usage(t.Context(), tenantID, period)
	if err != nil {
		t.Fatalf("Usage: %v", err)
	}
	return u
}

func testAddWrite(t *testing.T, s directory.Store) {
	a := createTenant(t, s, "A")
	b := createTenant(t, s, "B")
	nov := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	dec := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		tenant string
		period time.Time
		want   int64
	}{
		{a.ID, nov, 1}, {a.ID, nov, 2}, {b.ID, nov, 1}, {a.ID, nov, 3},
		{a.ID, dec, 1}, {b.ID, dec, 1}, {a.ID, dec, 2},
		// The same instant in another zone is the same period.
		{a.ID, dec.In(time.FixedZone("UTC-5", -5*3600)), 3},
	} {
		if got := addWrite(t, s, c.tenant, c.period); got != c.want {
			t.Errorf("AddWrite(%s, %s): got %d, want %d", c.tenant, c.period, got, c.want)
		}
	}
	// Several writes in one transaction each count.
	inTx(t, s, func(tx directory.Tx) error {
		for want := int64(2); want <= 3; want++ {
			c, err := tx.AddWrite(t.Context(), b.ID, nov)
			if err != nil {
				return err
			}
			if c.Writes != want {
				t.Errorf("AddWrite in one transaction: got %d, want %d", c.Writes, want)
			}
		}
		return nil
	})

	for _, c := range []struct {
		tenant string
		period time.Time
		want   int64
	}{
		{a.ID, nov, 3}, {a.ID, dec, 3}, {b.ID, nov, 3}, {b.ID, dec, 1},
		{a.ID, dec.AddDate(0, 1, 0), 0}, // no write yet
		{a.ID, nov.Add(time.Millisecond), 0},
	} {
		got := usage(t, s, c.tenant, c.period)
		want := &directory.Usage{PeriodStart: c.period, Writes: c.want}
		checkEqual(t, fmt.Sprintf("Usage(%s, %s)", c.tenant, c.period), got, want)
	}
}

// testAddWriteCounters checks the figures AddWrite reads beside the count:
// the active-user counter with this transaction's own moves, and the config
// version as UpdateTenant and BumpConfigVersion move it.
func testAddWriteCounters(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	period := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if tn.ConfigVersion != 1 {
		t.Errorf("ConfigVersion of a new tenant: got %d, want 1", tn.ConfigVersion)
	}
	inTx(t, s, func(tx directory.Tx) error {
		if err := tx.AddActiveUsers(t.Context(), tn.ID, 3); err != nil {
			return err
		}
		c, err := tx.AddWrite(t.Context(), tn.ID, period)
		if err != nil {
			return err
		}
		checkEqual(t, "AddWrite's counters", c, directory.Counters{Writes: 1, ActiveUsers: 3, ConfigVersion: 1})
		return nil
	})
	up := *tn
	up.Name = "Acme 2"
	inTx(t, s, func(tx directory.Tx) error { return tx.UpdateTenant(t.Context(), &up) })
	if up.ConfigVersion != 2 {
		t.Errorf("ConfigVersion set by UpdateTenant: got %d, want 2", up.ConfigVersion)
	}
	inTx(t, s, func(tx directory.Tx) error { return tx.BumpConfigVersion(t.Context(), tn.ID) })
	got, err := s.GetTenant(t.Context(), tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ConfigVersion != 3 {
		t.Errorf("ConfigVersion after UpdateTenant and BumpConfigVersion: got %d, want 3", got.ConfigVersion)
	}
	inTx(t, s, func(tx directory.Tx) error {
		c, err := tx.AddWrite(t.Context(), tn.ID, period)
		if err != nil {
			return err
		}
		checkEqual(t, "AddWrite's counters after the changes", c, directory.Counters{Writes: 2, ActiveUsers: 3, ConfigVersion: 3})
		return nil
	})
	missing := directory.NewID(directory.PrefixTenant, time.Now())
	err = s.InTx(t.Context(), func(tx directory.Tx) error { return tx.BumpConfigVersion(t.Context(), missing) })
	if !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("BumpConfigVersion of a missing tenant: got %v, want ErrNotFound", err)
	}
}

// testInCountedTx checks that writes counted with their COMMIT count as
// AddWrite's do and return AddWrite's counters, that a write decided on
// another config version, past the quota or of a missing tenant commits
// nothing of its transaction, and that a function that counts no write, or
// fails, counts nothing.
func testInCountedTx(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	u := NewUser(tn.ID, "alice@example.com", "alice")
	createUser(t, s, u)
	period := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	// count runs a transaction that renames the user and returns the write
	// to count: of tenantID under lim, or none if lim is nil.
	count := func(tenantID string, lim *directory.WriteLimits, name string) (directory.Counters, error) {
		c, err := s.InCountedTx(t.Context(), func(tx directory.Tx) (*directory.WriteCount, error) {
			next := *u
			next.Name, next.Version = name, u.Version+1
			if err := tx.UpdateUser(t.Context(), &next, u.Version); err != nil {
				return nil, err
			}
			if err := tx.AddActiveUsers(t.Context(), tn.ID, 2); err != nil {
				return nil, err
			}
			if lim == nil {
				return nil, nil
			}
			return &directory.WriteCount{TenantID: tenantID, PeriodStart: period, Limits: *lim}, nil
		})
		if err == nil {
			u.Name, u.Version = name, u.Version+1
		}
		return c, err
	}
	lim := directory.WriteLimits{ConfigVersion: tn.ConfigVersion, MaxWrites: 2}
	for i := int64(1); i <= 2; i++ {
		c, err := count(tn.ID, &lim, fmt.Sprintf("Alice %d", i))
		if err != nil {
			t.Fatalf("count %d: %v", i, err)
		}
		checkEqual(t, fmt.Sprintf("counters of write %d", i), c, directory.Counters{Writes: i, ActiveUsers: 2 * i, ConfigVersion: tn.ConfigVersion})
	}
	for _, c := range []struct {
		name   string
		tenant string
		lim    directory.WriteLimits
		want   error
	}{
		{"another config version", tn.ID, directory.WriteLimits{ConfigVersion: tn.ConfigVersion + 1, MaxWrites: 10}, directory.ErrConfigChanged},
		{"past the quota", tn.ID, lim, directory.ErrWriteQuota},
		{"missing tenant", directory.NewID(directory.PrefixTenant, now()), lim, directory.ErrNotFound},
	} {
		got, err := count(c.tenant, &c.lim, "Mallory")
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
		checkEqual(t, c.name+": counters", got, directory.Counters{})
	}
	got, err := s.GetUser(t.Context(), tn.ID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Alice 2" {
		t.Errorf("user after the refused writes: name %q, want %q", got.Name, "Alice 2")
	}
	checkEqual(t, "usage after the refused writes", usage(t, s, tn.ID, period), &directory.Usage{PeriodStart: period, Writes: 2, ActiveUsers: 4})

	// No write to count: fn's writes commit, and nothing is counted.
	c, err := count(tn.ID, nil, "Alice 3")
	if err != nil {
		t.Fatalf("InCountedTx counting no write: %v", err)
	}
	checkEqual(t, "counters of no write", c, directory.Counters{})
	if got := getUser(t, s, tn.ID, u.ID); got.Name != "Alice 3" {
		t.Errorf("user after a transaction counting no write: name %q, want %q", got.Name, "Alice 3")
	}
	checkEqual(t, "usage after a transaction counting no write", usage(t, s, tn.ID, period), &directory.Usage{PeriodStart: period, Writes: 2, ActiveUsers: 6})

	// fn's error is InCountedTx's, and nothing of it commits.
	errAbort := errors.New("abort")
	c, err = s.InCountedTx(t.Context(), func(tx directory.Tx) (*directory.WriteCount, error) {
		if err := tx.AddActiveUsers(t.Context(), tn.ID, 1); err != nil {
			return nil, err
		}
		return &directory.WriteCount{TenantID: tn.ID, PeriodStart: period, Limits: directory.WriteLimits{ConfigVersion: tn.ConfigVersion, MaxWrites: 10}}, errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Errorf("InCountedTx of a failing function: got %v, want its error", err)
	}
	checkEqual(t, "counters of a failing function", c, directory.Counters{})
	checkEqual(t, "usage after a failing function", usage(t, s, tn.ID, period), &directory.Usage{PeriodStart: period, Writes: 2, ActiveUsers: 6})
}

func testAddWriteRollback(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	period := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	addWrite(t, s, tn.ID, period)
	errAbort := errors.New("abort")
	err := s.InTx(t.Context(), func(tx directory.Tx) error {
		if _, err := tx.AddWrite(t.Context(), tn.ID, period); err != nil {
			t.Errorf("AddWrite: %v", err)
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("InTx: got %v, want fn's error", err)
	}
	if got := usage(t, s, tn.ID, period).Writes; got != 1 {
		t.Errorf("Usage.Writes after a rolled back AddWrite: got %d, want 1", got)
	}
	if got := addWrite(t, s, tn.ID, period); got != 2 {
		t.Errorf("AddWrite after a rolled back AddWrite: got %d, want 2", got)
	}
}

// activeUsers returns the tenant's active-user counter as Usage reports it,
// and fails the test unless Tx.CountActiveUsers reports the same.
func activeUsers(t *testing.T, s directory.Store, tenantID string) int64 {
	t.Helper()
	n := usage(t, s, tenantID, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)).ActiveUsers
	var m int64
	inTx(t, s, func(tx directory.Tx) error {
		var err error
		m, err = tx.CountActiveUsers(t.Context(), tenantID)
		return err
	})
	if n != m {
		t.Errorf("Usage.ActiveUsers %d, but Tx.CountActiveUsers %d", n, m)
	}
	return n
}

// addActiveUsers adds delta to the tenant's counter in a transaction of its
// own.
func addActiveUsers(t *testing.T, s directory.Store, tenantID string, delta int64) {
	t.Helper()
	inTx(t, s, func(tx directory.Tx) error { return tx.AddActiveUsers(t.Context(), tenantID, delta) })
}

func testUsageActiveUsers(t *testing.T, s directory.Store) {
	a := createTenant(t, s, "A")
	b := createTenant(t, s, "B")
	if got := activeUsers(t, s, a.ID); got != 0 {
		t.Errorf("active users of a new tenant: got %d, want 0", got)
	}

	for _, c := range []struct {
		delta, want int64
	}{
		{+1, 1}, {+1, 2}, {+3, 5}, {-1, 4}, {-4, 0}, {+2, 2},
	} {
		addActiveUsers(t, s, a.ID, c.delta)
		if got := activeUsers(t, s, a.ID); got != c.want {
			t.Errorf("active users after AddActiveUsers(%+d): got %d, want %d", c.delta, got, c.want)
		}
	}
	if got := activeUsers(t, s, b.ID); got != 0 {
		t.Errorf("active users of the other tenant: got %d, want 0", got)
	}
	addActiveUsers(t, s, b.ID, 7)
	if got, got2 := activeUsers(t, s, a.ID), activeUsers(t, s, b.ID); got != 2 || got2 != 7 {
		t.Errorf("active users after AddActiveUsers(B, +7): got A %d, B %d, want 2 and 7", got, got2)
	}

	// The store only stores: users, whatever their status, do not move the
	// counter; the Service does, with AddActiveUsers.
	for i, status := range []string{directory.StatusActive, directory.StatusDeactivated, directory.StatusDeleting} {
		u := NewUser(a.ID, "", fmt.Sprintf("user%d", i))
		u.Status = status
		createUser(t, s, u)
		if status == directory.StatusActive {
			updateUser(t, s, u, func(u *directory.User) { u.Status = directory.StatusDeactivated })
		}
	}
	if got := activeUsers(t, s, a.ID); got != 2 {
		t.Errorf("active users after writing users: got %d, want 2: the store must not count them", got)
	}

	// A transaction reads its own additions.
	inTx(t, s, func(tx directory.Tx) error {
		if err := tx.AddActiveUsers(t.Context(), b.ID, -2); err != nil {
			return err
		}
		n, err := tx.CountActiveUsers(t.Context(), b.ID)
		if err != nil {
			return err
		}
		if n != 5 {
			t.Errorf("Tx.CountActiveUsers after AddActiveUsers(-2) in the same transaction: got %d, want 5", n)
		}
		return nil
	})

	// A tenant created in the transaction can be counted in it, as a new
	// tenant's owner is.
	fresh := newTenant("Fresh")
	inTx(t, s, func(tx directory.Tx) error {
		if err := tx.CreateTenant(t.Context(), fresh); err != nil {
			return err
		}
		return tx.AddActiveUsers(t.Context(), fresh.ID, 1)
	})
	if got := activeUsers(t, s, fresh.ID); got != 1 {
		t.Errorf("active users of a tenant counted in the transaction that created it: got %d, want 1", got)
	}
}

func testActiveUsersRollback(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	addActiveUsers(t, s, tn.ID, 3)
	errAbort := errors.New("abort")
	for _, delta := range []int64{+1, -1} {
		err := s.InTx(t.Context(), func(tx directory.Tx) error {
			if err := tx.AddActiveUsers(t.Context(), tn.ID, delta); err != nil {
				t.Errorf("AddActiveUsers: %v", err)
			}
			return errAbort
		})
		if !errors.Is(err, errAbort) {
			t.Fatalf("InTx: got %v, want fn's error", err)
		}
		if got := activeUsers(t, s, tn.ID); got != 3 {
			t.Errorf("active users after a rolled back AddActiveUsers(%+d): got %d, want 3", delta, got)
		}
	}
}

func testActiveUsersNotFound(t *testing.T, s directory.Store) {
	createTenant(t, s, "Acme")
	missing := directory.NewID(directory.PrefixTenant, now())
	err := s.InTx(t.Context(), func(tx directory.Tx) error { return tx.AddActiveUsers(t.Context(), missing, 1) })
	wantNotFound(t, "AddActiveUsers of a missing tenant", err)
	err = s.InTx(t.Context(), func(tx directory.Tx) error {
		_, err := tx.CountActiveUsers(t.Context(), missing)
		return err
	})
	wantNotFound(t, "CountActiveUsers of a missing tenant", err)
	if got := usage(t, s, missing, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)).ActiveUsers; got != 0 {
		t.Errorf("Usage.ActiveUsers of a missing tenant: got %d, want 0", got)
	}
}

func testLockTenant(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	err := s.InTx(t.Context(), func(tx directory.Tx) error { return tx.LockTenant(t.Context(), tn.ID) })
	if err != nil {
		t.Errorf("LockTenant: got %v, want nil", err)
	}
	err = s.InTx(t.Context(), func(tx directory.Tx) error {
		return tx.LockTenant(t.Context(), directory.NewID(directory.PrefixTenant, now()))
	})
	wantNotFound(t, "LockTenant of a missing tenant", err)

	// A tenant created in the transaction can be locked in it.
	fresh := newTenant("Fresh")
	err = s.InTx(t.Context(), func(tx directory.Tx) error {
		if err := tx.CreateTenant(t.Context(), fresh); err != nil {
			return err
		}
		return tx.LockTenant(t.Context(), fresh.ID)
	})
	if err != nil {
		t.Errorf("LockTenant of a tenant created in the same transaction: got %v, want nil", err)
	}
}
