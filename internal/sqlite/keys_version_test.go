package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"
)

// TestKeysVersionReadsOnlyAfterACommit: KeysVersion reads the database
// again only when a transaction committed since its last read, and then
// sees a change of a key made on a connection of another Store's.
func TestKeysVersionReadsOnlyAfterACommit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "roster.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := other.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	version := func(wantReads int) int64 {
		t.Helper()
		v, err := s.KeysVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s.keys.reads != wantReads {
			t.Fatalf("KeysVersion read the database %d times in all, want %d", s.keys.reads, wantReads)
		}
		return v
	}
	exec(`INSERT INTO api_keys (id, tenant_id, name, scopes, token_hash, prefix, created_at, created_by)
		VALUES ('key_1', NULL, 'k', '["platform"]', x'01', 'rst_abcd', 0, '')`)

	v := version(1)
	if again := version(1); again != v {
		t.Fatalf("version %d, then %d with no commit between", v, again)
	}
	exec(`UPDATE api_keys SET last_used_at = 60000 WHERE id = 'key_1'`) // a commit, not a change of a key
	if again := version(2); again != v {
		t.Fatalf("version %d, then %d after a note of a key's use", v, again)
	}
	exec(`UPDATE api_keys SET revoked_at = 120000 WHERE id = 'key_1'`)
	if revoked := version(3); revoked <= v {
		t.Fatalf("version %d after a revocation by another connection, want more than %d", revoked, v)
	}
}
