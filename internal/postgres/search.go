package postgres

import (
	"context"
	"fmt"

	"github.com/roster-dev/roster/internal/directory"
)

// A search reads its users one of two ways, as on SQLite (see sqlite's
// search.go): the sparse form (sparseBelow; sparseSearch where the order is
// not by ID) collects the IDs of the users with a term in the range from
// user_search's primary key, the dense one (windowSearch) reads the
// tenant's newest users, within a window, and keeps those with a term in
// the range. Each takes its parameters' numbers.
const (
	sparseSearch = ` AND u.id IN (SELECT s.user_id FROM user_search s WHERE s.tenant_id = $%d AND s.term >= $%d AND s.term < $%d)`
	// windowSearch is the dense form within a window from the bound $%[1]d
	// on ('' for every user): each user of the window is looked up in
	// user_search_user by its ID, the range of terms checked on the
	// user's few entries. It is written to leave the planner no other
	// way, whatever the statistics (a fresh load has none, and the planner
	// then takes a table for a row or two): OFFSET 0 keeps the EXISTS a
	// subplan run per user with its ID, rather than a semi-join free to
	// read all the tenant's terms once per user; the terms compared as
	// (term || ''), which no index serves, keep the lookup off a range of
	// terms of user_search_pkey.
	windowSearch = ` AND u.id >= $%[1]d AND EXISTS (SELECT 1 FROM user_search s WHERE s.tenant_id = u.tenant_id AND s.user_id = u.id
		AND (s.term || '') COLLATE "C" >= $%[2]d AND (s.term || '') COLLATE "C" < $%[3]d OFFSET 0)`
	// sparseBelow reads the users with a term in the range below an ID
	// newest first: the IDs from user_search's primary key, sorted, then
	// each user in turn (the LATERAL subquery, with the page's other
	// conditions, kept apart by OFFSET 0 so that it stays a nested loop),
	// until the page is full. Written as sparseSearch, the planner took
	// the walk of users_pkey newest first (a Merge Semi Join), whatever
	// the matches' number: for many matches, all old, that walk reads
	// nearly every user. Its parameters: the range, the bound, then the
	// LATERAL's own (userQuery's, $1 the tenant).
	sparseBelow = `SELECT ` + userColumns + ` FROM (SELECT DISTINCT s.user_id FROM user_search s
		WHERE s.tenant_id = $1 AND s.term >= $%d AND s.term < $%d%s ORDER BY s.user_id DESC) AS m
		CROSS JOIN LATERAL (%s AND u.id = m.user_id OFFSET 0) AS u ORDER BY m.user_id DESC LIMIT $%d`

	// searchPlanSQL counts the terms in a range, up to a cap ($4), and when
	// the cap is reached returns the ID of the window's oldest user too:
	// the $5+1'th of the tenant's users newest first, below the cursor $6
	// when there is one (%s: "" or " AND u.id < $6"), NULL when there are
	// fewer. The bound is read from users_pkey only, and only for a dense
	// range (an InitPlan, run only when the CASE asks for it).
	searchPlanSQL = `SELECT t.n, CASE WHEN t.n >= $4 THEN (SELECT u.id FROM users u WHERE u.tenant_id = $1%s ORDER BY u.id DESC LIMIT 1 OFFSET $5) END
		FROM (SELECT count(*) AS n FROM (SELECT 1 FROM user_search WHERE tenant_id = $1 AND term >= $2 AND term < $3 LIMIT $4) AS c) AS t`
)

const (
	// denseTerms is how many terms in its range make a search dense.
	denseTerms = 2000
	// searchWindow is how many of the newest users (below the cursor) a
	// dense search reads at most (see sqlite's search.go).
	searchWindow = 4000
)

// searchPlan is how searchUsers reads a search's users.
type searchPlan struct {
	terms int    // the terms in the range, up to denseTerms
	bound string // the window's oldest user; "" when the window holds every user below the cursor
}

// plan returns the plan of a search of f's range.
func (s *Store) plan(ctx context.Context, tenantID string, f directory.UserFilter) (searchPlan, error) {
	var p searchPlan
	var bound *string
	q, args := fmt.Sprintf(searchPlanSQL, ""), []any{tenantID, f.SearchFrom, f.SearchTo, denseTerms, searchWindow - 1}
	if f.Before != "" {
		q, args = fmt.Sprintf(searchPlanSQL, ` AND u.id < $6`), append(args, f.Before)
	}
	if err := s.pool.QueryRow(ctx, q, args...).Scan(&p.terms, &bound); err != nil {
		return p, wrapErr("list users", err)
	}
	if bound != nil {
		p.bound = *bound
	}
	return p, nil
}

