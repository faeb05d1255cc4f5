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
	"net/netip"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/httpapi"
	"github.com/roster-dev/roster/internal/server"
	"github.com/roster-dev/roster/internal/usercache"
	"github.com/roster-dev/roster/internal/webhook"
	"github.com/roster-dev/roster/internal/wire"
)

// A command is one of roster's commands: its name ("keys revoke"), the
// arguments its usage line shows, what it does, and run, which declares its
// flags on inv.flags and parses them with inv.parse.
type command struct {
	name, args, summary string
	run                 func(ctx context.Context, inv *invocation) error
}

// commands are roster's commands, in the order the usage lists them. A name
// of two words is a member of a group ("tenants", "keys").
var commands = []command{
	{"serve", "[flags]", "serve the HTTP API; the first start makes the database and a default tenant", runServe},
	{"migrate", "[--db DSN] [--create]", "apply the database's migrations and exit", runMigrate},
	{"tenants create", "--name N --owner-email E", "create a tenant, its owner and an admin key", runTenantsCreate},
	{"keys list", "--tenant ID | --platform", "list API keys, newest first, revoked and expired ones included", runKeysList},
	{"keys create", "--tenant ID --scopes S | --platform", "create an API key", runKeysCreate},
	{"keys revoke", "[--force] KEY_ID", "revoke a key at once", runKeysRevoke},
	{"keys rotate", "[--grace 24h] KEY_ID", "replace a key by a new one; the old token works for the grace period", runKeysRotate},
	{"users list", "[--email E] [--username U] [--status S] [--limit N]", "list the tenant's users, newest first, as JSON Lines", runUsersList},
	{"users get", "USER_ID", "print a user", runUsersGet},
	{"users create", "--set FIELD=VALUE... | -f FILE", "create a user", runUsersCreate},
	{"users update", "USER_ID --set FIELD=VALUE... | -f FILE [--merge | --json-patch]", "update a user: --set and -f set each field given, null clears one", runUsersUpdate},
	{"users delete", "USER_ID", "start a user's deletion, which restore cancels until the grace period ends", runUsersDelete},
	{"users restore", "USER_ID", "cancel a user's pending deletion", runUsersRestore},
	{"users deactivate", "USER_ID", "deactivate a user", runUsersDeactivate},
	{"users reactivate", "USER_ID", "make a deactivated user active again", runUsersReactivate},
	{"users suspend", "USER_ID --reason R [--ends-at T]", "suspend a user", runUsersSuspend},
	{"users unsuspend", "USER_ID SUSPENSION_ID", "lift one of a user's suspensions", runUsersUnsuspend},
	{"users history", "USER_ID [--limit N]", "print a user's audit trail, newest first, as JSON Lines", runUsersHistory},
	{"version", "", "print the version", runVersion},
}

const usageFooter = `
Commands that use a database take --db (default ./roster.db, env ROSTER_DB).
Only serve creates a missing SQLite file by itself; migrate, tenants create
and keys create do with --create, and the other commands refuse.
The users commands talk to a running server instead: --url (default
http://127.0.0.1:8080, env ROSTER_URL), with the API key in the environment
variable ROSTER_TOKEN or in a file given with --token-file.
Run 'roster <command> -h' for a command's flags.
Exit status: 0 on success, 1 if the command failed, 2 for a wrong command line.
`

// usage lists the commands whose name starts with prefix ("" for all).
func usage(prefix string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: roster %s<command> [flags] [arguments]\n\ncommands:\n", prefix)
	for _, c := range commands {
		if !strings.HasPrefix(c.name, prefix) {
			continue
		}
		line := strings.TrimSpace(c.name + " " + c.args)
		if len(line) <= 28 {
			fmt.Fprintf(&b, "  %-30s%s\n", line, c.summary)
		} else {
			fmt.Fprintf(&b, "  %s\n  %30s%s\n", line, "", c.summary)
		}
	}
	if prefix == "" {
		fmt.Fprintf(&b, "  %-30s%s\n", "help [command]", "print this text, or a command's")
		b.WriteString(usageFooter)
	}
	return b.String()
}

