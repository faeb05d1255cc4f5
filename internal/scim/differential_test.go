package scim_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/roster-dev/roster/internal/scim"
	"github.com/roster-dev/roster/internal/scim/filter"
)

// TestFiltersMatchTheirDefinition runs filters through the store (SQL on
// either backend) and through filter.Match over the users' SCIM
// representations as filters see them (scim.FilterView: Roster's email
// alone among the emails), and wants the same users from both.
func TestFiltersMatchTheirDefinition(t *testing.T) {
	e := newEnv(t)
	people := []map[string]any{
		{"userName": "Ann.Archer@Example.com", "externalId": "A-1", "displayName": "Ann Archer",
			"name": map[string]any{"givenName": "Ann", "familyName": "Archer"}},
		{"userName": "bob", "externalId": "b-2", "name": map[string]any{"givenName": "Bob", "familyName": "Baker"},
			"emails": []any{map[string]any{"value": "bob@corp.example", "type": "work", "primary": true}}, "active": false},
		{"userName": "cat.k@example.com", "name": map[string]any{"givenName": "Cat"}},
		{"userName": "dan_d", "externalId": "D-4", "displayName": "Dan",
			"emails": []any{map[string]any{"value": "Dan@Example.org", "type": "home"}}},
		{"userName": "Eve@example.net", "externalId": "e-5", "name": map[string]any{"familyName": "Evans"}, "active": true},
		{"userName": "fay", "emails": []any{map[string]any{"value": "fay@home.example", "type": "home"},
			map[string]any{"value": "Fay@Work.example", "type": "work", "primary": true}, map[string]any{"value": "fay@other.example"}}},
	}
	for _, p := range people {
		e.do(t, rq{method: "POST", path: "/scim/v2/Users", body: p}).want(t, http.StatusCreated)
	}
	all := e.list(t, "count=200")["Resources"].([]any)
	if len(all) != len(people)+1 { // and the tenant's owner
		t.Fatalf("%d users listed, want %d", len(all), len(people)+1)
	}
	second := at(all[2], "meta.created").(string)

	for _, f := range []string{
		`userName eq "ann.archer@example.com"`, `userName eq "BOB"`, `userName ne "bob"`, `userName co "EXAMPLE"`,
		`userName sw "cat"`, `userName ew ".NET"`, `userName gt "c"`, `userName le "bob"`, `userName pr`,
		`externalId eq "A-1"`, `externalId eq "a-1"`, `externalId pr`, `not (externalId pr)`, `externalId eq null`,
		`externalId ne null`, `externalId co "-"`, `externalId lt "b"`,
		`emails.value eq "bob@corp.example"`, `emails co "example"`, `emails.value ew ".org"`, `emails pr`,
		`emails[type eq "work"].value eq "dan@example.org"`, `emails[type eq "work"]`, `emails[type eq "home"]`,
		`emails[primary eq true and value sw "ann"]`, `emails.type eq "work"`, `emails.primary eq true`,
		`name.givenName eq "ann"`, `name.givenName pr`, `name.familyName sw "B"`, `not (name.familyName eq "Baker")`,
		`name.familyName ne "Baker"`, `displayName co "an"`, `displayName pr`,
		`active eq true`, `active eq false`, `active ne false`, `active pr`, `active eq "true"`,
		`meta.created gt "` + second + `"`, `meta.created ge "` + second + `"`, `meta.created eq "` + second + `"`,
		`meta.lastModified lt "` + second + `"`, `meta.created lt "2000-01-01T00:00:00Z"`, `meta.created gt "not a date"`,
		`id eq "` + at(all[3], "id").(string) + `"`, `id pr`,
		`userName eq 5`, `name.givenName eq true`,
		`(userName sw "a" or userName sw "b") and active eq true`, `userName sw "a" or userName sw "b" and active eq true`,
		`not (userName sw "a" or emails pr)`, `urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bob"`,
		`USERNAME EQ "bob"`, `emails[TYPE eq "work"].VALUE co "corp"`,
		`emails.value eq "fay@work.example"`, `emails.value eq "fay@home.example"`, `emails[type eq "home"].value eq "fay@home.example"`,
		`emails[type eq "work"].value eq "fay@work.example"`, `emails co "other"`,
	} {
		t.Run(f, func(t *testing.T) {
			expr, err := filter.Parse(f)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			var want []string
			for _, r := range all {
				if filter.Match(expr, scim.FilterView(r.(map[string]any)), scim.MatchOptions...) {
					want = append(want, r.(map[string]any)["id"].(string))
				}
			}
			m := e.list(t, "filter="+url.QueryEscape(f)+"&count=200")
			var got []string
			for _, r := range m["Resources"].([]any) {
				got = append(got, r.(map[string]any)["id"].(string))
			}
			if !slices.Equal(got, want) || total(t, m) != len(want) {
				t.Errorf("store: %v (total %v), Match: %v", got, m["totalResults"], want)
			}
		})
	}
}
