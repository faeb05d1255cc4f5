package sqlite

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"sync"
	"time"
)

// keysVersionSQL reads the keys' version, which migration 0014's triggers
// raise with every change of a key but its last use.
const keysVersionSQL = `SELECT version FROM key_version WHERE id = 1`

// walIndexHeaderSize is the size of the two copies of the WAL index's
// header at the start of the -shm file (https://sqlite.org/walformat.html,
// "The WAL-Index Header"): 48 bytes each, the second written first by a
// committing connection and read second by a reader, so that they differ
// while a commit changes them.
const walIndexHeaderSize = 96

// walIndexVersion is the header's iVersion, the format of the WAL index.
const walIndexVersion = 3007000

// keysRecheck is how long KeysVersion trusts an unchanged WAL index header
// before it reads the version anyway: a bound on what an unforeseen way of
// changing the file without changing the header could cost.
const keysRecheck = time.Second

// keysSeen is the keys' version as KeysVersion last read it, and the WAL
// index header it read just before.
type keysSeen struct {
	mu      sync.Mutex
	shm     *os.File // the -shm file; nil until opened
	noShm   bool     // it could not be opened: every call reads the version
	header  [walIndexHeaderSize]byte
	version int64
	at      time.Time // when version was read; zero: never
	reads   int       // of the version in the database, for tests
}

// KeysVersion returns the version of all keys.
//
// It costs a read of the database only when a transaction committed since
// the last one, by any connection of any process: every commit in WAL mode
// changes the WAL index header (its iChange counts transactions) before any
// reader can see it, so the header read before a read of the version, seen
// unchanged later, means no commit is visible that the version did not
// see. Reading those 96 bytes of the -shm file is a pread; a read of the
// version is a statement, a read transaction and its locks, ten times more.
// The file opened once stays the file SQLite uses while the Store is open:
// SQLite deletes it only when the last connection to the database closes,
// and the Store's write connection is never closed before Close.
func (s *Store) KeysVersion(ctx context.Context) (int64, error) {
	k := &s.keys
	k.mu.Lock()
	defer k.mu.Unlock()
	header, ok := k.walIndexHeader(s.path)
	if ok && !k.at.IsZero() && header == k.header && time.Since(k.at) < keysRecheck {
		return k.version, nil
	}
	var v int64
	if err := s.stmts.readKeysVersion.QueryRowContext(ctx).Scan(&v); err != nil {
		return 0, wrapErr("keys version", err)
	}
	k.reads++
	if ok {
		k.header, k.version, k.at = header, v, time.Now()
	}
	return v, nil
}

// walIndexHeader returns the WAL index header of the database at path, and
// whether it is one: both copies read alike and initialized.
func (k *keysSeen) walIndexHeader(path string) ([walIndexHeaderSize]byte, bool) {
	var h [walIndexHeaderSize]byte
	if k.shm == nil && !k.noShm {
		f, err := os.Open(path + "-shm")
		if err != nil {
			k.noShm = true
			return h, false
		}
		k.shm = f
	}
	if k.shm == nil {
		return h, false
	}
	if _, err := k.shm.ReadAt(h[:], 0); err != nil {
		return h, false
	}
	first, second := h[:walIndexHeaderSize/2], h[walIndexHeaderSize/2:]
	isInit := first[12] != 0
	version := binary.NativeEndian.Uint32(first[0:4])
	return h, isInit && version == walIndexVersion && bytes.Equal(first, second)
}

// close closes the -shm file.
func (k *keysSeen) close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.shm == nil {
		return nil
	}
	err := k.shm.Close()
	k.shm, k.noShm = nil, true
	return err
}
