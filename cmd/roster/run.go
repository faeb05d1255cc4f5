package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/server"
	"github.com/roster-dev/roster/internal/webhook"
)

const usage = `usage: roster <command> [flags]

commands:
  serve                         serve the HTTP API
  migrate                       apply database migrations and exit
  tenants create --name N --owner-email E
                                create a tenant, its owner and an admin key
  keys create --tenant ID --scopes S | --platform
                                create an API key
  version                       print the version

Every command accepts --db (default ./roster.db, env ROSTER_DB).
Run 'roster <command> -h' for a command's flags.
`

// config is every setting of the process, from flags with ROSTER_*
// environment fallbacks.
type config struct {
	DB                   string
	Addr                 string
	Redis                string
	LogLevel             string
	AllowPrivateWebhooks bool
	DeliveryLease        time.Duration
	CPUProfile           string
	Trace                string
}

// env returns the environment variable's value, or def when it is unset.
func env(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

func newFlagSet(name string, cfg *config, getenv func(string) string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.DB, "db", env(getenv, "ROSTER_DB", "./roster.db"), "database: a SQLite file path, a sqlite: DSN or a postgres:// URL (env ROSTER_DB)")
	fs.StringVar(&cfg.LogLevel, "log-level", env(getenv, "ROSTER_LOG_LEVEL", "info"), "log level: debug, info, warn or error (env ROSTER_LOG_LEVEL)")
	return fs
}

