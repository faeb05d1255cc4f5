package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/roster-dev/roster/internal/directory"
)

const (
	deleteSearchTermSQL = `DELETE FROM user_search WHERE tenant_id = ? AND term = ? AND user_id = ?`
	insertSearchTermSQL = `INSERT OR IGNORE INTO user_search (tenant_id, term, user_id) VALUES (?, ?, ?)`

	// A search reads its users one of two ways (searchUsers). sparseSearch
	// collects the IDs of the users with a term in the range, from a range
	// of user_search's primary key, then reads them newest first: its cost
	// grows with the matches. denseSearch reads the tenant's users newest
	// first and keeps those with a term in the range, each checked in
	// user_search_user: its cost grows with the users read for a page,
	// which is small when most users match, so it reads only a window of
	// the newest users (windowFrom).
	sparseSearch = ` AND id IN (SELECT user_id FROM user_search WHERE tenant_id = ? AND term >= ? AND term < ?)`
	// sparseBelow is sparseSearch for the users below an ID, which it
	// keeps in the subquery: with the bound on users.id instead, SQLite
	// walks the users below it and looks each up in the list. The unary
	// + keeps the bound off the index choice, which would otherwise be
	// the same walk in user_search_user.
	sparseBelow = ` AND id IN (SELECT user_id FROM user_search WHERE tenant_id = ? AND term >= ? AND term < ? AND +user_id < ?)`
	denseSearch = ` AND EXISTS (SELECT 1 FROM user_search s WHERE s.tenant_id = users.tenant_id AND s.user_id = users.id AND s.term >= ? AND s.term < ?)`
	// windowFrom bounds a dense search to the users from the window's
	// oldest on.
	windowFrom = ` AND id >= ?`

	// searchPlanSQL counts the terms in a range, up to a cap, and when the
	// cap is reached returns the ID of the window's oldest user too: the
	// searchWindow'th of the tenant's users newest first, below the cursor
	// (searchPlanBeforeSQL), NULL when there are fewer. The window's bound
	// is read from the users' primary key only, and only for a dense range.
	searchPlanSQL       = `SELECT n, CASE WHEN n >= ? THEN (SELECT id FROM users WHERE tenant_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?) END FROM (SELECT count(*) AS n FROM (SELECT 1 FROM user_search WHERE tenant_id = ? AND term >= ? AND term < ? LIMIT ?))`
	searchPlanBeforeSQL = `SELECT n, CASE WHEN n >= ? THEN (SELECT id FROM users WHERE tenant_id = ? AND id < ? ORDER BY id DESC LIMIT 1 OFFSET ?) END FROM (SELECT count(*) AS n FROM (SELECT 1 FROM user_search WHERE tenant_id = ? AND term >= ? AND term < ? LIMIT ?))`
)

const (
	// denseTerms is how many terms in its range make a search dense: past
	// it, reading users newest first may find a page sooner than
	// collecting every match would.
	denseTerms = 2000
	// searchWindow is how many of the newest users (below the cursor) a
	// dense search reads at most. When they hold less than a page of
	// matches, the rest of the page comes from the sparse form on the
	// older users: a range of user_search's key, whose cost grows with the
	// matches, instead of a walk whose cost grows with the users between
	// the newest end and the matches (hundreds of thousands when a prefix
	// only old users share).
	searchWindow = 4000
)

// searchQueried, when set (by tests), is called with each query of users
// a search sends and its arguments.
var searchQueried func(q string, args []any)

// searchPlan is how searchUsers reads a search's users.
type searchPlan struct {
	terms int    // the terms in the range, up to denseTerms
	bound string // the window's oldest user; "" when the window holds every user below the cursor
}

