// Package postgres is the PostgreSQL implementation of directory.Store, for
// deployments where several Roster nodes share one database.
//
// A Store is a pgxpool connection pool. Write transactions run at READ
// COMMITTED (see InTx for why), and rely on the database for every guarantee
// the Store contract makes: unique indexes for emails and usernames, a
// version guard in UpdateUser's WHERE clause against lost updates, row locks
// (LockTenant, AddActiveUsers) to serialize quota checks, and FOR UPDATE
// SKIP LOCKED so that dispatchers on several nodes never claim the same
// delivery.
//
// Schema changes are the numbered files in migrations/, embedded in the
// binary and applied by Open; an advisory lock makes nodes that start
// together apply each one once.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roster-dev/roster/internal/directory"
)

// defaultConnectTimeout bounds how long opening one connection may take when
// the URL has no connect_timeout: a server that is down or unreachable makes
// requests fail with directory.ErrUnavailable after this long, not hang.
const defaultConnectTimeout = 5 * time.Second

// Store is a directory.Store on a PostgreSQL database. It is safe for
// concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	applied []int
}

var _ directory.Store = (*Store)(nil)

// Open connects to the PostgreSQL database at rawURL, a postgres:// or
// postgresql:// URL, and applies the migrations it lacks. It returns an
// error wrapping directory.ErrUnavailable if the server cannot be reached
// within the connect timeout.
//
// Besides libpq's parameters the URL may carry pgxpool's (pool_max_conns,
// pool_min_conns, pool_max_conn_lifetime, pool_max_conn_idle_time, …) and
// pgx's (default_query_exec_mode, statement_cache_capacity). Without them,
// the pool holds up to 4 connections per CPU, connect_timeout is 5 s,
// prepared statements are cached per connection, and application_name is
// "roster".
func Open(ctx context.Context, rawURL string) (*Store, error) {
	cfg, err := poolConfig(rawURL)
	if err != nil {
		return nil, err
	}
	return open(ctx, cfg)
}

// open opens a Store on a pool of configuration cfg.
func open(ctx context.Context, cfg *pgxpool.Config) (*Store, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if s.applied, err = s.migrate(withoutDeadline(ctx)); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// poolConfig parses rawURL into the pool's configuration, with Roster's
// defaults where the URL says nothing.
func poolConfig(rawURL string) (*pgxpool.Config, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// The parse error would repeat the URL, password included.
		return nil, errors.New("postgres: open: need a postgres:// or postgresql:// URL")
	}
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	q := u.Query()
	if !q.Has("pool_max_conns") {
		// pgxpool's own default, max(4, NumCPU), leaves a node's cores idle
		// while its requests wait on network round trips to the database.
		cfg.MaxConns = int32(4 * runtime.NumCPU())
	}
	if !q.Has("connect_timeout") {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	cfg.ConnConfig.Tracer = deadlineTracer{}
	if !q.Has("application_name") {
		cfg.ConnConfig.RuntimeParams["application_name"] = "roster"
	}
	return cfg, nil
}

// Applied returns the versions of the migrations Open applied, in order;
// none when the schema was already current.
func (s *Store) Applied() []int { return s.applied }

// Ping reports whether the database answers. It returns an error wrapping
// directory.ErrUnavailable if it cannot be reached.
func (s *Store) Ping(ctx context.Context) error {
	return wrapErr("ping", s.pool.Ping(ctx))
}

// Close closes the pool, waiting for the connections in use to be released.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// SQLSTATE codes the store reacts to.
const (
	codeUniqueViolation      = "23505"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"

	// Raised by roster_count_write (migration 0005).
	codeTenantNotFound = "RS404"
	codeConfigChanged  = "RS409"
	codeWriteQuota     = "RS429"
)

// Unique index names of the users table, and the field each decides.
var uniqueFields = map[string]string{
	"users_email_key":     "email",
	"users_username":      "username",
	"users_external_id":   "external_id",
	"users_scim_user_key": "scim_user_name",
}

// wrapErr turns a driver error into the error the Store contract names, each
// wrapped with the operation, op:
//   - pgx.ErrNoRows: directory.ErrNotFound;
//   - a unique violation of users_email_key or users_username:
//     *directory.UniqueViolation;
//   - the server unreachable, shutting down, out of connections, or a
//     deadline passed while waiting for it: directory.ErrUnavailable.
//
// Any other error is wrapped as is; InTx still finds serialization failures
// and deadlocks in the chain.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", op, directory.ErrNotFound)
	}
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch pe.Code {
		case codeUniqueViolation:
			if field := uniqueFields[pe.ConstraintName]; field != "" {
				return fmt.Errorf("postgres: %s: %w", op, &directory.UniqueViolation{Field: field})
			}
		case codeConfigChanged:
			return fmt.Errorf("postgres: %s: %w: %w", op, directory.ErrConfigChanged, err)
		case codeWriteQuota:
			return fmt.Errorf("postgres: %s: %w: %w", op, directory.ErrWriteQuota, err)
		case codeTenantNotFound:
			return fmt.Errorf("postgres: %s: %w: %w", op, directory.ErrNotFound, err)
		}
	}
	if unavailable(err) {
		return fmt.Errorf("postgres: %s: %w: %w", op, directory.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// unavailable reports whether err means the database cannot serve now but
// may later: the request may be retried.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false // the caller gave up; nothing is wrong with the database
	}
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch {
		case strings.HasPrefix(pe.Code, "08"): // connection exception
			return true
		case strings.HasPrefix(pe.Code, "53"): // insufficient resources: too many connections, disk full, out of memory
			return true
		case pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // admin or crash shutdown, cannot connect now
			return true
		}
		return false
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	// Nothing reached the server (a closed or dead connection), or the
	// connection broke mid-reply, or the caller's deadline passed waiting for
	// a connection or an answer.
	return pgconn.SafeToRetry(err) || pgconn.Timeout(err) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, context.DeadlineExceeded)
}
