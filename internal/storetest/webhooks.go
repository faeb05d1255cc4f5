package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

var webhookTests = []test{
	{"EndpointRoundTrip", testEndpointRoundTrip},
	{"EndpointOtherTenant", testEndpointOtherTenant},
	{"ListEndpoints", testListEndpoints},
	{"DeleteEndpoint", testDeleteEndpoint},
	{"EndpointSecrets", testEndpointSecrets},
	{"CountEndpoints", testCountEndpoints},
	{"InsertEventDeliveries", testInsertEventDeliveries},
	{"ListDeliveries", testListDeliveries},
	{"ClaimDue", testClaimDue},
	{"ClaimLimit", testClaimLimit},
	{"ClaimOrderPerUser", testClaimOrderPerUser},
	{"ClaimLease", testClaimLease},
	{"FinishSuccess", testFinishSuccess},
	{"FinishFailure", testFinishFailure},
	{"FinishNotFound", testFinishNotFound},
	{"ListAttempts", testListAttempts},
}

// newEndpoint returns an endpoint of the tenant.
func newEndpoint(tenantID, kind string) *directory.Endpoint {
	at := now()
	return &directory.Endpoint{
		ID:        directory.NewID(directory.PrefixEndpoint, at),
		TenantID:  tenantID,
		URL:       "https://hooks.example.com/roster",
		Kind:      kind,
		Events:    []directory.EventType{directory.EventUserCreated, directory.EventUserUpdated},
		TimeoutMS: 2000,
		Secret:    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		CreatedAt: at,
	}
}

// createEndpoint stores e and fails the test if that fails.
func createEndpoint(t *testing.T, s directory.Store, e *directory.Endpoint) {
	t.Helper()
	inTx(t, s, func(tx directory.Tx) error { return tx.CreateEndpoint(t.Context(), e) })
}

// newDelivery returns a pending delivery of e to ep, due when e was made.
func newDelivery(e *directory.Event, ep *directory.Endpoint) *directory.Delivery {
	return &directory.Delivery{
		ID:            directory.NewID(directory.PrefixDelivery, e.CreatedAt),
		TenantID:      e.TenantID,
		EndpointID:    ep.ID,
		EventID:       e.ID,
		UserID:        e.UserID,
		Status:        directory.DeliveryPending,
		NextAttemptAt: e.CreatedAt,
		CreatedAt:     e.CreatedAt,
	}
}

// emit writes an event of u with one delivery to each endpoint, due at due,
// and returns the event and its deliveries.
func emit(t *testing.T, s directory.Store, u *directory.User, due time.Time, eps ...*directory.Endpoint) (*directory.Event, []*directory.Delivery) {
	t.Helper()
	e := NewEvent(u, directory.EventUserUpdated)
	var ds []*directory.Delivery
	for _, ep := range eps {
		d := newDelivery(e, ep)
		d.NextAttemptAt = due
		ds = append(ds, d)
	}
	inTx(t, s, func(tx directory.Tx) error { return tx.InsertEvent(t.Context(), e, ds) })
	return e, ds
}

// userAt returns a stored user of the tenant; users stand in for the
// subjects of events, so nothing else about them matters.
func userAt(t *testing.T, s directory.Store, tenantID, username string) *directory.User {
	t.Helper()
	u := NewUser(tenantID, "", username)
	createUser(t, s, u)
	return u
}

// claim claims deliveries and fails the test if that fails.
func claim(t *testing.T, s directory.Store, at time.Time, lease time.Duration, limit int) []*directory.ClaimedDelivery {
	t.Helper()
	cs, err := s.ClaimDeliveries(t.Context(), at, lease, limit)
	if err != nil {
		t.Fatalf("ClaimDeliveries: %v", err)
	}
	return cs
}

// checkClaimed fails the test unless the claimed deliveries are want, in
// any order.
func checkClaimed(t *testing.T, what string, got []*directory.ClaimedDelivery, want ...*directory.Delivery) {
	t.Helper()
	checkStrings(t, what+": delivery IDs, sorted", sorted(ids(got, claimedID)), sorted(ids(want, deliveryID)))
}

func claimedID(c *directory.ClaimedDelivery) string { return c.Delivery.ID }
func deliveryID(d *directory.Delivery) string       { return d.ID }

// finish records an attempt and fails the test if that fails.
func finish(t *testing.T, s directory.Store, d *directory.Delivery, a *directory.Attempt, next time.Time) {
	t.Helper()
	if err := s.FinishAttempt(t.Context(), d, a, next); err != nil {
		t.Fatalf("FinishAttempt: %v", err)
	}
}

// getDelivery returns the stored delivery d.
func getDelivery(t *testing.T, s directory.Store, d *directory.Delivery) *directory.Delivery {
	t.Helper()
	ds, err := s.ListDeliveries(t.Context(), d.TenantID, d.EndpointID, "", 0)
	if err != nil {
		t.Fatalf("ListDeliveries: %v", err)
	}
	for _, x := range ds {
		if x.ID == d.ID {
			return x
		}
	}
	t.Fatalf("ListDeliveries: no delivery %s", d.ID)
	return nil
}