// searchUsers is ListUsers for a filter with a search range, read as on
// SQLite (see sqlite's searchUsers): the sparse form for a range of fewer
// than denseTerms terms; for a denser one the dense form on the newest
// searchWindow users below the cursor, then, when they hold less than the
// page, the sparse form on the older ones.
func (s *Store) searchUsers(ctx context.Context, tenantID string, f directory.UserFilter) ([]*directory.User, error) {
	p, err := s.plan(ctx, tenantID, f)
	if err != nil {
		return nil, err
	}
	offset := max(f.Offset, 0)
	if p.terms < denseTerms {
		if f.SortBy != "" || f.Oldest {
			return s.listWhere(ctx, tenantID, f, sparse(tenantID, f.SearchFrom, f.SearchTo))
		}
		need := 0 // all
		if f.Limit > 0 {
			need = offset + f.Limit
		}
		us, err := s.listBelow(ctx, tenantID, f, f.Before, need)
		if err != nil || len(us) <= offset {
			return nil, err
		}
		return us[offset:], nil
	}
	if f.SortBy != "" || f.Oldest || f.Limit <= 0 || p.bound == "" {
		return s.listWhere(ctx, tenantID, f, dense("", f.SearchFrom, f.SearchTo))
	}
	need := offset + f.Limit
	g := f
	g.Offset, g.Limit = 0, need
	us, err := s.listWhere(ctx, tenantID, g, dense(p.bound, f.SearchFrom, f.SearchTo))
	if err != nil {
		return nil, err
	}
	if len(us) < need {
		older, err := s.listBelow(ctx, tenantID, f, p.bound, need-len(us))
		if err != nil {
			return nil, err
		}
		us = append(us, older...)
	}
	if len(us) <= offset {
		return nil, nil
	}
	return us[offset:], nil
}

// cond is a search condition: it appends itself to a query and its
// arguments.
type cond func(q string, args []any) (string, []any)

// sparse is the sparse form of a search of [from, to).
func sparse(tenantID, from, to string) cond {
	return func(q string, args []any) (string, []any) {
		args = append(args, tenantID, from, to)
		return q + fmt.Sprintf(sparseSearch, len(args)-2, len(args)-1, len(args)), args
	}
}

// dense is the dense form of a search of [from, to), on the users from
// bound on ("" for all).
func dense(bound, from, to string) cond {
	return func(q string, args []any) (string, []any) {
		args = append(args, bound, from, to)
		return q + fmt.Sprintf(windowSearch, len(args)-2, len(args)-1, len(args)), args
	}
}

// listWhere lists the users f selects that also meet c.
func (s *Store) listWhere(ctx context.Context, tenantID string, f directory.UserFilter, c cond) ([]*directory.User, error) {
	q, args, err := userQuery(`SELECT `+userColumns+` FROM users u WHERE u.tenant_id = $1`, tenantID, f, true)
	if err != nil {
		return nil, fmt.Errorf("postgres: list users: %w", err)
	}
	q, args = c(q, args)
	order, err := userOrder(f)
	if err != nil {
		return nil, err
	}
	args = append(args, limit(f.Limit), max(f.Offset, 0))
	q += order + fmt.Sprintf(` LIMIT $%d OFFSET $%d`, len(args)-1, len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrapErr("list users", err)
	}
	us, err := collect(rows, scanUser)
	return us, wrapErr("list users", err)
}

// listBelow lists up to n users (all for n <= 0) f selects below the ID
// bound when it is not "" (f.Before, f.Offset and f.Limit aside), newest
// first, with sparseBelow.
func (s *Store) listBelow(ctx context.Context, tenantID string, f directory.UserFilter, bound string, n int) ([]*directory.User, error) {
	f.Before = ""
	lateral, args, err := userQuery(`SELECT u.* FROM users u WHERE u.tenant_id = $1`, tenantID, f, true)
	if err != nil {
		return nil, fmt.Errorf("postgres: list users: %w", err)
	}
	args = append(args, f.SearchFrom, f.SearchTo)
	fromArg, toArg, below := len(args)-1, len(args), ""
	if bound != "" {
		args = append(args, bound)
		below = fmt.Sprintf(` AND s.user_id < $%d`, len(args))
	}
	args = append(args, limit(n))
	rows, err := s.pool.Query(ctx, fmt.Sprintf(sparseBelow, fromArg, toArg, below, lateral, len(args)), args...)
	if err != nil {
		return nil, wrapErr("list users", err)
	}
	us, err := collect(rows, scanUser)
	return us, wrapErr("list users", err)
}

// SetSearchTerms removes and adds search terms of a user, in one statement
// sent with the next one the transaction waits for.
func (t *tx) SetSearchTerms(ctx context.Context, tenantID, userID string, gone, added []string) error {
	if gone == nil {
		gone = []string{}
	}
	if added == nil {
		added = []string{}
	}
	t.tx.later("set search terms", `WITH gone AS (
			DELETE FROM user_search WHERE tenant_id = $1 AND user_id = $2 AND term = ANY ($3::text[]))
		INSERT INTO user_search (tenant_id, term, user_id) SELECT $1, term, $2 FROM unnest($4::text[]) AS term
		ON CONFLICT DO NOTHING`, tenantID, userID, gone, added)
	return nil
}
