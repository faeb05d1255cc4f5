package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/bench"
)

const usage = `usage: roster-bench [flags]

Starts roster serve on 127.0.0.1 in a child process (built from this
module), seeds --users users through the store, measures the store's own
update transaction ("raw"), then PATCH and GET over HTTP, at each
--concurrency for --duration each, and prints a table (or --json).

With --ops floor it also measures the floor of a PATCH on the machine: the
raw transaction behind a bare net/http handler, in a process of its own,
with none of Roster's work (see docs/performance.md).

With --compare OTHER_BINARY it measures PATCH, GET and SEARCH on two
builds, the one under test (--roster-bin, or this module's) and
OTHER_BINARY, both serving the same seeded database, in alternate turns
of each round, and prints per point both medians, the ratio new/old and
its spread (the least and greatest ratio of one round).

With --url and --token it loads a running server instead; users are then
seeded over HTTP, and the raw rate is measured only if --db names the
server's database.

flags:
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if v := getenv(bench.FloorEnv); v != "" {
		// Started by a load test as its floor server.
		return bench.ServeFloorEnv(ctx, v, stderr)
	}
	fs := flag.NewFlagSet("roster-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	var (
		cfg     bench.Config
		conc    string
		ops     string
		asJSON  bool
		jsonOut string
		quiet   bool
		explain bool
	)
	fs.StringVar(&cfg.DB, "db", "", `database: "sqlite" (a new temporary file, the default), "postgres" (a new database on --postgres, dropped afterwards), or a SQLite path or postgres:// URL to use as is`)
	fs.StringVar(&cfg.PostgresServer, "postgres", envOr(getenv, "ROSTER_BENCH_POSTGRES", bench.DefaultPostgres), "PostgreSQL server on which --db postgres creates its database (env ROSTER_BENCH_POSTGRES)")
	fs.StringVar(&cfg.URL, "url", "", "base URL of a running Roster server to load instead of starting one")
	fs.StringVar(&cfg.Token, "token", envOr(getenv, "ROSTER_BENCH_TOKEN", ""), "with --url: a tenant key with users:read and users:write (env ROSTER_BENCH_TOKEN)")
	fs.StringVar(&cfg.PlatformToken, "platform-token", envOr(getenv, "ROSTER_BENCH_PLATFORM_TOKEN", ""), "with --url: a platform key, to raise the tenant's plan so limits do not interfere")
	fs.IntVar(&cfg.Users, "users", 10000, "users to seed")
	fs.StringVar(&conc, "concurrency", "1,8,64", "comma-separated concurrencies")
	fs.StringVar(&ops, "ops", "raw,PATCH,GET", `comma-separated operations to measure: raw, floor (a PATCH to a bare HTTP server around the raw transaction: see docs/performance.md), PATCH, GET, SEARCH (GET /v1/users?q= with a prefix about a hundred users share, a page of 20)`)
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long each measurement lasts")
	fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "unrecorded load before each measurement")
	fs.IntVar(&cfg.Rounds, "rounds", 2, "split each measurement into this many turns, taken in turn with the other operations (with --compare: at least 3, the default)")
	fs.StringVar(&cfg.Compare, "compare", "", "another built roster command (e.g. the parent commit's) to measure against the one under test on the same seeded database: each HTTP operation's turns alternate between the two, and a table of the ratios new/old and their spread over the rounds follows (see docs/performance.md)")
	fs.StringVar(&cfg.SearchQuery, "search-q", "", `the q of every SEARCH (default: the first nine characters of a random seeded user's email, which 100 users share); e.g. "Bench User 1", which 11 % of the users match`)
	fs.BoolVar(&explain, "explain", false, "print the query plan of the store's list-by-email query")
	fs.StringVar(&cfg.Client, "client", "wire", `the load generator's HTTP client: "wire" (a lean HTTP/1.1 client, so the generator takes little of the CPU the server needs) or "net/http"`)
	fs.StringVar(&cfg.ServerCPUProfile, "server-cpu-profile", "", "have the server it starts write a CPU profile of its run to this file (go tool pprof)")
	fs.StringVar(&cfg.ServerTrace, "server-trace", "", "have the server it starts write an execution trace of its run to this file (go tool trace)")
	fs.StringVar(&cfg.RosterBin, "roster-bin", "", "a built roster command (default: go build ./cmd/roster)")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON instead of a table")
	fs.StringVar(&jsonOut, "json-out", "", "also write the report as JSON to this file")
	fs.BoolVar(&quiet, "q", false, "do not print progress on standard error")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if cfg.Compare != "" {
		rounds := false
		fs.Visit(func(f *flag.Flag) { rounds = rounds || f.Name == "rounds" })
		if !rounds {
			cfg.Rounds = 3
		}
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, s := range strings.Split(conc, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || c < 1 {
			return fmt.Errorf("bad --concurrency %q", conc)
		}
		cfg.Concurrency = append(cfg.Concurrency, c)
	}
	for _, op := range strings.Split(ops, ",") {
		op = strings.TrimSpace(op)
		if op != "raw" && op != "floor" {
			op = strings.ToUpper(op)
		}
		cfg.Ops = append(cfg.Ops, op)
	}
	if cfg.URL != "" && cfg.Token == "" {
		return errors.New("--url needs --token")
	}
	if cfg.Duration <= 0 {
		return errors.New("--duration must be positive")
	}
	cfg.Explain = explain
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cfg.Self = self
	if !quiet {
		cfg.Progress = stderr
	}
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if jsonOut != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return bench.WriteTable(stdout, rep)
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}
