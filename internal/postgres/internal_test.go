package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/roster-dev/roster/internal/directory"
)

func TestRetry(t *testing.T) {
	serialization := fmt.Errorf("update user: %w", &pgconn.PgError{Code: codeSerializationFailure})
	deadlock := &pgconn.PgError{Code: codeDeadlockDetected}
	other := errors.New("policy says no")
	unique := &pgconn.PgError{Code: codeUniqueViolation, ConstraintName: "users_email_key"}

	for _, c := range []struct {
		name     string
		errs     []error // what each run returns; the last repeats
		wantRuns int
		wantErr  error // nil: success
		unavail  bool
	}{
		{"success", []error{nil}, 1, nil, false},
		{"serialization failure, then success", []error{serialization, nil}, 2, nil, false},
		{"deadlocks, then success", []error{deadlock, deadlock, deadlock, nil}, 4, nil, false},
		{"deadlocks until attempts run out", []error{deadlock}, maxAttempts, deadlock, true},
		{"fn's own error", []error{other}, 1, other, false},
		{"unique violation", []error{unique}, 1, unique, false},
		{"serialization failure, then fn's error", []error{serialization, other}, 2, other, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			runs := 0
			err := retry(t.Context(), func() error {
				e := c.errs[min(runs, len(c.errs)-1)]
				runs++
				return e
			})
			if runs != c.wantRuns {
				t.Errorf("runs: got %d, want %d", runs, c.wantRuns)
			}
			switch {
			case c.wantErr == nil && err != nil:
				t.Errorf("got error %v, want nil", err)
			case c.wantErr != nil && !errors.Is(err, c.wantErr):
				t.Errorf("got error %v, want one wrapping %v", err, c.wantErr)
			}
			if got := errors.Is(err, directory.ErrUnavailable); got != c.unavail {
				t.Errorf("errors.Is(%v, ErrUnavailable): got %v, want %v", err, got, c.unavail)
			}
		})
	}
}

func TestRetryStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	runs := 0
	err := retry(ctx, func() error {
		runs++
		cancel()
		return &pgconn.PgError{Code: codeDeadlockDetected}
	})
	if runs != 1 {
		t.Errorf("runs: got %d, want 1", runs)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got error %v, want one wrapping context.Canceled", err)
	}
}

func TestBackoff(t *testing.T) {
	for attempt := 1; attempt < 10; attempt++ {
		ceiling := min(retryBackoff<<(attempt-1), maxBackoff) + time.Millisecond
		for range 100 {
			if d := backoff(attempt); d <= 0 || d > ceiling {
				t.Fatalf("backoff(%d) = %v, want in (0, %v]", attempt, d, ceiling)
			}
		}
	}
}

