package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/internal/directory"
)

// userColumns are what scanUser reads, from users aliased u. The user's
// unlifted suspensions come in the same statement, as a JSON array of
// [id, reason, created_at, ends_at] (times in unix milliseconds) in ID
// order, so that a read sees the user and its suspensions as of one
// snapshot, in one round trip.
const userColumns = `u.id, u.tenant_id, u.email, u.username, u.email_verified, u.name, u.given_name, u.family_name,
	u.picture, u.bio, u.birthdate, u.longitude, u.latitude, u.company, u.website, u.country, u.locale, u.zoneinfo,
	u.roles, u.metadata, u.secure_metadata, u.consented_at, u.consent_method, u.is_owner, u.status, u.purge_after,
	u.auth_provider, u.created_at, u.updated_at, u.version, u.external_id, u.scim_user_name, u.scim_attributes,
	(SELECT json_agg(json_build_array(s.id, s.reason,
			(extract(epoch FROM s.created_at) * 1000)::bigint,
			(extract(epoch FROM s.ends_at) * 1000)::bigint) ORDER BY s.id)
		FROM suspensions s WHERE s.tenant_id = u.tenant_id AND s.user_id = u.id AND s.lifted_at IS NULL)`

// userWriteColumns are the columns CreateUser sets, in userArgs' order;
// UpdateUser sets all but the first two and created_at.
var userWriteColumns = []string{"tenant_id", "id", "email", "email_key", "username", "email_verified", "name",
	"given_name", "family_name", "picture", "bio", "birthdate", "longitude", "latitude", "company", "website",
	"country", "locale", "zoneinfo", "roles", "metadata", "secure_metadata", "consented_at", "consent_method",
	"is_owner", "status", "purge_after", "auth_provider", "created_at", "updated_at", "version",
	"external_id", "scim_user_name", "scim_user_key", "scim_attributes"}

var (
	getUserSQL    = `SELECT ` + userColumns + ` FROM users u WHERE u.tenant_id = $1 AND u.id = $2`
	createUserSQL = `INSERT INTO users (` + strings.Join(userWriteColumns, ", ") + `) VALUES (` + placeholders(1, len(userWriteColumns)) + `)`
	updateUserSQL = func() string {
		// SET email = $3, … for every column but tenant_id ($1), id ($2) and
		// created_at; UpdateUser drops created_at's argument. The version
		// guard takes the last.
		var sets []string
		n := 2
		for _, c := range userWriteColumns[2:] {
			if c == "created_at" {
				continue
			}
			n++
			sets = append(sets, fmt.Sprintf("%s = $%d", c, n))
		}
		return `UPDATE users SET ` + strings.Join(sets, ", ") +
			fmt.Sprintf(` WHERE tenant_id = $1 AND id = $2 AND version = $%d`, n+1)
	}()
	createdAtColumn = slices.Index(userWriteColumns, "created_at")
)

// placeholders returns "$from, …, $(from+n-1)".
func placeholders(from, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = "$" + strconv.Itoa(from+i)
	}
	return strings.Join(ps, ", ")
}

// userArgs returns u's values for userWriteColumns.
func userArgs(u *directory.User) ([]any, error) {
	metadata, err := encodeObject(u.Metadata)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	secure, err := encodeObject(u.SecureMetadata)
	if err != nil {
		return nil, fmt.Errorf("secure metadata: %w", err)
	}
	scim, err := encodeObject(u.SCIMAttributes)
	if err != nil {
		return nil, fmt.Errorf("scim attributes: %w", err)
	}
	var lon, lat *float64
	if u.Location != nil {
		lon, lat = &u.Location.Longitude, &u.Location.Latitude
	}
	return []any{u.TenantID, u.ID, nullIfEmpty(u.Email), nullIfEmpty(directory.EmailKey(u.Email)), nullIfEmpty(u.Username),
		u.EmailVerified, u.Name, u.GivenName, u.FamilyName, u.Picture, u.Bio, u.Birthdate, lon, lat, u.Company, u.Website,
		u.Country, u.Locale, u.Zoneinfo, u.Roles, metadata, secure, tsPtr(u.ConsentedAt), u.ConsentMethod,
		u.IsOwner, u.Status, tsPtr(u.PurgeAfter), u.AuthProvider, ts(u.CreatedAt), ts(u.UpdatedAt), u.Version,
		nullIfEmpty(u.ExternalID), nullIfEmpty(u.SCIMUserName), directory.SCIMUserNameKey(u.SCIMName()), scim}, nil
}

