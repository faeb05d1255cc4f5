package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func noEnv(string) string { return "" }

// runCmd runs one command to completion and returns its stdout.
func runCmd(t *testing.T, args ...string) []byte {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append([]string{"roster"}, args...), noEnv, &out, &errOut); err != nil {
		t.Fatalf("roster %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.Bytes()
}

// serve starts `roster serve` on a free loopback port and returns its base
// URL, its stdout, and a stop function that waits for a clean shutdown.
func serve(t *testing.T, db string, extra ...string) (string, *lockedBuffer, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		args := append([]string{"roster", "serve", "--db", db, "--addr", "127.0.0.1:0"}, extra...)
		done <- run(ctx, args, noEnv, stdout, stderr)
	}()
	addr := regexp.MustCompile(`"addr":"(http://127\.0\.0\.1:\d+)"`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := addr.FindStringSubmatch(stderr.String()); m != nil {
			return m[1], stdout, func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("serve returned %v", err)
				}
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func call(t *testing.T, method, url, token, body string, headers ...string) (int, []byte) {
	t.Helper()
	r, _ := http.NewRequest(method, url, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestServeDiagnostics checks that --cpu-profile leaves a CPU profile
// (gzipped protocol buffers) and --trace an execution trace once the server
// has stopped.
func TestServeDiagnostics(t *testing.T) {
	for _, c := range []struct {
		flag string
		is   func([]byte) bool
	}{
		{"--cpu-profile", func(b []byte) bool { return len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b }},
		{"--trace", func(b []byte) bool {
			return bytes.HasPrefix(b, []byte("go 1.")) && bytes.Contains(b[:16], []byte(" trace"))
		}},
	} {
		t.Run(c.flag, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out")
			base, _, stop := serve(t, filepath.Join(dir, "roster.db"), c.flag, path)
			if status, _ := call(t, "GET", base+"/healthz", "", ""); status != http.StatusOK {
				t.Fatalf("healthz: %d", status)
			}
			stop()
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !c.is(b) {
				t.Errorf("not what %s writes: % x", c.flag, b[:min(len(b), 16)])
			}
		})
	}
}

func TestServeBootstrapsAndServes(t *testing.T) {
	db := filepath.Join(t.TempDir(), "roster.db")
	base, stdout, stop := serve(t, db)
	var boot struct{ TenantID, Token string }
	var raw map[string]string
	if err := json.Unmarshal([]byte(stdout.String()), &raw); err != nil {
		t.Fatalf("bootstrap output is not JSON: %q", stdout.String())
	}
	boot.TenantID, boot.Token = raw["tenant_id"], raw["token"]
	if !strings.HasPrefix(boot.Token, "rst_") || !strings.HasPrefix(boot.TenantID, "ten_") {
		t.Fatalf("bootstrap output %v", raw)
	}
	status, body := call(t, "POST", base+"/v1/users", boot.Token, `{"email":"alice@example.com","name":"Alice"}`)
	if status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	var u map[string]any
	_ = json.Unmarshal(body, &u)
	status, body = call(t, "GET", base+"/v1/users/"+u["id"].(string), boot.Token, "")
	if status != 200 || !strings.Contains(string(body), `"alice@example.com"`) {
		t.Fatalf("get: %d %s", status, body)
	}

	// tenants create and keys create work on the same file while it serves.
	var nt struct {
		Tenant struct{ ID string }
		Owner  map[string]any
		Token  string
	}
	if err := json.Unmarshal(runCmd(t, "tenants", "create", "--db", db, "--name", "Globex", "--owner-email", "boss@globex.test"), &nt); err != nil {
		t.Fatal(err)
	}
	if nt.Owner["is_owner"] != true || nt.Owner["email"] != "boss@globex.test" {
		t.Errorf("owner %v", nt.Owner)
	}
	status, body = call(t, "GET", base+"/v1/users", nt.Token, "")
	if status != 200 || !strings.Contains(string(body), "boss@globex.test") || strings.Contains(string(body), "alice@") {
		t.Errorf("new tenant's admin key lists: %d %s", status, body)
	}
	var k struct{ Token string }
	_ = json.Unmarshal(runCmd(t, "keys", "create", "--db", db, "--tenant", nt.Tenant.ID, "--scopes", "read_only"), &k)
	if status, _ = call(t, "POST", base+"/v1/users", k.Token, `{"username":"nope"}`); status != 403 {
		t.Errorf("read_only key wrote: %d", status)
	}
	_ = json.Unmarshal(runCmd(t, "keys", "create", "--db", db, "--platform"), &k)
	if status, body = call(t, "GET", base+"/v1/tenants", k.Token, ""); status != 200 || !strings.Contains(string(body), nt.Tenant.ID) {
		t.Errorf("platform key lists tenants: %d %s", status, body)
	}
	stop()

	// A second start of the same database creates no second default tenant.
	_, stdout, stop = serve(t, db)
	stop()
	if stdout.String() != "" {
		t.Errorf("second start printed %q", stdout.String())
	}
}

// runErr runs one command and returns what it printed and its error.
func runErr(args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"roster"}, args...), noEnv, &out, &errOut)
	return out.String(), errOut.String(), err
}