// run is the whole program; main only calls it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[1], args[2:]
	if (cmd == "tenants" || cmd == "keys") && len(rest) > 0 && rest[0] == "create" {
		cmd, rest = cmd+" create", rest[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, getenv, stdout, stderr)
	case "tenants create":
		return runTenantsCreate(ctx, rest, getenv, stdout, stderr)
	case "keys create":
		return runKeysCreate(ctx, rest, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "roster", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", strings.Join(args[1:min(3, len(args))], " "))
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func newLogger(level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("bad --log-level %q", level)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config
	fs := newFlagSet("serve", &cfg, getenv, stderr)
	fs.StringVar(&cfg.Addr, "addr", env(getenv, "ROSTER_ADDR", "127.0.0.1:8080"), "listen address (env ROSTER_ADDR)")
	fs.StringVar(&cfg.Redis, "redis", env(getenv, "ROSTER_REDIS", ""), "Redis URL for rate limits shared by several nodes (env ROSTER_REDIS)")
	fs.BoolVar(&cfg.AllowPrivateWebhooks, "allow-private-webhooks", env(getenv, "ROSTER_ALLOW_PRIVATE_WEBHOOKS", "") == "true",
		"allow webhook URLs on loopback, private and link-local addresses (env ROSTER_ALLOW_PRIVATE_WEBHOOKS=true)")
	lease, err := time.ParseDuration(env(getenv, "ROSTER_DELIVERY_LEASE", "1m"))
	if err != nil {
		return fmt.Errorf("bad ROSTER_DELIVERY_LEASE: %w", err)
	}
	fs.DurationVar(&cfg.DeliveryLease, "delivery-lease", lease,
		"how long a node holds an event delivery before another node may retry it (env ROSTER_DELIVERY_LEASE)")
	fs.StringVar(&cfg.CPUProfile, "cpu-profile", env(getenv, "ROSTER_CPU_PROFILE", ""),
		"diagnostics: write a CPU profile of the whole run to this file, for go tool pprof (env ROSTER_CPU_PROFILE)")
	fs.StringVar(&cfg.Trace, "trace", env(getenv, "ROSTER_TRACE", ""),
		"diagnostics: write an execution trace of the whole run to this file, for go tool trace (env ROSTER_TRACE)")
	var sk secretKeyFlags
	fs.StringVar(&sk.Key, "secret-key", env(getenv, "ROSTER_SECRET_KEY", ""),
		"the key that seals webhook secrets at rest: base64 of 32 bytes (env ROSTER_SECRET_KEY); default: a file beside a SQLite database")
	fs.StringVar(&sk.File, "secret-key-file", env(getenv, "ROSTER_SECRET_KEY_FILE", ""), "a file holding --secret-key (env ROSTER_SECRET_KEY_FILE)")
	fs.StringVar(&sk.Previous, "previous-secret-keys", env(getenv, "ROSTER_PREVIOUS_SECRET_KEYS", ""),
		"keys that sealed secrets before --secret-key, comma-separated, while it replaces them (env ROSTER_PREVIOUS_SECRET_KEYS)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.CPUProfile != "" {
		stop, err := startCPUProfile(cfg.CPUProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	if cfg.Trace != "" {
		stop, err := startTrace(cfg.Trace)
		if err != nil {
			return err
		}
		defer stop()
	}
	log, err := newLogger(cfg.LogLevel, stderr)
	if err != nil {
		return err
	}
	keys, err := secretKeys(sk, cfg.DB, log)
	if err != nil {
		return err
	}
	node, err := server.New(ctx, server.Config{
		DB: cfg.DB, Redis: cfg.Redis, AllowPrivateWebhooks: cfg.AllowPrivateWebhooks, Logger: log,
		Dispatcher: webhook.DispatcherOptions{Lease: cfg.DeliveryLease}, SecretKeys: keys,
	})
	if err != nil {
		return err
	}
	defer node.Close()
	if err := bootstrap(ctx, node.Service, stdout); err != nil {
		return err
	}
	workers, stopWorkers := context.WithCancel(context.Background())
	waitWorkers := node.RunWorkers(workers)
	defer func() {
		stopWorkers()
		waitWorkers() // before the store closes
	}()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := server.HTTPServer(node.Handler, log)
	log.Info("listening", slog.String("addr", "http://"+ln.Addr().String()), slog.String("db", cfg.DB), slog.String("version", version()))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// startCPUProfile profiles the process's CPU into the file at path until
// stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	return record("cpu profile", path, pprof.StartCPUProfile, pprof.StopCPUProfile)
}

// startTrace writes an execution trace of the process into the file at path
// until stop is called: where each goroutine ran, waited and blocked, which
// a CPU profile does not show.
func startTrace(path string) (stop func(), err error) {
	return record("trace", path, trace.Start, trace.Stop)
}

// record creates the file at path and runs start on it; the returned stop
// runs end and closes the file.
func record(what, path string, start func(io.Writer) error, end func()) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return func() {
		end()
		f.Close()
	}, nil
}

// bootstrap creates a default tenant with an admin key on the first start of
// an empty database, and prints the key: it is shown only this once.
func bootstrap(ctx context.Context, svc *directory.Service, stdout io.Writer) error {
	n, err := svc.CountTenants(ctx)
	if err != nil || n > 0 {
		return err
	}
	out, err := svc.CreateTenant(ctx, directory.TenantInput{Name: "Default"}, true, directory.Actor{})
	if err != nil {
		return fmt.Errorf("create default tenant: %w", err)
	}
	return printJSON(stdout, map[string]any{
		"message":   "Created the default tenant and its admin key. The token is shown only this once.",
		"tenant_id": out.Tenant.ID,
		"key_id":    out.Key.ID,
		"token":     out.Token,
	})
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config
	if err := newFlagSet("migrate", &cfg, getenv, stderr).Parse(args); err != nil {
		return err
	}
	store, err := server.OpenStore(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer store.Close()
	if m, ok := store.(interface{ Applied() []int }); ok && len(m.Applied()) > 0 {
		fmt.Fprintf(stdout, "database %s: applied migrations %v\n", cfg.DB, m.Applied())
		return nil
	}
	fmt.Fprintf(stdout, "database %s is up to date\n", cfg.DB)
	return nil
}

func runTenantsCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config
	var name, ownerEmail string
	fs := newFlagSet("tenants create", &cfg, getenv, stderr)
	fs.StringVar(&name, "name", "", "the tenant's name (required)")
	fs.StringVar(&ownerEmail, "owner-email", "", "the owner's email (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if name == "" || ownerEmail == "" {
		return errors.New("tenants create needs --name and --owner-email")
	}
	store, err := server.OpenStore(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer store.Close()
	out, err := directory.NewService(store, directory.Options{}).CreateTenant(ctx, directory.TenantInput{Name: name, OwnerEmail: ownerEmail}, true, directory.Actor{})
	if err != nil {
		return describe(err)
	}
	return printJSON(stdout, map[string]any{
		"tenant": map[string]any{"id": out.Tenant.ID, "name": out.Tenant.Name},
		"owner":  directory.PublicDoc(out.Owner),
		"key":    map[string]any{"id": out.Key.ID, "scopes": out.Key.Scopes},
		"token":  out.Token,
	})
}

func runKeysCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config
	var tenantID, scopes, name string
	var platform bool
	fs := newFlagSet("keys create", &cfg, getenv, stderr)
	fs.StringVar(&tenantID, "tenant", "", "the tenant the key belongs to")
	fs.StringVar(&scopes, "scopes", "", "scopes: users:read users:write admin, or read_only / read_write")
	fs.BoolVar(&platform, "platform", false, "create a platform key, which manages tenants")
	fs.StringVar(&name, "name", "cli", "a name to recognize the key by")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var sc []string
	switch {
	case platform && (tenantID != "" || scopes != ""):
		return errors.New("--platform takes neither --tenant nor --scopes")
	case !platform && tenantID == "":
		return errors.New("keys create needs --tenant ID --scopes S, or --platform")
	case !platform:
		var err error
		if sc, err = directory.ParseScopes(scopes); err != nil {
			return describe(err)
		}
	}
	store, err := server.OpenStore(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer store.Close()
	k, token, err := directory.NewService(store, directory.Options{}).CreateKey(ctx, tenantID, directory.KeyInput{Name: name, Scopes: sc}, directory.Actor{})
	if err != nil {
		return describe(err)
	}
	out := map[string]any{"id": k.ID, "scopes": k.Scopes, "token": token}
	if k.TenantID != "" {
		out["tenant_id"] = k.TenantID
	}
	return printJSON(stdout, out)
}

// describe turns a domain error into a message for the command line.
func describe(err error) error {
	var e *directory.Error
	if !errors.As(err, &e) {
		return err
	}
	msg := e.Message
	for _, f := range e.Fields {
		msg += "\n  " + f.Field + ": " + f.Message
	}
	if e.Code == directory.ECodeNotFound {
		msg = "no such tenant"
	}
	return errors.New(msg + " (" + e.Code + ")")
}
