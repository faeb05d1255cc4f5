package httpapi_test

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
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/postgres"
	"github.com/roster-dev/roster/internal/postgres/pgtest"
	"github.com/roster-dev/roster/internal/server"
	"github.com/roster-dev/roster/internal/sqlite"
	"github.com/roster-dev/roster/internal/webhook"
)

// env is one Roster server on a real database, served over real HTTP on
// loopback, with a default tenant, its admin key and a platform key.
type env struct {
	t        testing.TB
	srv      *httptest.Server
	svc      *directory.Service
	store    directory.Store
	dbPath   string // the SQLite file, or the PostgreSQL URL
	logs     *syncBuffer
	tenant   string // the default tenant's ID
	token    string // its admin key
	platform string // a platform key
}

// syncBuffer collects log lines from concurrent requests.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// backend is the store the tests of this round run on: TestMain runs the
// whole suite once per backend, so every HTTP test holds on both.
var backend string

func TestMain(m *testing.M) {
	backends := strings.Split(cmp.Or(os.Getenv("ROSTER_TEST_BACKENDS"), "sqlite,postgres"), ",")
	code := 0
	for _, b := range backends {
		backend = b
		fmt.Printf("=== backend %s\n", b)
		if c := m.Run(); c != 0 {
			code = c
		}
	}
	pgtest.Close()
	os.Exit(code)
}

// openStore opens a fresh store for one test on the round's backend, and
// says where its data lives: a SQLite file path or a PostgreSQL URL.
func openStore(t testing.TB) (directory.Store, string) {
	t.Helper()
	if backend == "postgres" {
		url := pgtest.URL(t)
		s, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s, url
	}
	path := filepath.Join(t.TempDir(), "roster.db")
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// envOptions changes what newEnv builds.
type envOptions struct {
	anonymous directory.Plan  // the per-IP limit; zero: generous
	plan      *directory.Plan // the default tenant's plan; nil: generous
	// strictWebhooks refuses webhook URLs on private addresses, as a
	// production node does; tests' receivers are on loopback, so the
	// default allows them.
	strictWebhooks bool
	// configTTL is how long the node caches keys and tenants; 0: the
	// default.
	configTTL time.Duration
	// requestTimeout is the deadline of each request; 0: the default.
	requestTimeout time.Duration
	// redis is a redis:// URL: the node keeps its rate limits there, as
	// nodes sharing one Redis do; "": in memory.
	redis string
	// trustedProxies are the proxies whose X-Forwarded-For is believed.
	trustedProxies []netip.Prefix
}

// generous is a plan no test reaches by accident.
var generous = directory.Plan{RateLimitRPS: 1e6, RateLimitBurst: 1e6, WritesPerPeriod: 1e9, MaxActiveUsers: 1e9}

func newEnv(t testing.TB) *env { return newEnvWith(t, envOptions{}) }

func newEnvWith(t testing.TB, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	store, dbPath := openStore(t)
	logs := &syncBuffer{}
	if o.anonymous.RateLimitRPS == 0 {
		o.anonymous = generous
	}
	if o.plan == nil {
		o.plan = &generous
	}
	node, srv := startNode(t, store, o, logs)
	svc := node.Service
	out, err := svc.CreateTenant(ctx, directory.TenantInput{Name: "Acme", OwnerEmail: "owner@acme.test", Plan: o.plan}, true, directory.Actor{})
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	_, platform, err := svc.CreateKey(ctx, "", directory.KeyInput{Name: "platform"}, directory.Actor{})
	if err != nil {
		t.Fatalf("create platform key: %v", err)
	}
	return &env{t: t, srv: srv, svc: svc, store: store, dbPath: dbPath, logs: logs, tenant: out.Tenant.ID, token: out.Token, platform: platform}
}

// testSecretKey seals webhook secrets in the tests' databases.
var testSecretKey = []byte("test key of Roster, 32 bytes lon")

// startNode starts a node on store, with its workers and an HTTP server,
// all stopped when the test ends.
func startNode(t testing.TB, store directory.Store, o envOptions, logs io.Writer) (*server.Node, *httptest.Server) {
	t.Helper()
	node, err := server.New(context.Background(), server.Config{
		Store: store, AllowPrivateWebhooks: !o.strictWebhooks, Anonymous: o.anonymous,
		Logger:         slog.New(slog.NewJSONHandler(logs, nil)),
		Dispatcher:     webhook.DispatcherOptions{Interval: 20 * time.Millisecond, BaseBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
		PurgeInterval:  time.Hour, // tests purge when they choose, with PurgeDue
		ConfigTTL:      o.configTTL,
		RequestTimeout: o.requestTimeout,
		Redis:          o.redis,
		SecretKeys:     [][]byte{testSecretKey},
		TrustedProxies: o.trustedProxies,
	})
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
	})
	return node, srv
}

// secondNode starts another node on e's database, as another server process
// would be, with caches of its own kept for ttl, and returns an env whose
// requests go to it (same tenant, same keys).
func (e *env) secondNode(t testing.TB, ttl time.Duration) *env {
	t.Helper()
	o := envOptions{anonymous: generous, configTTL: ttl}
	node, srv := startNode(t, e.store, o, e.logs)
	other := *e
	other.srv, other.svc = srv, node.Service
	return &other
}

