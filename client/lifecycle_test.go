package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/roster-dev/roster/client"
)

func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ctx := context.Background()
	actor := mustCreate(t, c, client.UserInput{Email: "actor@example.com", Roles: []string{"admin"}})
	u := mustCreate(t, c, client.UserInput{Email: "life@example.com"})

	step := func(name string, got *client.User, err error, status client.Status, version int64) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.Status != status || got.Version != version {
			t.Errorf("%s: status %s version %d, want %s %d", name, got.Status, got.Version, status, version)
		}
	}
	got, err := c.Deactivate(ctx, u.ID, client.DryRun())
	step("dry-run deactivate", got, err, client.StatusDeactivated, 2)
	got, err = c.Deactivate(ctx, u.ID, client.IfVersion(1), client.ActingUser(actor.ID))
	step("deactivate", got, err, client.StatusDeactivated, 2)
	if !got.Deactivated {
		t.Errorf("deactivated = false")
	}
	got, err = c.Reactivate(ctx, u.ID)
	step("reactivate", got, err, client.StatusActive, 3)

	ends := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	s, err := c.Suspend(ctx, u.ID, client.SuspensionInput{Reason: "  Spam  ", EndsAt: &ends})
	if err != nil {
		t.Fatalf("suspend: %v", err)
	}
	if s.ID == "" || s.Reason != "Spam" || s.EndsAt == nil || !s.EndsAt.Equal(ends) || s.UserVersion != 4 {
		t.Errorf("suspension = %+v", s)
	}
	if _, err := c.Suspend(ctx, u.ID, client.SuspensionInput{Reason: ""}); !client.HasCode(err, client.CodeValidationFailed) {
		t.Errorf("empty reason: %v, want validation_failed", err)
	}
	now, _ := c.Get(ctx, u.ID)
	if len(now.Suspensions) != 1 || now.Suspensions[0].ID != s.ID {
		t.Errorf("suspensions = %+v", now.Suspensions)
	}
	got, err = c.LiftSuspension(ctx, u.ID, s.ID, client.IfVersion(s.UserVersion))
	step("lift", got, err, client.StatusActive, 5)
	if len(got.Suspensions) != 0 {
		t.Errorf("suspensions after lifting = %+v", got.Suspensions)
	}
	if _, err := c.LiftSuspension(ctx, u.ID, s.ID); !client.IsNotFound(err) {
		t.Errorf("lift again: %v, want 404", err)
	}

	got, err = c.Delete(ctx, u.ID)
	step("delete", got, err, client.StatusDeleting, 6)
	if _, err := c.Update(ctx, u.ID, client.UserPatch{Name: client.Set("No")}); !client.HasCode(err, client.CodeUserDeleting) {
		t.Errorf("update while deleting: %v, want user_deleting", err)
	}
	got, err = c.Restore(ctx, u.ID)
	step("restore", got, err, client.StatusActive, 7)

	var actions []string
	var acting string
	for a, err := range c.History(ctx, u.ID, 2) {
		if err != nil {
			t.Fatalf("history: %v", err)
		}
		actions = append(actions, a.Action)
		if a.Action == "user.deactivated" {
			acting = a.Actor.ActingUserID
		}
		if a.RequestID == "" || a.Actor.KeyID == "" {
			t.Errorf("entry %+v lacks its request or key", a)
		}
	}
	want := []string{"user.restored", "user.deleted", "user.unsuspended", "user.suspended", "user.reactivated", "user.deactivated", "user.created"}
	if !slices.Equal(actions, want) {
		t.Errorf("history %v, want %v", actions, want)
	}
	if acting != actor.ID {
		t.Errorf("acting user %q, want %q", acting, actor.ID)
	}
}

func TestRolesPoliciesUsage(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ctx := context.Background()
	roles, err := c.SetRoles(ctx, []string{"member", "admin", "viewer", "billing"})
	if err != nil || !slices.Equal(roles, []string{"member", "admin", "viewer", "billing"}) {
		t.Fatalf("set roles = %v, %v", roles, err)
	}
	if got, err := c.Roles(ctx); err != nil || !slices.Equal(got, roles) {
		t.Errorf("roles = %v, %v", got, err)
	}
	mustCreate(t, c, client.UserInput{Email: "billing@example.com", Roles: []string{"billing"}})
	if _, err := c.SetRoles(ctx, []string{"member"}); !client.HasCode(err, client.CodeRoleInUse) {
		t.Errorf("remove a held role: %v, want role_in_use", err)
	}

	ps, err := c.Policies(ctx)
	if err != nil || !ps.Default || ps.Policies == "" {
		t.Fatalf("policies = %+v, %v", ps, err)
	}
	text := `@notice("No billing role by key.")
forbid (principal, action == Action::"updateUser", resource)
when { context.roles.contains("billing") };
permit (principal, action, resource);`
	set, err := c.SetPolicies(ctx, text)
	if err != nil || set.Default || set.Policies != text {
		t.Fatalf("set policies = %+v, %v", set, err)
	}
	u := mustCreate(t, c, client.UserInput{Email: "denied@example.com"})
	_, err = c.Update(ctx, u.ID, client.UserPatch{Roles: client.Set([]string{"billing"})})
	var p *client.Problem
	if !errors.As(err, &p) || p.Code != client.CodeForbidden || !slices.Equal(p.Notices, []string{"No billing role by key."}) {
		t.Errorf("denied write: %v, want forbidden with the notice", err)
	}
	if _, err := c.SetPolicies(ctx, "permit (nonsense"); !client.HasCode(err, client.CodeValidationFailed) {
		t.Errorf("bad policy: %v, want validation_failed", err)
	}

	usage, err := c.Usage(ctx)
	if err != nil || usage.ActiveUsers.Used != 2 || usage.Writes.Used < 2 || !usage.PeriodEnd.After(usage.PeriodStart) {
		t.Errorf("usage = %+v, %v", usage, err)
	}
}

