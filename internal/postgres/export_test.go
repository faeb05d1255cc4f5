package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// OpenConfigured is Open with the pool's configuration changed by
// configure first.
func OpenConfigured(ctx context.Context, rawURL string, configure func(*pgxpool.Config)) (*Store, error) {
	cfg, err := poolConfig(rawURL)
	if err != nil {
		return nil, err
	}
	configure(cfg)
	return open(ctx, cfg)
}

// The conditions of a search, for the tests of their plans.
const (
	SparseSearch = sparseSearch
	WindowSearch = windowSearch
	SearchWindow = searchWindow
)
