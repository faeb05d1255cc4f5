package main

import (
	"encoding/json"
	"io"
	"net/http"
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

			do := func(n *node, method, path, body, token string) (int, string) {
				t.Helper()
				req, _ := http.NewRequest(method, n.URL+path, strings.NewReader(body))
				if body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", method, path, err)
				}
				defer resp.Body.Close()
				var sb strings.Builder
				_, _ = io.Copy(&sb, resp.Body)
				return resp.StatusCode, sb.String()
			}
			st, body := do(a, "POST", "/v1/keys", `{"name":"leaked","scopes":["read_only"]}`, tenant.Token)
			if st != 201 {
				t.Fatalf("create key: %d %s", st, body)
			}
			var k struct{ ID, Token string }
			if err := json.Unmarshal([]byte(body), &k); err != nil {
				t.Fatal(err)
			}
			for _, n := range []*node{a, b, b} { // B has used the key since
				if st, body := do(n, "GET", "/v1/users", "", k.Token); st != 200 {
					t.Fatalf("the new key: %d %s", st, body)
				}
			}
			if st, body := do(a, "DELETE", "/v1/keys/"+k.ID, "", tenant.Token); st != 200 {
				t.Fatalf("revoke: %d %s", st, body)
			}
			for name, n := range map[string]*node{"the other process": b, "the revoking one": a} {
				if st, body := do(n, "GET", "/v1/users", "", k.Token); st != 401 || !strings.Contains(body, `"unauthenticated"`) {
					t.Errorf("%s answered the revoked key %d %s, want 401 unauthenticated", name, st, body)
				}
			}
		})
	}
}
