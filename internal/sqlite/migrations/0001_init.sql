-- 0001: tenants, API keys, users, the audit trail and the event outbox.
--
-- Times are INTEGER unix milliseconds in UTC. JSON columns are TEXT written
-- by encoding/json and read back with UseNumber, so numbers keep every digit.
-- Tables are STRICT: a value of the wrong type is an error, not a silent
-- conversion.

CREATE TABLE tenants (
	id         TEXT    NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL,
	plan       TEXT    NOT NULL, -- JSON of directory.Plan
	settings   TEXT    NOT NULL, -- JSON of directory.Settings
	roles      TEXT    NOT NULL, -- JSON array: the tenant's role catalog
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
	id         TEXT    NOT NULL PRIMARY KEY,
	tenant_id  TEXT    REFERENCES tenants (id), -- NULL for a platform key
	name       TEXT    NOT NULL,
	scopes     TEXT    NOT NULL, -- JSON array
	token_hash BLOB    NOT NULL UNIQUE, -- SHA-256 of the token; never the token
	created_at INTEGER NOT NULL
) STRICT;

-- The child side of a foreign key needs an index, or every change of a
-- tenant row scans the whole table.
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

-- users is an ordinary rowid table, not WITHOUT ROWID. A WITHOUT ROWID table
-- keeps whole rows in its b-tree's interior pages, so it pays off only for
-- rows well under ~1/20 of a page, and a user row carries the profile JSON,
-- whose metadata and secure metadata may reach 8 KiB each. Measured on 100,000
-- users in 20 tenants (ns per operation, rowid / WITHOUT ROWID): with 0.6 KiB
-- profiles, get 16k/18k, update 25k/25k, a page of 50 newest 178k/91k; with
-- 3 KiB profiles, get 15k/46k, update 23k/87k, a page of 50 263k/335k. Point
-- reads and writes are the hot path, so rowid, which stays flat as profiles
-- grow, wins; the cost is slower lists of small rows, which WITHOUT ROWID
-- clusters by tenant.
CREATE TABLE users (
	tenant_id       TEXT    NOT NULL REFERENCES tenants (id),
	id              TEXT    NOT NULL,
	email           TEXT,             -- as given; NULL when unset
	email_key       TEXT,             -- EmailKey(email): what uniqueness is decided on
	username        TEXT,             -- normalized; NULL when unset
	status          TEXT    NOT NULL,
	is_owner        INTEGER NOT NULL,
	auth_provider   TEXT    NOT NULL,
	profile         TEXT    NOT NULL, -- JSON of the remaining profile fields
	secure_metadata TEXT,             -- JSON object; NULL when unset
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	version         INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, id), -- also the index that lists a tenant's users newest first
	CHECK ((email IS NULL) = (email_key IS NULL))
) STRICT;

-- Partial: users without an email or username take no room, and NULLs never
-- collide anyway. The names of the constrained columns appear in the driver's
-- error message, from which the store maps a violation to the field.
CREATE UNIQUE INDEX users_email_key ON users (tenant_id, email_key) WHERE email_key IS NOT NULL;
CREATE UNIQUE INDEX users_username ON users (tenant_id, username) WHERE username IS NOT NULL;
CREATE INDEX users_status ON users (tenant_id, status, id);

CREATE TABLE audit (
	tenant_id      TEXT    NOT NULL REFERENCES tenants (id),
	id             TEXT    NOT NULL,
	user_id        TEXT    NOT NULL,
	action         TEXT    NOT NULL,
	actor_key_id   TEXT    NOT NULL,
	acting_user_id TEXT    NOT NULL,
	request_id     TEXT    NOT NULL,
	at             INTEGER NOT NULL,
	changes        TEXT    NOT NULL, -- JSON object: field -> {"from", "to"}
	PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE INDEX audit_user ON audit (tenant_id, user_id, id);

CREATE TABLE outbox (
	id         TEXT    NOT NULL PRIMARY KEY,
	tenant_id  TEXT    NOT NULL REFERENCES tenants (id),
	user_id    TEXT    NOT NULL,
	type       TEXT    NOT NULL,
	payload    BLOB    NOT NULL, -- the exact JSON bytes to deliver
	created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX outbox_tenant ON outbox (tenant_id, id);
