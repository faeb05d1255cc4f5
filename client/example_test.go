package client_test

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/roster-dev/roster/client"
)

func ExampleClient_Create() {
	baseURL, token := exampleServer() // in your code: "http://127.0.0.1:8080" and your key
	c := client.New(baseURL, token)
	ctx := context.Background()

	u, err := c.Create(ctx, client.UserInput{
		Email:    "alice@example.com",
		Name:     "Alice Smith",
		Country:  "fr",
		Metadata: map[string]any{"theme": "dark"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(u.Email, u.Name, u.Country, u.Roles, u.Status, u.Version)
	// Output: alice@example.com Alice Smith FR [member] active 1
}

func ExampleClient_Update() {
	baseURL, token := exampleServer()
	c := client.New(baseURL, token)
	ctx := context.Background()
	u, _ := c.Create(ctx, client.UserInput{Email: "bob@example.com", Name: "Bob", Bio: "Hi", Metadata: map[string]any{"theme": "dark", "lang": "en"}})

	// A typed patch: set one field, clear another, leave the rest alone.
	u, err := c.Update(ctx, u.ID, client.UserPatch{
		Name: client.Set("Bob Stone"),
		Bio:  client.Clear[string](),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s, bio %q, version %d\n", u.Name, u.Bio, u.Version)

	// A merge patch merges into metadata; null deletes a key.
	u, _ = c.Update(ctx, u.ID, client.MergePatch(`{"metadata": {"theme": null}}`))
	fmt.Println(u.Metadata)

	// JSON Patch operations, only if nobody changed the user meanwhile.
	u, _ = c.UpdateIf(ctx, u.ID, u.Version, client.JSONPatch{{Op: "add", Path: "/roles/-", Value: "admin"}})
	fmt.Println(u.Roles, u.Version)
	// Output:
	// Bob Stone, bio "", version 2
	// map[lang:en]
	// [member admin] 4
}

func ExampleClient_Modify() {
	baseURL, token := exampleServer()
	c := client.New(baseURL, token)
	ctx := context.Background()
	u, _ := c.Create(ctx, client.UserInput{Email: "carol@example.com"})

	// Read, decide, write with If-Match; read and decide again if another
	// write came between.
	u, err := c.Modify(ctx, u.ID, func(cur *client.User) (client.Patch, error) {
		if slices.Contains(cur.Roles, "viewer") {
			return nil, nil // nothing to do
		}
		return client.UserPatch{Roles: client.Set(append(cur.Roles, "viewer"))}, nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(u.Roles)
	// Output: [member viewer]
}

func ExampleClient_List() {
	baseURL, token := exampleServer()
	c := client.New(baseURL, token)
	ctx := context.Background()
	for _, name := range []string{"dan", "erin", "frank"} {
		c.Create(ctx, client.UserInput{Username: name})
	}

	// Every page, two users at a time, newest first.
	for u, err := range c.List(ctx, client.ListOptions{Status: client.StatusActive, PageSize: 2}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(u.Username)
	}
	// Output:
	// frank
	// erin
	// dan
}

func ExampleProblem() {
	baseURL, token := exampleServer()
	c := client.New(baseURL, token)

	_, err := c.Create(context.Background(), client.UserInput{Email: "x@example.com", Country: "XX", Website: "ftp://nope"})
	var p *client.Problem
	if errors.As(err, &p) {
		fmt.Println(p.Status, p.Code)
		for _, fe := range p.Errors {
			fmt.Println(fe.Field, fe.Code)
		}
	}
	// Unordered output:
	// 422 validation_failed
	// country invalid_country
	// website invalid_url
}

func ExampleClient_UpdateRaw() {
	baseURL, token := exampleServer()
	c := client.New(baseURL, token)
	ctx := context.Background()
	u, _ := c.CreateRaw(ctx, []byte(`{"email": "dana@example.com", "external_id": "crm-1"}`))

	// The body goes as it is: the server names what it refuses.
	_, err := c.UpdateRaw(ctx, u.ID, []byte(`{"name": "Dana", "nickname": "D"}`))
	var p *client.Problem
	if errors.As(err, &p) {
		fmt.Println(p.Status, p.Code, p.Errors[0].Field, p.Errors[0].Code)
	}
	u, _ = c.UpdateRaw(ctx, u.ID, []byte(`{"name": "Dana", "company": null}`))
	fmt.Println(u.Name, u.Version)
	// Output:
	// 400 unknown_field nickname unknown_field
	// Dana 2
}

func ExampleClient_Tenant() {
	baseURL, token := exampleServer()
	c := client.New(baseURL, token)
	ctx := context.Background()

	k, _ := c.Self(ctx)
	t, _ := c.Tenant(ctx)
	fmt.Println(k.Scopes, t.Name, t.Settings.DeletionGrace())

	u, _ := c.Create(ctx, client.UserInput{Email: "erin@example.com"})
	u, _ = c.Delete(ctx, u.ID)
	// The user is erased after PurgeAfter: the deletion plus the grace.
	fmt.Println(u.Status, u.PurgeAfter != nil && !u.PurgeAfter.After(u.UpdatedAt.Add(t.Settings.DeletionGrace())))
	// Output:
	// [admin] Example 0s
	// deleting true
}
