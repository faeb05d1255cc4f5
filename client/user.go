package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Status is a user's lifecycle status.
type Status string

// The statuses of a user.
const (
	StatusActive      Status = "active"
	StatusDeactivated Status = "deactivated"
	StatusDeleting    Status = "deleting" // after Delete, until purged or restored
)

// User is a person in a tenant's directory, as the server answers it. The
// API never stores an empty string: a string field that is "" is null
// (unset) on the server. secure_metadata is write-only and never read.
type User struct {
	ID            string    `json:"id"`
	TenantID      string    `json:"tenant_id"`
	Email         string    `json:"email"` // normalized; unique per tenant
	EmailVerified bool      `json:"email_verified"`
	Username      string    `json:"username"` // normalized; unique per tenant
	Name          string    `json:"name"`
	GivenName     string    `json:"given_name"`
	FamilyName    string    `json:"family_name"`
	Picture       string    `json:"picture"` // a URL, or the path of the picture Roster stores
	Bio           string    `json:"bio"`
	Birthdate     string    `json:"birthdate"` // YYYY-MM-DD
	Location      *Location `json:"location"`
	Company       string    `json:"company"`
	Website       string    `json:"website"`
	Country       string    `json:"country"` // ISO 3166-1 alpha-2
	Locale        string    `json:"locale"`  // BCP 47
	Zoneinfo      string    `json:"zoneinfo"`
	Roles         []string  `json:"roles"`
	IsOwner       bool      `json:"is_owner"`
	// Metadata is the tenant's own JSON object; its numbers are
	// json.Number, so that large integers keep their precision.
	Metadata map[string]any `json:"metadata"`
	Status   Status         `json:"status"`
	// PurgeAfter is, while Status is StatusDeleting, when the server erases
	// the user for good unless it is restored before; nil otherwise.
	PurgeAfter    *time.Time       `json:"purge_after"`
	Deactivated   bool             `json:"deactivated"`
	Suspensions   []UserSuspension `json:"suspensions"` // those in force
	AuthProvider  string           `json:"auth_provider"`
	ConsentedAt   *time.Time       `json:"consented_at"`
	ConsentMethod string           `json:"consent_method"` // "opt-in" or "text-ref"
	CreatedAt     time.Time        `json:"created_at"`
	UpdatedAt     time.Time        `json:"updated_at"`
	// Version grows by one with every effective change; IfVersion and
	// UpdateIf take it.
	Version int64 `json:"version"`
}

// Location is a point on Earth. The server answers it as a GeoJSON Point;
// the client sends it as {"longitude", "latitude"}, which the server takes.
type Location struct {
	Longitude float64 `json:"longitude"`
	Latitude  float64 `json:"latitude"`
}

