package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/roster-dev/roster/internal/directory"
)

// querier is what the pool and a transaction both offer, for the reads that
// run either way.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// tenantColumns are those a new tenant is inserted with; config_version
// starts at its default, 1.
const (
	tenantColumns = `id, name, plan, settings, roles, policies, created_at, updated_at, role_names`
	tenantSelect  = tenantColumns + `, config_version`
)

// GetTenant returns the tenant, or an error wrapping directory.ErrNotFound.
func (s *Store) GetTenant(ctx context.Context, id string) (*directory.Tenant, error) {
	t, err := scanTenant(s.pool.QueryRow(ctx, `SELECT `+tenantSelect+` FROM tenants WHERE id = $1`, id))
	if err != nil {
		return nil, wrapErr("get tenant", err)
	}
	return t, nil
}

// ListTenants lists tenants newest first, those whose ID sorts below before
// ("" = from the newest), at most limit of them (all when limit <= 0).
func (s *Store) ListTenants(ctx context.Context, before string, n int) ([]*directory.Tenant, error) {
	// Two statements, not one with "$1 = '' OR id < $1": a cached plan
	// would have to serve both and could not start the index scan at before.
	q, args := `SELECT `+tenantSelect+` FROM tenants ORDER BY id DESC LIMIT $1`, []any{limit(n)}
	if before != "" {
		q, args = `SELECT `+tenantSelect+` FROM tenants WHERE id < $1 ORDER BY id DESC LIMIT $2`, []any{before, limit(n)}
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrapErr("list tenants", err)
	}
	ts, err := collect(rows, scanTenant)
	return ts, wrapErr("list tenants", err)
}

// CountTenants counts all tenants.
func (s *Store) CountTenants(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM tenants`).Scan(&n); err != nil {
		return 0, wrapErr("count tenants", err)
	}
	return n, nil
}

// CreateTenant inserts tn.
func (t *tx) CreateTenant(ctx context.Context, tn *directory.Tenant) error {
	plan, settings, names, err := encodeTenant(tn)
	if err != nil {
		return fmt.Errorf("postgres: create tenant: %w", err)
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO tenants (`+tenantColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		tn.ID, tn.Name, plan, settings, tn.Roles, tn.Policies, ts(tn.CreatedAt), ts(tn.UpdatedAt), names)
	if err == nil {
		tn.ConfigVersion = 1
	}
	return wrapErr("create tenant", err)
}

// UpdateTenant stores everything of tn but its creation time, increments
// its config version and sets tn.ConfigVersion to the new one. It returns an
// error wrapping directory.ErrNotFound if the tenant does not exist.
func (t *tx) UpdateTenant(ctx context.Context, tn *directory.Tenant) error {
	plan, settings, names, err := encodeTenant(tn)
	if err != nil {
		return fmt.Errorf("postgres: update tenant: %w", err)
	}
	err = t.tx.QueryRow(ctx, `UPDATE tenants SET name = $1, plan = $2, settings = $3, roles = $4, policies = $5, updated_at = $6,
		role_names = $8, config_version = config_version + 1 WHERE id = $7 RETURNING config_version`,
		tn.Name, plan, settings, tn.Roles, tn.Policies, ts(tn.UpdatedAt), tn.ID, names).Scan(&tn.ConfigVersion)
	return wrapErr("update tenant", err)
}

// BumpConfigVersion increments the tenant's config version. It returns an
// error wrapping directory.ErrNotFound if the tenant does not exist.
func (t *tx) BumpConfigVersion(ctx context.Context, tenantID string) error {
	tag, err := t.tx.Exec(ctx, `UPDATE tenants SET config_version = config_version + 1 WHERE id = $1`, tenantID)
	if err != nil {
		return wrapErr("bump config version", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: bump config version: %w", directory.ErrNotFound)
	}
	return nil
}

// LockTenant locks the tenant's row until the transaction ends, so that the
// transactions that check its active-user counter, or move it
// (AddActiveUsers takes the same lock), run one after the other: READ
// COMMITTED gives each statement after the lock a fresh view, in which the
// previous holder's writes are visible. It returns an error wrapping
// directory.ErrNotFound if the tenant does not exist.
//
// The lock is FOR NO KEY UPDATE rather than FOR UPDATE: the two exclude
// each other's holders alike, but FOR UPDATE also blocks the FOR KEY SHARE
// locks that foreign key checks take, so every write of the tenant (each
// inserts rows that reference it) would wait for the lock holder; with NO
// KEY UPDATE only the other counting transactions wait.
func (t *tx) LockTenant(ctx context.Context, tenantID string) error {
	var one int
	err := t.tx.QueryRow(ctx, `SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE`, tenantID).Scan(&one)
	return wrapErr("lock tenant", err)
}

func encodeTenant(t *directory.Tenant) (plan, settings, names string, err error) {
	if plan, err = encodeJSON(t.Plan); err != nil {
		return "", "", "", err
	}
	if settings, err = encodeJSON(t.Settings); err != nil {
		return "", "", "", err
	}
	if names, err = encodeJSON(roleNames(t)); err != nil {
		return "", "", "", err
	}
	return plan, settings, names, nil
}

func scanTenant(row pgx.Row) (*directory.Tenant, error) {
	var (
		t                     directory.Tenant
		plan, settings, names []byte
		created, upd          time.Time
	)
	if err := row.Scan(&t.ID, &t.Name, &plan, &settings, &t.Roles, &t.Policies, &created, &upd, &names, &t.ConfigVersion); err != nil {
		return nil, err
	}
	if err := decodeJSON(plan, &t.Plan); err != nil {
		return nil, fmt.Errorf("tenant %s: plan: %w", t.ID, err)
	}
	if err := decodeJSON(settings, &t.Settings); err != nil {
		return nil, fmt.Errorf("tenant %s: settings: %w", t.ID, err)
	}
	if err := decodeJSON(names, &t.RoleNames); err != nil {
		return nil, fmt.Errorf("tenant %s: role names: %w", t.ID, err)
	}
	if len(t.RoleNames) == 0 {
		t.RoleNames = nil
	}
	t.CreatedAt, t.UpdatedAt = created.UTC(), upd.UTC()
	return &t, nil
}

// collect scans every row with scan. It returns nil, not an empty slice,
// when there are none.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// roleNames is t's RoleNames, an empty object rather than null when none.
func roleNames(t *directory.Tenant) map[string]string {
	if t.RoleNames == nil {
		return map[string]string{}
	}
	return t.RoleNames
}