// newDB makes a migrated SQLite database in a directory of its own.
func newDB(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "roster.db")
	runCmd(t, "migrate", "--db", db, "--create")
	return db
}

// TestHelp: every command and group answers -h, --help and help with its
// usage on stdout, and nothing on stderr, as a success.
func TestHelp(t *testing.T) {
	cases := [][]string{{"-h"}, {"--help"}, {"help"}, {"help", "keys", "revoke"}, {"tenants", "help"}}
	for _, c := range commands {
		words := strings.Fields(c.name)
		cases = append(cases, append(slices.Clone(words), "-h"), append(slices.Clone(words), "--help"),
			append(slices.Clone(words), "-h", "extra"))
		if len(words) == 2 {
			cases = append(cases, []string{words[0], "-h"}, []string{words[0], "--help"})
		}
	}
	for _, args := range cases {
		stdout, stderr, err := runErr(args...)
		if err != nil || !strings.HasPrefix(stdout, "usage: roster ") || stderr != "" {
			t.Errorf("roster %s: err %v, stdout %q, stderr %q", strings.Join(args, " "), err, stdout, stderr)
		}
	}
	// Each command's usage names it and its arguments, and the general
	// usage lists every command.
	general, _, _ := runErr("help")
	for _, c := range commands {
		words := append(strings.Fields(c.name), "-h")
		stdout, _, _ := runErr(words...)
		if want := "usage: roster " + strings.TrimSpace(c.name+" "+c.args) + "\n"; !strings.HasPrefix(stdout, want) {
			t.Errorf("roster %s -h printed %q, want it to start with %q", c.name, stdout, want)
		}
		if !strings.Contains(general, "  "+c.name+" ") && !strings.Contains(general, "  "+c.name+"\n") {
			t.Errorf("roster help does not list %s:\n%s", c.name, general)
		}
	}
}

// TestCommandsOfferOnlyTheirFlags: each command offers the flags it uses,
// and no other.
func TestCommandsOfferOnlyTheirFlags(t *testing.T) {
	want := map[string][]string{
		"serve":          {"addr", "allow-private-webhooks", "cpu-profile", "db", "delivery-lease", "log-level", "previous-secret-keys", "redis", "secret-key", "secret-key-file", "trace", "trusted-proxies", "user-cache-mib"},
		"migrate":        {"create", "db"},
		"tenants create": {"create", "db", "name", "owner-email"},
		"keys list":      {"db", "platform", "tenant"},
		"keys create":    {"create", "db", "name", "platform", "scopes", "tenant"},
		"keys revoke":    {"db", "force"},
		"keys rotate":    {"db", "grace"},
		"version":        nil,
	}
	server, write := []string{"table", "tenant", "token-file", "url"}, []string{"dry-run", "if-version"}
	for _, name := range []string{"delete", "restore", "deactivate", "reactivate", "unsuspend"} {
		want["users "+name] = sorted(server, write)
	}
	want["users get"] = server
	want["users list"] = sorted(server, []string{"email", "limit", "search", "status", "username"})
	want["users history"] = sorted(server, []string{"limit"})
	want["users create"] = sorted(server, write, []string{"f", "set"})
	want["users update"] = sorted(server, write, []string{"f", "json-patch", "merge", "set"})
	want["users suspend"] = sorted(server, write, []string{"ends-at", "reason"})
	flagLine := regexp.MustCompile(`(?m)^  -([a-z-]+)`)
	for _, c := range commands {
		stdout, _, _ := runErr(append(strings.Fields(c.name), "-h")...)
		var got []string
		for _, m := range flagLine.FindAllStringSubmatch(stdout, -1) {
			got = append(got, m[1])
		}
		w, ok := want[c.name]
		if !ok {
			t.Errorf("command %q is not in this test", c.name)
		}
		if !slices.Equal(got, w) {
			t.Errorf("roster %s offers %v, want %v", c.name, got, w)
		}
	}
}