// UnmarshalJSON reads a GeoJSON Point or {"longitude", "latitude"}.
func (l *Location) UnmarshalJSON(b []byte) error {
	var v struct {
		Type        string    `json:"type"`
		Coordinates []float64 `json:"coordinates"`
		Longitude   *float64  `json:"longitude"`
		Latitude    *float64  `json:"latitude"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch {
	case v.Type == "Point" && len(v.Coordinates) == 2:
		l.Longitude, l.Latitude = v.Coordinates[0], v.Coordinates[1]
	case v.Longitude != nil && v.Latitude != nil:
		l.Longitude, l.Latitude = *v.Longitude, *v.Latitude
	default:
		return errors.New("location: neither a GeoJSON Point nor longitude and latitude")
	}
	return nil
}

// UserSuspension is a suspension in force, as a user lists it.
type UserSuspension struct {
	ID        string     `json:"id"`
	Reason    string     `json:"reason"`
	CreatedAt time.Time  `json:"created_at"`
	EndsAt    *time.Time `json:"ends_at"` // nil: until lifted
}

// UserInput is the writable representation of a user, for Create and
// Replace. A zero field is left out of the request: on Create it takes its
// default, on Replace it is reset to empty, except SecureMetadata, which
// Replace leaves untouched while it is nil.
type UserInput struct {
	Email         string    `json:"email,omitzero"`
	EmailVerified bool      `json:"email_verified,omitzero"`
	Username      string    `json:"username,omitzero"`
	Name          string    `json:"name,omitzero"`
	GivenName     string    `json:"given_name,omitzero"`
	FamilyName    string    `json:"family_name,omitzero"`
	Picture       string    `json:"picture,omitzero"` // an http(s) URL or a data:image/… URI
	Bio           string    `json:"bio,omitzero"`
	Birthdate     string    `json:"birthdate,omitzero"`
	Location      *Location `json:"location,omitzero"`
	Company       string    `json:"company,omitzero"`
	Website       string    `json:"website,omitzero"`
	Country       string    `json:"country,omitzero"`
	Locale        string    `json:"locale,omitzero"`
	Zoneinfo      string    `json:"zoneinfo,omitzero"`
	// Roles nil gives a new user the tenant's default (member, when the
	// catalog has it); an empty, non-nil slice gives it none.
	Roles    []string       `json:"roles,omitzero"`
	Metadata map[string]any `json:"metadata,omitzero"`
	// SecureMetadata is never answered back. An empty, non-nil map clears
	// it.
	SecureMetadata map[string]any `json:"secure_metadata,omitzero"`
	ConsentedAt    *time.Time     `json:"consented_at,omitzero"`
	ConsentMethod  string         `json:"consent_method,omitzero"`
}

// Input returns the writable fields of u, to edit and send back with
// Replace. SecureMetadata is nil, since it is never read: Replace leaves
// it as it is.
func (u *User) Input() UserInput {
	in := UserInput{
		Email: u.Email, EmailVerified: u.EmailVerified, Username: u.Username,
		Name: u.Name, GivenName: u.GivenName, FamilyName: u.FamilyName,
		Picture: u.Picture, Bio: u.Bio, Birthdate: u.Birthdate, Company: u.Company,
		Website: u.Website, Country: u.Country, Locale: u.Locale, Zoneinfo: u.Zoneinfo,
		Roles: append([]string{}, u.Roles...), Metadata: u.Metadata,
		ConsentedAt: u.ConsentedAt, ConsentMethod: u.ConsentMethod,
	}
	if u.Location != nil {
		l := *u.Location
		in.Location = &l
	}
	return in
}

// userAnswer decodes the user of a user write's answer. A key without
// users:read gets no body: the user then holds only its ID (when known)
// and the Version of the answer's ETag.
func userAnswer(resp *response, id string) (*User, error) {
	if len(resp.body) == 0 {
		return &User{ID: id, Version: etagVersion(resp.header)}, nil
	}
	u := &User{}
	if err := decode(resp.body, u); err != nil {
		return nil, fmt.Errorf("roster: decode user: %w", err)
	}
	return u, nil
}

// writeUser sends a user write with a JSON body (in; nil: none) and
// returns the user answered.
func (c *Client) writeUser(ctx context.Context, method, p, id string, in any, opts []CallOption) (*User, error) {
	resp, err := c.sendJSON(ctx, method, p, nil, in, nil, opts)
	if err != nil {
		return nil, err
	}
	return userAnswer(resp, id)
}

// Create creates a user; it needs an Email or a Username. With DryRun it
// answers the user as it would be, whose ID is not reserved.
//
// Fails with a *Problem: 422 validation_failed (every failing field in
// Errors), 409 email_taken or username_taken, 403 forbidden (a policy),
// 429 quota_exceeded, among others.
func (c *Client) Create(ctx context.Context, in UserInput, opts ...CallOption) (*User, error) {
	u, err := c.writeUser(ctx, http.MethodPost, "/v1/users", "", in, opts)
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// CreateRaw creates a user from body, a JSON object sent as it is
// (application/json): the members UserInput has no field for, and values
// of any JSON type, reach the server, which refuses what it does not take
// with its own *Problem (400 unknown_field, read_only_field or a type
// error, every member named). Takes the options of Create and fails like
// it; body must be valid JSON, or nothing is sent.
func (c *Client) CreateRaw(ctx context.Context, body []byte, opts ...CallOption) (*User, error) {
	if !json.Valid(body) {
		return nil, errors.New("create user: the body is not valid JSON")
	}
	resp, err := c.do(ctx, request{method: http.MethodPost, path: "/v1/users", body: body, contentType: "application/json", opts: opts})
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return userAnswer(resp, "")
}

// Get returns a user. Fails with a 404 *Problem (IsNotFound) when id is
// not a user of the tenant.
func (c *Client) Get(ctx context.Context, id string) (*User, error) {
	u := &User{}
	if _, err := c.sendJSON(ctx, http.MethodGet, path("v1", "users", id), nil, nil, u, nil); err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

// Version returns a user's current version without reading the user (a
// HEAD request). Fails like Get.
func (c *Client) Version(ctx context.Context, id string) (int64, error) {
	resp, err := c.do(ctx, request{method: http.MethodHead, path: path("v1", "users", id)})
	if err != nil {
		return 0, fmt.Errorf("user version: %w", err)
	}
	return etagVersion(resp.header), nil
}

// Replace replaces a user's whole writable representation (PUT): a field
// left zero in in is reset to empty, except SecureMetadata, left untouched
// while nil. A replacement that changes nothing is a no-op. Takes
// IfVersion, DryRun and ActingUser; fails like Create, and with 412
// precondition_failed.
func (c *Client) Replace(ctx context.Context, id string, in UserInput, opts ...CallOption) (*User, error) {
	u, err := c.writeUser(ctx, http.MethodPut, path("v1", "users", id), id, in, opts)
	if err != nil {
		return nil, fmt.Errorf("replace user: %w", err)
	}
	return u, nil
}

// ListOptions filters a list of users. Filters combine; the zero value
// lists every user.
type ListOptions struct {
	Email    string // only the user with this email, compared as the server normalizes emails
	Username string // only the user with this username, normalized likewise
	Status   Status // only users with this status
	// Search keeps the users whose email, username, name, given or family
	// name starts with it, case-insensitively (the q parameter).
	Search string
	// PageSize is how many users each request asks for, 1 to 100; 0 takes
	// the server's default (20). It does not bound the walk.
	PageSize int
}

// List walks the tenant's users, newest first, page after page, until the
// last or until the loop stops. A failure is yielded once, with a nil
// user, and ends the walk.
func (c *Client) List(ctx context.Context, o ListOptions) iter.Seq2[*User, error] {
	q := url.Values{}
	if o.Email != "" {
		q.Set("email", o.Email)
	}
	if o.Username != "" {
		q.Set("username", o.Username)
	}
	if o.Status != "" {
		q.Set("status", string(o.Status))
	}
	if o.Search != "" {
		q.Set("q", o.Search)
	}
	return pages[User](c, ctx, "list users", "/v1/users", q, o.PageSize)
}

// page is one page of a list.
type page[T any] struct {
	Data       []*T    `json:"data"`
	HasMore    bool    `json:"has_more"`
	NextCursor *string `json:"next_cursor"`
}

// pages walks a paginated list at p with the filters q.
func pages[T any](c *Client, ctx context.Context, op, p string, q url.Values, size int) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		query := url.Values{}
		for k, v := range q {
			query[k] = v
		}
		if size > 0 {
			query.Set("limit", strconv.Itoa(size))
		}
		for {
			var pg page[T]
			if _, err := c.sendJSON(ctx, http.MethodGet, p, query, nil, &pg, nil); err != nil {
				yield(nil, fmt.Errorf("%s: %w", op, err))
				return
			}
			for _, v := range pg.Data {
				if !yield(v, nil) {
					return
				}
			}
			if !pg.HasMore || pg.NextCursor == nil {
				return
			}
			query.Set("cursor", *pg.NextCursor)
		}
	}
}
