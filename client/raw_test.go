package client_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/roster-dev/roster/client"
	"github.com/roster-dev/roster/internal/directory"
)

// fieldCodes maps each failing field of err's problem to its code.
func fieldCodes(t *testing.T, err error) (*client.Problem, map[string]string) {
	t.Helper()
	var p *client.Problem
	if !errors.As(err, &p) {
		t.Fatalf("err = %v (%T), want a *Problem", err, err)
	}
	codes := map[string]string{}
	for _, fe := range p.Errors {
		codes[fe.Field] = fe.Code
	}
	return p, codes
}

// TestCreateRaw: a raw body reaches the server as it is, members UserInput
// has no field for included, and what the server refuses it names itself.
func TestCreateRaw(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ctx := context.Background()

	u, err := c.CreateRaw(ctx, []byte(`{"email": "raw@example.com", "name": "Raw Body", "external_id": "ext-42", "metadata": {"n": 1}}`))
	if err != nil {
		t.Fatalf("create raw: %v", err)
	}
	if u.Email != "raw@example.com" || u.Name != "Raw Body" || u.Version != 1 {
		t.Errorf("created = %+v", u)
	}
	got, err := c.Get(ctx, u.ID)
	if err != nil || got.Name != "Raw Body" {
		t.Fatalf("get = %+v, %v", got, err)
	}

	_, err = c.CreateRaw(ctx, []byte(`{"email": "refused@example.com", "nickname": "al", "id": "usr_01ARZ3NDEKTSV4RRFFQ69G5FAV"}`))
	p, codes := fieldCodes(t, err)
	if p.Status != 400 || codes["nickname"] != client.CodeUnknownField || codes["id"] != client.CodeReadOnlyField {
		t.Errorf("problem %d %s, errors %v: want 400 naming nickname unknown_field and id read_only_field", p.Status, p.Code, codes)
	}
	if got := collect(t, c.List(ctx, client.ListOptions{Email: "refused@example.com"})); len(got) != 0 {
		t.Errorf("a refused raw create stored %d users", len(got))
	}

	// A dry run is a call option like any other.
	dry, err := c.CreateRaw(ctx, []byte(`{"username": "dryraw"}`), client.DryRun())
	if err != nil || dry.Username != "dryraw" {
		t.Fatalf("dry run = %+v, %v", dry, err)
	}
	if got := collect(t, c.List(ctx, client.ListOptions{Username: "dryraw"})); len(got) != 0 {
		t.Errorf("a dry run stored %d users", len(got))
	}

	// Text that is not JSON is not sent.
	if _, err := c.CreateRaw(ctx, []byte(`{"email": `)); err == nil || errors.As(err, new(*client.Problem)) {
		t.Errorf("invalid JSON: %v, want a local error", err)
	}
}

// TestUpdateRaw: a raw application/json partial update sets what it names,
// clears what it sets null, leaves the rest, and is refused by the server
// with every bad member named.
func TestUpdateRaw(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ctx := context.Background()
	u := mustCreate(t, c, client.UserInput{Email: "upd@example.com", Name: "Before", Company: "Acme", Metadata: map[string]any{"a": "1"}})

	got, err := c.UpdateRaw(ctx, u.ID, []byte(`{"name": "After", "company": null}`))
	if err != nil {
		t.Fatalf("update raw: %v", err)
	}
	if got.Name != "After" || got.Company != "" || got.Email != "upd@example.com" || got.Metadata["a"] != "1" || got.Version != 2 {
		t.Errorf("updated = %+v", got)
	}

	_, err = c.UpdateRaw(ctx, u.ID, []byte(`{"name": "Never", "nickname": "x", "version": 9, "email_verified": "yes"}`))
	p, codes := fieldCodes(t, err)
	if p.Status != 400 || codes["nickname"] != client.CodeUnknownField || codes["version"] != client.CodeReadOnlyField {
		t.Errorf("problem %d %s, errors %v: want 400 naming nickname and version", p.Status, p.Code, codes)
	}
	if now, _ := c.Get(ctx, u.ID); now.Name != "After" || now.Version != 2 {
		t.Errorf("a refused raw update wrote: %+v", now)
	}

	// A RawPatch goes where any Patch goes: conditional on a version.
	if _, err := c.UpdateIf(ctx, u.ID, 1, client.RawPatch(`{"name": "Stale"}`)); !client.IsPreconditionFailed(err) {
		t.Errorf("stale version: %v, want 412", err)
	}
	if got, err := c.UpdateIf(ctx, u.ID, 2, client.RawPatch(`{"name": "Fresh"}`)); err != nil || got.Name != "Fresh" {
		t.Errorf("fresh version: %+v, %v", got, err)
	}
	if _, err := c.UpdateRaw(ctx, u.ID, []byte(`not json`)); err == nil || errors.As(err, new(*client.Problem)) {
		t.Errorf("invalid JSON: %v, want a local error", err)
	}
}