func sorted(lists ...[]string) []string {
	s := slices.Concat(lists...)
	slices.Sort(s)
	return s
}

// TestCommandLineErrors: a command line roster cannot run is a usage error
// (exit status 2) that says what is wrong; a command that runs and fails is
// an error of status 1.
func TestCommandLineErrors(t *testing.T) {
	db := newDB(t)
	missing := filepath.Join(t.TempDir(), "typo.db")
	key := "key_01ARZ3NDEKTSV4RRFFQ69G5FAV"
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "no command given"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"keys"}, 2, "keys needs a command"},
		{[]string{"keys", "frobnicate"}, 2, `unknown command "keys frobnicate"`},
		{[]string{"help", "frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"version", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"migrate", "--db", db, "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"serve", "--db", db, "--addr", "127.0.0.1:0", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"migrate", "--db", db, "--log-level", "debug"}, 2, "flag provided but not defined: -log-level"},
		{[]string{"tenants", "create", "--db", db, "--addr", ":1"}, 2, "flag provided but not defined: -addr"},
		{[]string{"serve", "--db", db, "--create"}, 2, "flag provided but not defined: -create"},
		{[]string{"serve", "--db", db, "--log-level", "loud"}, 2, `bad --log-level "loud"`},
		{[]string{"serve", "--db", db, "--trusted-proxies", "10.0.0.0/8,lb.internal"}, 2, `bad --trusted-proxies: "lb.internal"`},
		{[]string{"tenants", "create", "--db", db, "--name", "X"}, 2, "needs --name and --owner-email"},
		{[]string{"keys", "list", "--db", db}, 2, "needs --tenant ID or --platform"},
		{[]string{"keys", "list", "--db", db, "--platform", "--tenant", "ten_x"}, 2, "needs --tenant ID or --platform"},
		{[]string{"keys", "create", "--db", db}, 2, "needs --tenant ID --scopes S, or --platform"},
		{[]string{"keys", "create", "--db", db, "--tenant", "ten_x", "--scopes", "root"}, 2, "root"},
		{[]string{"keys", "create", "--db", db, "--platform", "--scopes", "admin"}, 2, "--platform takes neither"},
		{[]string{"keys", "revoke", "--db", db}, 2, "missing KEY_ID"},
		{[]string{"keys", "revoke", "--db", db, key, key}, 2, `unexpected argument "` + key + `"`},
		{[]string{"keys", "rotate", "--db", db, "--grace", "-1h", key}, 2, "--grace must be from 0 to 720h0m0s"},
		{[]string{"keys", "rotate", "--db", db, "--grace", "721h", key}, 2, "--grace must be from 0 to 720h0m0s"},

		{[]string{"tenants", "create", "--db", db, "--name", "X", "--owner-email", "not-an-email"}, 1, "owner_email"},
		{[]string{"keys", "create", "--db", db, "--tenant", "ten_01ARZ3NDEKTSV4RRFFQ69G5FAV", "--scopes", "users:read"}, 1, "no such tenant"},
		{[]string{"keys", "list", "--db", db, "--tenant", "ten_01ARZ3NDEKTSV4RRFFQ69G5FAV"}, 1, "no such tenant"},
		{[]string{"keys", "revoke", "--db", db, key}, 1, "no such key"},
		{[]string{"keys", "rotate", "--db", db, "not-a-key-id"}, 1, "no such key"},
	} {
		_, _, err := runErr(c.args...)
		if got := exitCode(err); got != c.code || err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("roster %s: exit %d, error %v; want exit %d and %q", strings.Join(c.args, " "), got, err, c.code, c.msg)
		}
	}
	for _, args := range [][]string{
		{"migrate"}, {"tenants", "create", "--name", "X", "--owner-email", "x@example.com"},
		{"keys", "create", "--platform"}, {"keys", "list", "--platform"}, {"keys", "revoke", key}, {"keys", "rotate", key},
	} {
		args = append(args, "--db", missing)
		_, _, err := runErr(args...)
		if got := exitCode(err); got != 2 || err == nil || !strings.Contains(err.Error(), "database "+missing+" does not exist") {
			t.Errorf("roster %s: exit %d, error %v; want 2, naming the missing database", strings.Join(args, " "), got, err)
		}
		if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("roster %s made the database it refused: %v", strings.Join(args, " "), err)
		}
	}
	if got := string(runCmd(t, "version")); !strings.HasPrefix(got, "roster ") {
		t.Errorf("version printed %q", got)
	}
}

