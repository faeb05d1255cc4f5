package client_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/roster-dev/roster/client"
)

func TestOptionalEncoding(t *testing.T) {
	p := client.UserPatch{
		Name:          client.Set("Bob"),
		EmailVerified: client.Set(false), // a zero value, set all the same
		Bio:           client.Clear[string](),
		Roles:         client.Set([]string{}),
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": "Bob", "email_verified": false, "bio": nil, "roles": []any{}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("encoded %s, want %v", b, want)
	}
	if v, ok := p.Name.Get(); !ok || v != "Bob" {
		t.Errorf("Name.Get = %q, %v", v, ok)
	}
	if _, ok := p.Bio.Get(); ok || !p.Bio.IsCleared() || p.Bio.IsZero() {
		t.Errorf("Bio is not cleared")
	}
	if !p.Country.IsZero() || p.Country.IsCleared() {
		t.Errorf("Country is not unset")
	}
}

func TestUpdateTypedPatch(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ctx := context.Background()
	u := mustCreate(t, c, client.UserInput{
		Email: "carol@example.com", EmailVerified: true, Name: "Carol", Bio: "Hello",
		Country: "DE", Metadata: map[string]any{"a": "1", "b": "2"},
	})

	got, err := c.Update(ctx, u.ID, client.UserPatch{
		Name:          client.Set("Carol King"),
		EmailVerified: client.Set(false),
		Bio:           client.Clear[string](),
		Metadata:      client.Set(map[string]any{"c": "3"}),
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if got.Name != "Carol King" || got.EmailVerified || got.Bio != "" || got.Version != 2 {
		t.Errorf("updated = %+v", got)
	}
	if got.Country != "DE" || got.Email != "carol@example.com" {
		t.Errorf("untouched fields changed: %+v", got)
	}
	if !reflect.DeepEqual(got.Metadata, map[string]any{"c": "3"}) {
		t.Errorf("metadata = %v, want it replaced whole", got.Metadata)
	}
	h := collect(t, c.History(ctx, u.ID, 0))
	var changed []string
	for f := range h[0].Changes {
		changed = append(changed, f)
	}
	slices.Sort(changed)
	if want := []string{"bio", "email_verified", "metadata", "name"}; !slices.Equal(changed, want) {
		t.Errorf("changed %v, want %v", changed, want)
	}

	// The zero patch changes nothing.
	same, err := c.Update(ctx, u.ID, client.UserPatch{})
	if err != nil || same.Version != 2 {
		t.Errorf("empty patch = %+v, %v; want version 2", same, err)
	}
	// A dry run answers the change and writes nothing.
	dry, err := c.Update(ctx, u.ID, client.UserPatch{Company: client.Set("Acme")}, client.DryRun())
	if err != nil || dry.Company != "Acme" {
		t.Errorf("dry run = %+v, %v", dry, err)
	}
	if now, _ := c.Get(ctx, u.ID); now.Company != "" || now.Version != 2 {
		t.Errorf("a dry run wrote: %+v", now)
	}
}

func TestUpdateMergePatch(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ctx := context.Background()
	u := mustCreate(t, c, client.UserInput{Email: "m@example.com", Name: "Merge", Metadata: map[string]any{"theme": "dark", "lang": "en"}})
	got, err := c.Update(ctx, u.ID, client.MergePatch(`{"metadata": {"theme": null, "plan": "pro"}, "name": null}`))
	if err != nil {
		t.Fatalf("merge patch: %v", err)
	}
	if want := map[string]any{"lang": "en", "plan": "pro"}; !reflect.DeepEqual(got.Metadata, want) {
		t.Errorf("metadata = %v, want %v", got.Metadata, want)
	}
	if got.Name != "" {
		t.Errorf("name = %q, want cleared", got.Name)
	}
	if _, err := c.Update(ctx, u.ID, client.MergePatch(`{"name":`)); err == nil {
		t.Error("a merge patch that is not JSON was sent")
	}
}

func TestUpdateJSONPatch(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ctx := context.Background()
	u := mustCreate(t, c, client.UserInput{Email: "j@example.com", Metadata: map[string]any{"theme": "dark", "x": "y"}})
	got, err := c.Update(ctx, u.ID, client.JSONPatch{
		{Op: "test", Path: "/email", Value: "j@example.com"},
		{Op: "add", Path: "/roles/-", Value: "admin"},
		{Op: "remove", Path: "/metadata/theme"},
		{Op: "copy", From: "/metadata/x", Path: "/metadata/z"},
	})
	if err != nil {
		t.Fatalf("json patch: %v", err)
	}
	if !slices.Equal(got.Roles, []string{"member", "admin"}) || !reflect.DeepEqual(got.Metadata, map[string]any{"x": "y", "z": "y"}) {
		t.Errorf("patched = roles %v, metadata %v", got.Roles, got.Metadata)
	}
	_, err = c.Update(ctx, u.ID, client.JSONPatch{{Op: "test", Path: "/email", Value: "other@example.com"}, {Op: "remove", Path: "/roles/0"}})
	if !client.HasCode(err, client.CodePatchConflict) {
		t.Errorf("failed test: %v, want patch_conflict", err)
	}
	if now, _ := c.Get(ctx, u.ID); len(now.Roles) != 2 {
		t.Errorf("a failed JSON Patch wrote: roles %v", now.Roles)
	}
}

func TestUpdateIfPreconditionFailed(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ctx := context.Background()
	u := mustCreate(t, c, client.UserInput{Email: "v@example.com"})
	if _, err := c.UpdateIf(ctx, u.ID, u.Version, client.UserPatch{Name: client.Set("First")}); err != nil {
		t.Fatalf("update at the current version: %v", err)
	}
	_, err := c.UpdateIf(ctx, u.ID, u.Version, client.UserPatch{Name: client.Set("Second")})
	if !client.IsPreconditionFailed(err) {
		t.Fatalf("update at a stale version: %v, want 412", err)
	}
	if now, _ := c.Get(ctx, u.ID); now.Name != "First" || now.Version != 2 {
		t.Errorf("a refused write wrote: %+v", now)
	}
	// The lifecycle writes take the precondition too.
	if _, err := c.Deactivate(ctx, u.ID, client.IfVersion(1)); !client.IsPreconditionFailed(err) {
		t.Errorf("deactivate at a stale version: %v, want 412", err)
	}
}

func TestModifyRetriesAfterConcurrentWrite(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	other := e.client()
	ctx := context.Background()
	u := mustCreate(t, c, client.UserInput{Email: "race@example.com", Roles: []string{"member"}})

	var seen []int64
	got, err := c.Modify(ctx, u.ID, func(cur *client.User) (client.Patch, error) {
		seen = append(seen, cur.Version)
		if len(seen) == 1 {
			// Another writer gets in between this read and its write.
			if _, err := other.Update(ctx, u.ID, client.UserPatch{Name: client.Set("Raced")}); err != nil {
				return nil, err
			}
		}
		return client.UserPatch{Roles: client.Set(append(cur.Roles, "viewer"))}, nil
	})
	if err != nil {
		t.Fatalf("modify: %v", err)
	}
	if !slices.Equal(seen, []int64{1, 2}) {
		t.Errorf("fn saw versions %v, want [1 2]", seen)
	}
	if got.Name != "Raced" || !slices.Equal(got.Roles, []string{"member", "viewer"}) || got.Version != 3 {
		t.Errorf("modified = %+v; want both writes kept", got)
	}

	// A user that keeps changing ends the retries with the 412.
	calls := 0
	_, err = c.Modify(ctx, u.ID, func(cur *client.User) (client.Patch, error) {
		calls++
		if _, err := other.Update(ctx, u.ID, client.UserPatch{Bio: client.Set(string(rune('a' + calls)))}); err != nil {
			return nil, err
		}
		return client.UserPatch{Company: client.Set("Never")}, nil
	})
	if !client.IsPreconditionFailed(err) || calls < 2 || calls > 10 {
		t.Errorf("modify of a busy user: %d calls, %v; want a bounded number then 412", calls, err)
	}

	// A nil patch writes nothing.
	before, _ := c.Get(ctx, u.ID)
	same, err := c.Modify(ctx, u.ID, func(*client.User) (client.Patch, error) { return nil, nil })
	if err != nil || same.Version != before.Version {
		t.Errorf("nil patch: %+v, %v", same, err)
	}
}

func TestWriteOnlyKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := mustCreate(t, e.client(), client.UserInput{Email: "w@example.com"})
	w := client.New(e.url, e.keyWith(t, "users:write"))
	got, err := w.Update(ctx, u.ID, client.UserPatch{Name: client.Set("Written")})
	if err != nil {
		t.Fatalf("update with users:write: %v", err)
	}
	if got.ID != u.ID || got.Version != 2 || got.Name != "" {
		t.Errorf("answer to a write-only key = %+v; want only its id and version", got)
	}
}