func scanUser(row pgx.Row) (*directory.User, error) {
	var (
		u                directory.User
		email, username  *string
		lon, lat         *float64
		metadata, secure *string
		externalID       *string
		scimName, scim   *string
		consented, purge *time.Time
		created, updated time.Time
		suspensions      []byte
	)
	err := row.Scan(&u.ID, &u.TenantID, &email, &username, &u.EmailVerified, &u.Name, &u.GivenName, &u.FamilyName,
		&u.Picture, &u.Bio, &u.Birthdate, &lon, &lat, &u.Company, &u.Website, &u.Country, &u.Locale, &u.Zoneinfo,
		&u.Roles, &metadata, &secure, &consented, &u.ConsentMethod, &u.IsOwner, &u.Status, &purge,
		&u.AuthProvider, &created, &updated, &u.Version, &externalID, &scimName, &scim, &suspensions)
	if err != nil {
		return nil, err
	}
	u.Email, u.Username = fromNull(email), fromNull(username)
	if lon != nil && lat != nil {
		u.Location = &directory.Location{Longitude: *lon, Latitude: *lat}
	}
	if u.Metadata, err = decodeObject(metadata); err != nil {
		return nil, fmt.Errorf("user %s: metadata: %w", u.ID, err)
	}
	if u.SecureMetadata, err = decodeObject(secure); err != nil {
		return nil, fmt.Errorf("user %s: secure metadata: %w", u.ID, err)
	}
	u.ExternalID, u.SCIMUserName = fromNull(externalID), fromNull(scimName)
	if u.SCIMAttributes, err = decodeObject(scim); err != nil {
		return nil, fmt.Errorf("user %s: scim attributes: %w", u.ID, err)
	}
	if u.Suspensions, err = decodeSuspensions(suspensions); err != nil {
		return nil, fmt.Errorf("user %s: suspensions: %w", u.ID, err)
	}
	u.ConsentedAt, u.PurgeAfter = utcPtr(consented), utcPtr(purge)
	u.CreatedAt, u.UpdatedAt = created.UTC(), updated.UTC()
	return &u, nil
}

// decodeSuspensions decodes the suspensions column of userColumns, NULL
// when there are none; never nil.
func decodeSuspensions(b []byte) ([]directory.Suspension, error) {
	if b == nil {
		return []directory.Suspension{}, nil
	}
	var rows [][4]json.RawMessage
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, err
	}
	out := make([]directory.Suspension, len(rows))
	for i, r := range rows {
		var created int64
		var ends *int64
		for j, dst := range []any{&out[i].ID, &out[i].Reason, &created, &ends} {
			if err := json.Unmarshal(r[j], dst); err != nil {
				return nil, err
			}
		}
		out[i].CreatedAt = time.UnixMilli(created).UTC()
		if ends != nil {
			t := time.UnixMilli(*ends).UTC()
			out[i].EndsAt = &t
		}
	}
	return out, nil
}

// getUser reads a user through q.
func getUser(ctx context.Context, q querier, tenantID, id string) (*directory.User, error) {
	u, err := scanUser(q.QueryRow(ctx, getUserSQL, tenantID, id))
	if err != nil {
		return nil, wrapErr("get user", err)
	}
	return u, nil
}

// GetUser returns the user, or an error wrapping directory.ErrNotFound if
// there is no user id in the tenant.
func (s *Store) GetUser(ctx context.Context, tenantID, id string) (*directory.User, error) {
	return getUser(ctx, s.pool, tenantID, id)
}

