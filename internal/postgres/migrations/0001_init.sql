-- 0001: the whole schema of the first PostgreSQL release: tenants, API keys,
-- users with their suspensions and pictures, the audit trail, the event
-- outbox, usage counters, webhook endpoints, their deliveries and attempts.
--
-- Conventions:
--   * Times are timestamptz. The store writes them truncated to the
--     millisecond, so they come back exactly as written (in UTC).
--   * IDs, email keys and usernames are text COLLATE "C": ordering and
--     comparison are by bytes, as Go compares strings, so ID cursors page
--     the same way whatever the database's default collation is, and the
--     b-trees compare with memcmp.
--   * JSON that must come back byte for byte (metadata with numbers beyond
--     float64, audit changes, plan and settings) is text, decoded with
--     UseNumber; no query looks inside it, so jsonb would only cost its
--     normalization (and refuse \u0000). Event payloads are bytea: the exact
--     bytes delivered and signed.
--   * A nil Go slice is NULL and an empty one '{}', so both round-trip.
--   * Names of unique indexes matter: the store maps a unique violation on
--     users_email_key to the field "email" and on users_username to
--     "username".

CREATE TABLE tenants (
	id         text COLLATE "C" NOT NULL PRIMARY KEY,
	name       text        NOT NULL,
	plan       text        NOT NULL, -- JSON of directory.Plan
	settings   text        NOT NULL, -- JSON of directory.Settings
	roles      text[],               -- the role catalog
	policies   text        NOT NULL, -- Cedar policy text; '' = the default set
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL
);

CREATE TABLE api_keys (
	id         text COLLATE "C" NOT NULL PRIMARY KEY,
	tenant_id  text COLLATE "C" REFERENCES tenants (id), -- NULL for a platform key
	name       text        NOT NULL,
	scopes     text[],
	token_hash bytea       NOT NULL UNIQUE, -- SHA-256 of the token; never the token
	created_at timestamptz NOT NULL
);

-- The referencing side of a foreign key needs an index, or every change of
-- a tenant row scans the whole table.
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

CREATE TABLE users (
	tenant_id       text COLLATE "C" NOT NULL REFERENCES tenants (id),
	id              text COLLATE "C" NOT NULL,
	email           text,                   -- as given; NULL when unset
	email_key       text COLLATE "C",       -- EmailKey(email): what uniqueness is decided on
	username        text COLLATE "C",       -- normalized; NULL when unset
	email_verified  boolean          NOT NULL,
	name            text             NOT NULL,
	given_name      text             NOT NULL,
	family_name     text             NOT NULL,
	picture         text             NOT NULL,
	bio             text             NOT NULL,
	birthdate       text             NOT NULL, -- YYYY-MM-DD or ''
	longitude       double precision,
	latitude        double precision,
	company         text             NOT NULL,
	website         text             NOT NULL,
	country         text             NOT NULL,
	locale          text             NOT NULL,
	zoneinfo        text             NOT NULL,
	roles           text[],
	metadata        text,                   -- JSON object; NULL for a nil map
	secure_metadata text,                   -- JSON object; NULL for a nil map
	consented_at    timestamptz,
	consent_method  text             NOT NULL,
	is_owner        boolean          NOT NULL,
	status          text             NOT NULL,
	purge_after     timestamptz,
	auth_provider   text             NOT NULL,
	created_at      timestamptz      NOT NULL,
	updated_at      timestamptz      NOT NULL,
	version         bigint           NOT NULL,
	PRIMARY KEY (tenant_id, id), -- also lists a tenant's users newest first
	CHECK ((email IS NULL) = (email_key IS NULL)),
	CHECK ((longitude IS NULL) = (latitude IS NULL))
);

-- Partial: users without an email or username take no room in them.
CREATE UNIQUE INDEX users_email_key ON users (tenant_id, email_key) WHERE email_key IS NOT NULL;
CREATE UNIQUE INDEX users_username ON users (tenant_id, username) WHERE username IS NOT NULL;
-- Filters by status, and the count of active users behind the quota.
CREATE INDEX users_status ON users (tenant_id, status, id);
-- The purge worker's scan: only users being deleted are in it.
CREATE INDEX users_purge ON users (purge_after, tenant_id, id) WHERE status = 'deleting';

