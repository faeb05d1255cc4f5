// These tests send typed requests, through the Go client oapi-codegen
// generates from api/openapi.yaml, to a real Roster, and read back what the
// server made of them. They exist only while internal/gencheck's test runs
// them: it generates the client, then places it and this file in the
// package rosterapi with go test -overlay.
package rosterapi_test

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oapi-codegen/nullable"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/gencheck/rosterapi"
	"github.com/roster-dev/roster/internal/postgres/pgtest"
	"github.com/roster-dev/roster/internal/server"
	"github.com/roster-dev/roster/internal/sqlite"
	"github.com/roster-dev/roster/internal/webhook"
)

// backend is the store of this round: TestMain runs every test once per
// backend, as the other HTTP suites do.
var backend string

func TestMain(m *testing.M) {
	code := 0
	for _, b := range strings.Split(cmp.Or(os.Getenv("ROSTER_TEST_BACKENDS"), "sqlite,postgres"), ",") {
		backend = b
		fmt.Printf("=== backend %s\n", b)
		if c := m.Run(); c != 0 {
			code = c
		}
	}
	pgtest.Close()
	os.Exit(code)
}

// generous is a plan no test reaches by accident.
var generous = directory.Plan{RateLimitRPS: 1e6, RateLimitBurst: 1e6, WritesPerPeriod: 1e9, MaxActiveUsers: 1e9}

// newClient starts a Roster node on the round's backend, served over real
// HTTP on loopback, makes a tenant, and returns a generated client that
// authenticates with the tenant's admin key.
func newClient(t *testing.T) *rosterapi.ClientWithResponses {
	t.Helper()
	var store directory.Store
	if backend == "postgres" {
		store = pgtest.Open(t)
	} else {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		store = s
	}
	n, err := server.New(context.Background(), server.Config{
		Store: store, Anonymous: generous,
		Logger:        slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Dispatcher:    webhook.DispatcherOptions{Interval: time.Hour},
		PurgeInterval: time.Hour,
		SecretKeys:    [][]byte{[]byte("test key of Roster, 32 bytes lon")},
	})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	srv := httptest.NewServer(n.Handler)
	t.Cleanup(func() {
		srv.Close()
		n.Close()
	})
	out, err := n.Service.CreateTenant(context.Background(), directory.TenantInput{Name: "Acme", Plan: &generous}, true, directory.Actor{})
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	c, err := rosterapi.NewClientWithResponses(srv.URL, rosterapi.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+out.Token)
		return nil
	}))
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	return c
}

// createUser creates a user from a typed body and returns it.
func createUser(t *testing.T, c *rosterapi.ClientWithResponses, body rosterapi.UserWrite) *rosterapi.User {
	t.Helper()
	r, err := c.CreateUserWithResponse(t.Context(), &rosterapi.CreateUserParams{}, body)
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	if r.StatusCode() != http.StatusCreated || r.JSON201 == nil {
		t.Fatalf("create user: %d %s", r.StatusCode(), r.Body)
	}
	return r.JSON201
}

// getUser reads a user back through the generated client.
func getUser(t *testing.T, c *rosterapi.ClientWithResponses, id rosterapi.UserId) *rosterapi.User {
	t.Helper()
	r, err := c.GetUserWithResponse(t.Context(), id, &rosterapi.GetUserParams{})
	if err != nil {
		t.Fatalf("get user: %v", err)
	}
	if r.StatusCode() != http.StatusOK || r.JSON200 == nil {
		t.Fatalf("get user: %d %s", r.StatusCode(), r.Body)
	}
	return r.JSON200
}

// updated checks that an update answered 200 with the user.
func updated(t *testing.T, r *rosterapi.UpdateUserResponse, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("update user: %v", err)
	}
	if r.StatusCode() != http.StatusOK || r.JSON200 == nil {
		t.Fatalf("update user: %d %s", r.StatusCode(), r.Body)
	}
}

// str returns a nullable string member for messages and comparisons:
// its value, or "<null>".
func str(n nullable.Nullable[string]) string {
	if n.IsNull() || !n.IsSpecified() {
		return "<null>"
	}
	return n.MustGet()
}

// alice is a new user; each test gives her an email of its own.
func alice(email string) rosterapi.UserWrite {
	return rosterapi.UserWrite{
		Email:    nullable.NewNullableWithValue(openapi_types.Email(email)),
		Name:     nullable.NewNullableWithValue("Alice Smith"),
		Bio:      nullable.NewNullableWithValue("Hello"),
		Metadata: nullable.NewNullableWithValue(map[string]any{"theme": "dark", "lang": "en"}),
	}
}

