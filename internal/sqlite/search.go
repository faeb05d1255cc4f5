package sqlite

import (
	"context"
	"strings"
)

const (
	deleteSearchTermSQL = `DELETE FROM user_search WHERE tenant_id = ? AND term = ? AND user_id = ?`
	insertSearchTermSQL = `INSERT OR IGNORE INTO user_search (tenant_id, term, user_id) VALUES (?, ?, ?)`

	// A search reads its users one of two ways (ListUsers). sparseSearch
	// collects the IDs of the users with a term in the range, from a range
	// of user_search's primary key, then reads them newest first: its cost
	// grows with the matches. denseSearch reads the tenant's users newest
	// first and keeps those with a term in the range, each checked in
	// user_search_user: its cost grows with the users read for a page,
	// which is small when most users match.
	sparseSearch = ` AND id IN (SELECT user_id FROM user_search WHERE tenant_id = ? AND term >= ? AND term < ?)`
	denseSearch  = ` AND EXISTS (SELECT 1 FROM user_search s WHERE s.tenant_id = users.tenant_id AND s.user_id = users.id AND s.term >= ? AND s.term < ?)`
	// countTermsSQL counts the terms in a range, up to a cap.
	countTermsSQL = `SELECT count(*) FROM (SELECT 1 FROM user_search WHERE tenant_id = ? AND term >= ? AND term < ? LIMIT ?)`
)

// denseTerms is how many terms in its range make a search dense: past it,
// reading users newest first finds a page sooner than collecting every
// match would.
const denseTerms = 2000

// searchCond appends to q and args the condition of a search in
// [from, to), chosen by how many terms the range holds.
func (s *Store) searchCond(ctx context.Context, q *strings.Builder, args []any, tenantID, from, to string) ([]any, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, countTermsSQL, tenantID, from, to, denseTerms).Scan(&n); err != nil {
		return nil, wrapErr("list users", err)
	}
	if n >= denseTerms {
		q.WriteString(denseSearch)
		return append(args, from, to), nil
	}
	q.WriteString(sparseSearch)
	return append(args, tenantID, from, to), nil
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
