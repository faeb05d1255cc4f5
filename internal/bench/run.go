// Package bench is Roster's load test: it seeds users, measures the storage
// layer's own update transaction, drives PATCH and GET against a real
// `roster serve` process over loopback HTTP, and reports throughput,
// latency percentiles, the server's CPU per request and peak memory. Its
// floor server (ServeFloor) measures what HTTP alone leaves of the store's
// rate on the machine.
// cmd/roster-bench is its command line; docs/performance.md its results.
package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/postgres"
	"github.com/roster-dev/roster/internal/sqlite"
)

// DefaultPostgres is the server on which --db postgres makes its database.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Config says what to measure.
type Config struct {
	// DB is "sqlite" (a new file in a temporary directory), "postgres" (a
	// new database on PostgresServer, dropped afterwards), or a SQLite path,
	// sqlite: DSN or postgres:// URL to use as it is.
	DB             string
	PostgresServer string
	// URL and Token target a server that is already running instead of
	// starting one; Token is a tenant key with users:read and users:write.
	// Users are then seeded over HTTP, and the raw store rate is measured
	// only if DB names the server's database.
	URL, Token string
	// PlatformToken, with URL, raises the tenant's plan so that rate limits
	// and quotas cannot interfere; without it the plan is left as it is.
	PlatformToken string

	Users       int
	Concurrency []int
	Duration    time.Duration // of each measurement
	Warmup      time.Duration // unrecorded, before each measurement
	// Rounds splits each measurement into turns taken with the other
	// operations at the same concurrency; at least 1.
	Rounds int
	Ops    []string // of "raw", "floor", "PATCH", "GET", "SEARCH"
	// SearchQuery, if set, is the q of every SEARCH (Target.SearchQuery).
	SearchQuery string
	Explain     bool
	// Client is the load generator's HTTP client: "wire" (its own lean
	// HTTP/1.1 client, the default) or "net/http".
	Client string
	// ServerCPUProfile, if set, is where the server it starts writes a CPU
	// profile of its whole run (roster serve --cpu-profile).
	ServerCPUProfile string
	// ServerTrace, if set, is where the server it starts writes an
	// execution trace of its run (roster serve --trace).
	ServerTrace string
	// RosterBin is a built roster command; "" builds one.
	RosterBin string
	// Compare, if set, is another build of the roster command to measure
	// against the one under test (RosterBin): it serves the same seeded
	// database, started once after the build under test (which creates and
	// migrates the database) and kept running to the end, as the build under
	// test is. Each HTTP operation's turn of a round is then one turn on
	// each build, alternating which goes first, and the report's Compare
	// holds, per operation and concurrency, both builds' medians over the
	// rounds and the ratios of the build under test to the other, with
	// their spread over the rounds. Keeping both servers up rather than
	// starting one afresh each turn keeps a cold start (the connection pool,
	// the statement caches, the heap's growth) out of every turn; each is
	// idle while the other is loaded, and what each spends is read from its
	// own process.
	Compare string
	// Self is a roster-bench command, run as the floor server (FloorEnv)
	// for the operation "floor", which needs it.
	Self string
	// Progress receives a line as each step starts; nil discards them.
	Progress io.Writer
}

// Report is the outcome of Run.
type Report struct {
	Machine  string        `json:"machine"`
	Backend  string        `json:"backend"`
	Users    int           `json:"users"`
	Duration time.Duration `json:"duration_per_cell_ns"`
	Rounds   int           `json:"rounds"`
	SeedTime time.Duration `json:"seed_ns"`
	Results  []Result      `json:"results"`
	// Ratios are PATCH's throughput over raw's, FloorRatios over the
	// floor's, by concurrency.
	Ratios      map[int]float64 `json:"patch_to_raw_ratio,omitempty"`
	FloorRatios map[int]float64 `json:"patch_to_floor_ratio,omitempty"`
	PeakRSS     int64           `json:"server_peak_rss_bytes,omitempty"`
	Explain     string          `json:"explain,omitempty"`
	// Compare is the comparison of two builds (Config.Compare).
	Compare *Comparison `json:"compare,omitempty"`
	// SearchExplain holds the plans of the search queries (ExplainSearch).
	SearchExplain string        `json:"search_explain,omitempty"`
	TenantID      string        `json:"tenant_id"`
	ServerURL     string        `json:"server_url"`
	Durability    string        `json:"durability"`
	Client        string        `json:"client"`
	StartedAt     time.Time     `json:"started_at"`
	ElapsedTime   time.Duration `json:"elapsed_ns"`
}