// GetUser returns the user as stored, its row locked against other writes
// until the transaction ends, or an error wrapping directory.ErrNotFound.
// The lock is taken by a statement of its own: under READ COMMITTED, the
// read that follows it sees whatever the transaction it may have waited
// for committed, the user's suspensions included, which one statement
// reading them beside its lock would not.
func (t *tx) GetUser(ctx context.Context, tenantID, id string) (*directory.User, error) {
	var one int
	err := t.tx.QueryRow(ctx, `SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE`, tenantID, id).Scan(&one)
	if err != nil {
		return nil, wrapErr("lock user", err)
	}
	return getUser(ctx, t.tx, tenantID, id)
}

// ListUsers lists a tenant's users newest first, those matching every
// non-empty field of f; f.Limit <= 0 lists them all.
func (s *Store) ListUsers(ctx context.Context, tenantID string, f directory.UserFilter) ([]*directory.User, error) {
	if f.SearchFrom != "" {
		return s.searchUsers(ctx, tenantID, f) // search.go
	}
	return s.listWhere(ctx, tenantID, f, func(q string, args []any) (string, []any) { return q, args })
}

// UsersHoldingRoles returns which of roles at least one user of the tenant
// holds, whatever its status, without repeats; nil when none is held. Role names are compared exactly: no character is
// special. It reads the tenant's users that hold any of roles once, however
// many roles there are; it serves a change of the role catalog, which is
// rare, so no index on roles slows every user write for it.
func (s *Store) UsersHoldingRoles(ctx context.Context, tenantID string, roles []string) ([]string, error) {
	if len(roles) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT r FROM users u CROSS JOIN LATERAL unnest(u.roles) AS r
		WHERE u.tenant_id = $1 AND u.roles && $2 AND r = ANY ($2)`, tenantID, roles)
	if err != nil {
		return nil, wrapErr("users holding roles", err)
	}
	held, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrapErr("users holding roles", err)
	}
	return held, nil
}

// CreateUser inserts u. It returns an error wrapping *directory.UniqueViolation
// if the tenant has a user with the same email (compared by EmailKey) or
// username. u.Suspensions is not stored: see InsertSuspension.
func (t *tx) CreateUser(ctx context.Context, u *directory.User) error {
	args, err := userArgs(u)
	if err != nil {
		return fmt.Errorf("postgres: create user: %w", err)
	}
	_, err = t.tx.Exec(ctx, createUserSQL, args...)
	return scimNameTaken(u, wrapErr("create user", err))
}

// UpdateUser stores u, all but its creation time and suspensions, if the
// stored version is still prevVersion. It returns directory.ErrVersionConflict
// if it is not, an error wrapping directory.ErrNotFound if the user is not in
// the tenant, and one wrapping *directory.UniqueViolation if the new email or
// username is taken. On any error nothing is written.
//
// The version guard is in the UPDATE's WHERE clause: if a concurrent
// transaction updates the row first, PostgreSQL waits for it and evaluates
// the guard again on the row it committed, which then fails.
func (t *tx) UpdateUser(ctx context.Context, u *directory.User, prevVersion int64) error {
	args, err := userArgs(u)
	if err != nil {
		return fmt.Errorf("postgres: update user: %w", err)
	}
	args = append(slices.Delete(args, createdAtColumn, createdAtColumn+1), prevVersion)
	tag, err := t.tx.Exec(ctx, updateUserSQL, args...)
	if err != nil {
		return scimNameTaken(u, wrapErr("update user", err))
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	// Nothing matched: the user is gone or its version moved.
	var exists bool
	if err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2)`, u.TenantID, u.ID).Scan(&exists); err != nil {
		return wrapErr("update user", err)
	}
	if !exists {
		return fmt.Errorf("postgres: update user: %w", directory.ErrNotFound)
	}
	return directory.ErrVersionConflict
}
