// Package server wires one Roster node together: the store, the Service with
// its policy engine and webhooks, the rate limiter, the background workers
// and the HTTP handler. The command line and the tests build nodes with it,
// so they run the same assembly.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/httpapi"
	"github.com/roster-dev/roster/internal/policy"
	"github.com/roster-dev/roster/internal/postgres"
	"github.com/roster-dev/roster/internal/ratelimit"
	"github.com/roster-dev/roster/internal/secretbox"
	"github.com/roster-dev/roster/internal/sqlite"
	"github.com/roster-dev/roster/internal/usercache"
	"github.com/roster-dev/roster/internal/webhook"
	"github.com/roster-dev/roster/internal/wire"
)

// Config says how to build a node.
type Config struct {
	// DB is a postgres:// URL, or a SQLite file path or sqlite: DSN.
	// Ignored when Store is set.
	DB    string
	Store directory.Store
	// Redis is a redis:// URL for rate limits shared across nodes; "" keeps
	// them in memory.
	Redis string
	// AllowPrivateWebhooks lets webhook URLs reach loopback, private and
	// link-local addresses.
	AllowPrivateWebhooks bool
	// Anonymous is the per-IP rate limit of requests without a valid key;
	// zero takes httpapi's default.
	Anonymous directory.Plan
	// Dispatcher tunes event delivery; zero values take the defaults.
	Dispatcher webhook.DispatcherOptions
	// PurgeInterval is how often due deletions are purged; default 1 s.
	PurgeInterval time.Duration
	// ExpiryInterval is how often events past their tenant's retention
	// are removed; default directory.EventExpiryInterval.
	ExpiryInterval time.Duration
	// ConfigTTL is how long API keys and tenants' configurations are kept
	// in memory; 0 is directory.DefaultConfigTTL.
	ConfigTTL time.Duration
	// UserCacheBytes bounds the memory of the users kept in memory
	// (internal/usercache); 0 is usercache.DefaultBytes, negative keeps
	// none, as does a negative ConfigTTL.
	UserCacheBytes int64
	// RequestTimeout is the deadline of each API request, from its headers
	// to its commit; 0 is httpapi.DefaultRequestTimeout.
	RequestTimeout time.Duration
	// SecretKeys seal webhook signing secrets at rest (internal/secretbox):
	// the first seals, every one opens. Required. On start the node seals
	// under the first key whatever another key (or none) sealed, so that an
	// operator replacing the key lists the old one after the new one until
	// every node has started with the new one.
	SecretKeys [][]byte
	// TrustedProxies are the networks of the reverse proxies whose
	// X-Forwarded-For names the client, for the per-IP rate limit; none by
	// default.
	TrustedProxies []netip.Prefix
	Logger         *slog.Logger
}

// IsPostgres reports whether dsn names a PostgreSQL database (a postgres://
// or postgresql:// URL) rather than a SQLite one.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// OpenStore opens the database named by dsn: a postgres:// URL, or a SQLite
// file path or sqlite: DSN.
func OpenStore(ctx context.Context, dsn string) (directory.Store, error) {
	if _, ok := SQLitePath(dsn); !ok {
		return postgres.Open(ctx, dsn)
	}
	return sqlite.Open(ctx, dsn)
}

// SQLitePath returns the path of the SQLite file dsn names, and false if
// dsn is a PostgreSQL URL.
func SQLitePath(dsn string) (string, bool) {
	if IsPostgres(dsn) {
		return "", false
	}
	return strings.TrimPrefix(dsn, "sqlite:"), true
}

// policyEngine gives the Service the Cedar engine with its policy language.
type policyEngine struct{ *policy.Engine }

func (policyEngine) DefaultPolicies() string    { return policy.DefaultPolicies }
func (policyEngine) Validate(text string) error { return policy.Validate(text) }

// Node is one Roster node.
type Node struct {
	Store      directory.Store
	Service    *directory.Service
	Handler    http.Handler
	Dispatcher *webhook.Dispatcher

	cfg   Config
	users *usercache.Store // nil: users are not kept in memory
	redis *redis.Client
	owns  bool // whether Close closes the store
}