// generousPlan keeps rate limits and quotas out of the measurement.
const generousPlan = `{"plan": {"rate_limit_rps": 1000000, "rate_limit_burst": 1000000, "writes_per_period": 1000000000000, "max_active_users": 1000000000}}`

// Run carries out the measurements cfg describes.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	if cfg.Compare != "" && (cfg.URL != "" || max(cfg.Rounds, 1) < 3) {
		return nil, errors.New("--compare needs a server of its own (no --url) and at least 3 rounds")
	}
	if cfg.Users <= 0 {
		return nil, errors.New("need at least one user")
	}
	if len(cfg.Concurrency) == 0 {
		return nil, errors.New("need at least one concurrency")
	}
	for _, op := range cfg.Ops {
		if op != "raw" && op != "floor" && op != "PATCH" && op != "GET" && op != "SEARCH" {
			return nil, fmt.Errorf("unknown operation %q: want raw, floor, PATCH, GET or SEARCH", op)
		}
		if op == "floor" && cfg.Self == "" {
			return nil, errors.New("the operation floor needs a roster-bench command to run as the floor server")
		}
	}
	switch cfg.Client {
	case "":
		cfg.Client = "wire"
	case "wire", "net/http":
	default:
		return nil, fmt.Errorf("unknown client %q: want wire or net/http", cfg.Client)
	}
	rep := &Report{Machine: Machine(), Users: cfg.Users, Duration: cfg.Duration, Rounds: max(cfg.Rounds, 1), StartedAt: time.Now().UTC(), Client: cfg.Client}
	maxConc := 0
	for _, c := range cfg.Concurrency {
		maxConc = max(maxConc, c)
	}
	say := func(format string, args ...any) { fmt.Fprintf(cfg.Progress, format+"\n", args...) }

	work, err := os.MkdirTemp("", "roster-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	// The database.
	db := cfg.DB
	switch db {
	case "", "sqlite":
		db = filepath.Join(work, "roster.db")
	case "postgres":
		server := cfg.PostgresServer
		if server == "" {
			server = DefaultPostgres
		}
		var drop func()
		db, drop, err = createDatabase(ctx, server)
		if err != nil {
			return nil, err
		}
		defer drop()
	}
	if cfg.URL != "" && cfg.DB == "" {
		db = "" // no database access: HTTP only
	}
	switch {
	case db == "":
		rep.Backend = "(remote server)"
	case isPostgres(db):
		rep.Backend = "postgres"
		rep.Durability = "PostgreSQL defaults: fsync on, synchronous_commit on (every commit waits for its WAL flush)"
	default:
		rep.Backend = "sqlite"
		rep.Durability = "SQLite WAL, synchronous=FULL (every commit fsyncs the WAL)"
	}

	target := Target{URL: cfg.URL, Token: cfg.Token, Client: NewClient(maxConc), Wire: cfg.Client == "wire", SearchQuery: cfg.SearchQuery}
	var (
		bin      string
		tenantID string
		ids      []string
		platform = cfg.PlatformToken
	)
	start := time.Now()
	if cfg.URL == "" {
		// Our own server: make the tenant and keys with the CLI, seed
		// through the store, then start `roster serve` on the same database.
		bin = cfg.RosterBin
		if bin == "" {
			say("building roster")
			if bin, err = BuildRoster(ctx, work); err != nil {
				return nil, err
			}
		}
		var tenant struct {
			Tenant struct{ ID string } `json:"tenant"`
			Token  string              `json:"token"`
		}
		if err := CLI(ctx, bin, &tenant, "tenants", "create", "--db", db, "--create", "--name", "Bench", "--owner-email", "owner@bench.example"); err != nil {
			return nil, err
		}
		var key struct{ Token string }
		if err := CLI(ctx, bin, &key, "keys", "create", "--db", db, "--platform"); err != nil {
			return nil, err
		}
		tenantID, target.Token, platform = tenant.Tenant.ID, tenant.Token, key.Token
	}
	if db != "" && tenantID == "" {
		// A running server with access to its database: find the tenant of
		// the token from the store.
		store, err := openStore(ctx, db)
		if err != nil {
			return nil, err
		}
		k, err := store.KeyByHash(ctx, directory.HashToken(target.Token))
		store.Close()
		if err != nil {
			return nil, fmt.Errorf("find the token's tenant: %w", err)
		}
		tenantID = k.TenantID
	}
	rep.TenantID = tenantID

	// Seed and explain through the store, before the server starts.
	var store directory.Store
	if db != "" {
		if store, err = openStore(ctx, db); err != nil {
			return nil, err
		}
		defer store.Close()
		say("seeding %d users through the store", cfg.Users)
		t0 := time.Now()
		if ids, err = SeedUsers(ctx, store, tenantID, cfg.Users, 5000); err != nil {
			return nil, err
		}
		if isPostgres(db) {
			// As autovacuum would leave it some time after a bulk load:
			// the plans and reads measured are those of a database in use.
			if err := Analyze(ctx, db); err != nil {
				return nil, err
			}
		}
		rep.SeedTime = time.Since(t0)
		say("seeded in %s", rep.SeedTime.Round(time.Millisecond))
		if cfg.Explain {
			if rep.Explain, err = Explain(ctx, db, tenantID, directory.EmailKey("user0000042@bench.example")); err != nil {
				return nil, err
			}
			// SEARCH's queries of the oldest and the newest users, and one
			// that most users match.
			if rep.SearchExplain, err = ExplainSearch(ctx, db, tenantID, searchPrefix(0), searchPrefix(cfg.Users-1), "Bench User 1"); err != nil {
				return nil, err
			}
		}
	}

	var srv *Server
	if cfg.URL == "" {
		say("starting roster serve")
		var extra []string
		for _, f := range []struct{ flag, path string }{
			{"--cpu-profile", cfg.ServerCPUProfile},
			{"--trace", cfg.ServerTrace},
		} {
			if f.path == "" {
				continue
			}
			abs, err := filepath.Abs(f.path)
			if err != nil {
				return nil, err
			}
			extra = append(extra, f.flag, abs)
		}
		if srv, err = StartServer(ctx, bin, db, extra...); err != nil {
			return nil, err
		}
		defer srv.Stop()
		target.URL = srv.URL
	}
	rep.ServerURL = target.URL
	floorTarget := target
	var floor *Server
	if has(cfg.Ops, "floor") && store != nil {
		say("starting the floor server")
		if floor, err = StartFloor(ctx, cfg.Self, db, tenantID); err != nil {
			return nil, err
		}
		defer floor.Stop()
		floorTarget.URL = floor.URL
	}
	if platform != "" && tenantID != "" {
		if err := target.send(ctx, "PATCH", "/v1/tenants/"+tenantID, platform, generousPlan); err != nil {
			return nil, fmt.Errorf("raise the tenant's plan: %w", err)
		}
	}
	if db == "" {
		say("seeding %d users over HTTP", cfg.Users)
		t0 := time.Now()
		if ids, err = seedHTTP(ctx, target, cfg.Users, maxConc); err != nil {
			return nil, err
		}
		rep.SeedTime = time.Since(t0)
	}

	// With --compare, the other build serves the same database beside the
	// build under test, from now to the end: each idles while the other is
	// measured (see Config.Compare).
	builds := []build{{target: target, srv: srv}}
	if cfg.Compare != "" {
		say("starting the other build, %s", cfg.Compare)
		old, err := StartServer(ctx, cfg.Compare, db)
		if err != nil {
			return nil, fmt.Errorf("--compare: %w", err)
		}
		defer old.Stop()
		oldTarget := target
		oldTarget.URL = old.URL
		builds[0].name = "new"
		builds = append(builds, build{name: "old", target: oldTarget, srv: old})
		rep.Compare = &Comparison{New: bin, Old: cfg.Compare, NewPID: srv.Pid(), OldPID: old.Pid()}
	}

	// Measure. At each concurrency the operations take turns, in rounds,
	// so that a drift of the machine (the disk's fsync time varies on a
	// shared host) weighs on all of them alike and the PATCH/raw ratio
	// compares like with like. The raw transactions run in this process on
	// its own store while the server idles. With --compare each HTTP
	// operation's turn of a round is one for each build, the build under
	// test first in even rounds and second in odd ones, so that a drift
	// within a round favours neither.
	rounds := max(cfg.Rounds, 1)
	slice := cfg.Duration / time.Duration(rounds)
	for _, c := range cfg.Concurrency {
		type acc struct {
			r    Result
			lat  Latencies
			cpu  time.Duration // the server's
			tool time.Duration // this process's
		}
		cells := map[string]*acc{}
		var order []string
		for round := range rounds {
			for _, op := range []string{"raw", "floor", "PATCH", "GET", "SEARCH"} {
				if !has(cfg.Ops, op) || (op == "raw" && store == nil) || (op == "floor" && floor == nil) {
					continue
				}
				turns := []build{{target: floorTarget, srv: floor}}
				switch {
				case op == "raw":
					turns = []build{{}}
				case op != "floor":
					turns = slices.Clone(builds)
					if round%2 == 1 {
						slices.Reverse(turns)
					}
				}
				for _, b := range turns {
					key := op + "/" + b.name
					a := cells[key]
					if a == nil {
						a = &acc{}
						cells[key], order = a, append(order, key)
					}
					if b.name != "" {
						say("%s, concurrency %d, round %d of %d, %s build", op, c, round+1, rounds, b.name)
					} else {
						say("%s, concurrency %d, round %d of %d", op, c, round+1, rounds)
					}
					var (
						r    Result
						lat  Latencies
						err  error
						cpu  time.Duration
						cpu0 time.Duration
					)
					tool0, _ := CPUTime(os.Getpid())
					if op == "raw" {
						if round == 0 && cfg.Warmup > 0 {
							if _, _, err := RawUpdates(ctx, store, tenantID, ids, c, cfg.Warmup); err != nil {
								return nil, err
							}
						}
						tool0, _ = CPUTime(os.Getpid())
						r, lat, err = RawUpdates(ctx, store, tenantID, ids, c, slice)
					} else {
						// The floor is a PATCH to the floor server.
						method := op
						if op == "floor" {
							method = "PATCH"
						}
						if round == 0 && cfg.Warmup > 0 {
							if _, _, err := LoadHTTP(ctx, b.target, method, ids, c, cfg.Warmup); err != nil {
								return nil, err
							}
						}
						if b.srv != nil {
							_ = ResetPeakRSS(b.srv.Pid())
							cpu0, _ = CPUTime(b.srv.Pid())
						}
						tool0, _ = CPUTime(os.Getpid())
						r, lat, err = LoadHTTP(ctx, b.target, method, ids, c, slice)
						r.Op = op
						if b.srv != nil {
							cpu1, _ := CPUTime(b.srv.Pid())
							cpu = cpu1 - cpu0
							a.cpu += cpu
							rss, _ := PeakRSS(b.srv.Pid())
							a.r.ServerPeakRSS = max(a.r.ServerPeakRSS, rss)
							if b.srv == srv {
								rep.PeakRSS = max(rep.PeakRSS, rss)
							}
						}
					}
					if err != nil {
						return nil, err
					}
					tool1, _ := CPUTime(os.Getpid())
					a.tool += tool1 - tool0
					a.r.Build = b.name
					a.r.Rounds = append(a.r.Rounds, newRound(r, cpu))
					merge(&a.r, &a.lat, r, lat)
				}
			}
		}
		for _, key := range order {
			a := cells[key]
			if a.cpu > 0 && a.r.Requests > 0 {
				a.r.ServerCPUPerRequest = a.cpu / time.Duration(a.r.Requests)
			}
			if a.tool > 0 && a.r.Requests > 0 {
				a.r.ToolCPUPerRequest = a.tool / time.Duration(a.r.Requests)
			}
			rep.Results = append(rep.Results, a.r)
		}
	}
	if srv != nil {
		if rss, err := PeakRSS(srv.Pid()); err == nil {
			rep.PeakRSS = max(rep.PeakRSS, rss)
		}
	}
	if rep.Compare != nil {
		rep.Compare.Points = comparePoints(rep.Results)
	}

	rep.Ratios = ratios(rep.Results, "PATCH", "raw")
	rep.FloorRatios = ratios(rep.Results, "PATCH", "floor")
	rep.ElapsedTime = time.Since(start)
	return rep, nil
}

