package sqlite

import (
	"context"
	"fmt"

	"github.com/roster-dev/roster/internal/directory"
)

const (
	// tenantSelect are the columns a tenant is read from.
	tenantSelect = `id, name, plan, settings, roles, policies, created_at, updated_at, role_names, config_version`
	getTenantSQL = `SELECT ` + tenantSelect + ` FROM tenants WHERE id = ?`
)

// GetTenant returns the tenant, or an error wrapping directory.ErrNotFound.
func (s *Store) GetTenant(ctx context.Context, id string) (*directory.Tenant, error) {
	row := s.stmts.readGetTenant.QueryRowContext(ctx, id)
	t, err := scanTenant(row)
	if err != nil {
		return nil, wrapErr("get tenant", err)
	}
	return t, nil
}

// ListTenants lists tenants newest first, those whose ID sorts below before
// ("" = from the newest), at most limit of them (all when limit <= 0).
func (s *Store) ListTenants(ctx context.Context, before string, n int) ([]*directory.Tenant, error) {
	q, args := `SELECT `+tenantSelect+` FROM tenants ORDER BY id DESC LIMIT ?`, []any{limit(n)}
	if before != "" {
		q, args = `SELECT `+tenantSelect+` FROM tenants WHERE id < ? ORDER BY id DESC LIMIT ?`, []any{before, limit(n)}
	}
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrapErr("list tenants", err)
	}
	defer rows.Close()
	var ts []*directory.Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, wrapErr("list tenants", err)
		}
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("list tenants", err)
	}
	return ts, nil
}

// CountTenants counts all tenants.
func (s *Store) CountTenants(ctx context.Context) (int, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM tenants`).Scan(&n); err != nil {
		return 0, wrapErr("count tenants", err)
	}
	return n, nil
}

// CreateTenant inserts t.
func (t *tx) CreateTenant(ctx context.Context, tn *directory.Tenant) error {
	plan, settings, roles, names, err := encodeTenant(tn)
	if err != nil {
		return fmt.Errorf("sqlite: create tenant: %w", err)
	}
	// role_names is left to its default, {}, unless the tenant has some: a
	// new tenant has none, and the insert stays that of the schemas before
	// 0013, which the migration tests write with.
	_, err = t.tx.ExecContext(ctx, `INSERT INTO tenants (id, name, plan, settings, roles, policies, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		tn.ID, tn.Name, plan, settings, roles, tn.Policies, millis(tn.CreatedAt), millis(tn.UpdatedAt))
	if err == nil && len(tn.RoleNames) > 0 {
		_, err = t.tx.ExecContext(ctx, `UPDATE tenants SET role_names = ? WHERE id = ?`, names, tn.ID)
	}
	if err == nil {
		tn.ConfigVersion = 1
	}
	return wrapErr("create tenant", err)
}

// UpdateTenant stores everything of tn but its creation time, increments
// its config version and sets tn.ConfigVersion to the new one. It returns an
// error wrapping directory.ErrNotFound if the tenant does not exist.
func (t *tx) UpdateTenant(ctx context.Context, tn *directory.Tenant) error {
	plan, settings, roles, names, err := encodeTenant(tn)
	if err != nil {
		return fmt.Errorf("sqlite: update tenant: %w", err)
	}
	t.b.forgetCounters()
	err = t.tx.QueryRowContext(ctx, `UPDATE tenants SET name = ?, plan = ?, settings = ?, roles = ?, policies = ?, updated_at = ?,
		role_names = ?, config_version = config_version + 1 WHERE id = ? RETURNING config_version`,
		tn.Name, plan, settings, roles, tn.Policies, millis(tn.UpdatedAt), names, tn.ID).Scan(&tn.ConfigVersion)
	return wrapErr("update tenant", err)
}

// BumpConfigVersion increments the tenant's config version. It returns an
// error wrapping directory.ErrNotFound if the tenant does not exist.
func (t *tx) BumpConfigVersion(ctx context.Context, tenantID string) error {
	t.b.forgetCounters()
	res, err := t.tx.ExecContext(ctx, `UPDATE tenants SET config_version = config_version + 1 WHERE id = ?`, tenantID)
	return wrapErr("bump config version", oneRow(res, err))
}

func encodeTenant(t *directory.Tenant) (plan, settings, roles, names string, err error) {
	if plan, err = encodeJSON(t.Plan); err != nil {
		return "", "", "", "", err
	}
	if settings, err = encodeJSON(t.Settings); err != nil {
		return "", "", "", "", err
	}
	if roles, err = encodeJSON(t.Roles); err != nil {
		return "", "", "", "", err
	}
	if names, err = encodeJSON(roleNames(t)); err != nil {
		return "", "", "", "", err
	}
	return plan, settings, roles, names, nil
}

func scanTenant(sc scanner) (*directory.Tenant, error) {
	var (
		t                            directory.Tenant
		plan, settings, roles, names string
		created, updated             int64
	)
	if err := sc.Scan(&t.ID, &t.Name, &plan, &settings, &roles, &t.Policies, &created, &updated, &names, &t.ConfigVersion); err != nil {
		return nil, err
	}
	if err := decodeJSON(plan, &t.Plan); err != nil {
		return nil, fmt.Errorf("tenant %s: plan: %w", t.ID, err)
	}
	if err := decodeJSON(settings, &t.Settings); err != nil {
		return nil, fmt.Errorf("tenant %s: settings: %w", t.ID, err)
	}
	if err := decodeJSON(roles, &t.Roles); err != nil {
		return nil, fmt.Errorf("tenant %s: roles: %w", t.ID, err)
	}
	if err := decodeJSON(names, &t.RoleNames); err != nil {
		return nil, fmt.Errorf("tenant %s: role names: %w", t.ID, err)
	}
	if len(t.RoleNames) == 0 {
		t.RoleNames = nil
	}
	t.CreatedAt, t.UpdatedAt = fromMillis(created), fromMillis(updated)
	return &t, nil
}

// LockTenant returns an error wrapping directory.ErrNotFound if the tenant
// does not exist. There is nothing to lock: the transaction already holds
// the database's one write lock, so no other transaction counts the
// tenant's users or writes until it ends.
func (t *tx) LockTenant(ctx context.Context, tenantID string) error {
	var one int
	err := t.tx.QueryRowContext(ctx, `SELECT 1 FROM tenants WHERE id = ?`, tenantID).Scan(&one)
	return wrapErr("lock tenant", err)
}

// roleNames is t's RoleNames, an empty object rather than null when none.
func roleNames(t *directory.Tenant) map[string]string {
	if t.RoleNames == nil {
		return map[string]string{}
	}
	return t.RoleNames
}