func TestTypedPatch(t *testing.T) {
	c := newClient(t)

	t.Run("application/json sets and clears members", func(t *testing.T) {
		u := createUser(t, c, alice("alice1@example.com"))
		r, err := c.UpdateUserWithResponse(t.Context(), u.Id, &rosterapi.UpdateUserParams{}, rosterapi.UserWrite{
			Name:    nullable.NewNullableWithValue("Alice Martin"),
			Country: nullable.NewNullableWithValue("fr"),
			Bio:     nullable.NewNullNullable[string](),
		})
		updated(t, r, err)
		got := getUser(t, c, u.Id)
		if str(got.Name) != "Alice Martin" || str(got.Country) != "FR" || !got.Bio.IsNull() {
			t.Errorf("after the patch: name %s, country %s, bio %s; want Alice Martin, FR, <null>", str(got.Name), str(got.Country), str(got.Bio))
		}
		if got.Version == nil || *got.Version != 2 {
			t.Errorf("version %v, want 2", got.Version)
		}
		if !maps.Equal(got.Metadata, rosterapi.Metadata{"theme": "dark", "lang": "en"}) {
			t.Errorf("metadata %v: a member left out of the patch changed", got.Metadata)
		}
	})

	t.Run("application/merge-patch+json merges metadata", func(t *testing.T) {
		u := createUser(t, c, alice("alice2@example.com"))
		r, err := c.UpdateUserWithApplicationMergePatchPlusJSONBodyWithResponse(t.Context(), u.Id, &rosterapi.UpdateUserParams{}, rosterapi.UserMergePatch{
			Metadata: nullable.NewNullableWithValue(map[string]any{"theme": nil, "plan": "pro"}),
		})
		updated(t, r, err)
		got := getUser(t, c, u.Id)
		if want := (rosterapi.Metadata{"lang": "en", "plan": "pro"}); !maps.Equal(got.Metadata, want) {
			t.Errorf("metadata %v, want %v", got.Metadata, want)
		}
		if str(got.Name) != "Alice Smith" {
			t.Errorf("name %s, want Alice Smith", str(got.Name))
		}
	})

	t.Run("application/json-patch+json applies operations", func(t *testing.T) {
		u := createUser(t, c, alice("alice3@example.com"))
		r, err := c.UpdateUserWithApplicationJSONPatchPlusJSONBodyWithResponse(t.Context(), u.Id, &rosterapi.UpdateUserParams{}, rosterapi.JsonPatch{
			{Op: rosterapi.Test, Path: "/name", Value: "Alice Smith"},
			{Op: rosterapi.Replace, Path: "/name", Value: "Alice Jones"},
			{Op: rosterapi.Add, Path: "/roles/-", Value: "admin"},
		})
		updated(t, r, err)
		got := getUser(t, c, u.Id)
		if str(got.Name) != "Alice Jones" || !slices.Contains(got.Roles, "admin") {
			t.Errorf("after the patch: name %s, roles %v; want Alice Jones and admin among the roles", str(got.Name), got.Roles)
		}
	})

	t.Run("a refusal comes back as a typed problem", func(t *testing.T) {
		u := createUser(t, c, alice("alice4@example.com"))
		r, err := c.UpdateUserWithResponse(t.Context(), u.Id, &rosterapi.UpdateUserParams{}, rosterapi.UserWrite{
			Country: nullable.NewNullableWithValue("XX"),
		})
		if err != nil {
			t.Fatalf("update user: %v", err)
		}
		p := r.ApplicationproblemJSON422
		if p == nil {
			t.Fatalf("update user: %d %s, want a 422 problem", r.StatusCode(), r.Body)
		}
		if p.Code != rosterapi.WriteUnprocessableEntityCodeValidationFailed || p.Status != rosterapi.WriteUnprocessableEntityStatusN422 {
			t.Errorf("problem code %q, status %d; want validation_failed, 422", p.Code, p.Status)
		}
		if p.Errors == nil || !slices.ContainsFunc(*p.Errors, func(e rosterapi.FieldError) bool { return e.Field == "country" }) {
			t.Errorf("problem errors %v, want one on country", p.Errors)
		}
		if got := getUser(t, c, u.Id); got.Country.IsSpecified() && !got.Country.IsNull() {
			t.Errorf("country %s after a refused patch, want <null>", str(got.Country))
		}
	})

	t.Run("a stale If-Match is a typed 412", func(t *testing.T) {
		u := createUser(t, c, alice("alice5@example.com"))
		stale := rosterapi.IfMatch(`"7"`)
		r, err := c.UpdateUserWithResponse(t.Context(), u.Id, &rosterapi.UpdateUserParams{IfMatch: &stale}, rosterapi.UserWrite{
			Name: nullable.NewNullableWithValue("Alice Martin"),
		})
		if err != nil {
			t.Fatalf("update user: %v", err)
		}
		if p := r.ApplicationproblemJSON412; p == nil || p.Code != rosterapi.PreconditionFailedCodePreconditionFailed {
			t.Fatalf("update user: %d %s, want a 412 precondition_failed problem", r.StatusCode(), r.Body)
		}
		if got := getUser(t, c, u.Id); str(got.Name) != "Alice Smith" {
			t.Errorf("name %s after a refused patch, want Alice Smith", str(got.Name))
		}
	})
}
