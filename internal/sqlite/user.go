package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/roster-dev/roster/internal/directory"
)

// userColumns are what scanUser reads. The user's unlifted suspensions come
// in the same statement, as a JSON array of [id, reason, created_at,
// ends_at] in ID order, so that a read outside a transaction sees the user
// and its suspensions as of one commit. The EXISTS probe, on the covering
// index suspensions_user, spares the common user who was never suspended
// the aggregate, which cost a quarter of GetUser's time.
const userColumns = `id, tenant_id, email, username, status, is_owner, auth_provider, profile, secure_metadata,
	purge_after, created_at, updated_at, version, external_id, scim_user_name,
	CASE WHEN EXISTS (SELECT 1 FROM suspensions s WHERE s.tenant_id = users.tenant_id AND s.user_id = users.id)
	THEN (SELECT json_group_array(json_array(s.id, s.reason, s.created_at, s.ends_at) ORDER BY s.id)
		FROM suspensions s WHERE s.tenant_id = users.tenant_id AND s.user_id = users.id AND s.lifted_at IS NULL)
	ELSE '[]' END`

const (
	getUserSQL    = `SELECT ` + userColumns + ` FROM users WHERE tenant_id = ? AND id = ?`
	createUserSQL = `INSERT INTO users (tenant_id, id, email, email_key, username, status, is_owner, auth_provider, profile, secure_metadata,
		purge_after, created_at, updated_at, version, external_id, scim_user_name, scim_user_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	updateUserSQL = `UPDATE users SET email = ?, email_key = ?, username = ?, status = ?, is_owner = ?, auth_provider = ?,
		profile = ?, secure_metadata = ?, purge_after = ?, updated_at = ?, version = ?,
		external_id = ?, scim_user_name = ?, scim_user_key = ?
		WHERE tenant_id = ? AND id = ? AND version = ?`
	// updateUserKeepingKeysSQL is updateUserSQL for the usual update, one
	// that leaves every indexed column as it is: it sets none of them, and
	// matches only while they hold the values given. SQLite rewrites the
	// entries of every index whose columns an UPDATE sets, equal values or
	// not: a batch of 26 updates of random users wrote 80 WAL frames with
	// updateUserSQL and 26 with this one.
	updateUserKeepingKeysSQL = `UPDATE users SET email = ?, is_owner = ?, auth_provider = ?, profile = ?, secure_metadata = ?,
		updated_at = ?, version = ?, scim_user_name = ?
		WHERE tenant_id = ? AND id = ? AND version = ?
		AND email_key IS ? AND username IS ? AND status = ? AND purge_after IS ?
		AND external_id IS ? AND scim_user_key IS ?`
	userExistsSQL = `SELECT count(*) FROM users WHERE tenant_id = ? AND id = ?`
)

// profile is the JSON of the users.profile column: the user's fields that no
// query filters on. Roles and Metadata are not omitted when empty, so that
// nil and empty both come back as they went in.
type profile struct {
	EmailVerified bool           `json:"email_verified,omitempty"`
	Name          string         `json:"name,omitempty"`
	GivenName     string         `json:"given_name,omitempty"`
	FamilyName    string         `json:"family_name,omitempty"`
	Picture       string         `json:"picture,omitempty"`
	Bio           string         `json:"bio,omitempty"`
	Birthdate     string         `json:"birthdate,omitempty"`
	Location      *location      `json:"location,omitempty"`
	Company       string         `json:"company,omitempty"`
	Website       string         `json:"website,omitempty"`
	Country       string         `json:"country,omitempty"`
	Locale        string         `json:"locale,omitempty"`
	Zoneinfo      string         `json:"zoneinfo,omitempty"`
	Roles         []string       `json:"roles"`
	Metadata      map[string]any `json:"metadata"`
	ConsentedAt   *int64         `json:"consented_at,omitempty"` // unix milliseconds
	ConsentMethod string         `json:"consent_method,omitempty"`
	SCIM          map[string]any `json:"scim_attributes"` // null and {} kept apart, as the user was written
}

type location struct {
	Longitude float64 `json:"lon"`
	Latitude  float64 `json:"lat"`
}

// userRow is a user encoded for the columns of users.
type userRow struct {
	email, emailKey, username any
	externalID, scimUserName  any
	scimUserKey               any
	profile                   string
	secure                    any
	purgeAfter                any
}

func encodeUser(u *directory.User) (userRow, error) {
	p := profile{
		EmailVerified: u.EmailVerified,
		Name:          u.Name,
		GivenName:     u.GivenName,
		FamilyName:    u.FamilyName,
		Picture:       u.Picture,
		Bio:           u.Bio,
		Birthdate:     u.Birthdate,
		Company:       u.Company,
		Website:       u.Website,
		Country:       u.Country,
		Locale:        u.Locale,
		Zoneinfo:      u.Zoneinfo,
		Roles:         u.Roles,
		Metadata:      u.Metadata,
		ConsentMethod: u.ConsentMethod,
		SCIM:          u.SCIMAttributes,
	}
	if u.Location != nil {
		p.Location = &location{Longitude: u.Location.Longitude, Latitude: u.Location.Latitude}
	}
	if u.ConsentedAt != nil {
		ms := millis(*u.ConsentedAt)
		p.ConsentedAt = &ms
	}
	r := userRow{
		email:    nullIfEmpty(u.Email),
		emailKey: nullIfEmpty(directory.EmailKey(u.Email)),
		username: nullIfEmpty(u.Username),

		externalID:   nullIfEmpty(u.ExternalID),
		scimUserName: nullIfEmpty(u.SCIMUserName),
		scimUserKey:  directory.SCIMUserNameKey(u.SCIMName()),
	}
	if u.PurgeAfter != nil {
		r.purgeAfter = millis(*u.PurgeAfter)
	}
	var err error
	if r.profile, err = encodeJSON(p); err != nil {
		return userRow{}, fmt.Errorf("profile: %w", err)
	}
	if u.SecureMetadata != nil {
		if r.secure, err = encodeJSON(u.SecureMetadata); err != nil {
			return userRow{}, fmt.Errorf("secure metadata: %w", err)
		}
	}
	return r, nil
}

func scanUser(sc scanner) (*directory.User, error) {
	var (
		u                directory.User
		email, username  sql.NullString
		externalID, scim sql.NullString
		prof             string
		secure           sql.NullString
		purgeAfter       sql.NullInt64
		created, updated int64
		suspensions      string
	)
	err := sc.Scan(&u.ID, &u.TenantID, &email, &username, &u.Status, &u.IsOwner, &u.AuthProvider,
		&prof, &secure, &purgeAfter, &created, &updated, &u.Version, &externalID, &scim, &suspensions)
	if err != nil {
		return nil, err
	}
	var p profile
	if err := decodeJSON(prof, &p); err != nil {
		return nil, fmt.Errorf("user %s: profile: %w", u.ID, err)
	}
	if secure.Valid {
		if err := decodeJSON(secure.String, &u.SecureMetadata); err != nil {
			return nil, fmt.Errorf("user %s: secure metadata: %w", u.ID, err)
		}
	}
	u.Email, u.Username = email.String, username.String
	u.ExternalID, u.SCIMUserName, u.SCIMAttributes = externalID.String, scim.String, p.SCIM
	u.EmailVerified = p.EmailVerified
	u.Name, u.GivenName, u.FamilyName = p.Name, p.GivenName, p.FamilyName
	u.Picture, u.Bio, u.Birthdate = p.Picture, p.Bio, p.Birthdate
	if p.Location != nil {
		u.Location = &directory.Location{Longitude: p.Location.Longitude, Latitude: p.Location.Latitude}
	}
	u.Company, u.Website, u.Country = p.Company, p.Website, p.Country
	u.Locale, u.Zoneinfo = p.Locale, p.Zoneinfo
	u.Roles, u.Metadata = p.Roles, p.Metadata
	if p.ConsentedAt != nil {
		t := fromMillis(*p.ConsentedAt)
		u.ConsentedAt = &t
	}
	u.ConsentMethod = p.ConsentMethod
	if purgeAfter.Valid {
		t := fromMillis(purgeAfter.Int64)
		u.PurgeAfter = &t
	}
	if u.Suspensions, err = decodeSuspensions(suspensions); err != nil {
		return nil, fmt.Errorf("user %s: suspensions: %w", u.ID, err)
	}
	u.CreatedAt, u.UpdatedAt = fromMillis(created), fromMillis(updated)
	return &u, nil
}

// decodeSuspensions decodes the suspensions column of userColumns; never nil.
func decodeSuspensions(s string) ([]directory.Suspension, error) {
	if s == "[]" { // the common case, on the hot path of every read
		return []directory.Suspension{}, nil
	}
	var raw [][4]json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, err
	}
	out := make([]directory.Suspension, 0, len(raw))
	for _, r := range raw {
		var (
			sus     directory.Suspension
			created int64
			ends    *int64
		)
		for i, dst := range []any{&sus.ID, &sus.Reason, &created, &ends} {
			if err := json.Unmarshal(r[i], dst); err != nil {
				return nil, err
			}
		}
		sus.CreatedAt = fromMillis(created)
		if ends != nil {
			t := fromMillis(*ends)
			sus.EndsAt = &t
		}
		out = append(out, sus)
	}
	return out, nil
}

// GetUser returns the user, or an error wrapping directory.ErrNotFound if
// there is no user id in the tenant.
func (s *Store) GetUser(ctx context.Context, tenantID, id string) (*directory.User, error) {
	u, err := scanUser(s.stmts.readGetUser.QueryRowContext(ctx, tenantID, id))
	if err != nil {
		return nil, wrapErr("get user", err)
	}
	return u, nil
}

// ListUsers lists a tenant's users newest first, those matching every
// non-empty field of f; f.Limit <= 0 lists them all.
func (s *Store) ListUsers(ctx context.Context, tenantID string, f directory.UserFilter) ([]*directory.User, error) {
	if f.SearchFrom != "" {
		return s.searchUsers(ctx, tenantID, f) // search.go
	}
	return s.listWhere(ctx, tenantID, f, "")
}

// GetUser returns the user as this transaction sees it, or an error wrapping
// directory.ErrNotFound.
func (t *tx) GetUser(ctx context.Context, tenantID, id string) (*directory.User, error) {
	u, err := scanUser(t.stmt(t.s.stmts.getUser).QueryRowContext(ctx, tenantID, id))
	if err != nil {
		return nil, wrapErr("get user", err)
	}
	return u, nil
}

// CreateUser inserts u. It returns an error wrapping *directory.UniqueViolation
// if the tenant has a user with the same email (compared by EmailKey) or
// username. u.Suspensions is not stored: see InsertSuspension.
func (t *tx) CreateUser(ctx context.Context, u *directory.User) error {
	r, err := encodeUser(u)
	if err != nil {
		return fmt.Errorf("sqlite: create user: %w", err)
	}
	_, err = t.stmt(t.s.stmts.createUser).ExecContext(ctx,
		u.TenantID, u.ID, r.email, r.emailKey, r.username, u.Status, u.IsOwner, u.AuthProvider,
		r.profile, r.secure, r.purgeAfter, millis(u.CreatedAt), millis(u.UpdatedAt), u.Version,
		r.externalID, r.scimUserName, r.scimUserKey)
	return scimNameTaken(u, wrapErr("create user", err))
}

// UpdateUser stores u, all but its creation time and suspensions (see
// InsertSuspension and LiftSuspension), if the
// stored version is still prevVersion. It returns directory.ErrVersionConflict
// if it is not, an error wrapping directory.ErrNotFound if the user is not in
// the tenant, and one wrapping *directory.UniqueViolation if the new email or
// username is taken. On any error nothing is written.
func (t *tx) UpdateUser(ctx context.Context, u *directory.User, prevVersion int64) error {
	r, err := encodeUser(u)
	if err != nil {
		return fmt.Errorf("sqlite: update user: %w", err)
	}
	// Most updates change no indexed column: try that first.
	res, err := t.stmt(t.s.stmts.updateUserKeepingKeys).ExecContext(ctx,
		r.email, u.IsOwner, u.AuthProvider, r.profile, r.secure, millis(u.UpdatedAt), u.Version, r.scimUserName,
		u.TenantID, u.ID, prevVersion, r.emailKey, r.username, u.Status, r.purgeAfter, r.externalID, r.scimUserKey)
	if err != nil {
		return scimNameTaken(u, wrapErr("update user", err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrapErr("update user", err)
	} else if n == 1 {
		return nil
	}
	res, err = t.stmt(t.s.stmts.updateUser).ExecContext(ctx,
		r.email, r.emailKey, r.username, u.Status, u.IsOwner, u.AuthProvider,
		r.profile, r.secure, r.purgeAfter, millis(u.UpdatedAt), u.Version,
		r.externalID, r.scimUserName, r.scimUserKey,
		u.TenantID, u.ID, prevVersion)
	if err != nil {
		return scimNameTaken(u, wrapErr("update user", err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr("update user", err)
	}
	if n == 1 {
		return nil
	}
	// Nothing matched: the user is gone or its version moved. Within this
	// write transaction the answer cannot change under us.
	var exists int
	if err := t.stmt(t.s.stmts.userExists).QueryRowContext(ctx, u.TenantID, u.ID).Scan(&exists); err != nil {
		return wrapErr("update user", err)
	}
	if exists == 0 {
		return fmt.Errorf("sqlite: update user: %w", directory.ErrNotFound)
	}
	return directory.ErrVersionConflict
}

// UsersHoldingRoles returns the roles among roles that at least one user of
// the tenant holds, whatever its status, without repeats. Role names are compared exactly, as JSON values, so no character
// of a name is special.
//
// Roles live in the profile JSON, so this reads every profile of the
// tenant once; it serves a change of the role catalog, which is rare.
func (s *Store) UsersHoldingRoles(ctx context.Context, tenantID string, roles []string) ([]string, error) {
	if len(roles) == 0 {
		return nil, nil
	}
	want, err := encodeJSON(roles)
	if err != nil {
		return nil, fmt.Errorf("sqlite: users holding roles: %w", err)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT DISTINCT r.value
		FROM users u, json_each(u.profile, '$.roles') r
		WHERE u.tenant_id = ? AND r.type = 'text' AND r.value IN (SELECT value FROM json_each(?))`, tenantID, want)
	if err != nil {
		return nil, wrapErr("users holding roles", err)
	}
	held, err := collect(rows, func(sc scanner) (string, error) {
		var r string
		return r, sc.Scan(&r)
	})
	if err != nil {
		return nil, wrapErr("users holding roles", err)
	}
	return held, nil
}
