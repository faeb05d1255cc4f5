package directory_test

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/sqlite"
	"github.com/roster-dev/roster/internal/wire"
)

// newService returns a Service on a real SQLite file with a tenant, and the
// clock it reads, which the test may move.
func newService(t testing.TB) (*directory.Service, *directory.Tenant, *time.Time) {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clock := directory.Now()
	svc := directory.NewService(store, directory.Options{Wire: wire.Encoding{}, Now: func() time.Time { return clock }})
	out, err := svc.CreateTenant(context.Background(), directory.TenantInput{Name: "T"}, false, directory.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	return svc, out.Tenant, &clock
}

func TestWritesOfAUserNeverGoBackInTime(t *testing.T) {
	ctx := context.Background()
	svc, tenant, clock := newService(t)
	u := mustWrite(t)(svc.CreateUser(ctx, tenant, []byte(`{"username":"skewed"}`), directory.WriteOptions{}))
	// Another node, whose clock is a minute behind, writes next.
	*clock = clock.Add(-time.Minute)
	v2 := mustWrite(t)(svc.UpdateUser(ctx, tenant, u.ID, directory.BodyJSON, []byte(`{"name":"Two"}`), directory.WriteOptions{}))
	v3 := mustWrite(t)(svc.DeactivateUser(ctx, tenant, u.ID, directory.WriteOptions{}))
	if !v2.UpdatedAt.After(u.UpdatedAt) || !v3.UpdatedAt.After(v2.UpdatedAt) {
		t.Errorf("updated_at went back: %v, %v, %v", u.UpdatedAt, v2.UpdatedAt, v3.UpdatedAt)
	}
	history, err := svc.History(ctx, tenant.ID, u.ID, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range history {
		ids = append(ids, a.ID)
	}
	if len(ids) != 3 || !sort.SliceIsSorted(ids, func(i, j int) bool { return ids[i] > ids[j] }) {
		t.Errorf("audit IDs %v are not in the order of the writes", ids)
	}
}

// FuzzUpdateUser throws arbitrary bodies of every kind at the update
// engine: it must answer with an *Error or succeed, never panic, and a
// failed update must leave the user as it was.
func FuzzUpdateUser(f *testing.F) {
	seeds := []struct {
		kind int
		body string
	}{
		{0, `{"name":"A","metadata":{"k":[1,2,{"x":null}]}}`},
		{0, `{"email":null,"username":null}`},
		{0, `{"location":{"type":"Point","coordinates":[1e400,2]}}`},
		{1, `{"metadata":{"a":{"b":{"c":null}}},"roles":["admin"]}`},
		{1, `{"id":null}`},
		{2, `[{"op":"move","from":"/metadata","path":"/metadata/x"}]`},
		{2, `[{"op":"copy","from":"/roles","path":"/metadata/r"},{"op":"add","path":"","value":{}}]`},
		{2, `[{"op":"replace","path":"","value":[]}]`},
		{3, `{"email":"a@b.co","version":1,"object":"user"}`},
		{3, `null`},
		{0, "{\"name\":\"\\ud800\"}"},
	}
	for _, s := range seeds {
		f.Add(s.kind, []byte(s.body))
	}
	svc, tenant, _ := newService(f)
	ctx := context.Background()
	res, err := svc.CreateUser(ctx, tenant, []byte(`{"username":"fuzzed","email":"f@example.com","metadata":{"k":1}}`), directory.WriteOptions{})
	if err != nil {
		f.Fatal(err)
	}
	u := res.User
	kinds := []directory.BodyKind{directory.BodyJSON, directory.BodyMergePatch, directory.BodyJSONPatch, directory.BodyReplace}
	f.Fuzz(func(t *testing.T, kind int, body []byte) {
		k := kinds[(kind%len(kinds)+len(kinds))%len(kinds)]
		before, err := svc.GetUser(ctx, tenant.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, err = svc.UpdateUser(ctx, tenant, u.ID, k, body, directory.WriteOptions{DryRun: true})
		var e *directory.Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("kind %d body %q: error %v is not a client error", k, body, err)
		}
		after, err := svc.GetUser(ctx, tenant.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if after.Version != before.Version {
			t.Fatalf("a dry run wrote: version %d → %d", before.Version, after.Version)
		}
	})
}

// TestActiveUserCounter checks that the active-user counter the Service
// keeps in the store stays equal to the number of active users across
// every write that may move it, and across writes that fail.
func TestActiveUserCounter(t *testing.T) {
	ctx := context.Background()
	svc, _, clock := newService(t)
	plan, settings := directory.DefaultPlan(), directory.DefaultSettings()
	plan.MaxActiveUsers = 4
	settings.DeletionGraceSeconds = 0
	out, err := svc.CreateTenant(ctx, directory.TenantInput{Name: "Owned", OwnerEmail: "owner@example.com", Plan: &plan, Settings: &settings}, false, directory.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	tenant := out.Tenant

	// last is the outcome of the last write that succeeded.
	var last *directory.Written
	// check fails the test unless the counter, a recount of the active
	// users and the figures the last write's commit returned are want.
	check := func(step string, want int) {
		t.Helper()
		u, err := svc.Usage(ctx, tenant)
		if err != nil {
			t.Fatalf("%s: Usage: %v", step, err)
		}
		if last != nil && last.Usage != nil && (last.Usage.ActiveUsers != u.ActiveUsers || last.Usage.Writes != u.Writes) {
			t.Errorf("%s: the write returned %d active users and %d writes, Usage reads %d and %d",
				step, last.Usage.ActiveUsers, last.Usage.Writes, u.ActiveUsers, u.Writes)
		}
		active, err := svc.ListUsers(ctx, tenant.ID, directory.UserQuery{Status: directory.StatusActive})
		if err != nil {
			t.Fatalf("%s: ListUsers: %v", step, err)
		}
		if u.ActiveUsers != int64(len(active)) || len(active) != want {
			t.Errorf("%s: counter %d, active users listed %d, want %d", step, u.ActiveUsers, len(active), want)
		}
	}
	must := func(step string, res *directory.Written, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		last = res
	}
	wantQuota := func(step string, err error) {
		t.Helper()
		var e *directory.Error
		if !errors.As(err, &e) || e.Code != directory.ECodeQuotaExceeded {
			t.Fatalf("%s: got %v, want quota_exceeded", step, err)
		}
	}
	create := func(name string) (*directory.Written, error) {
		return svc.CreateUser(ctx, tenant, []byte(`{"username":"`+name+`"}`), directory.WriteOptions{})
	}
	opts := directory.WriteOptions{}

	check("the owner", 1)
	var us []*directory.User
	for _, name := range []string{"ann", "bob", "cat"} {
		res, err := create(name)
		must("create "+name, res, err)
		us = append(us, res.User)
	}
	ann, bob, cat := us[0], us[1], us[2]
	check("three creates", 4)
	_, err = create("dan")
	wantQuota("a create past the active-user quota", err)
	check("a create refused", 4)

	u, err := svc.DeactivateUser(ctx, tenant, ann.ID, opts)
	must("deactivate", u, err)
	check("deactivate", 3)
	u, err = svc.DeactivateUser(ctx, tenant, ann.ID, opts)
	must("deactivate again", u, err)
	check("deactivate again, a no-op", 3)
	u, err = svc.UpdateUser(ctx, tenant, bob.ID, directory.BodyJSON, []byte(`{"name":"Bob"}`), opts)
	must("update", u, err)
	check("an update", 3)
	u, err = svc.ReactivateUser(ctx, tenant, ann.ID, opts)
	must("reactivate", u, err)
	check("reactivate", 4)

	u, err = svc.DeleteUser(ctx, tenant, bob.ID, opts)
	must("delete", u, err)
	check("delete", 3)
	u, err = svc.RestoreUser(ctx, tenant, bob.ID, opts)
	must("restore", u, err)
	check("restore", 4)
	u, err = svc.DeleteUser(ctx, tenant, cat.ID, opts)
	must("delete", u, err)
	dan, err := create("dan")
	must("create in the freed seat", dan, err)
	check("delete, create", 4)
	_, err = svc.RestoreUser(ctx, tenant, cat.ID, opts)
	wantQuota("a restore past the active-user quota", err)
	check("a restore refused", 4)
	_, err = svc.ReactivateUser(ctx, tenant, ann.ID, opts)
	must("reactivate an active user, a no-op", nil, err)
	check("a no-op reactivation", 4)

	u, err = svc.DeactivateUser(ctx, tenant, ann.ID, opts)
	must("deactivate", u, err)
	check("deactivate", 3)
	_, err = svc.ReactivateUser(ctx, tenant, ann.ID, opts)
	must("reactivate", nil, err)
	u, err = svc.DeactivateUser(ctx, tenant, ann.ID, opts)
	must("deactivate", u, err)
	u, err = svc.DeleteUser(ctx, tenant, ann.ID, opts)
	must("delete a deactivated user", u, err)
	check("the delete of a deactivated user, which held no seat", 3)
	u, err = svc.DeleteUser(ctx, tenant, bob.ID, opts)
	must("delete", u, err)
	check("delete", 2)

	*clock = clock.Add(time.Minute) // past every purge_after
	n, err := svc.PurgeDue(ctx)
	if err != nil || n != 3 {
		t.Fatalf("PurgeDue: got %d, %v, want 3 purged", n, err)
	}
	check("purges", 2)

	// A write refused by the write quota, which is counted last, rolls back
	// its move of the counter too, up or down.
	eve, err := create("eve")
	must("create", eve, err)
	check("create", 3)
	usage, err := svc.Usage(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	tenant, err = svc.UpdateTenant(ctx, tenant.ID, func(t *directory.Tenant) error {
		t.Plan.WritesPerPeriod = usage.Writes
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = create("fay")
	wantQuota("a create past the write quota", err)
	check("a create refused by the write quota", 3)
	_, err = svc.DeactivateUser(ctx, tenant, eve.User.ID, opts)
	wantQuota("a deactivation past the write quota", err)
	check("a deactivation refused by the write quota", 3)
}

// mustWrite returns a function that fails the test on a write's error and
// returns the user it left.
func mustWrite(t *testing.T) func(*directory.Written, error) *directory.User {
	return func(res *directory.Written, err error) *directory.User {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return res.User
	}
}
