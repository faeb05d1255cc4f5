package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
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

func TestCommandErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "roster.db")
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"tenants", "create", "--db", db, "--name", "X"},
		{"tenants", "create", "--db", db, "--name", "X", "--owner-email", "not-an-email"},
		{"keys", "create", "--db", db, "--tenant", "ten_01ARZ3NDEKTSV4RRFFQ69G5FAV", "--scopes", "users:read"},
		{"keys", "create", "--db", db, "--tenant", "ten_x", "--scopes", "root"},
		{"keys", "create", "--db", db, "--platform", "--scopes", "admin"},
	} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), append([]string{"roster"}, args...), noEnv, &out, &errOut); err == nil {
			t.Errorf("roster %v succeeded", args)
		}
	}
	if got := string(runCmd(t, "version")); !strings.HasPrefix(got, "roster ") {
		t.Errorf("version printed %q", got)
	}
	db = filepath.Join(t.TempDir(), "fresh.db")
	if got := string(runCmd(t, "migrate", "--db", db)); !strings.Contains(got, "applied migrations [1 ") {
		t.Errorf("first migrate printed %q", got)
	}
	if got := string(runCmd(t, "migrate", "--db", db)); !strings.Contains(got, "up to date") {
		t.Errorf("second migrate printed %q", got)
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
	if err := run(context.Background(), []string{"roster", "tenants", "create", "--name", "E", "--owner-email", "e@example.com"}, getenv, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("ROSTER_DB was not used: %v", err)
	}
}
