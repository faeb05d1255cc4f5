// Package sqlite is the SQLite implementation of directory.Store: Roster's
// embedded default database, one file in WAL mode.
//
// A Store holds two connection pools on the same file. Writes go through a
// pool of exactly one connection whose transactions begin IMMEDIATE, so write
// transactions queue in Go for that connection instead of failing with
// SQLITE_BUSY, and a transaction's reads see the latest committed state.
// Reads outside a transaction go through a pool of several query-only
// connections, which WAL lets run alongside the writer.
//
// Schema changes are the numbered files in migrations/, embedded in the
// binary and applied by Open.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	sqlitedriver "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/roster-dev/roster/internal/directory"
)

// busyTimeout is how long, in milliseconds, a statement waits for a lock held
// by another process before the store reports directory.ErrUnavailable.
const busyTimeout = 5000

// pragmas are set on every connection of both pools, busy_timeout first so
// that the switch to WAL waits for a lock rather than failing.
// synchronous(FULL): in WAL mode NORMAL may lose the last transactions on
// power loss, and an acknowledged write must survive it.
// secure_delete(ON): deleted content is overwritten with zeros, so that a
// purged user's data (§8) does not linger in free space of the file once the
// WAL is checkpointed (ErasePurged). FAST would cost no extra I/O but leaves
// whole freed pages, such as a deleted picture's, as they were.
// temp_store(MEMORY): the savepoint journal of group commit (each caller's
// transaction runs in a SAVEPOINT) and temporary tables live in memory
// rather than in temporary files, which the single writer would otherwise
// write page by page for every savepoint; they only ever undo work of a
// transaction still open, so durability does not depend on them.
var pragmas = []string{
	fmt.Sprintf("busy_timeout(%d)", busyTimeout),
	"journal_mode(WAL)",
	"synchronous(FULL)",
	"foreign_keys(ON)",
	"secure_delete(ON)",
	"temp_store(MEMORY)",
}

// Store is a directory.Store on a SQLite file. It is safe for concurrent use.
type Store struct {
	path    string  // absolute
	write   *sql.DB // exactly one connection; BEGIN IMMEDIATE
	read    *sql.DB // query-only connections
	applied []int
	stmts   statements
	group   committer // runs InTx's transactions
	erase   eraser    // of ErasePurged

	// ownMu is held across each COMMIT of the committer and the count of
	// the events it committed, ownEvents, so that WatchUsers can tell
	// whether anyone else wrote (watch.go).
	ownMu     sync.Mutex
	ownEvents int64

	keys keysSeen // of KeysVersion
}

var _ directory.Store = (*Store)(nil)