// New builds a node. It opens the database unless cfg.Store is given.
func New(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	log := cfg.Logger
	n := &Node{Store: cfg.Store, cfg: cfg}
	if n.Store == nil {
		store, err := OpenStore(ctx, cfg.DB)
		if err != nil {
			return nil, err
		}
		n.Store, n.owns = store, true
	}
	if len(cfg.SecretKeys) == 0 {
		n.Close()
		return nil, errors.New("no secret key to seal webhook secrets with")
	}
	box, err := secretbox.New(cfg.SecretKeys[0], cfg.SecretKeys[1:]...)
	if err != nil {
		n.Close()
		return nil, err
	}
	raw := n.Store
	sealed := secretbox.Wrap(raw, box)
	n.Store = sealed
	resealed, err := sealed.Reseal(ctx)
	if err != nil {
		n.Close()
		return nil, fmt.Errorf("seal webhook secrets under the current key: %w", err)
	}
	if resealed > 0 {
		log.Info("sealed webhook secrets under the current secret key", slog.Int("endpoints", resealed))
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if watcher, ok := raw.(directory.UserWatcher); ok && cfg.UserCacheBytes >= 0 && cfg.ConfigTTL >= 0 {
		n.users = usercache.New(sealed, watcher, usercache.Options{Bytes: cfg.UserCacheBytes, Bound: cfg.ConfigTTL})
		n.Store = n.users
		registerCacheMetrics(reg, n.users)
	}

	client := webhook.NewClient(cfg.AllowPrivateWebhooks)
	dopts := cfg.Dispatcher
	dopts.Registerer = reg
	n.Dispatcher = webhook.NewDispatcher(n.Store, client, log, dopts)
	n.Service = directory.NewService(n.Store, directory.Options{
		Wire:       wire.Encoding{},
		Authorizer: policyEngine{policy.New()},
		Hook:       webhook.NewValidator(n.Store.ListEndpoints, client, log),
		CheckURL: func(ctx context.Context, u string) error {
			return webhook.CheckURL(ctx, u, cfg.AllowPrivateWebhooks)
		},
		OnCommit:  n.Dispatcher.Kick,
		ConfigTTL: cfg.ConfigTTL,
	})

	var limiter ratelimit.Limiter // nil: httpapi keeps buckets in memory
	if cfg.Redis != "" {
		opts, err := redis.ParseURL(cfg.Redis)
		if err != nil {
			n.Close()
			return nil, fmt.Errorf("bad Redis URL: %w", err)
		}
		// Deadlines of contexts reach the socket, so a silent Redis cannot
		// hold a request past FailOpen's budget.
		opts.ContextTimeoutEnabled = true
		n.redis = redis.NewClient(opts)
		failures := prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roster_ratelimit_errors_total",
			Help: "Rate-limit checks that failed (Redis unreachable) and were let through.",
		})
		reg.MustRegister(failures)
		limiter = ratelimit.FailOpen(ratelimit.NewRedis(n.redis, "roster:rl:"), log, failures)
	}
	n.Handler = httpapi.New(httpapi.Config{Service: n.Service, Logger: log, Limiter: limiter, Anonymous: cfg.Anonymous, Registry: reg, RequestTimeout: cfg.RequestTimeout,
		TrustedProxies: cfg.TrustedProxies, Sealer: box,
	})
	return n, nil
}

// registerCacheMetrics exports the user cache's counters.
func registerCacheMetrics(reg prometheus.Registerer, c *usercache.Store) {
	reads := func(result string, f func(usercache.Stats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "roster_user_cache_reads_total", Help: "Reads of a user by ID: served from memory (hit), read from the database and kept (miss), or read from the database while the watch of other nodes' changes was behind (bypass).",
			ConstLabels: prometheus.Labels{"result": result},
		}, func() float64 { return float64(f(c.Stats())) })
	}
	reg.MustRegister(
		reads("hit", func(s usercache.Stats) int64 { return s.Hits }),
		reads("miss", func(s usercache.Stats) int64 { return s.Misses }),
		reads("bypass", func(s usercache.Stats) int64 { return s.Bypassed }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "roster_user_cache_bytes", Help: "Estimated memory of the users kept in memory."},
			func() float64 { return float64(c.Stats().Bytes) }),
	)
}

// idempotencyCleanInterval is how often expired Idempotency-Key entries are
// deleted: an expired entry is already ignored, so this only bounds the
// table.
const idempotencyCleanInterval = 10 * time.Minute

// RunWorkers runs the event dispatcher, the purge worker, the expiry of old
// events and the cleaner of expired Idempotency-Key entries until ctx ends.
// The function it returns waits until they have stopped: attempts under way
// finish and are recorded first.
func (n *Node) RunWorkers(ctx context.Context) (wait func()) {
	log := n.cfg.Logger
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := n.Dispatcher.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("dispatcher stopped", slog.String("error", err.Error()))
		}
	})
	interval := n.cfg.PurgeInterval
	if interval <= 0 {
		interval = time.Second
	}
	wg.Go(func() {
		n.Service.RunPurger(ctx, interval, func(err error) {
			log.Error("purge failed", slog.String("error", err.Error()))
		})
	})
	expiry := n.cfg.ExpiryInterval
	if expiry <= 0 {
		expiry = directory.EventExpiryInterval
	}
	wg.Go(func() {
		n.Service.RunEventExpiry(ctx, expiry, func(err error) {
			log.Error("event expiry failed", slog.String("error", err.Error()))
		})
	})
	if n.users != nil {
		wg.Go(func() {
			n.users.Run(ctx, func(err error) {
				log.Warn("users are read from the database until the watch of their changes resumes", slog.String("error", err.Error()))
			})
		})
	}
	wg.Go(func() {
		n.Service.RunIdempotencyCleaner(ctx, idempotencyCleanInterval, func(err error) {
			log.Error("idempotency keys not cleaned", slog.String("error", err.Error()))
		})
	})
	return wg.Wait
}

// HTTPServer returns the http.Server that serves h in production, with the
// limits that bound slow and oversized requests: headers must arrive within
// 5 s and weigh at most 64 KiB; a request has 30 s to be read and answered.
func HTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Close releases the node's connections, once the Service's background
// writes are done.
func (n *Node) Close() error {
	if n.Service != nil { // nil when New failed early
		n.Service.Wait()
	}
	if n.redis != nil {
		n.redis.Close()
	}
	if n.owns {
		return n.Store.Close()
	}
	return nil
}
