package scim_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/postgres"
	"github.com/roster-dev/roster/internal/postgres/pgtest"
	"github.com/roster-dev/roster/internal/server"
	"github.com/roster-dev/roster/internal/sqlite"
	"github.com/roster-dev/roster/internal/webhook"
)

// backend is the store of this round: TestMain runs every test once per
// backend.
var backend string

func TestMain(m *testing.M) {
	code := 0
	for _, b := range strings.Split(cmp.Or(os.Getenv("ROSTER_TEST_BACKENDS"), "sqlite,postgres"), ",") {
		backend = b
		fmt.Printf("=== backend %s\n", b)
		if c := m.Run(); c != 0 {
			code = c
		}
	}
	pgtest.Close()
	os.Exit(code)
}

// env is a Roster node on a fresh database, served over HTTP on loopback,
// with a tenant and its admin key.
type env struct {
	srv    *httptest.Server
	svc    *directory.Service
	store  directory.Store
	tenant string
	token  string
}

var generous = directory.Plan{RateLimitRPS: 1e6, RateLimitBurst: 1e6, WritesPerPeriod: 1e9, MaxActiveUsers: 1e9}

func newEnv(t *testing.T) *env { t.Helper(); return newEnvWith(t, nil) }

// newEnvWith is newEnv with a server configuration that configure changes.
func newEnvWith(t *testing.T, configure func(*server.Config)) *env {
	t.Helper()
	ctx := context.Background()
	var store directory.Store
	if backend == "postgres" {
		s, err := postgres.Open(ctx, pgtest.URL(t))
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		store = s
	} else {
		s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		store = s
	}
	cfg := server.Config{
		Store: store, AllowPrivateWebhooks: true, Anonymous: generous,
		Logger:        slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Dispatcher:    webhook.DispatcherOptions{Interval: 20 * time.Millisecond, BaseBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
		PurgeInterval: time.Hour,
		SecretKeys:    [][]byte{[]byte("test key of Roster, 32 bytes lon")},
	}
	if configure != nil {
		configure(&cfg)
	}
	node, err := server.New(ctx, cfg)
	if err != nil {
		t.Fatalf("build node: %v", err)
	}
	workers, stop := context.WithCancel(context.Background())
	wait := node.RunWorkers(workers)
	srv := httptest.NewServer(node.Handler)
	t.Cleanup(func() {
		srv.Close()
		stop()
		wait()
		node.Close()
		store.Close()
	})
	out, err := node.Service.CreateTenant(ctx, directory.TenantInput{Name: "Acme", OwnerEmail: "owner@acme.test", Plan: &generous}, true, directory.Actor{})
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	return &env{srv: srv, svc: node.Service, store: store, tenant: out.Tenant.ID, token: out.Token}
}

// keyWith makes a key of the tenant with the given scopes.
func (e *env) keyWith(t *testing.T, scopes ...string) string {
	t.Helper()
	_, token, err := e.svc.CreateKey(context.Background(), e.tenant, directory.KeyInput{Name: "scim", Scopes: scopes}, directory.Actor{})
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	return token
}

// rq is a request: a body (a string as is, anything else as JSON) and
// headers in pairs. With no Content-Type among them, a body goes as
// application/scim+json. token "" is the admin key, "-" none.
type rq struct {
	method, path string
	body         any
	token        string
	headers      []string
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (e *env) do(t *testing.T, r rq) *resp {
	t.Helper()
	var body []byte
	switch b := r.body.(type) {
	case nil:
	case string:
		body = []byte(b)
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(r.method, e.srv.URL+r.path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	switch r.token {
	case "":
		req.Header.Set("Authorization", "Bearer "+e.token)
	case "-":
	default:
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	ctSet := false
	for i := 0; i+1 < len(r.headers); i += 2 {
		req.Header.Add(r.headers[i], r.headers[i+1])
		ctSet = ctSet || strings.EqualFold(r.headers[i], "Content-Type")
	}
	if body != nil && !ctSet {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); strings.HasPrefix(r.path, "/scim/") && res.StatusCode != http.StatusNoContent && ct != "application/scim+json" {
		t.Errorf("%s %s → %d: Content-Type %q, want application/scim+json", r.method, r.path, res.StatusCode, ct)
	}
	return &resp{status: res.StatusCode, header: res.Header, body: got}
}

// json decodes the body as an object.
func (r *resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %d body %q: %v", r.status, r.body, err)
	}
	return m
}

// want fails the test unless the status is status.
func (r *resp) want(t *testing.T, status int) *resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	return r
}

// wantError checks a SCIM error: status (as a string too) and scimType.
func (r *resp) wantError(t *testing.T, status int, scimType string) {
	t.Helper()
	r.want(t, status)
	m := r.json(t)
	if got := m["status"]; got != fmt.Sprint(status) {
		t.Errorf("error status member %#v, want %q", got, fmt.Sprint(status))
	}
	if got, _ := m["scimType"].(string); got != scimType {
		t.Errorf("scimType %q, want %q; body %s", got, scimType, r.body)
	}
	if s, _ := m["schemas"].([]any); len(s) != 1 || s[0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
		t.Errorf("schemas %v, want the Error schema", m["schemas"])
	}
	if d, _ := m["detail"].(string); d == "" {
		t.Errorf("no detail in %s", r.body)
	}
}

// at returns the value at a dotted path of a decoded object ("name.givenName",
// "emails.0.value"); a leading schema URI names the extension object:
// "urn:…:enterprise:2.0:User.department".
func at(v any, path string) any {
	if rest, ok := strings.CutPrefix(path, enterprise); ok {
		m, _ := v.(map[string]any)
		v, path = m[enterprise], strings.TrimPrefix(rest, ".")
		if path == "" {
			return v
		}
	}
	for p := range strings.SplitSeq(path, ".") {
		switch c := v.(type) {
		case map[string]any:
			v = c[p]
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

// list searches Users with the query q (already encoded).
func (e *env) list(t *testing.T, q string) map[string]any {
	t.Helper()
	return e.do(t, rq{method: "GET", path: "/scim/v2/Users?" + q}).want(t, http.StatusOK).json(t)
}

// total is a ListResponse's totalResults.
func total(t *testing.T, m map[string]any) int {
	t.Helper()
	n, err := m["totalResults"].(json.Number).Int64()
	if err != nil {
		t.Fatalf("totalResults %v", m["totalResults"])
	}
	return int(n)
}
