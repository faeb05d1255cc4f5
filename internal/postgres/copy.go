package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/internal/directory"
)

// CopyUsers inserts new users and their search terms (directory.SearchTerms)
// by COPY, in one transaction, and adds those active to their tenants'
// active-user counters: the rows creating each through the Service would
// write, from the same userArgs, but no audit entry, event or write count.
// It is for bulk loads (roster-bench seeds a million users with it), where
// one INSERT per row costs a round trip each. u.Suspensions is not stored.
//
// COPY checks the same constraints as INSERT: a duplicate email, username
// or ID fails the whole call, and nothing is written.
func (s *Store) CopyUsers(ctx context.Context, users []*directory.User) error {
	rows := make([][]any, len(users))
	var terms [][]any
	active := map[string]int64{}
	for i, u := range users {
		args, err := userArgs(u)
		if err != nil {
			return fmt.Errorf("postgres: copy users: user %s: %w", u.ID, err)
		}
		rows[i] = args
		for _, t := range directory.SearchTerms(u) {
			terms = append(terms, []any{u.TenantID, t, u.ID})
		}
		if u.Status == directory.StatusActive {
			active[u.TenantID]++
		}
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return wrapErr("copy users", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"users"}, userWriteColumns, pgx.CopyFromRows(rows)); err != nil {
		return wrapErr("copy users", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"user_search"}, []string{"tenant_id", "term", "user_id"}, pgx.CopyFromRows(terms)); err != nil {
		return wrapErr("copy users: search terms", err)
	}
	for tenantID, n := range active {
		tag, err := tx.Exec(ctx, `UPDATE tenants SET active_users = active_users + $2 WHERE id = $1`, tenantID, n)
		if err != nil {
			return wrapErr("copy users: active users", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("postgres: copy users: tenant %s: %w", tenantID, directory.ErrNotFound)
		}
	}
	return wrapErr("copy users", tx.Commit(ctx))
}