// ratios returns the throughput of op over that of base, by concurrency,
// where both were measured.
func ratios(results []Result, op, base string) map[int]float64 {
	out := map[int]float64{}
	for _, r := range results {
		if r.Op != op || r.Build == "old" {
			continue
		}
		for _, b := range results {
			if b.Op == base && b.Concurrency == r.Concurrency && b.RPS > 0 {
				out[r.Concurrency] = r.RPS / b.RPS
			}
		}
	}
	return out
}

func has(ops []string, op string) bool {
	for _, o := range ops {
		if strings.EqualFold(o, op) {
			return true
		}
	}
	return false
}

func openStore(ctx context.Context, db string) (directory.Store, error) {
	if isPostgres(db) {
		return postgres.Open(ctx, db)
	}
	return sqlite.Open(ctx, db)
}

// createDatabase makes an empty database on the PostgreSQL server and
// returns its URL and a function that drops it. It keeps the server's
// durability settings: unlike the test helper pgtest, it does not turn
// synchronous_commit off.
func createDatabase(ctx context.Context, server string) (string, func(), error) {
	u, err := url.Parse(server)
	if err != nil {
		return "", nil, fmt.Errorf("bad PostgreSQL URL: %w", err)
	}
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return "", nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "roster_bench_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		conn.Close(ctx)
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`)
		conn.Close(ctx)
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

// send makes one request with a JSON body and wants a 2xx answer.
func (t Target) send(ctx context.Context, method, path, token, body string) error {
	_, err := t.sendFor(ctx, method, path, token, body)
	return err
}

func (t Target) sendFor(ctx context.Context, method, path, token, body string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, t.URL+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	return b, nil
}

// seedHTTP creates n users through POST /v1/users with conc workers, for a
// server whose database this tool cannot reach.
func seedHTTP(ctx context.Context, t Target, n, conc int) ([]string, error) {
	run := fmt.Sprintf("%x", time.Now().UnixNano())
	ids := make([]string, n)
	next := make(chan int)
	errc := make(chan error, conc)
	for range conc {
		go func() {
			for i := range next {
				b, err := t.sendFor(ctx, "POST", "/v1/users", t.Token,
					fmt.Sprintf(`{"email": "user%07d-%s@bench.example", "name": "Bench User %d"}`, i, run, i))
				if err != nil {
					errc <- err
					for range next {
					}
					return
				}
				var u struct{ ID string }
				if err := json.Unmarshal(b, &u); err != nil {
					errc <- err
					for range next {
					}
					return
				}
				ids[i] = u.ID
			}
			errc <- nil
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	var errs []error
	for range conc {
		errs = append(errs, <-errc)
	}
	return ids, errors.Join(errs...)
}

// Machine describes the machine the measurements ran on.
func Machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GiB RAM", float64(kb)/(1<<20))
		}
	}
	return fmt.Sprintf("%s/%s, %d CPUs (%s)%s, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), model, mem, runtime.Version())
}
