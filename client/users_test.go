package client_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/roster-dev/roster/client"
	"github.com/roster-dev/roster/internal/directory"
)

func TestCreateGetReplace(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ctx := context.Background()
	consent := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	created, err := c.Create(ctx, client.UserInput{
		Email: "Alice@Example.com", Name: "Alice Smith", Country: "fr", Locale: "fr-FR",
		Location:       &client.Location{Longitude: 2.35, Latitude: 48.85},
		Metadata:       map[string]any{"theme": "dark", "n": 9007199254740993},
		SecureMetadata: map[string]any{"ssn": "x"},
		ConsentedAt:    &consent, ConsentMethod: "opt-in",
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.Email != "Alice@example.com" || created.Country != "FR" || created.Version != 1 || created.Status != client.StatusActive {
		t.Errorf("created = %+v", created)
	}
	if !slices.Equal(created.Roles, []string{"member"}) {
		t.Errorf("roles = %v, want the default [member]", created.Roles)
	}
	if created.Location == nil || *created.Location != (client.Location{Longitude: 2.35, Latitude: 48.85}) {
		t.Errorf("location = %+v", created.Location)
	}
	if created.ConsentedAt == nil || !created.ConsentedAt.Equal(consent) {
		t.Errorf("consented_at = %v, want %v", created.ConsentedAt, consent)
	}

	got, err := c.Get(ctx, created.ID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if !reflect.DeepEqual(got, created) {
		t.Errorf("get = %+v\nwant %+v", got, created)
	}
	// A number past 2^53 keeps its digits.
	if n, ok := got.Metadata["n"].(json.Number); !ok || n.String() != "9007199254740993" {
		t.Errorf("metadata n = %#v", got.Metadata["n"])
	}
	v, err := c.Version(ctx, created.ID)
	if err != nil || v != 1 {
		t.Errorf("version = %d, %v; want 1", v, err)
	}

	// Replace from what Get answered: what is left out is reset, the
	// secure metadata stays.
	in := got.Input()
	in.Name, in.Country = "Alice Martin", ""
	replaced, err := c.Replace(ctx, created.ID, in, client.IfVersion(got.Version))
	if err != nil {
		t.Fatalf("replace: %v", err)
	}
	if replaced.Name != "Alice Martin" || replaced.Country != "" || replaced.Locale != "fr-FR" || replaced.Version != 2 {
		t.Errorf("replaced = %+v", replaced)
	}
	if !reflect.DeepEqual(replaced.Metadata, got.Metadata) {
		t.Errorf("metadata = %v, want %v", replaced.Metadata, got.Metadata)
	}
	history := collect(t, c.History(ctx, created.ID, 0))
	if len(history) != 2 || history[0].Action != "user.updated" {
		t.Fatalf("history = %+v", history)
	}
	if _, ok := history[0].Changes["secure_metadata"]; ok {
		t.Errorf("replace changed secure_metadata: %v", history[0].Changes)
	}

	// A no-op replacement keeps the version.
	same, err := c.Replace(ctx, created.ID, in)
	if err != nil || same.Version != 2 {
		t.Errorf("no-op replace = %+v, %v", same, err)
	}

	if _, err := c.Get(ctx, "usr_01JD8X2Q5T3N6W9Y0Z1A2B3C4D"); !client.IsNotFound(err) {
		t.Errorf("get unknown: %v, want a 404", err)
	}
}

func TestCreateDryRun(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ctx := context.Background()
	u, err := c.Create(ctx, client.UserInput{Email: "dry@example.com"}, client.DryRun())
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if u.Email != "dry@example.com" || u.ID == "" {
		t.Errorf("dry run = %+v", u)
	}
	if got := collect(t, c.List(ctx, client.ListOptions{Email: "dry@example.com"})); len(got) != 0 {
		t.Errorf("a dry run stored %d users", len(got))
	}
	if _, err := c.Get(ctx, u.ID); !client.IsNotFound(err) {
		t.Errorf("get dry-run user: %v, want a 404", err)
	}
}

func TestUnknownMembersDecode(t *testing.T) {
	// A newer server may answer members this client does not know.
	body := `{"object":"user","id":"usr_1","email":"a@b.c","version":3,"roles":["x"],"future":{"a":[1]},"location":{"type":"Point","coordinates":[1.5,2.5]}}`
	var u client.User
	if err := json.Unmarshal([]byte(body), &u); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if u.ID != "usr_1" || u.Version != 3 || u.Location == nil || u.Location.Latitude != 2.5 {
		t.Errorf("decoded %+v", u)
	}
}

func TestProblemFieldErrors(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ctx := context.Background()
	_, err := c.Create(ctx, client.UserInput{Email: "bad@example.com", Country: "XX", Birthdate: "2999-01-01", Website: "ftp://nope"})
	var p *client.Problem
	if !errors.As(err, &p) {
		t.Fatalf("err = %v (%T), want a *Problem", err, err)
	}
	if p.Status != 422 || p.Code != client.CodeValidationFailed || p.Type != "https://roster.dev/problems/validation_failed" {
		t.Errorf("problem = %+v", p)
	}
	if len(p.RequestID) != 26 {
		t.Errorf("request id = %q", p.RequestID)
	}
	var fields []string
	for _, fe := range p.Errors {
		fields = append(fields, fe.Field)
		if fe.Code == "" || fe.Message == "" {
			t.Errorf("field error %+v lacks a code or message", fe)
		}
	}
	slices.Sort(fields)
	if want := []string{"birthdate", "country", "website"}; !slices.Equal(fields, want) {
		t.Errorf("fields = %v, want %v", fields, want)
	}
	if !client.HasCode(err, client.CodeValidationFailed) || client.IsNotFound(err) {
		t.Errorf("HasCode / IsNotFound disagree with %v", err)
	}
	if got := collect(t, c.List(ctx, client.ListOptions{Email: "bad@example.com"})); len(got) != 0 {
		t.Errorf("a refused create stored %d users", len(got))
	}
}

func TestListPages(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ctx := context.Background()
	var want []string
	for i := range 7 {
		u := mustCreate(t, c, client.UserInput{Username: "user" + string(rune('a'+i))})
		want = append(want, u.ID)
	}
	if _, err := c.Deactivate(ctx, want[2]); err != nil {
		t.Fatalf("deactivate: %v", err)
	}
	slices.Reverse(want) // newest first
	var got []string
	for u, err := range c.List(ctx, client.ListOptions{PageSize: 2}) {
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		got = append(got, u.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("listed %v, want %v", got, want)
	}

	deactivated := collect(t, c.List(ctx, client.ListOptions{Status: client.StatusDeactivated, PageSize: 1}))
	if len(deactivated) != 1 || deactivated[0].ID != want[4] {
		t.Errorf("deactivated = %v", deactivated)
	}
	byName := collect(t, c.List(ctx, client.ListOptions{Username: "USERD"}))
	if len(byName) != 1 || byName[0].Username != "userd" {
		t.Errorf("by username = %v", byName)
	}

	searched := collect(t, c.List(ctx, client.ListOptions{Search: "USER", Status: client.StatusActive, PageSize: 4}))
	if len(searched) != 6 || searched[0].ID != want[0] {
		t.Errorf("search USER among active users: %d users, first %v", len(searched), searched)
	}
	if got := collect(t, c.List(ctx, client.ListOptions{Search: "usere"})); len(got) != 1 || got[0].Username != "usere" {
		t.Errorf("search usere = %v", got)
	}

	// Stopping the loop stops the walk.
	n := 0
	for range c.List(ctx, client.ListOptions{PageSize: 2}) {
		n++
		if n == 3 {
			break
		}
	}
	if n != 3 {
		t.Errorf("walked %d users, want 3", n)
	}

	// A failure is yielded once and ends the walk.
	var errs int
	for u, err := range c.List(ctx, client.ListOptions{Status: "gone"}) {
		if err == nil || u != nil {
			t.Fatalf("yielded %v, %v; want a failure", u, err)
		}
		errs++
		if !client.HasCode(err, client.CodeInvalidRequest) {
			t.Errorf("err = %v", err)
		}
	}
	if errs != 1 {
		t.Errorf("%d failures yielded, want 1", errs)
	}
}

func TestPicture(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ctx := context.Background()
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.RGBA{R: 255, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	u := mustCreate(t, c, client.UserInput{Email: "pic@example.com", Picture: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())})
	pic, err := c.Picture(ctx, u.ID)
	if err != nil {
		t.Fatalf("picture: %v", err)
	}
	if pic.ContentType != "image/png" || !bytes.Equal(pic.Data, buf.Bytes()) || pic.ETag == "" {
		t.Errorf("picture = %s %q, %d bytes; want the PNG sent", pic.ContentType, pic.ETag, len(pic.Data))
	}
	plain := mustCreate(t, c, client.UserInput{Email: "nopic@example.com"})
	if _, err := c.Picture(ctx, plain.ID); !client.IsNotFound(err) {
		t.Errorf("picture of a user without one: %v, want a 404", err)
	}
}

func TestTenantOption(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := mustCreate(t, e.client(), client.UserInput{Email: "p@example.com"})
	_, platform, err := e.svc.CreateKey(ctx, "", directory.KeyInput{Name: "platform"}, directory.Actor{})
	if err != nil {
		t.Fatalf("create platform key: %v", err)
	}
	// A platform key must name the tenant it acts in.
	if _, err := client.New(e.url, platform).Get(ctx, u.ID); !client.HasCode(err, client.CodeInvalidRequest) {
		t.Errorf("without X-Tenant-ID: %v, want invalid_request", err)
	}
	got, err := client.New(e.url, platform, client.WithTenant(e.tenant)).Get(ctx, u.ID)
	if err != nil || got.Email != "p@example.com" {
		t.Errorf("with X-Tenant-ID: %+v, %v", got, err)
	}
}