func listAttempts(t *testing.T, s directory.Store, tenantID string, deliveryIDs ...string) []*directory.Attempt {
	t.Helper()
	as, err := s.ListAttempts(t.Context(), tenantID, deliveryIDs)
	if err != nil {
		t.Fatalf("ListAttempts: %v", err)
	}
	return as
}

func testEndpointRoundTrip(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	full := newEndpoint(tn.ID, directory.EndpointEvents)
	full.URL = "https://hooks.example.com/a/b?x=1&y=%20z#frag"
	full.Events = []directory.EventType{directory.EventUserDeleted, directory.EventUserSuspended, directory.EventUserUpdated}
	full.FailOpen, full.TimeoutMS = true, 250
	full.CreatedAt = time.Date(2026, 5, 6, 7, 8, 9, 10_000_000, time.FixedZone("UTC-3", -3*3600))
	validation := newEndpoint(tn.ID, directory.EndpointValidation)
	validation.Events = nil // nil and empty both come back as they went in
	all := newEndpoint(tn.ID, directory.EndpointEvents)
	all.Events = []directory.EventType{}
	for _, e := range []*directory.Endpoint{full, validation, all} {
		createEndpoint(t, s, e)
	}
	for _, e := range []*directory.Endpoint{full, validation, all} {
		got, err := s.GetEndpoint(t.Context(), tn.ID, e.ID)
		if err != nil {
			t.Fatalf("GetEndpoint: %v", err)
		}
		checkEqual(t, "GetEndpoint", got, e)
	}
}

// testEndpointSecrets: a rotation's secrets round-trip, through the
// transaction's locked read, the claim of a delivery and AllEndpoints, and
// only the tenant's own endpoint is changed.
func testEndpointSecrets(t *testing.T, s directory.Store) {
	a, b := createTenant(t, s, "A"), createTenant(t, s, "B")
	ep, other := newEndpoint(a.ID, directory.EndpointEvents), newEndpoint(b.ID, directory.EndpointEvents)
	createEndpoint(t, s, ep)
	createEndpoint(t, s, other)

	until := now().Add(time.Hour)
	inTx(t, s, func(tx directory.Tx) error {
		got, err := tx.GetEndpoint(t.Context(), a.ID, ep.ID)
		if err != nil {
			return err
		}
		checkEqual(t, "Tx.GetEndpoint", got, ep)
		got.Secret, got.PreviousSecret, got.PreviousUntil = "whsec_next", ep.Secret, &until
		return tx.SetEndpointSecrets(t.Context(), got)
	})
	want := *ep
	want.Secret, want.PreviousSecret, want.PreviousUntil = "whsec_next", ep.Secret, &until
	got, err := s.GetEndpoint(t.Context(), a.ID, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "GetEndpoint after SetEndpointSecrets", got, &want)

	u := userAt(t, s, a.ID, "claimed")
	emit(t, s, u, now(), ep)
	cs, err := s.ClaimDeliveries(t.Context(), now().Add(time.Second), time.Minute, 10)
	if err != nil || len(cs) != 1 {
		t.Fatalf("ClaimDeliveries = %d, %v", len(cs), err)
	}
	checkEqual(t, "claimed endpoint", cs[0].Endpoint, &want)

	all, err := s.AllEndpoints(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("AllEndpoints: %d, want 2", len(all))
	}
	for _, e := range all {
		if e.ID == other.ID {
			checkEqual(t, "the other tenant's endpoint", e, other)
		}
	}

	// Another tenant's endpoint is not found, in a transaction either.
	err = s.InTx(t.Context(), func(tx directory.Tx) error {
		_, err := tx.GetEndpoint(t.Context(), b.ID, ep.ID)
		return err
	})
	wantNotFound(t, "Tx.GetEndpoint in another tenant", err)
	gone := want
	gone.TenantID = b.ID
	err = s.InTx(t.Context(), func(tx directory.Tx) error { return tx.SetEndpointSecrets(t.Context(), &gone) })
	wantNotFound(t, "SetEndpointSecrets in another tenant", err)
}

func testEndpointOtherTenant(t *testing.T, s directory.Store) {
	a := createTenant(t, s, "A")
	b := createTenant(t, s, "B")
	e := newEndpoint(a.ID, directory.EndpointEvents)
	createEndpoint(t, s, e)

	_, err := s.GetEndpoint(t.Context(), b.ID, e.ID)
	wantNotFound(t, "GetEndpoint in another tenant", err)
	_, err = s.GetEndpoint(t.Context(), a.ID, directory.NewID(directory.PrefixEndpoint, now()))
	wantNotFound(t, "GetEndpoint of a missing endpoint", err)
	got, err := s.ListEndpoints(t.Context(), b.ID)
	if err != nil {
		t.Fatalf("ListEndpoints: %v", err)
	}
	if len(got) != 0 {
		t.Errorf("ListEndpoints of another tenant: got %d endpoints, want 0", len(got))
	}
}

func endpointID(e *directory.Endpoint) string { return e.ID }