// usageError is a command line roster cannot run: main exits with status 2
// for it, and 1 for every other error.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// exitCode is the exit status of a run that returned err.
func exitCode(err error) int {
	var u *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &u):
		return 2
	}
	return 1
}

// run is the whole program; main only calls it. A request for help prints
// it on stdout and is a success.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runInput(ctx, args, getenv, os.Stdin, stdout, stderr)
}

// runInput is run with stdin as the standard input (of users create -f -).
func runInput(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	err := dispatch(ctx, args[1:], getenv, stdin, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

func dispatch(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage(""))
		return usagef("no command given")
	}
	name, rest := args[0], args[1:]
	switch {
	case name == "help" && len(rest) > 0:
		return dispatch(ctx, append(rest, "-h"), getenv, stdin, stdout, stderr)
	case name == "help" || isHelp(name):
		fmt.Fprint(stdout, usage(""))
		return nil
	}
	if group := name + " "; isGroup(group) {
		switch {
		case len(rest) == 0:
			fmt.Fprint(stderr, usage(group))
			return usagef("%s needs a command", name)
		case isHelp(rest[0]) || rest[0] == "help":
			fmt.Fprint(stdout, usage(group))
			return nil
		}
		name, rest = group+rest[0], rest[1:]
	}
	for i := range commands {
		if c := &commands[i]; c.name == name {
			inv := &invocation{cmd: c, flags: flag.NewFlagSet(name, flag.ContinueOnError), args: rest, getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
			inv.flags.SetOutput(io.Discard) // parse reports errors and help
			return c.run(ctx, inv)
		}
	}
	return usagef("unknown command %q: run 'roster help' for the commands", name)
}

func isGroup(prefix string) bool {
	for _, c := range commands {
		if strings.HasPrefix(c.name, prefix) {
			return true
		}
	}
	return false
}

// invocation is one run of a command: its flags, its command line and the
// process's environment and output.
type invocation struct {
	cmd            *command
	flags          *flag.FlagSet
	args           []string
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
}

// parse parses the command line: the flags, which may come before, between
// or after the arguments, and exactly one argument per name given. After
// "--" everything is an argument. -h and --help print the command's usage
// on stdout and return flag.ErrHelp.
func (inv *invocation) parse(names ...string) ([]string, error) {
	var got []string
	rest := inv.args
	for len(rest) > 0 {
		if err := inv.flags.Parse(rest); errors.Is(err, flag.ErrHelp) {
			inv.usage(inv.stdout)
			return nil, err
		} else if err != nil {
			return nil, inv.usagef("%v", err)
		}
		left := inv.flags.Args()
		if n := len(rest) - len(left); n > 0 && rest[n-1] == "--" {
			got = append(got, left...)
			break
		}
		if len(left) > 0 {
			got, left = append(got, left[0]), left[1:]
		}
		rest = left
	}
	switch {
	case len(got) > len(names):
		return nil, inv.usagef("unexpected argument %q", got[len(names)])
	case len(got) < len(names):
		return nil, inv.usagef("missing %s", strings.Join(names[len(got):], " "))
	}
	return got, nil
}

// usagef is a usage error of the command, with its usage line.
func (inv *invocation) usagef(format string, a ...any) error {
	return usagef("%s: %s\nusage: roster %s (roster %s -h for help)", inv.cmd.name, fmt.Sprintf(format, a...),
		strings.TrimSpace(inv.cmd.name+" "+inv.cmd.args), inv.cmd.name)
}

// usage prints the command's usage and flags on w.
func (inv *invocation) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: roster %s\n\n%s.\n", strings.TrimSpace(inv.cmd.name+" "+inv.cmd.args), strings.ToUpper(inv.cmd.summary[:1])+inv.cmd.summary[1:])
	n := 0
	inv.flags.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprint(w, "\nflags:\n")
		inv.flags.SetOutput(w)
		inv.flags.PrintDefaults()
		inv.flags.SetOutput(io.Discard)
	}
}

