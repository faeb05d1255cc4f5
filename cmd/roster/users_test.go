package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/client"
)

// usersServer is a roster serve on a new database, with the default
// tenant's admin key, for the users commands to talk to.
type usersServer struct {
	db, url, tenant, keyID, token string
}

func startUsersServer(t *testing.T, db string) *usersServer {
	t.Helper()
	var extra []string
	if strings.HasPrefix(db, "postgres") {
		extra = []string{"--secret-key", testSecretKey}
	}
	base, stdout, stop := serve(t, db, extra...)
	t.Cleanup(stop)
	var boot struct {
		TenantID string `json:"tenant_id"`
		KeyID    string `json:"key_id"`
		Token    string
	}
	if err := json.Unmarshal([]byte(stdout.String()), &boot); err != nil || boot.Token == "" {
		t.Fatalf("bootstrap output %q", stdout.String())
	}
	return &usersServer{db: db, url: base, tenant: boot.TenantID, keyID: boot.KeyID, token: boot.Token}
}

// env is the environment of a users command: the server's URL and the
// admin key in ROSTER_TOKEN.
func (s *usersServer) env(k string) string {
	switch k {
	case "ROSTER_URL":
		return s.url
	case "ROSTER_TOKEN":
		return s.token
	}
	return ""
}