func testListEndpoints(t *testing.T, s directory.Store) {
	a := createTenant(t, s, "A")
	b := createTenant(t, s, "B")
	var mine []*directory.Endpoint // oldest first
	for i := range 4 {
		e := newEndpoint(a.ID, directory.EndpointEvents)
		e.URL = fmt.Sprintf("https://hooks.example.com/%d", i)
		createEndpoint(t, s, e)
		mine = append(mine, e)
		createEndpoint(t, s, newEndpoint(b.ID, directory.EndpointValidation))
	}
	got, err := s.ListEndpoints(t.Context(), a.ID)
	if err != nil {
		t.Fatalf("ListEndpoints: %v", err)
	}
	checkStrings(t, "ListEndpoints", ids(got, endpointID), ids(mine, endpointID))
	if len(got) == len(mine) {
		for i := range got {
			checkEqual(t, "ListEndpoints' endpoint", got[i], mine[i])
		}
	}
}

// testCountEndpoints: the count is per tenant and kind, and includes the
// transaction's own endpoints and none deleted.
func testCountEndpoints(t *testing.T, s directory.Store) {
	a := createTenant(t, s, "A")
	b := createTenant(t, s, "B")
	for range 3 {
		createEndpoint(t, s, newEndpoint(a.ID, directory.EndpointEvents))
		createEndpoint(t, s, newEndpoint(b.ID, directory.EndpointValidation))
	}
	gone := newEndpoint(a.ID, directory.EndpointValidation)
	createEndpoint(t, s, gone)
	inTx(t, s, func(tx directory.Tx) error { return tx.DeleteEndpoint(t.Context(), a.ID, gone.ID) })
	count := func(tx directory.Tx, kind string) int {
		t.Helper()
		n, err := tx.CountEndpoints(t.Context(), a.ID, kind)
		if err != nil {
			t.Fatalf("CountEndpoints(%s): %v", kind, err)
		}
		return n
	}
	inTx(t, s, func(tx directory.Tx) error {
		if got, want := count(tx, directory.EndpointEvents), 3; got != want {
			t.Errorf("events endpoints: got %d, want %d", got, want)
		}
		if got, want := count(tx, directory.EndpointValidation), 0; got != want {
			t.Errorf("validation endpoints: got %d, want %d", got, want)
		}
		if err := tx.CreateEndpoint(t.Context(), newEndpoint(a.ID, directory.EndpointValidation)); err != nil {
			return err
		}
		if got, want := count(tx, directory.EndpointValidation), 1; got != want {
			t.Errorf("validation endpoints after this transaction's create: got %d, want %d", got, want)
		}
		return nil
	})
}

func testDeleteEndpoint(t *testing.T, s directory.Store) {
	a := createTenant(t, s, "A")
	b := createTenant(t, s, "B")
	x := newEndpoint(a.ID, directory.EndpointEvents)
	y := newEndpoint(a.ID, directory.EndpointEvents)
	createEndpoint(t, s, x)
	createEndpoint(t, s, y)
	u, v := userAt(t, s, a.ID, "alice"), userAt(t, s, a.ID, "bob")
	at := now()
	e1, d1 := emit(t, s, u, at, x, y)
	_, d2 := emit(t, s, v, at, x)

	// One of x's deliveries is delivered, with an attempt; one failed.
	claimed := claim(t, s, at, time.Minute, 0)
	checkClaimed(t, "ClaimDeliveries", claimed, d1[0], d1[1], d2[0])
	finish(t, s, d1[0], &directory.Attempt{DeliveryID: d1[0].ID, At: at, StatusCode: 200}, time.Time{})
	finish(t, s, d2[0], &directory.Attempt{DeliveryID: d2[0].ID, At: at, StatusCode: 500, Error: "status 500"}, at)

	del := func(tenantID, id string) error {
		return s.InTx(t.Context(), func(tx directory.Tx) error { return tx.DeleteEndpoint(t.Context(), tenantID, id) })
	}
	wantNotFound(t, "DeleteEndpoint in another tenant", del(b.ID, x.ID))
	wantNotFound(t, "DeleteEndpoint of a missing endpoint", del(a.ID, directory.NewID(directory.PrefixEndpoint, now())))
	if _, err := s.GetEndpoint(t.Context(), a.ID, x.ID); err != nil {
		t.Fatalf("GetEndpoint after refused deletes: %v", err)
	}

	if err := del(a.ID, x.ID); err != nil {
		t.Fatalf("DeleteEndpoint: %v", err)
	}
	_, err := s.GetEndpoint(t.Context(), a.ID, x.ID)
	wantNotFound(t, "GetEndpoint after DeleteEndpoint", err)
	ds, err := s.ListDeliveries(t.Context(), a.ID, x.ID, "", 0)
	if err != nil {
		t.Fatalf("ListDeliveries: %v", err)
	}
	if len(ds) != 0 {
		t.Errorf("ListDeliveries of a deleted endpoint: got %d deliveries, want none", len(ds))
	}
	if as := listAttempts(t, s, a.ID, d1[0].ID, d2[0].ID); len(as) != 0 {
		t.Errorf("ListAttempts of a deleted endpoint's deliveries: got %d, want none", len(as))
	}
	// d2 was due again, but its endpoint is gone; y's delivery, its lease
	// over, is claimed again.
	if got := claim(t, s, at.Add(time.Hour), time.Minute, 0); len(got) != 1 || got[0].Delivery.ID != d1[1].ID {
		t.Errorf("ClaimDeliveries after DeleteEndpoint: got %v, want only the other endpoint's delivery %s",
			ids(got, claimedID), d1[1].ID)
	}
	wantNotFound(t, "DeleteEndpoint of a deleted endpoint", del(a.ID, x.ID))

	// The events stay: they belong to the users' history, not the endpoint.
	es, err := listEvents(t, s, a.ID, "", 0)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	if len(es) != 2 || es[0].ID != e1.ID {
		t.Errorf("ListEvents after DeleteEndpoint: got %d events, want the 2 events", len(es))
	}
	if _, err := s.GetEndpoint(t.Context(), a.ID, y.ID); err != nil {
		t.Errorf("GetEndpoint of the other endpoint: %v", err)
	}
}