func TestWebhookEndpoints(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ctx := context.Background()
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer receiver.Close()

	w, err := c.CreateWebhookEndpoint(ctx, client.WebhookEndpointInput{URL: receiver.URL, Kind: client.KindEvents, Events: []string{"user.created"}})
	if err != nil {
		t.Fatalf("create endpoint: %v", err)
	}
	if w.ID == "" || w.Secret == "" || w.TimeoutMS != 2000 || !slices.Equal(w.Events, []string{"user.created"}) {
		t.Errorf("endpoint = %+v", w)
	}
	if _, err := c.CreateWebhookEndpoint(ctx, client.WebhookEndpointInput{URL: "ftp://x", Kind: "nope"}); !client.HasCode(err, client.CodeValidationFailed) {
		t.Errorf("bad endpoint: %v, want validation_failed", err)
	}
	list, err := c.WebhookEndpoints(ctx)
	if err != nil || len(list) != 1 || list[0].ID != w.ID || list[0].Secret != "" {
		t.Errorf("endpoints = %+v, %v", list, err)
	}
	one, err := c.WebhookEndpoint(ctx, w.ID)
	if err != nil || one.URL != receiver.URL {
		t.Errorf("endpoint = %+v, %v", one, err)
	}
	rotated, err := c.RotateWebhookSecret(ctx, w.ID, time.Hour)
	if err != nil || rotated.Secret == "" || rotated.Secret == w.Secret || rotated.PreviousSecretExpiresAt == nil {
		t.Errorf("rotated = %+v, %v", rotated, err)
	}

	u := mustCreate(t, c, client.UserInput{Email: "hooked@example.com"})
	deliveries := collect(t, c.Deliveries(ctx, w.ID, 1))
	if len(deliveries) != 1 || deliveries[0].UserID != u.ID {
		t.Errorf("deliveries = %+v", deliveries)
	}

	if err := c.DeleteWebhookEndpoint(ctx, w.ID); err != nil {
		t.Fatalf("delete endpoint: %v", err)
	}
	if _, err := c.WebhookEndpoint(ctx, w.ID); !client.IsNotFound(err) {
		t.Errorf("deleted endpoint: %v, want 404", err)
	}
}

func TestKeys(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ctx := context.Background()
	expires := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Millisecond)
	k, err := c.CreateKey(ctx, client.KeyInput{Name: "sync job", Scopes: []string{"read_write"}, ExpiresAt: &expires})
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	if k.Token == "" || k.Prefix != k.Token[:8] || k.ExpiresAt == nil || !k.ExpiresAt.Equal(expires) {
		t.Errorf("key = %+v", k)
	}
	if _, err := client.New(e.url, k.Token).Usage(ctx); err != nil {
		t.Errorf("the new token does not work: %v", err)
	}
	got, err := c.Key(ctx, k.ID)
	if err != nil || got.Name != "sync job" || got.Token != "" {
		t.Errorf("key = %+v, %v", got, err)
	}

	rotated, err := c.RotateKey(ctx, k.ID, 0)
	if err != nil || rotated.Token == "" || rotated.Replaces == nil || rotated.Replaces.ID != k.ID {
		t.Fatalf("rotated = %+v, %v", rotated, err)
	}
	if _, err := client.New(e.url, k.Token).Usage(ctx); !client.HasCode(err, client.CodeKeyExpired) {
		t.Errorf("old token after a rotation without grace: %v, want key_expired", err)
	}

	revoked, err := c.RevokeKey(ctx, rotated.ID)
	if err != nil || revoked.RevokedAt == nil {
		t.Errorf("revoked = %+v, %v", revoked, err)
	}
	keys := collect(t, c.Keys(ctx, 1))
	if len(keys) != 3 { // the admin key, the rotated one and its replacement
		t.Errorf("%d keys, want 3", len(keys))
	}

	var admin string
	for _, k := range keys {
		if slices.Contains(k.Scopes, "admin") {
			admin = k.ID
		}
	}
	if _, err := c.RevokeKey(ctx, admin); !client.HasCode(err, client.CodeLastAdminKey) {
		t.Errorf("revoke the last admin key: %v, want last_admin_key", err)
	}
	if _, err := c.RevokeKey(ctx, admin, client.Force()); err != nil {
		t.Errorf("forced revocation: %v", err)
	}

	audit := collect(t, e.platform(t).AdminAudit(ctx, 2))
	var actions []string
	for _, a := range audit {
		actions = append(actions, a.Action)
	}
	// Newest first; the tenant's first admin key came before the test.
	if want := []string{"key.revoked", "key.revoked", "key.rotated", "key.created"}; len(actions) < 4 || !slices.Equal(actions[:4], want) {
		t.Errorf("admin audit %v, want it to start with %v", actions, want)
	}
}
