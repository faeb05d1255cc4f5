package policy

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	cedar "github.com/cedar-policy/cedar-go"

	"github.com/roster-dev/roster/internal/directory"
)

func TestNativeDefaultsAreCurrent(t *testing.T) {
	if New().forbids == nil {
		t.Error("default.cedar is not the text native.go implements, so Cedar decides the default set: " +
			"update defaultForbids and decideDefault, run TestDefaultFastPathMatchesCedar, then defaultSHA256")
	}
}

// TestDefaultFastPathMatchesCedar decides generated requests of a tenant
// with the default set natively and with Cedar, and wants the same answer
// from both: every combination of the values the default policies test,
// then random requests over wider values.
func TestDefaultFastPathMatchesCedar(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	native := engineAt(now)
	native.forbids = labelForbids(native.defaults) // even if the hash is stale
	viaCedar := engineAt(now)
	viaCedar.forbids = nil

	// Every notice the default set can give.
	var notices []string
	for i, p := range native.defaults.policies {
		if p.Effect() == cedar.Forbid {
			notices = append(notices, native.defaults.labels[i])
		}
	}
	notices = append(notices, noPermitNotice)

	run := func(t *testing.T, requests func(yield func(directory.AuthzRequest) bool)) {
		decisions := make(map[string]int) // "allow", or the notices of a deny
		denied := make(map[string]bool)   // by notice
		failures := 0
		for r := range requests {
			got := native.Authorize(context.Background(), r)
			want := viaCedar.Authorize(context.Background(), r)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s\nnative: %#v\n Cedar: %#v", describe(r), got, want)
				if failures++; failures == 10 {
					t.FailNow()
				}
			}
			if want == nil {
				decisions["allow"]++
				continue
			}
			de, ok := want.(*directory.Error)
			if !ok {
				t.Fatalf("%s: %v", describe(r), want)
			}
			decisions["deny: "+strings.Join(de.Notices, " + ")]++
			for _, n := range de.Notices {
				denied[n] = true
			}
		}
		total := 0
		for _, k := range slices.Sorted(maps.Keys(decisions)) {
			total += decisions[k]
			t.Logf("%6d  %s", decisions[k], k)
		}
		t.Logf("%d requests: %d allowed, %d denied", total, decisions["allow"], total-decisions["allow"])
		for _, n := range notices {
			if !denied[n] {
				t.Errorf("no request was denied with %q", n)
			}
		}
		if decisions["allow"] == 0 {
			t.Error("no request was allowed")
		}
	}

	t.Run("every combination", func(t *testing.T) {
		if testing.Short() {
			t.Skip("-short")
		}
		sp := smallSpace(now)
		run(t, func(yield func(directory.AuthzRequest) bool) {
			var o odometer
			n := 0
			for {
				if !yield(sp.request(o.choose)) {
					return
				}
				n++
				if !o.next() {
					break
				}
			}
			if want := sp.size(); n != want {
				t.Errorf("enumerated %d requests, want %d", n, want)
			}
		})
	})
	t.Run("random", func(t *testing.T) {
		sp := wideSpace(now)
		rng := rand.New(rand.NewPCG(20261122, 1))
		run(t, func(yield func(directory.AuthzRequest) bool) {
			for range 20_000 {
				if !yield(sp.request(rng.IntN)) {
					return
				}
			}
		})
	})
	t.Run("failures", func(t *testing.T) {
		for _, r := range []directory.AuthzRequest{
			req(writeKey(), nil, "readUser", alice()),
			req(nil, nil, directory.CedarUpdateUser, alice()),
			req(writeKey(), nil, directory.CedarUpdateUser, nil),
		} {
			got := native.Authorize(context.Background(), r)
			want := viaCedar.Authorize(context.Background(), r)
			if got == nil || want == nil || got.Error() != want.Error() {
				t.Errorf("%s: native %v, Cedar %v", describe(r), got, want)
			}
		}
	})
}

func describe(r directory.AuthzRequest) string {
	user := func(u *directory.User) string {
		if u == nil {
			return "none"
		}
		return fmt.Sprintf("%s roles=%q status=%q suspensions=%d owner=%t verified=%t",
			u.ID, u.Roles, u.Status, len(u.Suspensions), u.IsOwner, u.EmailVerified)
	}
	var scopes []string
	if r.Key != nil {
		scopes = r.Key.Scopes
	}
	return fmt.Sprintf("%s scopes=%q changed=%q roles_after=%q\n  acting:   %s\n  resource: %s",
		r.Action, scopes, r.ChangedFields, r.RolesAfter, user(r.ActingUser), user(r.Resource))
}

// space holds the values a generated request is made of.
type space struct {
	actions     []directory.CedarAction
	keyIDs      []string
	scopes      [][]string
	roles       [][]string
	statuses    []string
	suspensions [][]directory.Suspension
	flags       []bool // is_owner, email_verified
	actorFlags  []bool // of an acting user, which the default set does not read
	fields      [][]string
	rolesAfter  [][]string
}

// resourceID is the ID of every generated resource.
const resourceID = "usr_target"