// env returns the environment variable's value, or def when it is unset.
func (inv *invocation) env(name, def string) string {
	if v := inv.getenv(name); v != "" {
		return v
	}
	return def
}

// dbFlag declares --db.
func (inv *invocation) dbFlag() *string {
	return inv.flags.String("db", inv.env("ROSTER_DB", "./roster.db"), "database: a SQLite file path, a sqlite: DSN or a postgres:// URL (env ROSTER_DB)")
}

// createFlag declares --create.
func (inv *invocation) createFlag() *bool {
	return inv.flags.Bool("create", false, "create the SQLite database file if it does not exist")
}

// openStore opens the database dsn names. A SQLite file that does not exist
// is a usage error unless create is set: a mistyped --db, or a command run
// in another directory, must not make a new, empty directory and report
// success. create is nil for a command that has no --create.
func openStore(ctx context.Context, dsn string, create *bool) (directory.Store, error) {
	if path, ok := server.SQLitePath(dsn); ok && (create == nil || !*create) {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			hint := ""
			if create != nil {
				hint = " (--create makes a new one)"
			}
			return nil, usagef("database %s does not exist%s", path, hint)
		}
	}
	return server.OpenStore(ctx, dsn)
}

func runVersion(_ context.Context, inv *invocation) error {
	if _, err := inv.parse(); err != nil {
		return err
	}
	fmt.Fprintln(inv.stdout, "roster", version())
	return nil
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
		return nil, usagef("bad --log-level %q", level)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// serveConfig is every setting of `roster serve`, from flags with ROSTER_*
// environment fallbacks.
type serveConfig struct {
	DB                   string
	Addr                 string
	Redis                string
	LogLevel             string
	AllowPrivateWebhooks bool
	DeliveryLease        time.Duration
	TrustedProxies       []netip.Prefix
	SecretKey            secretKeyFlags
	CPUProfile           string
	Trace                string
	UserCacheMiB         int
}

// limitServeMemory sets the soft memory limit of a serving node whose user
// cache may take cacheBytes; main sets it, so that tests, which run many
// nodes in one process, keep Go's default.
var limitServeMemory = func(cacheBytes int64) {}

// userCacheBytes is server.Config.UserCacheBytes for --user-cache-mib.
func userCacheBytes(mib int) int64 {
	if mib <= 0 {
		return -1
	}
	return int64(mib) << 20
}

func (inv *invocation) serveConfig() (*serveConfig, error) {
	var cfg serveConfig
	fs := inv.flags
	fs.StringVar(&cfg.DB, "db", inv.env("ROSTER_DB", "./roster.db"),
		"database: a SQLite file path, created if missing, a sqlite: DSN or a postgres:// URL (env ROSTER_DB)")
	fs.StringVar(&cfg.Addr, "addr", inv.env("ROSTER_ADDR", "127.0.0.1:8080"), "listen address (env ROSTER_ADDR)")
	fs.StringVar(&cfg.LogLevel, "log-level", inv.env("ROSTER_LOG_LEVEL", "info"), "log level: debug, info, warn or error (env ROSTER_LOG_LEVEL)")
	fs.StringVar(&cfg.Redis, "redis", inv.env("ROSTER_REDIS", ""), "Redis URL for rate limits shared by several nodes (env ROSTER_REDIS)")
	fs.BoolVar(&cfg.AllowPrivateWebhooks, "allow-private-webhooks", inv.env("ROSTER_ALLOW_PRIVATE_WEBHOOKS", "") == "true",
		"allow webhook URLs on loopback, private and link-local addresses (env ROSTER_ALLOW_PRIVATE_WEBHOOKS=true)")
	lease, err := time.ParseDuration(inv.env("ROSTER_DELIVERY_LEASE", "1m"))
	if err != nil {
		return nil, usagef("bad ROSTER_DELIVERY_LEASE: %v", err)
	}
	fs.DurationVar(&cfg.DeliveryLease, "delivery-lease", lease,
		"how long a node holds an event delivery before another node may retry it (env ROSTER_DELIVERY_LEASE)")
	fs.StringVar(&cfg.SecretKey.Key, "secret-key", inv.env("ROSTER_SECRET_KEY", ""),
		"the key that seals webhook secrets at rest: base64 of 32 bytes (env ROSTER_SECRET_KEY); default: a file beside a SQLite database")
	fs.StringVar(&cfg.SecretKey.File, "secret-key-file", inv.env("ROSTER_SECRET_KEY_FILE", ""), "a file holding --secret-key (env ROSTER_SECRET_KEY_FILE)")
	fs.StringVar(&cfg.SecretKey.Previous, "previous-secret-keys", inv.env("ROSTER_PREVIOUS_SECRET_KEYS", ""),
		"keys that sealed secrets before --secret-key, comma-separated, while it replaces them (env ROSTER_PREVIOUS_SECRET_KEYS)")
	proxies := fs.String("trusted-proxies", inv.env("ROSTER_TRUSTED_PROXIES", ""),
		"comma-separated CIDRs of the proxies in front whose X-Forwarded-For names the client (env ROSTER_TRUSTED_PROXIES; default: none)")
	cacheMiB, err := strconv.Atoi(inv.env("ROSTER_USER_CACHE_MIB", strconv.Itoa(usercache.DefaultBytes>>20)))
	if err != nil {
		return nil, usagef("bad ROSTER_USER_CACHE_MIB: %v", err)
	}
	fs.IntVar(&cfg.UserCacheMiB, "user-cache-mib", cacheMiB,
		"memory for users kept in memory, in MiB; 0 reads every user from the database (env ROSTER_USER_CACHE_MIB)")
	fs.StringVar(&cfg.CPUProfile, "cpu-profile", inv.env("ROSTER_CPU_PROFILE", ""),
		"diagnostics: write a CPU profile of the whole run to this file, for go tool pprof (env ROSTER_CPU_PROFILE)")
	fs.StringVar(&cfg.Trace, "trace", inv.env("ROSTER_TRACE", ""),
		"diagnostics: write an execution trace of the whole run to this file, for go tool trace (env ROSTER_TRACE)")
	if _, err := inv.parse(); err != nil {
		return nil, err
	}
	if cfg.TrustedProxies, err = httpapi.ParseTrustedProxies(*proxies); err != nil {
		return nil, inv.usagef("bad --trusted-proxies: %v", err)
	}
	return &cfg, nil
}

// runServe listens before it opens the database, so that a node that
// cannot listen (the address is taken) makes no database and prints no key.
func runServe(ctx context.Context, inv *invocation) error {
	cfg, err := inv.serveConfig()
	if err != nil {
		return err
	}
	log, err := newLogger(cfg.LogLevel, inv.stderr)
	if err != nil {
		return err
	}
	limitServeMemory(userCacheBytes(cfg.UserCacheMiB))
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
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	defer ln.Close() // if the server never took it
	keys, err := secretKeys(cfg.SecretKey, cfg.DB, log)
	if err != nil {
		return err
	}
	node, err := server.New(ctx, server.Config{
		DB: cfg.DB, Redis: cfg.Redis, AllowPrivateWebhooks: cfg.AllowPrivateWebhooks, Logger: log,
		Dispatcher: webhook.DispatcherOptions{Lease: cfg.DeliveryLease}, TrustedProxies: cfg.TrustedProxies, SecretKeys: keys,
		UserCacheBytes: userCacheBytes(cfg.UserCacheMiB),
	})
	if err != nil {
		return err
	}
	defer node.Close()
	if err := bootstrap(ctx, node.Service, inv.stdout); err != nil {
		return err
	}
	workers, stopWorkers := context.WithCancel(context.Background())
	waitWorkers := node.RunWorkers(workers)
	defer func() {
		stopWorkers()
		waitWorkers() // before the store closes
	}()

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

func runMigrate(ctx context.Context, inv *invocation) error {
	db, create := inv.dbFlag(), inv.createFlag()
	if _, err := inv.parse(); err != nil {
		return err
	}
	store, err := openStore(ctx, *db, create)
	if err != nil {
		return err
	}
	defer store.Close()
	if m, ok := store.(interface{ Applied() []int }); ok && len(m.Applied()) > 0 {
		fmt.Fprintf(inv.stdout, "database %s: applied migrations %v\n", *db, m.Applied())
		return nil
	}
	fmt.Fprintf(inv.stdout, "database %s is up to date\n", *db)
	return nil
}

func runTenantsCreate(ctx context.Context, inv *invocation) error {
	db, create := inv.dbFlag(), inv.createFlag()
	name := inv.flags.String("name", "", "the tenant's name (required)")
	ownerEmail := inv.flags.String("owner-email", "", "the owner's email (required)")
	if _, err := inv.parse(); err != nil {
		return err
	}
	if *name == "" || *ownerEmail == "" {
		return inv.usagef("needs --name and --owner-email")
	}
	store, err := openStore(ctx, *db, create)
	if err != nil {
		return err
	}
	defer store.Close()
	out, err := directory.NewService(store, directory.Options{Wire: wire.Encoding{}}).CreateTenant(ctx, directory.TenantInput{Name: *name, OwnerEmail: *ownerEmail}, true, directory.Actor{})
	if err != nil {
		return describe(err, "tenant")
	}
	return printJSON(inv.stdout, map[string]any{
		"tenant": map[string]any{"id": out.Tenant.ID, "name": out.Tenant.Name},
		"owner":  directory.PublicDoc(out.Owner),
		"key":    map[string]any{"id": out.Key.ID, "scopes": out.Key.Scopes},
		"token":  out.Token,
	})
}

// keyOwnerFlags declares --tenant and --platform, of which a command that
// is about one tenant's keys or the platform's takes exactly one.
func (inv *invocation) keyOwnerFlags() (tenantID *string, platform *bool) {
	return inv.flags.String("tenant", "", "the tenant whose keys these are"),
		inv.flags.Bool("platform", false, "the platform keys, which manage tenants")
}

func runKeysList(ctx context.Context, inv *invocation) error {
	db := inv.dbFlag()
	tenantID, platform := inv.keyOwnerFlags()
	if _, err := inv.parse(); err != nil {
		return err
	}
	if (*tenantID == "") == !*platform {
		return inv.usagef("needs --tenant ID or --platform")
	}
	store, err := openStore(ctx, *db, nil)
	if err != nil {
		return err
	}
	defer store.Close()
	svc := directory.NewService(store, directory.Options{Wire: wire.Encoding{}})
	if *tenantID != "" {
		if _, err := svc.GetTenant(ctx, *tenantID); err != nil {
			return describe(err, "tenant")
		}
	}
	ks, err := svc.ListKeys(ctx, *tenantID, "", 0)
	if err != nil {
		return err
	}
	data := make([]any, 0, len(ks))
	for _, k := range ks {
		data = append(data, keyJSON(k))
	}
	return printJSON(inv.stdout, map[string]any{"data": data})
}

func runKeysCreate(ctx context.Context, inv *invocation) error {
	db, create := inv.dbFlag(), inv.createFlag()
	tenantID, platform := inv.keyOwnerFlags()
	scopes := inv.flags.String("scopes", "", "the scopes of a tenant key: users:read users:write admin, or read_only / read_write")
	name := inv.flags.String("name", "cli", "a name to recognize the key by")
	if _, err := inv.parse(); err != nil {
		return err
	}
	var sc []string
	switch {
	case *platform && (*tenantID != "" || *scopes != ""):
		return inv.usagef("--platform takes neither --tenant nor --scopes")
	case !*platform && *tenantID == "":
		return inv.usagef("needs --tenant ID --scopes S, or --platform")
	case !*platform:
		var err error
		if sc, err = directory.ParseScopes(*scopes); err != nil {
			return inv.usagef("%v", describe(err, ""))
		}
	}
	store, err := openStore(ctx, *db, create)
	if err != nil {
		return err
	}
	defer store.Close()
	k, token, err := directory.NewService(store, directory.Options{Wire: wire.Encoding{}}).CreateKey(ctx, *tenantID, directory.KeyInput{Name: *name, Scopes: sc}, directory.Actor{})
	if err != nil {
		return describe(err, "tenant")
	}
	out := keyJSON(k)
	out["token"] = token
	return printJSON(inv.stdout, out)
}

// findKey opens the database and finds the key by its id alone: the
// operator needs not know whose it is.
func findKey(ctx context.Context, db, id string) (*directory.Service, *directory.Key, func(), error) {
	store, err := openStore(ctx, db, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	svc := directory.NewService(store, directory.Options{Wire: wire.Encoding{}})
	k, err := svc.FindKey(ctx, id)
	if err != nil {
		store.Close()
		return nil, nil, nil, describe(err, "key")
	}
	return svc, k, func() { store.Close() }, nil
}

func runKeysRevoke(ctx context.Context, inv *invocation) error {
	db := inv.dbFlag()
	force := inv.flags.Bool("force", false, "revoke even the last key that can manage keys")
	args, err := inv.parse("KEY_ID")
	if err != nil {
		return err
	}
	svc, k, done, err := findKey(ctx, *db, args[0])
	if err != nil {
		return err
	}
	defer done()
	if k, err = svc.RevokeKey(ctx, k.TenantID, k.ID, *force, directory.Actor{}); err != nil {
		return describe(err, "key")
	}
	return printJSON(inv.stdout, keyJSON(k))
}

func runKeysRotate(ctx context.Context, inv *invocation) error {
	db := inv.dbFlag()
	grace := inv.flags.Duration("grace", directory.DefaultRotationGrace, "how long the old token keeps working, at most 720h")
	args, err := inv.parse("KEY_ID")
	if err != nil {
		return err
	}
	if *grace < 0 || *grace > directory.MaxRotationGrace {
		return inv.usagef("--grace must be from 0 to %v", directory.MaxRotationGrace)
	}
	svc, k, done, err := findKey(ctx, *db, args[0])
	if err != nil {
		return err
	}
	defer done()
	next, old, token, err := svc.RotateKey(ctx, k.TenantID, k.ID, *grace, directory.Actor{})
	if err != nil {
		return describe(err, "key")
	}
	out := keyJSON(next)
	out["token"] = token
	out["replaces"] = keyJSON(old)
	return printJSON(inv.stdout, out)
}

// keyJSON is a key as the API shows it: never its token or its hash.
func keyJSON(k *directory.Key) map[string]any {
	orNil := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	timeOrNil := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return directory.FormatTime(*t)
	}
	return map[string]any{
		"object": "api_key", "id": k.ID, "tenant_id": orNil(k.TenantID), "name": k.Name, "scopes": k.Scopes,
		"prefix": orNil(k.Prefix), "created_at": directory.FormatTime(k.Created), "created_by": orNil(k.CreatedBy),
		"expires_at": timeOrNil(k.ExpiresAt), "last_used_at": timeOrNil(k.LastUsedAt), "revoked_at": timeOrNil(k.RevokedAt),
	}
}

// describe turns a domain error into a message for the command line; a
// not_found is about the named thing ("tenant", "key").
func describe(err error, what string) error {
	var e *directory.Error
	if !errors.As(err, &e) {
		return err
	}
	msg := e.Message
	for _, f := range e.Fields {
		msg += "\n  " + f.Field + ": " + f.Message
	}
	switch e.Code {
	case directory.ECodeNotFound:
		msg = "no such " + what
	case directory.ECodeLastAdminKey:
		msg = "this is the last key that can manage keys: create another first, or revoke it with --force"
	}
	return errors.New(msg + " (" + e.Code + ")")
}
