package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/postgres/pgtest"
)

// TestRevokeHoldsAcrossProcesses: a key revoked through one roster serve
// process is refused by another on the same database at its next request,
// on a SQLite file and on PostgreSQL.
func TestRevokeHoldsAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two processes")
	}
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			var db string
			create := []string{"tenants", "create", "--name", "Revoke", "--owner-email", "owner@revoke.test"}
			if backend == "postgres" {
				db = pgtest.URL(t)
			} else {
				db = filepath.Join(t.TempDir(), "roster.db")
				create = append(create, "--create")
			}
			var tenant struct{ Token string }
			cli(t, &tenant, append(create, "--db", db)...)
			a, b := startNode(t, "--db", db), startNode(t, "--db", db)

			st, body := call(t, "POST", a.URL+"/v1/keys", tenant.Token, `{"name":"leaked","scopes":["read_only"]}`)
			var k struct{ ID, Token string }
			if err := json.Unmarshal(body, &k); st != 201 || err != nil {
				t.Fatalf("create key: %d %s", st, body)
			}
			for _, n := range []*node{a, b, b} { // B has used the key since
				if st, body := call(t, "GET", n.URL+"/v1/users", k.Token, ""); st != 200 {
					t.Fatalf("the new key: %d %s", st, body)
				}
			}
			if st, body := call(t, "DELETE", a.URL+"/v1/keys/"+k.ID, tenant.Token, ""); st != 200 {
				t.Fatalf("revoke: %d %s", st, body)
			}
			for name, n := range map[string]*node{"the other process": b, "the revoking one": a} {
				if st, body := call(t, "GET", n.URL+"/v1/users", k.Token, ""); st != 401 || !strings.Contains(string(body), `"unauthenticated"`) {
					t.Errorf("%s answered the revoked key %d %s, want 401 unauthenticated", name, st, body)
				}
			}
		})
	}
}