func TestWrapErr(t *testing.T) {
	connectErr := &pgconn.ConnectError{Config: &pgconn.Config{}}
	for _, c := range []struct {
		name   string
		err    error
		want   error  // errors.Is target, or nil
		unique string // the UniqueViolation field, or ""
	}{
		{"no rows", pgx.ErrNoRows, directory.ErrNotFound, ""},
		{"email", &pgconn.PgError{Code: "23505", ConstraintName: "users_email_key"}, nil, "email"},
		{"username", &pgconn.PgError{Code: "23505", ConstraintName: "users_username"}, nil, "username"},
		{"other unique", &pgconn.PgError{Code: "23505", ConstraintName: "users_pkey"}, nil, ""},
		{"connect", connectErr, directory.ErrUnavailable, ""},
		{"too many connections", &pgconn.PgError{Code: "53300"}, directory.ErrUnavailable, ""},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, directory.ErrUnavailable, ""},
		{"cannot connect now", &pgconn.PgError{Code: "57P03"}, directory.ErrUnavailable, ""},
		{"connection failure", &pgconn.PgError{Code: "08006"}, directory.ErrUnavailable, ""},
		{"broken connection", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), directory.ErrUnavailable, ""},
		{"deadline", fmt.Errorf("acquire: %w", context.DeadlineExceeded), directory.ErrUnavailable, ""},
		{"canceled", fmt.Errorf("acquire: %w", context.Canceled), context.Canceled, ""},
		{"syntax", &pgconn.PgError{Code: "42601"}, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := wrapErr("op", c.err)
			if !errors.Is(err, c.err) && c.err != pgx.ErrNoRows && c.unique == "" {
				t.Errorf("wrapErr(%v) = %v: does not wrap the driver's error", c.err, err)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("wrapErr(%v) = %v, want it to wrap %v", c.err, err, c.want)
			}
			if c.want == nil && (errors.Is(err, directory.ErrUnavailable) || errors.Is(err, directory.ErrNotFound)) {
				t.Errorf("wrapErr(%v) = %v, want neither ErrUnavailable nor ErrNotFound", c.err, err)
			}
			if c.name == "canceled" && errors.Is(err, directory.ErrUnavailable) {
				t.Errorf("wrapErr(%v) = %v: the caller's cancellation is not the database's unavailability", c.err, err)
			}
			uv, ok := errors.AsType[*directory.UniqueViolation](err)
			switch {
			case c.unique == "" && ok:
				t.Errorf("wrapErr(%v) = %v, want no UniqueViolation", c.err, err)
			case c.unique != "" && (!ok || uv.Field != c.unique):
				t.Errorf("wrapErr(%v) = %v, want UniqueViolation{%q}", c.err, err, c.unique)
			}
		})
	}
	if wrapErr("op", nil) != nil {
		t.Errorf("wrapErr(nil) != nil")
	}
}

func TestPoolConfig(t *testing.T) {
	cfg, err := poolConfig("postgres://roster@db.example.com/roster")
	if err != nil {
		t.Fatal(err)
	}
	if want := int32(4 * runtime.NumCPU()); cfg.MaxConns != want {
		t.Errorf("default MaxConns: got %d, want %d", cfg.MaxConns, want)
	}
	if cfg.ConnConfig.ConnectTimeout != defaultConnectTimeout {
		t.Errorf("default ConnectTimeout: got %v, want %v", cfg.ConnConfig.ConnectTimeout, defaultConnectTimeout)
	}
	if got := cfg.ConnConfig.RuntimeParams["application_name"]; got != "roster" {
		t.Errorf("default application_name: got %q, want roster", got)
	}
	if cfg.ConnConfig.DefaultQueryExecMode != pgx.QueryExecModeCacheStatement {
		t.Errorf("default query exec mode: got %v, want the statement cache", cfg.ConnConfig.DefaultQueryExecMode)
	}

	cfg, err = poolConfig("postgresql://roster@db.example.com/roster?pool_max_conns=7&connect_timeout=2&application_name=node-1&default_query_exec_mode=exec")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxConns != 7 {
		t.Errorf("MaxConns from pool_max_conns=7: got %d", cfg.MaxConns)
	}
	if cfg.ConnConfig.ConnectTimeout != 2*time.Second {
		t.Errorf("ConnectTimeout from connect_timeout=2: got %v", cfg.ConnConfig.ConnectTimeout)
	}
	if got := cfg.ConnConfig.RuntimeParams["application_name"]; got != "node-1" {
		t.Errorf("application_name from the URL: got %q", got)
	}
	if cfg.ConnConfig.DefaultQueryExecMode != pgx.QueryExecModeExec {
		t.Errorf("default_query_exec_mode=exec: got %v", cfg.ConnConfig.DefaultQueryExecMode)
	}
}

func TestMigrationsEmbedded(t *testing.T) {
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if m.Version != i+1 {
			t.Errorf("migration %s: version %d, want %d: versions are numbered from 1 without gaps", m.Name, m.Version, i+1)
		}
	}
	if SchemaID() == "invalid" || len(SchemaID()) != 16 {
		t.Errorf("SchemaID: got %q", SchemaID())
	}
}
