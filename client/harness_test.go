package client_test

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/client"
	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/postgres"
	"github.com/roster-dev/roster/internal/postgres/pgtest"
	"github.com/roster-dev/roster/internal/server"
	"github.com/roster-dev/roster/internal/sqlite"
	"github.com/roster-dev/roster/internal/webhook"
)

// backend is the store of this round: TestMain runs every test once per
// backend, as internal/httpapi's suite does. ROSTER_TEST_BACKENDS=sqlite
// runs one.
var backend string

// examples is the server the Example functions talk to, on SQLite (an
// Example has no *testing.T for pgtest), made again each round.
var examples *node

func TestMain(m *testing.M) {
	backends := strings.Split(cmp.Or(os.Getenv("ROSTER_TEST_BACKENDS"), "sqlite,postgres"), ",")
	code := 0
	for _, b := range backends {
		backend = b
		fmt.Printf("=== backend %s\n", b)
		dir, err := os.MkdirTemp("", "roster-client-examples")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		store, err := sqlite.Open(context.Background(), filepath.Join(dir, "roster.db"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		examples, err = startNode(store)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if c := m.Run(); c != 0 {
			code = c
		}
		examples.close()
		store.Close()
		os.RemoveAll(dir)
	}
	pgtest.Close()
	os.Exit(code)
}

// generous is a plan no test reaches by accident.
var generous = directory.Plan{RateLimitRPS: 1e6, RateLimitBurst: 1e6, WritesPerPeriod: 1e9, MaxActiveUsers: 1e9}

// testSecretKey seals webhook secrets in the tests' databases.
var testSecretKey = []byte("test key of Roster, 32 bytes lon")

// node is one Roster node served over real HTTP on loopback.
type node struct {
	srv   *httptest.Server
	svc   *directory.Service
	close func()
}

func startNode(store directory.Store) (*node, error) {
	n, err := server.New(context.Background(), server.Config{
		Store: store, AllowPrivateWebhooks: true, Anonymous: generous,
		Logger:        slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Dispatcher:    webhook.DispatcherOptions{Interval: 20 * time.Millisecond, BaseBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
		PurgeInterval: time.Hour,
		SecretKeys:    [][]byte{testSecretKey},
	})
	if err != nil {
		return nil, err
	}
	workers, stop := context.WithCancel(context.Background())
	wait := n.RunWorkers(workers)
	srv := httptest.NewServer(n.Handler)
	return &node{srv: srv, svc: n.Service, close: func() {
		srv.Close()
		stop()
		wait()
		n.Close()
	}}, nil
}

// newTenant makes a tenant on n and returns its ID and an admin token.
func (n *node) newTenant(name string) (string, string, error) {
	out, err := n.svc.CreateTenant(context.Background(), directory.TenantInput{Name: name, Plan: &generous}, true, directory.Actor{})
	if err != nil {
		return "", "", err
	}
	return out.Tenant.ID, out.Token, nil
}

// env is a node on the round's backend, with a tenant and its admin key.
type env struct {
	*node
	url    string
	tenant string
	token  string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	var store directory.Store
	if backend == "postgres" {
		s, err := postgres.Open(context.Background(), pgtest.URL(t))
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		store = s
	} else {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		store = s
	}
	n, err := startNode(store)
	if err != nil {
		store.Close()
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() {
		n.close()
		store.Close()
	})
	tenant, token, err := n.newTenant("Acme")
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	return &env{node: n, url: n.srv.URL, tenant: tenant, token: token}
}

// client returns a client of e with its admin key.
func (e *env) client(opts ...client.Option) *client.Client {
	return client.New(e.url, e.token, opts...)
}

// keyWith makes a key of e's tenant with these scopes and returns its
// token.
func (e *env) keyWith(t *testing.T, scopes ...string) string {
	t.Helper()
	k, err := e.client().CreateKey(context.Background(), client.KeyInput{Name: "test", Scopes: scopes})
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	return k.Token
}

// platform returns a client of e's tenant with a new platform key.
func (e *env) platform(t *testing.T) *client.Client {
	t.Helper()
	_, token, err := e.svc.CreateKey(context.Background(), "", directory.KeyInput{Name: "platform"}, directory.Actor{})
	if err != nil {
		t.Fatalf("create platform key: %v", err)
	}
	return client.New(e.url, token, client.WithTenant(e.tenant))
}

// exampleServer returns the URL of the examples' server and the admin
// token of a tenant of its own, so that each Example starts from an empty
// directory however often it runs.
func exampleServer() (string, string) {
	_, token, err := examples.newTenant("Example")
	if err != nil {
		panic(err)
	}
	return examples.srv.URL, token
}

// mustCreate creates a user or ends the test.
func mustCreate(t *testing.T, c *client.Client, in client.UserInput) *client.User {
	t.Helper()
	u, err := c.Create(context.Background(), in)
	if err != nil {
		t.Fatalf("create %+v: %v", in, err)
	}
	return u
}

// collect walks seq to its end.
func collect[T any](t *testing.T, seq iter.Seq2[T, error]) []T {
	t.Helper()
	var out []T
	for v, err := range seq {
		if err != nil {
			t.Fatalf("walk: %v", err)
		}
		out = append(out, v)
	}
	return out
}