func testInsertEventDeliveries(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	x := newEndpoint(tn.ID, directory.EndpointEvents)
	y := newEndpoint(tn.ID, directory.EndpointEvents)
	createEndpoint(t, s, x)
	createEndpoint(t, s, y)
	u := userAt(t, s, tn.ID, "alice")

	e := NewEvent(u, directory.EventUserUpdated)
	dx, dy := newDelivery(e, x), newDelivery(e, y)
	dy.NextAttemptAt = e.CreatedAt.Add(5 * time.Second)
	lone := NewEvent(u, directory.EventUserUpdated) // an event no endpoint wants
	inTx(t, s, func(tx directory.Tx) error {
		if err := tx.InsertEvent(t.Context(), e, []*directory.Delivery{dx, dy}); err != nil {
			return err
		}
		return tx.InsertEvent(t.Context(), lone, nil)
	})
	for _, d := range []*directory.Delivery{dx, dy} {
		got, err := s.ListDeliveries(t.Context(), tn.ID, d.EndpointID, "", 0)
		if err != nil {
			t.Fatalf("ListDeliveries: %v", err)
		}
		if len(got) != 1 {
			t.Fatalf("ListDeliveries: got %d deliveries, want 1", len(got))
		}
		checkEqual(t, "ListDeliveries' delivery", got[0], d)
	}
	es, err := listEvents(t, s, tn.ID, "", 0)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	checkStrings(t, "ListEvents", ids(es, eventID), []string{e.ID, lone.ID})

	// Deliveries roll back with their event.
	errAbort := errors.New("abort")
	rolled := NewEvent(u, directory.EventUserUpdated)
	err = s.InTx(t.Context(), func(tx directory.Tx) error {
		if err := tx.InsertEvent(t.Context(), rolled, []*directory.Delivery{newDelivery(rolled, x)}); err != nil {
			t.Errorf("InsertEvent: %v", err)
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("InTx: got %v, want fn's error", err)
	}
	got, err := s.ListDeliveries(t.Context(), tn.ID, x.ID, "", 0)
	if err != nil {
		t.Fatalf("ListDeliveries: %v", err)
	}
	checkStrings(t, "ListDeliveries after a rolled back InsertEvent", ids(got, deliveryID), []string{dx.ID})
}

func eventID(e *directory.Event) string { return e.ID }

func testListDeliveries(t *testing.T, s directory.Store) {
	a := createTenant(t, s, "A")
	b := createTenant(t, s, "B")
	x := newEndpoint(a.ID, directory.EndpointEvents)
	y := newEndpoint(a.ID, directory.EndpointEvents)
	z := newEndpoint(b.ID, directory.EndpointEvents)
	for _, e := range []*directory.Endpoint{x, y, z} {
		createEndpoint(t, s, e)
	}
	u, w := userAt(t, s, a.ID, "alice"), userAt(t, s, b.ID, "alice")
	var d []*directory.Delivery // x's, oldest first
	for range 4 {
		_, ds := emit(t, s, u, now(), x, y)
		d = append(d, ds[0])
		emit(t, s, w, now(), z)
	}

	for _, c := range []struct {
		before string
		limit  int
		want   []*directory.Delivery
	}{
		{"", 0, []*directory.Delivery{d[3], d[2], d[1], d[0]}},
		{"", 2, []*directory.Delivery{d[3], d[2]}},
		{d[2].ID, 10, []*directory.Delivery{d[1], d[0]}},
		{d[2].ID, 1, []*directory.Delivery{d[1]}},
		{d[0].ID, 10, nil},
	} {
		got, err := s.ListDeliveries(t.Context(), a.ID, x.ID, c.before, c.limit)
		if err != nil {
			t.Fatalf("ListDeliveries: %v", err)
		}
		checkStrings(t, fmt.Sprintf("ListDeliveries(before %q, limit %d)", c.before, c.limit),
			ids(got, deliveryID), ids(c.want, deliveryID))
	}
	// Another tenant's endpoint has no deliveries for this one.
	for _, c := range []struct{ tenant, endpoint string }{{b.ID, x.ID}, {a.ID, z.ID}} {
		got, err := s.ListDeliveries(t.Context(), c.tenant, c.endpoint, "", 0)
		if err != nil {
			t.Fatalf("ListDeliveries: %v", err)
		}
		if len(got) != 0 {
			t.Errorf("ListDeliveries(%s, %s) across tenants: got %d deliveries, want none", c.tenant, c.endpoint, len(got))
		}
	}
}

func testClaimDue(t *testing.T, s directory.Store) {
	a := createTenant(t, s, "A")
	b := createTenant(t, s, "B")
	x := newEndpoint(a.ID, directory.EndpointEvents)
	y := newEndpoint(b.ID, directory.EndpointEvents)
	createEndpoint(t, s, x)
	createEndpoint(t, s, y)
	u, v, w := userAt(t, s, a.ID, "alice"), userAt(t, s, a.ID, "bob"), userAt(t, s, b.ID, "carol")
	base := now().Add(time.Hour) // in the future: only the given now decides
	ea, da := emit(t, s, u, base, x)
	_, db := emit(t, s, w, base.Add(time.Millisecond), y)
	_, dc := emit(t, s, v, base.Add(time.Second), x)

	if got := claim(t, s, base.Add(-time.Millisecond), time.Minute, 0); len(got) != 0 {
		t.Errorf("ClaimDeliveries before anything is due: got %v, want none", ids(got, claimedID))
	}

	// Due exactly at now.
	got := claim(t, s, base, time.Minute, 0)
	checkClaimed(t, "ClaimDeliveries at the first due time", got, da[0])
	if len(got) == 1 {
		want := *da[0]
		want.NextAttemptAt = base.Add(time.Minute)
		checkEqual(t, "claimed delivery", got[0].Delivery, &want)
		checkEqual(t, "claimed delivery's endpoint", got[0].Endpoint, x)
		if !bytes.Equal(got[0].Payload, ea.Payload) {
			t.Errorf("claimed delivery's payload: got %s, want %s", got[0].Payload, ea.Payload)
		}
		if got := getDelivery(t, s, da[0]); !got.NextAttemptAt.Equal(want.NextAttemptAt) {
			t.Errorf("stored NextAttemptAt after ClaimDeliveries: got %s, want now+lease %s", got.NextAttemptAt, want.NextAttemptAt)
		}
	}

	// Across tenants.
	got = claim(t, s, base.Add(time.Second), time.Minute, 0)
	checkClaimed(t, "ClaimDeliveries a second later", got, db[0], dc[0])
	for _, c := range got {
		want := map[string]*directory.Endpoint{x.ID: x, y.ID: y}[c.Delivery.EndpointID]
		checkEqual(t, "claimed delivery's endpoint", c.Endpoint, want)
	}
	if got := claim(t, s, base.Add(time.Second), time.Minute, 0); len(got) != 0 {
		t.Errorf("ClaimDeliveries with everything leased: got %v, want none", ids(got, claimedID))
	}

	// Delivered deliveries are never claimed again.
	for _, d := range []*directory.Delivery{da[0], db[0], dc[0]} {
		finish(t, s, d, &directory.Attempt{At: base, StatusCode: 204}, time.Time{})
	}
	if got := claim(t, s, base.Add(24*time.Hour), time.Minute, 0); len(got) != 0 {
		t.Errorf("ClaimDeliveries with everything delivered: got %v, want none", ids(got, claimedID))
	}
}

func testClaimLimit(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	x := newEndpoint(tn.ID, directory.EndpointEvents)
	createEndpoint(t, s, x)
	base := now()
	// Due the longest first: d3, d1, d2.
	_, d1 := emit(t, s, userAt(t, s, tn.ID, "u1"), base.Add(-2*time.Second), x)
	_, d2 := emit(t, s, userAt(t, s, tn.ID, "u2"), base.Add(-time.Second), x)
	_, d3 := emit(t, s, userAt(t, s, tn.ID, "u3"), base.Add(-3*time.Second), x)

	checkClaimed(t, "ClaimDeliveries(limit 2)", claim(t, s, base, time.Minute, 2), d3[0], d1[0])
	checkClaimed(t, "ClaimDeliveries(limit 2) again", claim(t, s, base, time.Minute, 2), d2[0])
}

func testClaimOrderPerUser(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	x := newEndpoint(tn.ID, directory.EndpointEvents)
	y := newEndpoint(tn.ID, directory.EndpointEvents)
	createEndpoint(t, s, x)
	createEndpoint(t, s, y)
	alice, bob := userAt(t, s, tn.ID, "alice"), userAt(t, s, tn.ID, "bob")
	base := now()
	_, a1 := emit(t, s, alice, base, x)
	// alice's second event is due first, and y gets only this one.
	_, a2 := emit(t, s, alice, base.Add(-time.Minute), x, y)
	_, b1 := emit(t, s, bob, base, x)

	got := claim(t, s, base, time.Minute, 0)
	checkClaimed(t, "ClaimDeliveries", got, a1[0], a2[1], b1[0])

	// alice's first event fails: her second waits behind it, leased or due.
	finish(t, s, a1[0], &directory.Attempt{At: base, StatusCode: 503, Error: "status 503"}, base.Add(10*time.Second))
	finish(t, s, b1[0], &directory.Attempt{At: base, StatusCode: 200}, time.Time{})
	finish(t, s, a2[1], &directory.Attempt{At: base, StatusCode: 200}, time.Time{})
	_, b2 := emit(t, s, bob, base, x)
	checkClaimed(t, "ClaimDeliveries while alice's first event backs off", claim(t, s, base.Add(5*time.Second), time.Minute, 0), b2[0])
	checkClaimed(t, "ClaimDeliveries when alice's first event is due again", claim(t, s, base.Add(10*time.Second), time.Minute, 0), a1[0])
	checkClaimed(t, "ClaimDeliveries while alice's first event is leased", claim(t, s, base.Add(20*time.Second), time.Minute, 0))

	finish(t, s, a1[0], &directory.Attempt{At: base.Add(20 * time.Second), StatusCode: 200}, time.Time{})
	checkClaimed(t, "ClaimDeliveries after alice's first event is delivered", claim(t, s, base.Add(20*time.Second), time.Minute, 0), a2[0])
}

func testClaimLease(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	x := newEndpoint(tn.ID, directory.EndpointEvents)
	createEndpoint(t, s, x)
	base := now()
	_, d := emit(t, s, userAt(t, s, tn.ID, "alice"), base, x)
	const lease = 30 * time.Second

	checkClaimed(t, "ClaimDeliveries", claim(t, s, base, lease, 0), d[0])
	checkClaimed(t, "ClaimDeliveries at once", claim(t, s, base, lease, 0))
	checkClaimed(t, "ClaimDeliveries just before the lease ends", claim(t, s, base.Add(lease-time.Millisecond), lease, 0))
	// The dispatcher that held it is presumed dead.
	got := claim(t, s, base.Add(lease), lease, 0)
	checkClaimed(t, "ClaimDeliveries when the lease ends", got, d[0])
	if len(got) == 1 {
		if want := base.Add(2 * lease); !got[0].Delivery.NextAttemptAt.Equal(want) {
			t.Errorf("claimed delivery's NextAttemptAt: got %s, want %s", got[0].Delivery.NextAttemptAt, want)
		}
		if got[0].Delivery.Attempts != 0 {
			t.Errorf("claimed delivery's Attempts: got %d, want 0: a claim is not an attempt", got[0].Delivery.Attempts)
		}
	}
}

func testFinishSuccess(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	x := newEndpoint(tn.ID, directory.EndpointEvents)
	createEndpoint(t, s, x)
	base := now()
	_, d := emit(t, s, userAt(t, s, tn.ID, "alice"), base, x)
	c := claim(t, s, base, time.Minute, 0)
	if len(c) != 1 {
		t.Fatalf("ClaimDeliveries: got %d deliveries, want 1", len(c))
	}
	a := &directory.Attempt{DeliveryID: d[0].ID, At: base.Add(time.Second), StatusCode: 204, DurationMS: 37}
	finish(t, s, c[0].Delivery, a, base.Add(time.Hour))

	want := *c[0].Delivery
	want.Status, want.Attempts, want.DeliveredAt = directory.DeliveryDelivered, 1, &a.At
	got := getDelivery(t, s, d[0])
	got.NextAttemptAt = want.NextAttemptAt // meaningless once delivered
	checkEqual(t, "delivery after a successful attempt", got, &want)
	as := listAttempts(t, s, tn.ID, d[0].ID)
	if len(as) != 1 {
		t.Fatalf("ListAttempts: got %d attempts, want 1", len(as))
	}
	checkEqual(t, "ListAttempts' attempt", as[0], a)
}

func testFinishFailure(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	x := newEndpoint(tn.ID, directory.EndpointEvents)
	createEndpoint(t, s, x)
	base := now()
	_, d := emit(t, s, userAt(t, s, tn.ID, "alice"), base, x)
	want := *d[0]
	var attempts []*directory.Attempt
	for i, c := range []struct {
		status  int
		err     string
		backoff time.Duration
	}{
		{500, "status 500: upstream \"busy\"", 10 * time.Second},
		{0, "dial tcp 203.0.113.9:443: i/o timeout", 20 * time.Second},
	} {
		at := base.Add(time.Duration(i) * time.Minute)
		cs := claim(t, s, at, time.Minute, 0)
		if len(cs) != 1 {
			t.Fatalf("ClaimDeliveries after %d failures: got %d deliveries, want 1", i, len(cs))
		}
		a := &directory.Attempt{DeliveryID: d[0].ID, At: at, StatusCode: c.status, Error: c.err, DurationMS: int64(100 * i)}
		finish(t, s, cs[0].Delivery, a, at.Add(c.backoff))
		attempts = append(attempts, a)

		want.Attempts, want.LastStatus, want.LastError, want.NextAttemptAt = i+1, c.status, c.err, at.Add(c.backoff)
		checkEqual(t, fmt.Sprintf("delivery after %d failed attempts", i+1), getDelivery(t, s, d[0]), &want)
		checkClaimed(t, "ClaimDeliveries during the back-off", claim(t, s, at.Add(c.backoff-time.Millisecond), time.Minute, 0))
	}

	// Success at last: LastStatus and LastError still tell of the last failure.
	at := base.Add(5 * time.Minute)
	cs := claim(t, s, at, time.Minute, 0)
	checkClaimed(t, "ClaimDeliveries after the back-off", cs, d[0])
	ok := &directory.Attempt{DeliveryID: d[0].ID, At: at, StatusCode: 200, DurationMS: 5}
	finish(t, s, d[0], ok, time.Time{})
	attempts = append(attempts, ok)
	want.Status, want.Attempts, want.DeliveredAt = directory.DeliveryDelivered, 3, &at
	got := getDelivery(t, s, d[0])
	got.NextAttemptAt = want.NextAttemptAt // meaningless once delivered
	checkEqual(t, "delivery after failures and a success", got, &want)

	gotAttempts := listAttempts(t, s, tn.ID, d[0].ID)
	if len(gotAttempts) != len(attempts) {
		t.Fatalf("ListAttempts: got %d attempts, want %d", len(gotAttempts), len(attempts))
	}
	for i := range attempts {
		checkEqual(t, fmt.Sprintf("attempt %d", i), gotAttempts[i], attempts[i])
	}
}

func testFinishNotFound(t *testing.T, s directory.Store) {
	a := createTenant(t, s, "A")
	b := createTenant(t, s, "B")
	x := newEndpoint(a.ID, directory.EndpointEvents)
	createEndpoint(t, s, x)
	base := now()
	_, d := emit(t, s, userAt(t, s, a.ID, "alice"), base, x)
	claim(t, s, base, time.Minute, 0)

	other := *d[0]
	other.TenantID = b.ID
	err := s.FinishAttempt(t.Context(), &other, &directory.Attempt{At: base, StatusCode: 200}, time.Time{})
	wantNotFound(t, "FinishAttempt of another tenant's delivery", err)
	if got := getDelivery(t, s, d[0]); got.Status != directory.DeliveryPending || got.Attempts != 0 {
		t.Errorf("delivery after a refused FinishAttempt: got status %q, %d attempts; want pending, 0", got.Status, got.Attempts)
	}
	if as := listAttempts(t, s, a.ID, d[0].ID); len(as) != 0 {
		t.Errorf("ListAttempts after a refused FinishAttempt: got %d attempts, want none", len(as))
	}

	// The endpoint was deleted while the delivery was on its way.
	inTx(t, s, func(tx directory.Tx) error { return tx.DeleteEndpoint(t.Context(), a.ID, x.ID) })
	err = s.FinishAttempt(t.Context(), d[0], &directory.Attempt{At: base, StatusCode: 200}, time.Time{})
	wantNotFound(t, "FinishAttempt of a deleted endpoint's delivery", err)
}

func testListAttempts(t *testing.T, s directory.Store) {
	a := createTenant(t, s, "A")
	b := createTenant(t, s, "B")
	x := newEndpoint(a.ID, directory.EndpointEvents)
	z := newEndpoint(b.ID, directory.EndpointEvents)
	createEndpoint(t, s, x)
	createEndpoint(t, s, z)
	base := now()
	_, d1 := emit(t, s, userAt(t, s, a.ID, "alice"), base, x)
	_, d2 := emit(t, s, userAt(t, s, a.ID, "bob"), base, x)
	_, d3 := emit(t, s, userAt(t, s, a.ID, "carol"), base, x)
	_, dz := emit(t, s, userAt(t, s, b.ID, "alice"), base, z)

	// Attempts of d1 and d2 interleave in time.
	var want []*directory.Attempt
	for i, d := range []*directory.Delivery{d1[0], d2[0], d1[0], d3[0], d2[0], dz[0]} {
		at := base.Add(time.Duration(i) * time.Second)
		a := &directory.Attempt{DeliveryID: d.ID, At: at, StatusCode: 500 + i, Error: fmt.Sprintf("status %d", 500+i), DurationMS: int64(i)}
		finish(t, s, d, a, at)
		if d != d3[0] && d != dz[0] {
			want = append(want, a)
		}
	}
	got := listAttempts(t, s, a.ID, d2[0].ID, d1[0].ID)
	if len(got) != len(want) {
		t.Fatalf("ListAttempts: got %d attempts, want %d", len(got), len(want))
	}
	for i := range want {
		checkEqual(t, fmt.Sprintf("ListAttempts' attempt %d", i), got[i], want[i])
	}
	if got := listAttempts(t, s, a.ID); len(got) != 0 {
		t.Errorf("ListAttempts of no deliveries: got %d attempts, want none", len(got))
	}
	if got := listAttempts(t, s, a.ID, dz[0].ID); len(got) != 0 {
		t.Errorf("ListAttempts of another tenant's delivery: got %d attempts, want none", len(got))
	}
	if got := listAttempts(t, s, b.ID, dz[0].ID); len(got) != 1 {
		t.Errorf("ListAttempts in the delivery's own tenant: got %d attempts, want 1", len(got))
	}
}

// testConcurrentClaims runs dispatchers at once, each claiming and
// delivering: no delivery is claimed twice within its lease, every delivery
// is delivered, and no event of a user is claimed for an endpoint before the
// user's previous event was delivered to it.
func testConcurrentClaims(t *testing.T, s directory.Store) {
	const (
		dispatchers = 8
		users       = 6
		perUser     = 4
	)
	a := createTenant(t, s, "A")
	b := createTenant(t, s, "B")
	x := newEndpoint(a.ID, directory.EndpointEvents)
	y := newEndpoint(a.ID, directory.EndpointEvents)
	z := newEndpoint(b.ID, directory.EndpointEvents)
	for _, e := range []*directory.Endpoint{x, y, z} {
		createEndpoint(t, s, e)
	}
	var us []*directory.User
	for i := range users {
		tn := a
		if i%3 == 2 {
			tn = b
		}
		us = append(us, userAt(t, s, tn.ID, fmt.Sprintf("user%d", i)))
	}
	// Each user's events, interleaved with the other users'.
	eventOrder := map[string]int{} // delivery ID -> its event's position in its user's stream
	total := 0
	for j := range perUser {
		for _, u := range us {
			eps := []*directory.Endpoint{x, y}
			if u.TenantID == b.ID {
				eps = []*directory.Endpoint{z}
			}
			_, ds := emit(t, s, u, now(), eps...)
			for _, d := range ds {
				eventOrder[d.ID] = j
				total++
			}
		}
	}

	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		claims    = map[string]int{}  // delivery ID -> times claimed
		finishing = map[string]bool{} // stream/position -> its FinishAttempt has begun
		delivered atomic.Int64
		start     = make(chan struct{})
	)
	stream := func(d *directory.Delivery) string { return d.EndpointID + "/" + d.UserID }
	deadline := time.Now().Add(30 * time.Second)
	for i := range dispatchers {
		wg.Go(func() {
			<-start
			for delivered.Load() < int64(total) {
				if time.Now().After(deadline) {
					t.Errorf("dispatcher %d: gave up with %d of %d deliveries delivered", i, delivered.Load(), total)
					return
				}
				cs, err := s.ClaimDeliveries(t.Context(), now(), time.Hour, 2)
				if err != nil {
					t.Errorf("dispatcher %d: ClaimDeliveries: %v", i, err)
					return
				}
				if len(cs) == 0 {
					time.Sleep(time.Millisecond)
					continue
				}
				mu.Lock()
				for _, c := range cs {
					d := c.Delivery
					claims[d.ID]++
					// The stream's previous event was marked before its
					// FinishAttempt began, so before it could commit.
					if pos := eventOrder[d.ID]; pos > 0 && !finishing[fmt.Sprint(stream(d), "/", pos-1)] {
						t.Errorf("stream %s: event %d claimed before event %d was delivered", stream(d), pos, pos-1)
					}
				}
				mu.Unlock()
				time.Sleep(2 * time.Millisecond) // sending: a claim out of order shows now
				for _, c := range cs {
					mu.Lock()
					finishing[fmt.Sprint(stream(c.Delivery), "/", eventOrder[c.Delivery.ID])] = true
					mu.Unlock()
					if err := s.FinishAttempt(t.Context(), c.Delivery, &directory.Attempt{At: now(), StatusCode: 200}, time.Time{}); err != nil {
						t.Errorf("dispatcher %d: FinishAttempt: %v", i, err)
						return
					}
					delivered.Add(1)
				}
			}
		})
	}
	close(start)
	wg.Wait()

	if len(claims) != total {
		t.Errorf("claimed %d distinct deliveries, want %d", len(claims), total)
	}
	for id, n := range claims {
		if n != 1 {
			t.Errorf("delivery %s claimed %d times within its lease, want once", id, n)
		}
	}
	if left := claim(t, s, now().Add(2*time.Hour), time.Hour, 0); len(left) != 0 {
		t.Errorf("ClaimDeliveries after all were delivered: got %d, want none", len(left))
	}
}

// testConcurrentAddWrite counts writes of one tenant and period at once: no
// count is lost, and each write sees a different count.
func testConcurrentAddWrite(t *testing.T, s directory.Store) {
	const writers, each = 8, 10
	tn := createTenant(t, s, "Acme")
	period := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		seen  = map[int64]bool{}
		start = make(chan struct{})
	)
	for i := range writers {
		wg.Go(func() {
			<-start
			for range each {
				var n int64
				err := s.InTx(t.Context(), func(tx directory.Tx) error {
					if err := tx.LockTenant(t.Context(), tn.ID); err != nil {
						return err
					}
					var err error
					c, err := tx.AddWrite(t.Context(), tn.ID, period)
					n = c.Writes
					return err
				})
				if err != nil {
					t.Errorf("writer %d: AddWrite: %v", i, err)
					return
				}
				mu.Lock()
				if seen[n] {
					t.Errorf("writer %d: AddWrite returned %d twice", i, n)
				}
				seen[n] = true
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if got := usage(t, s, tn.ID, period).Writes; got != writers*each {
		t.Errorf("Usage.Writes after concurrent AddWrites: got %d, want %d", got, writers*each)
	}
}