// newTenant makes another tenant and returns its ID and admin token.
func (e *env) newTenant(name string) (string, string) {
	e.t.Helper()
	out, err := e.svc.CreateTenant(context.Background(), directory.TenantInput{Name: name, Plan: &generous}, true, directory.Actor{})
	if err != nil {
		e.t.Fatalf("create tenant: %v", err)
	}
	return out.Tenant.ID, out.Token
}

// keyWith makes a key of the default tenant with the given scopes.
func (e *env) keyWith(scopes ...string) string {
	e.t.Helper()
	sc, err := directory.ParseScopes(strings.Join(scopes, " "))
	if err != nil {
		e.t.Fatalf("scopes: %v", err)
	}
	_, token, err := e.svc.CreateKey(context.Background(), e.tenant, directory.KeyInput{Name: "test", Scopes: sc}, directory.Actor{})
	if err != nil {
		e.t.Fatalf("create key: %v", err)
	}
	return token
}

// keyID makes an admin key of the tenant (a platform key for "") and
// returns its ID.
func (e *env) keyID(t testing.TB, tenantID string) string {
	t.Helper()
	in := directory.KeyInput{Name: "spare", Scopes: []string{directory.ScopeAdmin}}
	if tenantID == "" {
		in.Scopes = nil
	}
	k, _, err := e.svc.CreateKey(context.Background(), tenantID, in, directory.Actor{})
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	return k.ID
}

// response is what a request got.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body as a JSON object.
func (r *response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %d body %q: %v", r.status, r.body, err)
	}
	return m
}

// req describes a request. Headers come in pairs: name, value; a name given
// twice is sent on two field lines.
type req struct {
	method, path string
	token        string // "" uses the default admin key; "-" sends none
	body         any    // string or []byte as is; anything else as JSON
	ctype        string // defaults to application/json when there is a body
	headers      []string
}

// do sends a request and checks the exchange against the OpenAPI contract.
func (e *env) do(t testing.TB, rq req) *response {
	t.Helper()
	var body []byte
	switch b := rq.body.(type) {
	case nil:
	case string:
		body = []byte(b)
	case []byte:
		body = b
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			t.Fatalf("encode body: %v", err)
		}
	}
	r, err := http.NewRequest(rq.method, e.srv.URL+rq.path, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	switch rq.token {
	case "":
		r.Header.Set("Authorization", "Bearer "+e.token)
	case "-":
	default:
		r.Header.Set("Authorization", "Bearer "+rq.token)
	}
	if rq.body != nil {
		ct := rq.ctype
		if ct == "" {
			ct = "application/json"
		}
		r.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(rq.headers); i += 2 {
		r.Header.Add(rq.headers[i], rq.headers[i+1])
	}
	resp, err := e.srv.Client().Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", rq.method, rq.path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("%s %s: no X-Request-Id", rq.method, rq.path)
	}
	checkContract(t, r, body, resp, got)
	return &response{status: resp.StatusCode, header: resp.Header, body: got}
}

// equalJSON reports whether got, a decoded JSON value, equals the JSON text
// want decoded the same way (numbers as json.Number, as response.json
// decodes them): values are compared, not how they print.
func equalJSON(got any, want string) bool {
	dec := json.NewDecoder(strings.NewReader(want))
	dec.UseNumber()
	var w any
	if err := dec.Decode(&w); err != nil {
		panic(fmt.Sprintf("equalJSON: bad want %q: %v", want, err))
	}
	return reflect.DeepEqual(normalize(got), w)
}

// normalize makes the numbers of v json.Numbers, so that values decoded
// without UseNumber compare with those decoded with it.
func normalize(v any) any {
	switch v := v.(type) {
	case float64:
		return json.Number(strconv.FormatFloat(v, 'f', -1, 64))
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normalize(x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = normalize(x)
		}
		return out
	}
	return v
}

// must sends a request and fails the test unless it gets status want.
func (e *env) must(t testing.TB, want int, rq req) *response {
	t.Helper()
	r := e.do(t, rq)
	if r.status != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", rq.method, rq.path, r.status, want, r.body)
	}
	return r
}

// problem checks that r is a problem with status and code, and returns it.
func problem(t testing.TB, r *response, status int, code string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	p := r.json(t)
	if p["code"] != code {
		t.Fatalf("code %v, want %s; body %s", p["code"], code, r.body)
	}
	if p["request_id"] != r.header.Get("X-Request-Id") {
		t.Errorf("request_id %v differs from X-Request-Id %q", p["request_id"], r.header.Get("X-Request-Id"))
	}
	if p["type"] != "https://roster.dev/problems/"+code {
		t.Errorf("type %v", p["type"])
	}
	return p
}

// fieldCodes returns field → code of a problem's errors.
func fieldCodes(p map[string]any) map[string]string {
	out := map[string]string{}
	errs, _ := p["errors"].([]any)
	for _, e := range errs {
		m := e.(map[string]any)
		out[m["field"].(string)] = m["code"].(string)
	}
	return out
}

// createUser creates a user in the default tenant and returns its body.
func (e *env) createUser(t testing.TB, body map[string]any) map[string]any {
	t.Helper()
	return e.must(t, http.StatusCreated, req{method: "POST", path: "/v1/users", body: body}).json(t)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