-- The rows that belong to a user (suspensions, picture) or to an endpoint
-- (deliveries, and through them attempts) go with it: ON DELETE CASCADE,
-- which also keeps a forgotten explicit DELETE from leaving personal data
-- behind.
CREATE TABLE suspensions (
	tenant_id  text COLLATE "C" NOT NULL,
	id         text COLLATE "C" NOT NULL,
	user_id    text COLLATE "C" NOT NULL,
	reason     text        NOT NULL,
	created_at timestamptz NOT NULL,
	ends_at    timestamptz,          -- NULL: until lifted
	lifted_at  timestamptz,          -- NULL: not lifted
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

-- A user's suspensions in ID order, and the foreign key's child index.
CREATE INDEX suspensions_user ON suspensions (tenant_id, user_id, id);

CREATE TABLE pictures (
	tenant_id    text COLLATE "C" NOT NULL,
	user_id      text COLLATE "C" NOT NULL,
	content_type text        NOT NULL,
	data         bytea       NOT NULL,
	etag         text        NOT NULL,
	updated_at   timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, user_id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

-- Pictures are up to 256 KiB and read whole: keep them out of line and
-- uncompressed (they are PNG, JPEG, GIF or WebP, compressed already).
ALTER TABLE pictures ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE audit (
	tenant_id      text COLLATE "C" NOT NULL REFERENCES tenants (id),
	id             text COLLATE "C" NOT NULL,
	user_id        text COLLATE "C" NOT NULL, -- no foreign key: the trail outlives the user
	action         text        NOT NULL,
	actor_key_id   text        NOT NULL,
	acting_user_id text        NOT NULL,
	request_id     text        NOT NULL,
	at             timestamptz NOT NULL,
	changes        text        NOT NULL, -- JSON object: field -> {"from", "to"}
	PRIMARY KEY (tenant_id, id)
);

CREATE INDEX audit_user ON audit (tenant_id, user_id, id);

CREATE TABLE outbox (
	id         text COLLATE "C" NOT NULL PRIMARY KEY,
	tenant_id  text COLLATE "C" NOT NULL REFERENCES tenants (id),
	user_id    text COLLATE "C" NOT NULL,
	type       text        NOT NULL,
	payload    bytea       NOT NULL, -- the exact JSON bytes to deliver
	created_at timestamptz NOT NULL
);

CREATE INDEX outbox_tenant ON outbox (tenant_id, id);
CREATE INDEX outbox_user ON outbox (tenant_id, user_id, id);

-- Writes counted per tenant and billing period, for the write quota.
CREATE TABLE usage (
	tenant_id    text COLLATE "C" NOT NULL REFERENCES tenants (id),
	period_start timestamptz NOT NULL,
	writes       bigint      NOT NULL,
	PRIMARY KEY (tenant_id, period_start)
);

CREATE TABLE webhook_endpoints (
	tenant_id  text COLLATE "C" NOT NULL REFERENCES tenants (id),
	id         text COLLATE "C" NOT NULL,
	url        text        NOT NULL,
	kind       text        NOT NULL,
	events     text[],               -- NULL or empty: all event types
	fail_open  boolean     NOT NULL,
	timeout_ms integer     NOT NULL,
	secret     text        NOT NULL, -- whsec_…; needed to sign, so stored as is
	created_at timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, id)
);

CREATE TABLE deliveries (
	id              text COLLATE "C" NOT NULL PRIMARY KEY,
	tenant_id       text COLLATE "C" NOT NULL,
	endpoint_id     text COLLATE "C" NOT NULL,
	event_id        text COLLATE "C" NOT NULL REFERENCES outbox (id),
	user_id         text COLLATE "C" NOT NULL,
	status          text        NOT NULL CHECK (status IN ('pending', 'delivered')),
	attempts        integer     NOT NULL,
	next_attempt_at timestamptz NOT NULL,
	created_at      timestamptz NOT NULL,
	delivered_at    timestamptz,
	last_status     integer     NOT NULL, -- of the latest failed attempt; 0: none or no HTTP answer
	last_error      text        NOT NULL,
	FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id) ON DELETE CASCADE
);

-- The dispatchers' scan: due pending deliveries, soonest first.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';
-- The per endpoint and user order check: is an earlier event still pending?
CREATE INDEX deliveries_order ON deliveries (tenant_id, endpoint_id, user_id, event_id) WHERE status = 'pending';
-- ListDeliveries newest first, and the foreign key's child index.
CREATE INDEX deliveries_endpoint ON deliveries (tenant_id, endpoint_id, id);
-- The child index of the foreign key to outbox.
CREATE INDEX deliveries_event ON deliveries (event_id);

CREATE TABLE delivery_attempts (
	seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- orders attempts made in the same millisecond
	tenant_id   text COLLATE "C" NOT NULL,
	delivery_id text COLLATE "C" NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
	at          timestamptz NOT NULL,
	status_code integer     NOT NULL, -- 0 when no HTTP answer came
	error       text        NOT NULL, -- '' on success
	duration_ms bigint      NOT NULL
);

CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, seq);
