package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/postgres/pgtest"
	"github.com/roster-dev/roster/internal/wire"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := pgtest.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
	buildDir  string
)

// rosterBin builds the roster command once for the package's tests.
func rosterBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "roster-bench-test-"); buildErr != nil {
			return
		}
		builtBin, buildErr = BuildRoster(context.Background(), buildDir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// backends are the stores the tests run on: ROSTER_TEST_BACKENDS, by
// default both.
func backends() []string {
	return strings.Split(cmp.Or(os.Getenv("ROSTER_TEST_BACKENDS"), "sqlite,postgres"), ",")
}

// TestSeededLikeWritten checks that SeedUsers cannot drift from what the
// Service writes: on each store, a seeded user reads back through the API
// as the user the same body creates over POST /v1/users does, the search
// (?q=) finds seeded users by email and by name, exactly, and the tenant's
// count of active users agrees with its users.
func TestSeededLikeWritten(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs roster serve")
	}
	bin := rosterBin(t)
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var db string
			switch backend {
			case "sqlite":
				db = filepath.Join(t.TempDir(), "roster.db")
			case "postgres":
				db = pgtest.URL(t)
			default:
				t.Fatalf("unknown backend %q", backend)
			}
			var tenant struct {
				Tenant struct{ ID string } `json:"tenant"`
				Token  string              `json:"token"`
			}
			if err := CLI(ctx, bin, &tenant, "tenants", "create", "--db", db, "--create", "--name", "Seed", "--owner-email", "owner@bench.example"); err != nil {
				t.Fatal(err)
			}
			store, err := openStore(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			const n = 30
			// Batches of 7: the last one is short.
			ids, err := SeedUsers(ctx, store, tenant.Tenant.ID, n, 7)
			store.Close()
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != n {
				t.Fatalf("seeded %d users, want %d", len(ids), n)
			}

			srv, err := StartServer(ctx, bin, db)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Stop()
			target := Target{URL: srv.URL, Token: tenant.Token, Client: NewClient(1)}
			get := func(path string, v any) {
				t.Helper()
				b, err := target.sendFor(ctx, "GET", path, target.Token, "")
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(b, v); err != nil {
					t.Fatalf("GET %s: %v: %s", path, err, b)
				}
			}

			// The user n, created as the seeded ones would be.
			b, err := target.sendFor(ctx, "POST", "/v1/users", target.Token, SeedBody(n, SeedEmail(n)))
			if err != nil {
				t.Fatal(err)
			}
			var written map[string]any
			if err := json.Unmarshal(b, &written); err != nil {
				t.Fatal(err)
			}
			get("/v1/users/"+written["id"].(string), &written)
			for _, i := range []int{0, n - 1} {
				var seeded map[string]any
				get("/v1/users/"+ids[i], &seeded)
				if seeded["id"] != ids[i] {
					t.Errorf("GET of seeded user %d: id %v, want %s", i, seeded["id"], ids[i])
				}
				// What differs by the user's index, and by when it was made.
				want := map[string]any{"email": SeedEmail(i), "name": fmt.Sprintf("Bench User %d", i), "metadata": map[string]any{"seq": float64(i)}}
				for k, v := range want {
					if !reflect.DeepEqual(seeded[k], v) {
						t.Errorf("seeded user %d: %s is %#v, want %#v", i, k, seeded[k], v)
					}
				}
				for _, k := range sortedUnion(seeded, written) {
					if _, differs := want[k]; differs || k == "id" || k == "created_at" || k == "updated_at" {
						continue
					}
					if !reflect.DeepEqual(seeded[k], written[k]) {
						t.Errorf("%s: seeded user %d has %#v, one created over HTTP %#v", k, i, seeded[k], written[k])
					}
				}
			}

			// The search finds the seeded users as the written one.
			type list struct {
				Data []struct{ ID string } `json:"data"`
			}
			for _, c := range []struct {
				q    string
				want []string
			}{
				{"user000002", ids[20:30]},
				{"USER000003", []string{written["id"].(string)}},
				{"Bench User 7", []string{ids[7]}},
				{"bench user 1", append([]string{ids[1]}, ids[10:20]...)},
			} {
				var l list
				get("/v1/users?limit=100&q="+url.QueryEscape(c.q), &l)
				var got []string
				for _, u := range l.Data {
					got = append(got, u.ID)
				}
				// Users seeded in one millisecond have IDs in no order.
				slices.Sort(got)
				want := slices.Sorted(slices.Values(c.want))
				if !slices.Equal(got, want) {
					t.Errorf("q=%s: found %v, want %v", c.q, got, want)
				}
			}

			// The tenant's count of active users is of its users: the
			// owner, the seeded and the written.
			var all list
			get("/v1/users?limit=100&status=active", &all)
			store, err = openStore(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			var active int64
			err = store.InTx(ctx, func(tx directory.Tx) error {
				var err error
				active, err = tx.CountActiveUsers(ctx, tenant.Tenant.ID)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(all.Data) != n+2 || active != int64(len(all.Data)) {
				t.Errorf("%d active users listed, the tenant counts %d; want %d", len(all.Data), active, n+2)
			}
		})
	}
}

func sortedUnion(a, b map[string]any) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// TestCopyUsersAllOrNothing checks that a bulk load with a duplicate email
// fails whole: no user, no search term, no count moved.
func TestCopyUsersAllOrNothing(t *testing.T) {
	if !slices.Contains(backends(), "postgres") {
		t.Skip("PostgreSQL only")
	}
	ctx := context.Background()
	db := pgtest.URL(t)
	store, err := openStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	nt, err := directory.NewService(store, directory.Options{Wire: wire.Encoding{}}).CreateTenant(ctx, directory.TenantInput{Name: "Copy"}, false, directory.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	tenantID := nt.Tenant.ID
	now := directory.Now()
	a, b, c := seedUser(tenantID, 1, now), seedUser(tenantID, 2, now), seedUser(tenantID, 3, now)
	c.Email = strings.ToUpper(a.Email) // the same email key
	err = store.(bulkLoader).CopyUsers(ctx, []*directory.User{a, b, c})
	if err == nil {
		t.Fatal("a load with a duplicate email succeeded")
	}
	from, to := directory.PrefixRange("user")
	users, err := store.ListUsers(ctx, tenantID, directory.UserFilter{})
	if err != nil {
		t.Fatal(err)
	}
	found, err := store.ListUsers(ctx, tenantID, directory.UserFilter{SearchFrom: from, SearchTo: to})
	if err != nil {
		t.Fatal(err)
	}
	var active int64
	err = store.InTx(ctx, func(tx directory.Tx) error {
		var err error
		active, err = tx.CountActiveUsers(ctx, tenantID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 0 || len(found) != 0 || active != 0 {
		t.Errorf("after a failed load: %d users, %d found by search, %d counted active; want none", len(users), len(found), active)
	}
	// The same load without the duplicate writes all.
	if err := store.(bulkLoader).CopyUsers(ctx, []*directory.User{a, b}); err != nil {
		t.Fatal(err)
	}
	if users, err = store.ListUsers(ctx, tenantID, directory.UserFilter{SearchFrom: from, SearchTo: to}); err != nil || len(users) != 2 {
		t.Errorf("after the load: %d users found, %v; want 2", len(users), err)
	}
}
