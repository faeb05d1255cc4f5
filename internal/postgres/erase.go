package postgres

import "context"

// ErasePurged does nothing: PostgreSQL offers no online way to erase the
// bytes of deleted rows. PurgeUser leaves no trace in any row SQL can
// read; the old row versions stay in the table files until VACUUM (run by
// autovacuum) frees their space and later writes reuse it, and in WAL
// segments until they are recycled, and in archives and backups as long as
// the operator keeps those (docs/api.md). VACUUM FULL would rewrite the
// tables, but holds an exclusive lock on each while it does.
func (s *Store) ErasePurged(ctx context.Context) error { return nil }