// request builds a request with the values that choose picks: choose(n)
// returns one of 0…n-1.
func (sp *space) request(choose func(n int) int) directory.AuthzRequest {
	user := func(id string, flags []bool) *directory.User {
		return &directory.User{
			ID:            id,
			Roles:         pick(choose, sp.roles),
			Status:        pick(choose, sp.statuses),
			Suspensions:   pick(choose, sp.suspensions),
			IsOwner:       pick(choose, flags),
			EmailVerified: pick(choose, flags),
		}
	}
	r := directory.AuthzRequest{
		Tenant:        tenant(""),
		Key:           &directory.Key{ID: pick(choose, sp.keyIDs), Scopes: pick(choose, sp.scopes)},
		Action:        pick(choose, sp.actions),
		Resource:      user(resourceID, sp.flags),
		ChangedFields: pick(choose, sp.fields),
		RolesAfter:    pick(choose, sp.rolesAfter),
	}
	switch choose(3) {
	case 1: // the resource acts on itself, with other attributes in ActingUser
		r.ActingUser = user(resourceID, sp.actorFlags)
	case 2:
		r.ActingUser = user("usr_actor", sp.actorFlags)
	}
	return r
}

// size is how many requests request can build.
func (sp *space) size() int {
	user := len(sp.roles) * len(sp.statuses) * len(sp.suspensions)
	resource := user * len(sp.flags) * len(sp.flags)
	actor := user * len(sp.actorFlags) * len(sp.actorFlags)
	return len(sp.keyIDs) * len(sp.scopes) * len(sp.actions) * resource *
		len(sp.fields) * len(sp.rolesAfter) * (1 + 2*actor)
}

func pick[T any](choose func(int) int, options []T) T { return options[choose(len(options))] }

// smallSpace holds two values of each thing the default policies test,
// one that satisfies the test and one that does not.
func smallSpace(now time.Time) *space {
	return &space{
		actions:     sortedActions(),
		keyIDs:      []string{"key_1"},
		scopes:      [][]string{{directory.ScopeUsersRead}, {directory.ScopeUsersWrite}},
		roles:       [][]string{nil, {"admin"}},
		statuses:    []string{directory.StatusActive, directory.StatusDeactivated},
		suspensions: [][]directory.Suspension{nil, {{ID: "sus_1", CreatedAt: now.Add(-time.Hour)}}},
		flags:       []bool{false, true},
		actorFlags:  []bool{false},
		fields:      subsets("roles", "email_verified", "secure_metadata"),
		rolesAfter:  [][]string{nil},
	}
}

// wideSpace holds more values: other scopes, roles and fields, every
// status, suspensions in force, ended and to come, and a key whose ID is
// the resource's.
func wideSpace(now time.Time) *space {
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	return &space{
		actions: sortedActions(),
		keyIDs:  []string{"key_1", resourceID},
		scopes: subsets(directory.ScopeUsersRead, directory.ScopeUsersWrite, directory.ScopeAdmin,
			directory.ScopePlatform, "Admin", "users:write "),
		roles: subsets("admin", "member", "viewer", "Admin"),
		statuses: []string{directory.StatusActive, directory.StatusDeactivated, directory.StatusDeleting,
			"", "Active"},
		suspensions: [][]directory.Suspension{
			nil,
			{{ID: "sus_open", CreatedAt: now.Add(-time.Hour)}},
			{{ID: "sus_ends_later", CreatedAt: now.Add(-time.Hour), EndsAt: at(time.Hour)}},
			{{ID: "sus_ended", CreatedAt: now.Add(-2 * time.Hour), EndsAt: at(-time.Hour)}},
			{{ID: "sus_ends_now", CreatedAt: now.Add(-time.Hour), EndsAt: at(0)}},
			{{ID: "sus_future", CreatedAt: now.Add(time.Hour), EndsAt: at(2 * time.Hour)}},
			{{ID: "sus_ended", EndsAt: at(-time.Hour)}, {ID: "sus_open"}},
		},
		flags:      []bool{false, true},
		actorFlags: []bool{false, true},
		fields: subsets("name", "email", "email_verified", "roles", "secure_metadata", "metadata",
			"username", "status"),
		rolesAfter: append([][]string{{}}, subsets("admin", "member", "viewer")...),
	}
}

// sortedActions are the actions the Engine knows, sorted.
func sortedActions() []directory.CedarAction {
	return slices.Sorted(maps.Keys(actions))
}

// subsets returns every subset of values, nil first.
func subsets(values ...string) [][]string {
	out := [][]string{nil}
	for _, v := range values {
		for _, s := range out {
			out = append(out, append(slices.Clip(s), v))
		}
	}
	return out
}

// odometer enumerates every sequence of choices a builder can make, as
// the digits of a number in mixed radix: run the builder with choose, then
// call next, until next returns false.
type odometer struct {
	digits, sizes []int // of the current sequence
	pos           int   // the next choice of the current run
}

func (o *odometer) choose(n int) int {
	if o.pos == len(o.digits) {
		o.digits = append(o.digits, 0)
		o.sizes = append(o.sizes, n)
	}
	d := o.digits[o.pos]
	o.pos++
	return d
}

// next moves to the sequence after the last run's, and reports whether
// there is one.
func (o *odometer) next() bool {
	o.digits, o.sizes, o.pos = o.digits[:o.pos], o.sizes[:o.pos], 0
	for i := len(o.digits) - 1; i >= 0; i-- {
		if o.digits[i]++; o.digits[i] < o.sizes[i] {
			o.digits, o.sizes = o.digits[:i+1], o.sizes[:i+1]
			return true
		}
	}
	return false
}