// plan returns the plan of a search of f's range.
func (s *Store) plan(ctx context.Context, tenantID string, f directory.UserFilter) (searchPlan, error) {
	var p searchPlan
	var bound sql.NullString
	var row *sql.Row
	if f.Before == "" {
		row = s.read.QueryRowContext(ctx, searchPlanSQL, denseTerms, tenantID, searchWindow-1,
			tenantID, f.SearchFrom, f.SearchTo, denseTerms)
	} else {
		row = s.read.QueryRowContext(ctx, searchPlanBeforeSQL, denseTerms, tenantID, f.Before, searchWindow-1,
			tenantID, f.SearchFrom, f.SearchTo, denseTerms)
	}
	if err := row.Scan(&p.terms, &bound); err != nil {
		return p, wrapErr("list users", err)
	}
	p.bound = bound.String
	return p, nil
}

// searchUsers is ListUsers for a filter with a search range. A range of
// fewer than denseTerms terms is read the sparse way. A denser one is read
// the dense way from the newest searchWindow users below the cursor, and,
// when they hold less than the page, the sparse way from the older ones: a
// page costs at most a window plus the matches, never a walk of the
// tenant's users. A sort by a field, the oldest first or no limit need
// every match, and take the dense form over all users as they did.
func (s *Store) searchUsers(ctx context.Context, tenantID string, f directory.UserFilter) ([]*directory.User, error) {
	p, err := s.plan(ctx, tenantID, f)
	if err != nil {
		return nil, err
	}
	if p.terms < denseTerms {
		if f.Before != "" {
			g := f
			g.Before = ""
			return s.listWhere(ctx, tenantID, g, sparseBelow, tenantID, f.SearchFrom, f.SearchTo, f.Before)
		}
		return s.listWhere(ctx, tenantID, f, sparseSearch, tenantID, f.SearchFrom, f.SearchTo)
	}
	if f.SortBy != "" || f.Oldest || f.Limit <= 0 || p.bound == "" {
		return s.listWhere(ctx, tenantID, f, denseSearch, f.SearchFrom, f.SearchTo)
	}
	need := max(f.Offset, 0) + f.Limit
	g := f
	g.Offset, g.Limit = 0, need
	us, err := s.listWhere(ctx, tenantID, g, windowFrom+denseSearch, p.bound, f.SearchFrom, f.SearchTo)
	if err != nil {
		return nil, err
	}
	if len(us) < need {
		g.Before, g.Limit = "", need-len(us)
		older, err := s.listWhere(ctx, tenantID, g, sparseBelow, tenantID, f.SearchFrom, f.SearchTo, p.bound)
		if err != nil {
			return nil, err
		}
		us = append(us, older...)
	}
	if len(us) <= max(f.Offset, 0) {
		return nil, nil
	}
	return us[max(f.Offset, 0):], nil
}

// listWhere lists the users f selects that also meet the condition cond
// ("": none), which takes the arguments condArgs.
func (s *Store) listWhere(ctx context.Context, tenantID string, f directory.UserFilter, cond string, condArgs ...any) ([]*directory.User, error) {
	q, args, err := userQuery(`SELECT `+userColumns+` FROM users WHERE tenant_id = ?`, tenantID, f, true)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	q += cond
	args = append(args, condArgs...)
	order, err := userOrder(f)
	if err != nil {
		return nil, err
	}
	q += order + ` LIMIT ? OFFSET ?`
	args = append(args, limit(f.Limit), max(f.Offset, 0))
	if searchQueried != nil && cond != "" {
		searchQueried(q, args)
	}
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrapErr("list users", err)
	}
	defer rows.Close()
	var us []*directory.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, wrapErr("list users", err)
		}
		us = append(us, u)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("list users", err)
	}
	return us, nil
}

// SetSearchTerms removes and adds search terms of a user.
func (t *tx) SetSearchTerms(ctx context.Context, tenantID, userID string, gone, added []string) error {
	for _, term := range gone {
		if _, err := t.stmt(t.s.stmts.deleteSearchTerm).ExecContext(ctx, tenantID, term, userID); err != nil {
			return wrapErr("set search terms", err)
		}
	}
	for _, term := range added {
		if _, err := t.stmt(t.s.stmts.insertSearchTerm).ExecContext(ctx, tenantID, term, userID); err != nil {
			return wrapErr("set search terms", err)
		}
	}
	return nil
}