// run runs `roster users args…` with stdin as its standard input.
func (s *usersServer) run(getenv func(string) string, stdin string, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = runInput(context.Background(), append([]string{"roster", "users"}, args...), getenv, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

// printedUser is a user as the users commands print it.
type printedUser struct {
	Object, ID, Status string
	TenantID           string `json:"tenant_id"`
	Email              text   `json:"email"`
	EmailVerified      bool   `json:"email_verified"`
	Username           text   `json:"username"`
	Name               text   `json:"name"`
	GivenName          text   `json:"given_name"`
	Company            text   `json:"company"`
	Roles              []string
	Metadata           map[string]any
	PurgeAfter         *time.Time `json:"purge_after"`
	Suspensions        []struct {
		ID, Reason string
		EndsAt     *string `json:"ends_at"`
	}
	Version int64
}

// decodeUser decodes the one user a command printed, numbers as
// json.Number.
func decodeUser(t *testing.T, out string) printedUser {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	var u printedUser
	if err := dec.Decode(&u); err != nil || u.Object != "user" || !strings.HasPrefix(u.ID, "usr_") {
		t.Fatalf("printed %q, not a user (%v)", out, err)
	}
	if dec.More() {
		t.Fatalf("printed more than one user: %q", out)
	}
	return u
}

// decodeLines decodes the JSON Lines a listing printed.
func decodeLines[T any](t *testing.T, out string) []T {
	t.Helper()
	var items []T
	for line := range strings.Lines(out) {
		var v T
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("line %q is not one JSON object: %v", line, err)
		}
		items = append(items, v)
	}
	return items
}

// user runs a users command that must succeed and print one user.
func (s *usersServer) user(t *testing.T, args ...string) printedUser {
	t.Helper()
	return s.userIn(t, "", args...)
}

func (s *usersServer) userIn(t *testing.T, stdin string, args ...string) printedUser {
	t.Helper()
	stdout, stderr, err := s.run(s.env, stdin, args...)
	if err != nil {
		t.Fatalf("roster users %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return decodeUser(t, stdout)
}

// fails runs a users command that must fail with the exit status code,
// print nothing on stdout, and return the message main prints.
func (s *usersServer) fails(t *testing.T, getenv func(string) string, code int, args ...string) error {
	t.Helper()
	stdout, _, err := s.run(getenv, "", args...)
	if got := exitCode(err); got != code {
		t.Fatalf("roster users %s: exit %d (%v), want %d", strings.Join(args, " "), got, err, code)
	}
	if stdout != "" {
		t.Errorf("roster users %s failed and printed %q on stdout", strings.Join(args, " "), stdout)
	}
	return err
}

// text is a string member that may be null (the zero text).
type text struct {
	s   string
	set bool
}

func val(s string) text { return text{s, true} }

func (t *text) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = text{}
		return nil
	}
	t.set = true
	return json.Unmarshal(b, &t.s)
}

func (t text) String() string {
	if !t.set {
		return "null"
	}
	return strconv.Quote(t.s)
}

// TestUsersCommands runs the users commands against a real server on each
// store, through the run function: create, read, update in each body
// format, list, the lifecycle and the history, and their failures.
func TestUsersCommands(t *testing.T) {
	onEachStore(t, testUsersCommands)
}

func testUsersCommands(t *testing.T, db string) {
	s := startUsersServer(t, db)
	// A grace period, so that the server's purge sweep cannot erase the
	// user between "delete" and "restore" (the default grace is none).
	var platform struct{ Token string }
	if err := json.Unmarshal(runCmd(t, "keys", "create", "--db", s.db, "--platform"), &platform); err != nil || platform.Token == "" {
		t.Fatalf("platform key: %v", err)
	}
	if code, body := call(t, "PATCH", s.url+"/v1/tenants/"+s.tenant, platform.Token,
		`{"settings": {"deletion_grace_seconds": 604800}}`); code != http.StatusOK {
		t.Fatalf("setting the grace period: %d %s", code, body)
	}
	var ada printedUser

	t.Run("create with --set", func(t *testing.T) {
		ada = s.user(t, "create", "--set", "email=ada@example.com", "--set", "name=Ada Lovelace",
			"--set", "email_verified=true", "--set", `metadata={"n": 12345678901234567890, "theme": "dark"}`)
		if ada.Email != val("ada@example.com") || ada.Name != val("Ada Lovelace") || !ada.EmailVerified || ada.Version != 1 || ada.Status != "active" {
			t.Errorf("created %+v", ada)
		}
		if got := ada.Metadata["n"]; got != json.Number("12345678901234567890") {
			t.Errorf("metadata n = %v, want the integer kept exact", got)
		}
		if ada.TenantID != s.tenant {
			t.Errorf("tenant_id %q, want %q", ada.TenantID, s.tenant)
		}
	})

	t.Run("get", func(t *testing.T) {
		got := s.user(t, "get", ada.ID)
		if got.ID != ada.ID || got.Version != ada.Version || got.Name != val("Ada Lovelace") || got.Metadata["theme"] != "dark" {
			t.Errorf("get printed %+v, want %+v", got, ada)
		}
	})

	t.Run("update with --set", func(t *testing.T) {
		// null clears; a quoted "null" is the string.
		u := s.user(t, "update", ada.ID, "--set", "name=null", "--set", `given_name="null"`, "--set", "company=Acme")
		if u.Name.set || u.GivenName != val("null") || u.Company != val("Acme") || u.Version != ada.Version+1 {
			t.Errorf("updated %+v", u)
		}
		if got := s.user(t, "get", ada.ID); got.Name.set || got.Version != u.Version {
			t.Errorf("the update did not hold: %+v", got)
		}
		ada = u
	})

	t.Run("update with a body on stdin", func(t *testing.T) {
		// A merge patch merges into metadata and null deletes a key...
		u := s.userIn(t, `{"metadata": {"theme": null, "lang": "fr"}}`, "update", ada.ID, "-f", "-", "--merge")
		if _, ok := u.Metadata["theme"]; ok || u.Metadata["lang"] != "fr" || u.Metadata["n"] != json.Number("12345678901234567890") || u.Version != ada.Version+1 {
			t.Errorf("after the merge patch: %+v", u)
		}
		// ...while a plain body replaces it whole.
		u = s.userIn(t, `{"metadata": {"only": 1}}`, "update", ada.ID, "-f", "-")
		if len(u.Metadata) != 1 || u.Metadata["only"] != json.Number("1") || u.Version != ada.Version+2 {
			t.Errorf("after the plain body: %+v", u)
		}
		ada = u
	})

	t.Run("update with a JSON Patch file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "ops.json")
		ops := `[{"op": "test", "path": "/company", "value": "Acme"}, {"op": "add", "path": "/roles/-", "value": "admin"}]`
		if err := os.WriteFile(file, []byte(ops), 0o600); err != nil {
			t.Fatal(err)
		}
		u := s.user(t, "update", ada.ID, "-f", file, "--json-patch")
		if !slices.Equal(u.Roles, []string{"member", "admin"}) || u.Version != ada.Version+1 {
			t.Errorf("after the JSON Patch: %+v", u)
		}
		ada = u
	})

	t.Run("dry run", func(t *testing.T) {
		u := s.user(t, "update", ada.ID, "--set", "company=Dry Run Ltd", "--dry-run")
		if u.Company != val("Dry Run Ltd") {
			t.Errorf("dry run printed %+v", u)
		}
		if got := s.user(t, "get", ada.ID); got.Company != val("Acme") || got.Version != ada.Version {
			t.Errorf("the dry run wrote: %+v", got)
		}
	})

	t.Run("412 with --if-version", func(t *testing.T) {
		err := s.fails(t, s.env, 1, "update", ada.ID, "--set", "company=Late", "--if-version", "1")
		var p *client.Problem
		if !errors.As(err, &p) || p.Status != 412 || p.Code != client.CodePreconditionFailed {
			t.Fatalf("stale --if-version: %v, want a 412 precondition_failed", err)
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "users update: 412 precondition_failed: ") || !strings.Contains(msg, "\n  request id: "+p.RequestID) || p.RequestID == "" {
			t.Errorf("message %q", msg)
		}
		if got := s.user(t, "get", ada.ID); got.Company != val("Acme") || got.Version != ada.Version {
			t.Errorf("the refused update wrote: %+v", got)
		}
		// The current version passes.
		if u := s.user(t, "update", ada.ID, "--set", "company=On Time", "--if-version", itoa(ada.Version)); u.Company != val("On Time") {
			t.Errorf("update at the current version: %+v", u)
		}
	})

	t.Run("422 names every field", func(t *testing.T) {
		err := s.fails(t, s.env, 1, "create", "--set", "email=not-an-email", "--set", "country=ZZ", "--set", "name=Nobody")
		var p *client.Problem
		if !errors.As(err, &p) || p.Status != 422 || p.Code != client.CodeValidationFailed {
			t.Fatalf("invalid create: %v, want a 422 validation_failed", err)
		}
		lines := strings.Split(err.Error(), "\n")
		if !strings.HasPrefix(lines[0], "users create: 422 validation_failed: ") {
			t.Errorf("first line %q", lines[0])
		}
		for _, field := range []string{"email", "country"} {
			if !slices.ContainsFunc(lines[1:], func(l string) bool { return strings.HasPrefix(l, "  "+field+": ") }) {
				t.Errorf("no line for %s in %q", field, err.Error())
			}
		}
		if out, _, _ := s.run(s.env, "", "list", "--email", "not-an-email"); out != "" {
			t.Errorf("the refused create wrote: %q", out)
		}
	})

	t.Run("usage errors", func(t *testing.T) {
		before := len(decodeLines[printedUser](t, mustRun(t, s, "list")))
		body := filepath.Join(t.TempDir(), "body.json")
		if err := os.WriteFile(body, []byte(`{"name": "From File"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		notJSON := filepath.Join(t.TempDir(), "broken.json")
		if err := os.WriteFile(notJSON, []byte(`{"name": `), 0o600); err != nil {
			t.Fatal(err)
		}
		noToken := func(k string) string {
			if k == "ROSTER_TOKEN" {
				return ""
			}
			return s.env(k)
		}
		for _, c := range []struct {
			getenv func(string) string
			args   []string
			msg    string
		}{
			{s.env, []string{"create", "--set", "name"}, `want FIELD=VALUE, not "name"`},
			{s.env, []string{"create", "--set", "=x"}, `want FIELD=VALUE, not "=x"`},
			{s.env, []string{"create", "--set", "name=a", "--set", "name=b"}, "name is set twice"},
			{s.env, []string{"create"}, "needs a body: --set FIELD=VALUE or -f FILE"},
			{s.env, []string{"create", "--set", "name=a", "-f", body}, "with --set or with -f, not both"},
			{s.env, []string{"create", "-f", filepath.Join(t.TempDir(), "missing.json")}, "no such file"},
			{s.env, []string{"update", ada.ID, "--merge", "--json-patch", "-f", body}, "--merge and --json-patch are two formats"},
			{s.env, []string{"update", ada.ID, "--json-patch", "--set", "name=x"}, "--json-patch takes its operations from -f FILE"},
			{s.env, []string{"update", ada.ID, "-f", body, "--json-patch"}, "not a JSON array of operations"},
			{s.env, []string{"update", ada.ID, "-f", notJSON}, "not valid JSON"},
			{s.env, []string{"create", "-f", notJSON}, "not valid JSON"},
			{s.env, []string{"update", ada.ID, "--set", "name=x", "--if-version", "-1"}, "--if-version must be a version"},
			{s.env, []string{"update", "--set", "name=x"}, "missing USER_ID"},
			{s.env, []string{"get"}, "missing USER_ID"},
			{s.env, []string{"get", ada.ID, "extra"}, `unexpected argument "extra"`},
			{s.env, []string{"list", "--limit", "-1"}, "--limit must be 0 or more"},
			{s.env, []string{"list", "--url", "127.0.0.1:8080"}, `bad --url "127.0.0.1:8080"`},
			{s.env, []string{"suspend", ada.ID}, "needs --reason"},
			{s.env, []string{"suspend", ada.ID, "--reason", "r", "--ends-at", "tomorrow"}, `bad --ends-at "tomorrow"`},
			{s.env, []string{"unsuspend", ada.ID}, "missing SUSPENSION_ID"},
			{noToken, []string{"get", ada.ID}, "needs an API key: set ROSTER_TOKEN or give --token-file"},
			{s.env, []string{"get", ada.ID, "--token-file", filepath.Join(t.TempDir(), "none")}, "--token-file: open "},
			{s.env, []string{"frobnicate"}, `unknown command "users frobnicate"`},
		} {
			err := s.fails(t, c.getenv, 2, c.args...)
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("roster users %s: %q, want it to say %q", strings.Join(c.args, " "), err, c.msg)
			}
		}
		if after := len(decodeLines[printedUser](t, mustRun(t, s, "list"))); after != before {
			t.Errorf("usage errors wrote: %d users, then %d", before, after)
		}
		if got := s.user(t, "get", ada.ID); got.Name == val("From File") || got.Name == val("x") {
			t.Errorf("a usage error updated the user: %+v", got)
		}
	})

	t.Run("the server judges the body", func(t *testing.T) {
		// The body goes as it is given: the server names each member it
		// refuses, in one problem, and writes nothing.
		before := s.user(t, "get", ada.ID)
		for _, c := range []struct {
			args  []string
			codes map[string]string
		}{
			{[]string{"create", "--set", "email=judged@example.com", "--set", "bogus=1", "--set", "id=usr_x"},
				map[string]string{"bogus": client.CodeUnknownField, "id": client.CodeReadOnlyField}},
			{[]string{"update", ada.ID, "--set", "name=Judged", "--set", "version=9", "--set", "nickname=al"},
				map[string]string{"version": client.CodeReadOnlyField, "nickname": client.CodeUnknownField}},
			{[]string{"update", ada.ID, "--set", "purge_after=2030-01-01T00:00:00.000Z"},
				map[string]string{"purge_after": client.CodeReadOnlyField}},
		} {
			err := s.fails(t, s.env, 1, c.args...)
			var p *client.Problem
			if !errors.As(err, &p) || p.Status != http.StatusBadRequest {
				t.Errorf("roster users %s: %v, want the server's 400", strings.Join(c.args, " "), err)
				continue
			}
			got := map[string]string{}
			for _, fe := range p.Errors {
				got[fe.Field] = fe.Code
			}
			for f, code := range c.codes {
				if got[f] != code {
					t.Errorf("roster users %s: errors %v, want %s: %s", strings.Join(c.args, " "), got, f, code)
				}
				if !strings.Contains(err.Error(), "\n  "+f+": "+code) {
					t.Errorf("roster users %s printed %q, without a line for %s", strings.Join(c.args, " "), err, f)
				}
			}
		}
		if out, _, _ := s.run(s.env, "", "list", "--email", "judged@example.com"); out != "" {
			t.Errorf("a refused create wrote: %q", out)
		}
		if got := s.user(t, "get", ada.ID); got.Version != before.Version || got.Name == val("Judged") {
			t.Errorf("a refused update wrote: %+v", got)
		}
		// A member the client's types do not know, sent from a file, is
		// written by the server.
		file := filepath.Join(t.TempDir(), "ext.json")
		if err := os.WriteFile(file, []byte(`{"external_id": "crm-7"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		s.user(t, "update", ada.ID, "-f", file)
		if code, body := call(t, "GET", s.url+"/v1/users/"+ada.ID, s.token, ""); code != http.StatusOK || !strings.Contains(string(body), `"external_id":"crm-7"`) {
			t.Errorf("after the raw update: %d %s", code, body)
		}
		ada = s.user(t, "get", ada.ID)
	})

	t.Run("a server that cannot be reached", func(t *testing.T) {
		err := s.fails(t, s.env, 1, "get", ada.ID, "--url", "http://127.0.0.1:1")
		if !strings.Contains(err.Error(), "users get: ") || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("unreachable server: %q", err)
		}
	})

	t.Run("list", func(t *testing.T) {
		// More users than the server's default page of 20, so that the
		// walk takes pages.
		for i := range 22 {
			s.user(t, "create", "--set", "username=user"+itoa(int64(i)), "--set", "name=User "+itoa(int64(i)))
		}
		all := decodeLines[printedUser](t, mustRun(t, s, "list"))
		if len(all) != 23 { // Ada and the 22: the default tenant has no owner
			t.Fatalf("list printed %d users, want 23", len(all))
		}
		if all[0].Username != val("user21") || all[len(all)-1].ID != ada.ID {
			t.Errorf("list is not newest first: first %+v, last %+v", all[0], all[len(all)-1])
		}
		ids := map[string]bool{}
		for _, u := range all {
			ids[u.ID] = true
		}
		if len(ids) != len(all) {
			t.Errorf("list printed a user twice")
		}
		if got := decodeLines[printedUser](t, mustRun(t, s, "list", "--limit", "3")); len(got) != 3 || got[0].ID != all[0].ID || got[2].ID != all[2].ID {
			t.Errorf("--limit 3 printed %d users", len(got))
		}
		if got := decodeLines[printedUser](t, mustRun(t, s, "list", "--email", "ADA@example.com")); len(got) != 1 || got[0].ID != ada.ID {
			t.Errorf("--email printed %+v", got)
		}
		if got := decodeLines[printedUser](t, mustRun(t, s, "list", "--search", "ada@EX")); len(got) != 1 || got[0].ID != ada.ID {
			t.Errorf("--search printed %+v", got)
		}
		if got := decodeLines[printedUser](t, mustRun(t, s, "list", "--username", "user7")); len(got) != 1 || got[0].Name != val("User 7") {
			t.Errorf("--username printed %+v", got)
		}
	})

	t.Run("list --table", func(t *testing.T) {
		out := mustRun(t, s, "list", "--table", "--limit", "3")
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 4 {
			t.Fatalf("table of 3 users has %d lines:\n%s", len(lines), out)
		}
		header := strings.Fields(lines[0])
		if want := []string{"ID", "EMAIL", "USERNAME", "NAME", "STATUS", "VERSION"}; !slices.Equal(header, want) {
			t.Fatalf("header %v, want %v", header, want)
		}
		// Each column starts where its header does, on every line.
		var starts []int
		for i := 1; i < len(lines[0]); i++ {
			if lines[0][i-1] == ' ' && lines[0][i] != ' ' {
				starts = append(starts, i)
			}
		}
		for i, at := range starts {
			for _, l := range lines[1:] {
				if len(l) <= at || l[at-1] != ' ' || l[at] == ' ' {
					t.Errorf("column %s does not start at %d in %q", header[i+1], at, l)
				}
			}
		}
		// The newest user's row: no email ("-"), a name with a space.
		row := lines[1]
		if !strings.HasPrefix(row, "usr_") || !strings.Contains(row, "  -  ") || !strings.Contains(row, "user21") ||
			!strings.Contains(row, "User 21") || !strings.HasSuffix(row, "active  1") {
			t.Errorf("row %q", row)
		}
	})

	t.Run("lifecycle", func(t *testing.T) {
		if u := s.user(t, "deactivate", ada.ID); u.Status != "deactivated" {
			t.Errorf("deactivate: %+v", u)
		}
		if u := s.user(t, "reactivate", ada.ID); u.Status != "active" {
			t.Errorf("reactivate: %+v", u)
		}
		out := mustRun(t, s, "suspend", ada.ID, "--reason", "Spam", "--ends-at", "2099-01-01T00:00:00Z")
		var sus struct {
			Object, ID, Reason string
			EndsAt             *string `json:"ends_at"`
		}
		if err := json.Unmarshal([]byte(out), &sus); err != nil || sus.Object != "suspension" || !strings.HasPrefix(sus.ID, "sus_") ||
			sus.Reason != "Spam" || sus.EndsAt == nil || *sus.EndsAt != "2099-01-01T00:00:00.000Z" {
			t.Fatalf("suspend printed %q", out)
		}
		if u := s.user(t, "get", ada.ID); len(u.Suspensions) != 1 || u.Suspensions[0].ID != sus.ID {
			t.Errorf("after suspend: %+v", u.Suspensions)
		}
		if u := s.user(t, "unsuspend", ada.ID, sus.ID); len(u.Suspensions) != 0 {
			t.Errorf("after unsuspend: %+v", u.Suspensions)
		}
		if err := s.fails(t, s.env, 1, "unsuspend", ada.ID, sus.ID); !client.IsNotFound(err) {
			t.Errorf("lifting a lifted suspension: %v, want 404", err)
		}
	})

	t.Run("delete and restore", func(t *testing.T) {
		if u := s.user(t, "delete", ada.ID, "--dry-run"); u.Status != "deleting" {
			t.Errorf("delete --dry-run printed %+v", u)
		}
		if u := s.user(t, "get", ada.ID); u.Status != "active" {
			t.Fatalf("delete --dry-run deleted: %+v", u)
		}
		start := time.Now()
		if u := s.user(t, "delete", ada.ID); u.Status != "deleting" || u.PurgeAfter == nil || u.PurgeAfter.Before(start.Add(604799*time.Second)) {
			t.Errorf("delete: %+v, want purge_after a week on", u)
		}
		if err := s.fails(t, s.env, 1, "update", ada.ID, "--set", "name=Ghost"); !client.HasCode(err, client.CodeUserDeleting) {
			t.Errorf("updating a user under deletion: %v", err)
		}
		if got := decodeLines[printedUser](t, mustRun(t, s, "list", "--status", "deleting")); len(got) != 1 || got[0].ID != ada.ID {
			t.Errorf("--status deleting printed %+v", got)
		}
		if u := s.user(t, "restore", ada.ID); u.Status != "active" || u.PurgeAfter != nil {
			t.Errorf("restore: %+v", u)
		}
	})

	t.Run("history", func(t *testing.T) {
		type entry struct {
			Object, ID, Action string
			Actor              struct {
				KeyID *string `json:"key_id"`
			}
			Changes map[string]json.RawMessage
		}
		entries := decodeLines[entry](t, mustRun(t, s, "history", ada.ID))
		var actions []string
		for _, e := range entries {
			actions = append(actions, e.Action)
			if e.Object != "audit_entry" || e.Actor.KeyID == nil || *e.Actor.KeyID != s.keyID {
				t.Errorf("entry %+v", e)
			}
		}
		want := []string{"user.restored", "user.deleted", "user.unsuspended", "user.suspended", "user.reactivated", "user.deactivated",
			"user.updated", "user.updated", "user.updated", "user.updated", "user.updated", "user.updated", "user.created"}
		if !slices.Equal(actions, want) {
			t.Errorf("history %v, want %v", actions, want)
		}
		if _, ok := entries[len(entries)-1].Changes["email"]; !ok {
			t.Errorf("the creation's changes %v name no email", entries[len(entries)-1].Changes)
		}
		if got := decodeLines[entry](t, mustRun(t, s, "history", ada.ID, "--limit", "2")); len(got) != 2 || got[1].Action != "user.deleted" {
			t.Errorf("--limit 2 printed %+v", got)
		}
		table := strings.Split(mustRun(t, s, "history", ada.ID, "--table", "--limit", "1"), "\n")
		if !slices.Equal(strings.Fields(table[0]), []string{"ID", "AT", "ACTION", "KEY", "FIELDS"}) ||
			!strings.Contains(table[1], "user.restored") || !strings.Contains(table[1], s.keyID) {
			t.Errorf("history --table: %q", table)
		}
	})

	t.Run("a token file and a platform key", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(file, []byte(platform.Token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		// The file wins over ROSTER_TOKEN, whose admin key would do.
		var p *client.Problem
		if err := s.fails(t, s.env, 1, "get", ada.ID, "--token-file", file); !errors.As(err, &p) {
			t.Errorf("a platform key without --tenant: %v, want a problem", err)
		}
		if u := s.user(t, "get", ada.ID, "--token-file", file, "--tenant", s.tenant); u.ID != ada.ID {
			t.Errorf("a platform key with --tenant: %+v", u)
		}
	})
}

// mustRun runs a users command that must succeed and returns its stdout.
func mustRun(t *testing.T, s *usersServer, args ...string) string {
	t.Helper()
	stdout, stderr, err := s.run(s.env, "", args...)
	if err != nil {
		t.Fatalf("roster users %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return stdout
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestUsersBinary runs the built binary against a server: a body read from
// its standard input, and the exit status and stderr of a problem and of a
// usage error, with stdout left clean.
func TestUsersBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	s := startUsersServer(t, filepath.Join(t.TempDir(), "roster.db"))
	roster := func(stdin string, args ...string) (stdout, stderr string, code int) {
		t.Helper()
		cmd := exec.Command(binary(t), append([]string{"users"}, args...)...)
		cmd.Env = append(os.Environ(), "ROSTER_URL="+s.url, "ROSTER_TOKEN="+s.token)
		cmd.Stdin = strings.NewReader(stdin)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errOut.String(), code
	}

	stdout, stderr, code := roster(`{"email": "grace@example.com", "name": "Grace"}`, "create", "-f", "-")
	if code != 0 || stderr != "" {
		t.Fatalf("create -f -: exit %d, stderr %q", code, stderr)
	}
	grace := decodeUser(t, stdout)
	stdout, stderr, code = roster(`{"metadata": {"team": "compilers"}}`, "update", grace.ID, "-f", "-", "--merge")
	if u := decodeUser(t, stdout); code != 0 || u.Metadata["team"] != "compilers" || u.Name != val("Grace") || u.Version != 2 {
		t.Errorf("update -f - --merge: exit %d, %+v, stderr %q", code, u, stderr)
	}

	stdout, stderr, code = roster("", "update", grace.ID, "--set", "country=ZZ", "--set", "birthdate=3000-01-01")
	if code != 1 || stdout != "" {
		t.Errorf("422: exit %d, stdout %q", code, stdout)
	}
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "roster: users update: 422 validation_failed: ") ||
		!strings.HasPrefix(lines[1], "  birthdate: ") && !strings.HasPrefix(lines[2], "  birthdate: ") ||
		!strings.HasPrefix(lines[1], "  country: ") && !strings.HasPrefix(lines[2], "  country: ") ||
		!strings.HasPrefix(lines[3], "  request id: ") {
		t.Errorf("422 on stderr:\n%s", stderr)
	}

	stdout, stderr, code = roster("", "update", grace.ID, "--set", "country")
	if code != 2 || stdout != "" || !strings.HasPrefix(stderr, "roster: users update: ") || !strings.Contains(stderr, "usage: roster users update") {
		t.Errorf("usage error: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
