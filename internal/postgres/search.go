package postgres

import (
	"context"
	"fmt"
	"strings"
)

// A search reads its users one of two ways, as on SQLite (see sqlite's
// search.go): sparseSearch collects the IDs of the users with a term in the
// range from user_search's primary key, denseSearch reads the tenant's users
// newest first and checks each in user_search_user. Each takes its
// parameters' numbers.
const (
	sparseSearch = ` AND u.id IN (SELECT s.user_id FROM user_search s WHERE s.tenant_id = $%d AND s.term >= $%d AND s.term < $%d)`
	denseSearch  = ` AND EXISTS (SELECT 1 FROM user_search s WHERE s.tenant_id = u.tenant_id AND s.user_id = u.id AND s.term >= $%d AND s.term < $%d)`
	// countTermsSQL counts the terms in a range, up to a cap.
	countTermsSQL = `SELECT count(*) FROM (SELECT 1 FROM user_search WHERE tenant_id = $1 AND term >= $2 AND term < $3 LIMIT $4) AS t`
)

// denseTerms is how many terms in its range make a search dense.
const denseTerms = 2000

// searchCond appends to q and args the condition of a search in
// [from, to), chosen by how many terms the range holds.
func (s *Store) searchCond(ctx context.Context, q *strings.Builder, args []any, tenantID, from, to string) ([]any, error) {
	var n int
	if err := s.pool.QueryRow(ctx, countTermsSQL, tenantID, from, to, denseTerms).Scan(&n); err != nil {
		return nil, wrapErr("list users", err)
	}
	if n >= denseTerms {
		args = append(args, from, to)
		fmt.Fprintf(q, denseSearch, len(args)-1, len(args))
		return args, nil
	}
	args = append(args, tenantID, from, to)
	fmt.Fprintf(q, sparseSearch, len(args)-2, len(args)-1, len(args))
	return args, nil
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
