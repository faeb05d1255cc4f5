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
	svc := directory.NewService(store, directory.Options{Now: func() time.Time { return clock }})
	out, err := svc.CreateTenant(context.Background(), directory.TenantInput{Name: "T"}, false, directory.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	return svc, out.Tenant, &clock
}

func TestWritesOfAUserNeverGoBackInTime(t *testing.T) {
	ctx := context.Background()
	svc, tenant, clock := newService(t)
	u, err := svc.CreateUser(ctx, tenant, []byte(`{"username":"skewed"}`), directory.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Another node, whose clock is a minute behind, writes next.
	*clock = clock.Add(-time.Minute)
	v2, _, err := svc.UpdateUser(ctx, tenant, u.ID, directory.BodyJSON, []byte(`{"name":"Two"}`), directory.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v3, err := svc.DeactivateUser(ctx, tenant, u.ID, directory.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
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
	u, err := svc.CreateUser(ctx, tenant, []byte(`{"username":"fuzzed","email":"f@example.com","metadata":{"k":1}}`), directory.WriteOptions{})
	if err != nil {
		f.Fatal(err)
	}
	kinds := []directory.BodyKind{directory.BodyJSON, directory.BodyMergePatch, directory.BodyJSONPatch, directory.BodyReplace}
	f.Fuzz(func(t *testing.T, kind int, body []byte) {
		k := kinds[(kind%len(kinds)+len(kinds))%len(kinds)]
		before, err := svc.GetUser(ctx, tenant.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = svc.UpdateUser(ctx, tenant, u.ID, k, body, directory.WriteOptions{DryRun: true})
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