// TestCreate: migrate, tenants create and keys create make a missing SQLite
// database when told to with --create, and only then.
func TestCreate(t *testing.T) {
	for _, args := range [][]string{
		{"migrate"}, {"tenants", "create", "--name", "X", "--owner-email", "x@example.com"}, {"keys", "create", "--platform"},
	} {
		db := filepath.Join(t.TempDir(), "new.db")
		runCmd(t, append(args, "--create", "--db", "sqlite:"+db)...)
		if _, err := os.Stat(db); err != nil {
			t.Errorf("roster %s --create made no database: %v", strings.Join(args, " "), err)
		}
	}
	db := filepath.Join(t.TempDir(), "fresh.db")
	if got := string(runCmd(t, "migrate", "--db", db, "--create")); !strings.Contains(got, "applied migrations [1 ") {
		t.Errorf("first migrate printed %q", got)
	}
	if got := string(runCmd(t, "migrate", "--db", db)); !strings.Contains(got, "up to date") {
		t.Errorf("second migrate printed %q", got)
	}
}

// TestExitStatus runs the binary: help is status 0, a usage error 2, a
// failure 1, each with the message on stderr.
func TestExitStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	db := filepath.Join(t.TempDir(), "missing.db")
	for _, c := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"--help"}, 0, "usage: roster ", ""},
		{[]string{"keys", "revoke", "-h"}, 0, "usage: roster keys revoke", ""},
		{[]string{"keys", "revoke"}, 2, "", "roster: keys revoke: missing KEY_ID"},
		{[]string{"frobnicate"}, 2, "", `roster: unknown command "frobnicate"`},
		{[]string{"migrate", "--db", db}, 2, "", "roster: database " + db + " does not exist"},
		{[]string{"migrate", "--db", "sqlite:" + t.TempDir()}, 1, "", "roster: sqlite: "},
	} {
		cmd := exec.Command(binary(t), c.args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code || !strings.HasPrefix(stdout.String(), c.stdout) || (c.stdout == "") != (stdout.Len() == 0) ||
			!strings.HasPrefix(stderr.String(), c.stderr) || (c.stderr == "") != (stderr.Len() == 0) {
			t.Errorf("roster %s: exit %d, stdout %q, stderr %q; want %d, %q…, %q…", strings.Join(c.args, " "),
				code, stdout.String(), stderr.String(), c.code, c.stdout, c.stderr)
		}
	}
}

// TestServeThatCannotListenPrintsNoKey: serve listens before it makes the
// database and the default tenant, so a node whose address is taken stops
// with no key printed and no database made.
func TestServeThatCannotListenPrintsNoKey(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	db := filepath.Join(t.TempDir(), "roster.db")
	cmd := exec.Command(binary(t), "serve", "--db", db, "--addr", ln.Addr().String())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("serve on a taken address: %v, want a failure\n%s", err, stderr.String())
	}
	if stdout.Len() > 0 || strings.Contains(stderr.String(), "rst_") {
		t.Errorf("serve on a taken address printed %q (stderr %q)", stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "address already in use") {
		t.Errorf("stderr %q does not say why", stderr.String())
	}
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve on a taken address made the database: %v", err)
	}
}