// Open opens the SQLite database at path, creating the file if needed, and
// applies the migrations it lacks. path is a file path, optionally prefixed
// by "sqlite:" ("sqlite:/var/lib/roster.db", "sqlite:roster.db"); an
// in-memory database is refused, as the two pools could not share it.
//
// Two Stores, in one process or several, may have the same file open: their
// writes wait for each other up to a busy timeout of 5 s.
func Open(ctx context.Context, path string) (*Store, error) {
	path = strings.TrimPrefix(path, "sqlite:")
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("sqlite: open %q: need the path of a database file", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}

	s := &Store{path: abs}
	// The write pool comes first: it creates the file, switches it to WAL and
	// migrates it before any reader looks at it.
	s.write, err = sql.Open("sqlite", dsn(abs, "_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	s.write.SetMaxOpenConns(1)
	s.write.SetMaxIdleConns(1)
	s.write.SetConnMaxLifetime(0)
	s.write.SetConnMaxIdleTime(0)
	if err := s.write.PingContext(ctx); err != nil {
		s.write.Close()
		return nil, wrapErr(fmt.Sprintf("open %q", path), err)
	}
	if s.applied, err = s.migrate(ctx); err != nil {
		s.write.Close()
		return nil, err
	}

	// query_only: a write through the read pool would bypass the one-writer
	// queue and could fail with SQLITE_BUSY; it is refused instead.
	s.read, err = sql.Open("sqlite", dsn(abs, "_pragma=query_only(1)"))
	if err != nil {
		s.write.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	n := max(4, runtime.NumCPU())
	s.read.SetMaxOpenConns(n)
	s.read.SetMaxIdleConns(n)
	if err := s.read.PingContext(ctx); err != nil {
		s.Close()
		return nil, wrapErr(fmt.Sprintf("open %q", path), err)
	}
	if err := s.stmts.prepare(ctx, s.write, s.read); err != nil {
		s.Close()
		return nil, err
	}
	s.erase.pending.Store(true)
	return s, nil
}

// dsn returns the driver's data source name for the absolute file path abs,
// with the common pragmas and the extra query parameters. The path is sent
// as a "file:" URI, escaped, so that no character of it can be taken for a
// parameter.
func dsn(abs string, extra ...string) string {
	q := make([]string, 0, len(pragmas)+len(extra))
	for _, p := range pragmas {
		q = append(q, "_pragma="+url.QueryEscape(p))
	}
	q = append(q, extra...)
	return "file:" + escapePath(abs) + "?" + strings.Join(q, "&")
}

// escapePath escapes the characters that end or escape the path of a SQLite
// URI.
func escapePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}

// Applied returns the versions of the migrations Open applied, in order;
// none when the schema was already current.
func (s *Store) Applied() []int { return s.applied }

// Ping reports whether both pools reach the database. It returns an error
// wrapping directory.ErrUnavailable if the file is locked beyond the timeout.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return wrapErr("ping", err)
	}
	if err := s.read.PingContext(ctx); err != nil {
		return wrapErr("ping", err)
	}
	return nil
}

// Close closes both pools. The transactions of InTx already queued run
// first; InTx then fails. Other transactions in progress are rolled back.
func (s *Store) Close() error {
	s.group.close()
	err := errors.Join(s.stmts.close(), s.keys.close())
	if s.read != nil {
		err = errors.Join(err, s.read.Close())
	}
	return errors.Join(err, s.write.Close())
}

// wrapErr turns a driver error into the error the Store contract names:
// sql.ErrNoRows into directory.ErrNotFound, a unique violation on users'
// email or username into *directory.UniqueViolation, a lock still held after
// the busy timeout or a full disk into directory.ErrUnavailable (a write may
// succeed once the lock is released or space freed, as PostgreSQL's disk
// full is unavailable too). Each is wrapped with the operation, op, as is
// any other error.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s: %w", op, directory.ErrNotFound)
	}
	var se *sqlitedriver.Error
	if errors.As(err, &se) {
		switch code := se.Code(); {
		case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			if field := uniqueField(se.Error()); field != "" {
				return fmt.Errorf("sqlite: %s: %w", op, &directory.UniqueViolation{Field: field})
			}
		case code&0xff == sqlite3.SQLITE_BUSY || code&0xff == sqlite3.SQLITE_LOCKED || code&0xff == sqlite3.SQLITE_FULL:
			return fmt.Errorf("sqlite: %s: %w: %w", op, directory.ErrUnavailable, err)
		}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// uniqueField returns the user field whose uniqueness a constraint error
// message reports ("UNIQUE constraint failed: users.tenant_id,
// users.email_key"), or "" for any other constraint.
func uniqueField(msg string) string {
	_, cols, ok := strings.Cut(msg, "constraint failed: ")
	if !ok {
		return ""
	}
	cols, _, _ = strings.Cut(cols, " (") // the driver appends " (2067)"
	for col := range strings.SplitSeq(cols, ",") {
		switch strings.TrimSpace(col) {
		case "users.email_key":
			return "email"
		case "users.username":
			return "username"
		case "users.external_id":
			return "external_id"
		case "users.scim_user_key":
			return "scim_user_name"
		}
	}
	return ""
}
