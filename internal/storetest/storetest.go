// Package storetest is the conformance suite every directory.Store
// implementation must pass, in the manner of testing/fstest: a backend's own
// test calls Run with a function that opens a fresh store.
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) directory.Store {
//			s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "roster.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Every test opens its own store, so the tests run in parallel and none sees
// another's rows. The suite checks what the Store and Tx interfaces promise:
// exact round trips, tenant isolation, the errors each method returns, the
// order and paging of lists, atomic transactions, that a purge leaves no
// personal value behind the store's API, and that the database, not Go code,
// enforces uniqueness, optimistic concurrency, usage counts and the leasing
// of webhook deliveries (never twice at once, each user's events in order)
// under concurrent transactions.
package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// Inspector is what tests read of a store beyond directory.Store, which
// holds only what Roster itself calls: the service never lists the outbox,
// the dispatcher reads it through ClaimDeliveries. Every backend implements
// it, for this suite and its own tests.
type Inspector interface {
	// ListEvents lists the outbox events of a tenant, oldest first, after
	// the given event ID ("" = from the start).
	ListEvents(ctx context.Context, tenantID, after string, limit int) ([]*directory.Event, error)
}

// listEvents lists the tenant's events with s's Inspector, failing the test
// if s has none.
func listEvents(t *testing.T, s directory.Store, tenantID, after string, limit int) ([]*directory.Event, error) {
	t.Helper()
	in, ok := s.(Inspector)
	if !ok {
		t.Fatalf("%T does not implement storetest.Inspector", s)
	}
	return in.ListEvents(t.Context(), tenantID, after, limit)
}

// test is one conformance test, given a fresh store.
type test struct {
	name string
	fn   func(t *testing.T, s directory.Store)
}

// Run runs the suite. open must return a fresh, empty, migrated store, which
// also implements Inspector, and register its cleanup with t; it is called
// once per test, from that test's goroutine, concurrently with other tests.
func Run(t *testing.T, open func(t *testing.T) directory.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Store", []test{{"Ping", testPing}}},
		{"Tenants", tenantTests},
		{"Keys", keyTests},
		{"Users", userTests},
		{"SCIM", scimTests},
		{"InTx", txTests},
		{"Lists", listTests},
		{"Search", searchTests},
		{"Lifecycle", lifecycleTests},
		{"Usage", usageTests},
		{"Webhooks", webhookTests},
		{"Feed", feedTests},
		{"Concurrency", concurrencyTests},
		{"Idempotency", idempotencyTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, open(t))
				})
			}
		})
	}
}

func testPing(t *testing.T, s directory.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: got %v, want nil", err)
	}
}

// now returns the current time at the millisecond precision stores keep.
func now() time.Time { return directory.Now() }

// inTx runs fn in a transaction and fails the test if that fails.
func inTx(t *testing.T, s directory.Store, fn func(tx directory.Tx) error) {
	t.Helper()
	if err := s.InTx(t.Context(), fn); err != nil {
		t.Fatalf("InTx: %v", err)
	}
}

func newTenant(name string) *directory.Tenant {
	at := now()
	return &directory.Tenant{
		ID:        directory.NewID(directory.PrefixTenant, at),
		Name:      name,
		Plan:      directory.DefaultPlan(),
		Settings:  directory.DefaultSettings(),
		Roles:     directory.DefaultRoles(),
		CreatedAt: at,
		UpdatedAt: at,
	}
}

// createTenant stores a new tenant and returns it.
func createTenant(t *testing.T, s directory.Store, name string) *directory.Tenant {
	t.Helper()
	tn := newTenant(name)
	inTx(t, s, func(tx directory.Tx) error { return tx.CreateTenant(t.Context(), tn) })
	return tn
}

// NewUser returns an active user of the tenant, at version 1, for tests of
// a Store beyond this suite.
func NewUser(tenantID, email, username string) *directory.User {
	at := now()
	return &directory.User{
		ID:           directory.NewID(directory.PrefixUser, at),
		TenantID:     tenantID,
		Email:        email,
		Username:     username,
		Roles:        []string{"member"},
		Metadata:     map[string]any{},
		Status:       directory.StatusActive,
		AuthProvider: "local",
		CreatedAt:    at,
		UpdatedAt:    at,
		Version:      1,
	}
}

// createUser stores u and fails the test if that fails.
func createUser(t *testing.T, s directory.Store, u *directory.User) {
	t.Helper()
	inTx(t, s, func(tx directory.Tx) error { return tx.CreateUser(t.Context(), u) })
}

// tryCreateUser stores u in its own transaction and returns InTx's error.
func tryCreateUser(t *testing.T, s directory.Store, u *directory.User) error {
	t.Helper()
	return s.InTx(t.Context(), func(tx directory.Tx) error { return tx.CreateUser(t.Context(), u) })
}

// getUser returns the stored user and fails the test if it cannot.
func getUser(t *testing.T, s directory.Store, tenantID, id string) *directory.User {
	t.Helper()
	u, err := s.GetUser(t.Context(), tenantID, id)
	if err != nil {
		t.Fatalf("GetUser(%s, %s): %v", tenantID, id, err)
	}
	return u
}