func TestEnvironmentFallback(t *testing.T) {
	db := filepath.Join(t.TempDir(), "env.db")
	getenv := func(k string) string {
		if k == "ROSTER_DB" {
			return db
		}
		return ""
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"roster", "tenants", "create", "--create", "--name", "E", "--owner-email", "e@example.com"}, getenv, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("ROSTER_DB was not used: %v", err)
	}
	getenv = func(k string) string {
		if k == "ROSTER_TRUSTED_PROXIES" {
			return "not-a-cidr"
		}
		return ""
	}
	err := run(context.Background(), []string{"roster", "serve", "--db", db, "--addr", "127.0.0.1:0"}, getenv, &out, &errOut)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), `bad --trusted-proxies: "not-a-cidr"`) {
		t.Errorf("ROSTER_TRUSTED_PROXIES=not-a-cidr: %v", err)
	}
}

// keyOut is a key as the keys commands print it.
type keyOut struct {
	Object, ID, Name, Token string
	TenantID                *string  `json:"tenant_id"`
	Scopes                  []string `json:"scopes"`
	CreatedAt               string   `json:"created_at"`
	ExpiresAt               *string  `json:"expires_at"`
	RevokedAt               *string  `json:"revoked_at"`
	Replaces                *keyOut  `json:"replaces"`
}

func keyCmd(t *testing.T, args ...string) keyOut {
	t.Helper()
	var k keyOut
	if out := runCmd(t, args...); json.Unmarshal(out, &k) != nil || k.Object != "api_key" || k.ID == "" {
		t.Fatalf("roster %s printed %q", strings.Join(args, " "), out)
	}
	return k
}