// TestSelfAndTenant: the client reads its own key and its tenant, whose
// grace period tells a deleted user's PurgeAfter.
func TestSelfAndTenant(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin := e.client()
	reader := client.New(e.url, e.keyWith(t, "users:read"))
	platform := e.platform(t)

	for _, c := range []struct {
		name   string
		c      *client.Client
		tenant string
		scopes []string
	}{
		{"admin", admin, e.tenant, []string{"admin"}},
		{"users:read", reader, e.tenant, []string{"users:read"}},
		{"platform", platform, "", []string{"platform"}},
	} {
		k, err := c.c.Self(ctx)
		if err != nil {
			t.Fatalf("%s: self: %v", c.name, err)
		}
		if k.ID == "" || k.TenantID != c.tenant || !slices.Equal(k.Scopes, c.scopes) || k.Token != "" {
			t.Errorf("%s: self = %+v, want tenant %q scopes %v and no token", c.name, k, c.tenant, c.scopes)
		}
	}
	if _, err := client.New(e.url, "rst_nope").Self(ctx); !client.HasCode(err, client.CodeUnauthenticated) {
		t.Errorf("a bad token: %v, want unauthenticated", err)
	}

	const grace = 2 * 24 * time.Hour
	before, err := reader.Tenant(ctx)
	if err != nil {
		t.Fatalf("tenant: %v", err)
	}
	if before.ID != e.tenant || before.Name != "Acme" || !slices.Contains(before.Roles, "member") || before.Settings.DeletionGrace() != 0 {
		t.Errorf("tenant = %+v", before)
	}
	if _, err := e.svc.UpdateTenant(ctx, e.tenant, func(t *directory.Tenant) error {
		t.Settings.DeletionGraceSeconds = int64(grace / time.Second)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	after, err := platform.Tenant(ctx)
	if err != nil || after.ID != e.tenant || after.Settings.DeletionGrace() != grace {
		t.Fatalf("tenant after the change = %+v, %v; want a grace of %v", after, err, grace)
	}

	u := mustCreate(t, admin, client.UserInput{Email: "grace@example.com"})
	if u.PurgeAfter != nil {
		t.Errorf("a new user's PurgeAfter = %v", u.PurgeAfter)
	}
	start := time.Now()
	deleted, err := admin.Delete(ctx, u.ID)
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if deleted.PurgeAfter == nil || deleted.PurgeAfter.Before(start.Add(grace-time.Second)) || deleted.PurgeAfter.After(time.Now().Add(grace)) {
		t.Errorf("PurgeAfter = %v, want the deletion plus %v", deleted.PurgeAfter, grace)
	}
	restored, err := admin.Restore(ctx, u.ID)
	if err != nil || restored.PurgeAfter != nil {
		t.Errorf("restored: PurgeAfter %v, %v; want nil", restored.PurgeAfter, err)
	}
}