// stored returns what a store gives back for u: u with the given unlifted
// suspensions, none when none are given (never nil).
func stored(u *directory.User, suspensions ...directory.Suspension) *directory.User {
	c := *u
	c.Suspensions = append([]directory.Suspension{}, suspensions...)
	return &c
}

func hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// wantNotFound fails the test unless err is directory.ErrNotFound.
func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("%s: got error %v, want ErrNotFound", what, err)
	}
}

// wantUnique fails the test unless err is a *directory.UniqueViolation on
// field.
func wantUnique(t *testing.T, what string, err error, field string) {
	t.Helper()
	var uv *directory.UniqueViolation
	if !errors.As(err, &uv) {
		t.Errorf("%s: got error %v, want *UniqueViolation{Field: %q}", what, err, field)
		return
	}
	if uv.Field != field {
		t.Errorf("%s: got UniqueViolation.Field %q, want %q", what, uv.Field, field)
	}
}

// checkEqual reports each field in which the structs got and want (pointers
// to the same struct type) differ.
func checkEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	for _, d := range diff(got, want) {
		t.Errorf("%s: %s", what, d)
	}
}

var timeType = reflect.TypeFor[time.Time]()

// diff returns one line per field in which got and want differ. Times are
// compared with Equal, and got's must be in UTC.
func diff(got, want any) []string {
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	if gv.Kind() == reflect.Pointer {
		if gv.IsNil() || wv.IsNil() {
			if gv.IsNil() != wv.IsNil() {
				return []string{fmt.Sprintf("got %v, want %v", got, want)}
			}
			return nil
		}
		gv, wv = gv.Elem(), wv.Elem()
	}
	var ds []string
	for i := range gv.NumField() {
		name := gv.Type().Field(i).Name
		g, w := gv.Field(i), wv.Field(i)
		if d := diffValue(g, w); d != "" {
			ds = append(ds, name+": "+d)
		}
	}
	return ds
}

func diffValue(g, w reflect.Value) string {
	switch {
	case g.Type() == timeType:
		gt, wt := g.Interface().(time.Time), w.Interface().(time.Time)
		if !gt.Equal(wt) {
			return fmt.Sprintf("got %s, want %s", gt.Format(time.RFC3339Nano), wt.Format(time.RFC3339Nano))
		}
		if gt.Location() != time.UTC {
			return fmt.Sprintf("got time in %s, want UTC", gt.Location())
		}
		return ""
	case g.Kind() == reflect.Pointer && g.Type().Elem() == timeType:
		if g.IsNil() || w.IsNil() {
			if g.IsNil() != w.IsNil() {
				return fmt.Sprintf("got %v, want %v", g.Interface(), w.Interface())
			}
			return ""
		}
		return diffValue(g.Elem(), w.Elem())
	case g.Kind() == reflect.Pointer && g.Type().Elem().Kind() == reflect.Struct:
		if g.IsNil() || w.IsNil() {
			if g.IsNil() != w.IsNil() {
				return fmt.Sprintf("got %v, want %v", g.Interface(), w.Interface())
			}
			return ""
		}
		return diffValue(g.Elem(), w.Elem())
	case g.Kind() == reflect.Struct:
		if ds := diff(g.Interface(), w.Interface()); len(ds) > 0 {
			return "{" + strings.Join(ds, "; ") + "}"
		}
		return ""
	case g.Kind() == reflect.Slice && structElem(g.Type().Elem()):
		// Element by element, so that times are compared with Equal.
		if g.IsNil() != w.IsNil() || g.Len() != w.Len() {
			return fmt.Sprintf("got %s, want %s", showSlice(g), showSlice(w))
		}
		var ds []string
		for i := range g.Len() {
			if d := diffValue(g.Index(i), w.Index(i)); d != "" {
				ds = append(ds, fmt.Sprintf("[%d]: %s", i, d))
			}
		}
		return strings.Join(ds, "; ")
	}
	if !reflect.DeepEqual(g.Interface(), w.Interface()) {
		return fmt.Sprintf("got %s, want %s", show(g.Interface()), show(w.Interface()))
	}
	return ""
}

// structElem reports whether t is a struct, or a pointer to one: the element
// types diffValue compares field by field.
func structElem(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct
}

// showSlice formats a slice for a length or nil-ness mismatch.
func showSlice(v reflect.Value) string {
	if v.IsNil() {
		return "nil"
	}
	return fmt.Sprintf("%d elements %+v", v.Len(), v.Interface())
}

// show formats v with the types of the values inside interfaces, so that a
// json.Number that came back as a float64 or a string is visible.
func show(v any) string {
	switch v := v.(type) {
	case map[string]any:
		if v == nil {
			return "map[string]any(nil)"
		}
		var b strings.Builder
		b.WriteString("{")
		for _, k := range slices.Sorted(maps.Keys(v)) {
			fmt.Fprintf(&b, "%q: %s, ", k, show(v[k]))
		}
		b.WriteString("}")
		return b.String()
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = show(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]directory.Change:
		var b strings.Builder
		b.WriteString("{")
		for _, k := range slices.Sorted(maps.Keys(v)) {
			fmt.Fprintf(&b, "%q: {From: %s, To: %s}, ", k, show(v[k].From), show(v[k].To))
		}
		b.WriteString("}")
		return b.String()
	case nil:
		return "nil"
	}
	return fmt.Sprintf("%T(%#v)", v, v)
}