// TestKeysCommands lists, revokes and rotates keys on the database a
// running server serves, which sees each change at once: a revoked key is
// refused with 401 by the next request.
func TestKeysCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "roster.db")
	base, stdout, stop := serve(t, db)
	defer stop()
	var boot struct {
		TenantID string `json:"tenant_id"`
		KeyID    string `json:"key_id"`
		Token    string
	}
	if err := json.Unmarshal([]byte(stdout.String()), &boot); err != nil {
		t.Fatalf("bootstrap output %q", stdout.String())
	}
	status := func(token, path string) int {
		t.Helper()
		s, _ := call(t, "GET", base+path, token, "")
		return s
	}

	reader := keyCmd(t, "keys", "create", "--db", db, "--tenant", boot.TenantID, "--scopes", "read_only", "--name", "reader")
	if got := status(reader.Token, "/v1/users"); got != 200 {
		t.Fatalf("new key: %d", got)
	}

	t.Run("list", func(t *testing.T) {
		out := runCmd(t, "keys", "list", "--db", db, "--tenant", boot.TenantID)
		var l struct{ Data []keyOut }
		if err := json.Unmarshal(out, &l); err != nil {
			t.Fatalf("keys list printed %q", out)
		}
		var ids []string
		for _, k := range l.Data {
			ids = append(ids, k.ID)
			if k.TenantID == nil || *k.TenantID != boot.TenantID {
				t.Errorf("key %s of tenant %v", k.ID, k.TenantID)
			}
		}
		if want := []string{reader.ID, boot.KeyID}; !slices.Equal(ids, want) {
			t.Errorf("keys list: %v, want %v, newest first", ids, want)
		}
		if strings.Contains(string(out), reader.Token) || strings.Contains(string(out), boot.Token) || strings.Contains(string(out), `"token"`) {
			t.Errorf("keys list shows a token: %s", out)
		}
		if err := json.Unmarshal(runCmd(t, "keys", "list", "--db", db, "--platform"), &l); err != nil || len(l.Data) != 0 {
			t.Errorf("platform keys: %v %v", l.Data, err)
		}
	})

	t.Run("revoke", func(t *testing.T) {
		k := keyCmd(t, "keys", "revoke", "--db", db, reader.ID)
		if k.ID != reader.ID || k.RevokedAt == nil {
			t.Errorf("keys revoke printed %+v", k)
		}
		if got := status(reader.Token, "/v1/users"); got != http.StatusUnauthorized {
			t.Errorf("revoked key: %d, want 401", got)
		}
		// Again: nothing changes, and it still says revoked.
		if again := keyCmd(t, "keys", "revoke", "--db", db, reader.ID); again.RevokedAt == nil || *again.RevokedAt != *k.RevokedAt {
			t.Errorf("second revoke: %+v", again)
		}
	})

	t.Run("revoke the last admin key", func(t *testing.T) {
		_, _, err := runErr("keys", "revoke", "--db", db, boot.KeyID)
		if exitCode(err) != 1 || !strings.Contains(err.Error(), "--force") || !strings.Contains(err.Error(), "last_admin_key") {
			t.Fatalf("revoking the last admin key: %v", err)
		}
		if got := status(boot.Token, "/v1/users"); got != 200 {
			t.Fatalf("the refused revoke revoked: %d", got)
		}
		// The flag may follow the key's id.
		if k := keyCmd(t, "keys", "revoke", "--db", db, boot.KeyID, "--force"); k.RevokedAt == nil {
			t.Errorf("forced revoke printed %+v", k)
		}
		if got := status(boot.Token, "/v1/users"); got != http.StatusUnauthorized {
			t.Errorf("force-revoked key: %d, want 401", got)
		}
	})

	t.Run("platform key", func(t *testing.T) {
		p1 := keyCmd(t, "keys", "create", "--db", db, "--platform")
		p2 := keyCmd(t, "keys", "create", "--db", db, "--platform")
		if p1.TenantID != nil {
			t.Errorf("platform key of tenant %v", *p1.TenantID)
		}
		k := keyCmd(t, "keys", "revoke", "--db", db, p1.ID)
		if k.RevokedAt == nil || k.TenantID != nil {
			t.Errorf("keys revoke printed %+v", k)
		}
		if got := status(p1.Token, "/v1/tenants"); got != http.StatusUnauthorized {
			t.Errorf("revoked platform key: %d, want 401", got)
		}
		if got := status(p2.Token, "/v1/tenants"); got != 200 {
			t.Errorf("the other platform key: %d", got)
		}
	})

	t.Run("rotate", func(t *testing.T) {
		old := keyCmd(t, "keys", "create", "--db", db, "--tenant", boot.TenantID, "--scopes", "admin")
		next := keyCmd(t, "keys", "rotate", "--db", db, old.ID)
		if next.ID == old.ID || next.Replaces == nil || next.Replaces.ID != old.ID || !strings.HasPrefix(next.Token, "rst_") ||
			!slices.Equal(next.Scopes, old.Scopes) || next.Replaces.ExpiresAt == nil {
			t.Fatalf("keys rotate printed %+v", next)
		}
		created, _ := time.Parse(time.RFC3339Nano, next.CreatedAt)
		ends, _ := time.Parse(time.RFC3339Nano, *next.Replaces.ExpiresAt)
		if got := ends.Sub(created); got != 24*time.Hour {
			t.Errorf("old key works for %v more, want the default grace of 24h", got)
		}
		for _, tok := range []string{old.Token, next.Token} {
			if got := status(tok, "/v1/users"); got != 200 {
				t.Errorf("within the grace period: %d", got)
			}
		}
		// No grace: the old token stops at once.
		last := keyCmd(t, "keys", "rotate", "--db", db, "--grace", "0s", next.ID)
		if got := status(next.Token, "/v1/users"); got != http.StatusUnauthorized {
			t.Errorf("token rotated with no grace: %d, want 401", got)
		}
		if got := status(last.Token, "/v1/users"); got != 200 {
			t.Errorf("new token: %d", got)
		}
		if _, _, err := runErr("keys", "rotate", "--db", db, reader.ID); exitCode(err) != 1 || !strings.Contains(err.Error(), "key_inactive") {
			t.Errorf("rotating a revoked key: %v", err)
		}
	})
}
