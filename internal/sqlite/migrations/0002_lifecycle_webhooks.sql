-- 0002: the user lifecycle (deletion, suspensions, stored pictures), usage
-- counters, tenant policies, and webhook endpoints with their deliveries.
--
-- The rows that belong to a user (suspensions, picture) or to an endpoint
-- (deliveries, and through them attempts) go with it: ON DELETE CASCADE,
-- which also keeps a forgotten explicit DELETE from leaving personal data
-- behind. Every child side of a foreign key has an index.

ALTER TABLE users ADD COLUMN purge_after INTEGER; -- set while status is 'deleting'

-- DuePurges scans only the users being deleted, in purge order. Partial: the
-- index is as small as the deletion queue, and queries name the literal
-- status so that the planner may use it.
CREATE INDEX users_purge ON users (purge_after, tenant_id, id) WHERE status = 'deleting';

ALTER TABLE tenants ADD COLUMN policies TEXT NOT NULL DEFAULT ''; -- Cedar text; '' = the default set

CREATE TABLE suspensions (
	tenant_id  TEXT    NOT NULL,
	id         TEXT    NOT NULL,
	user_id    TEXT    NOT NULL,
	reason     TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	ends_at    INTEGER,          -- NULL: until lifted
	lifted_at  INTEGER,          -- NULL: not lifted
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

-- A user's suspensions in ID order, and the foreign key's child index.
CREATE INDEX suspensions_user ON suspensions (tenant_id, user_id, id);

CREATE TABLE pictures (
	tenant_id    TEXT    NOT NULL,
	user_id      TEXT    NOT NULL,
	content_type TEXT    NOT NULL,
	data         BLOB    NOT NULL,
	etag         TEXT    NOT NULL,
	updated_at   INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, user_id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

-- Writes counted per tenant and billing period (§8).
CREATE TABLE usage (
	tenant_id    TEXT    NOT NULL REFERENCES tenants (id),
	period_start INTEGER NOT NULL,
	writes       INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, period_start)
) STRICT, WITHOUT ROWID;

CREATE TABLE webhook_endpoints (
	tenant_id  TEXT    NOT NULL REFERENCES tenants (id),
	id         TEXT    NOT NULL,
	url        TEXT    NOT NULL,
	kind       TEXT    NOT NULL,
	events     TEXT    NOT NULL, -- JSON array of event types; null: all
	fail_open  INTEGER NOT NULL,
	timeout_ms INTEGER NOT NULL,
	secret     TEXT    NOT NULL, -- whsec_…: needed to sign, so stored as is
	created_at INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, id)
) STRICT;

-- Purging a user rewrites its events: find them without scanning the
-- tenant's whole outbox.
CREATE INDEX outbox_user ON outbox (tenant_id, user_id, id);

-- One event to deliver to one endpoint.
CREATE TABLE deliveries (
	id              TEXT    NOT NULL PRIMARY KEY,
	tenant_id       TEXT    NOT NULL,
	endpoint_id     TEXT    NOT NULL,
	event_id        TEXT    NOT NULL REFERENCES outbox (id),
	user_id         TEXT    NOT NULL,
	status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered')),
	attempts        INTEGER NOT NULL,
	next_attempt_at INTEGER NOT NULL,
	created_at      INTEGER NOT NULL,
	delivered_at    INTEGER,
	last_status     INTEGER NOT NULL, -- of the latest failed attempt; 0: none or no HTTP answer
	last_error      TEXT    NOT NULL,
	FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id) ON DELETE CASCADE
) STRICT;

-- ClaimDeliveries: the due pending deliveries in claim order. Delivered rows,
-- the bulk of the table over time, are not in it.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';
-- ClaimDeliveries' order check: is there a pending delivery of an earlier
-- event for the same endpoint and user?
CREATE INDEX deliveries_order ON deliveries (tenant_id, endpoint_id, user_id, event_id) WHERE status = 'pending';
-- ListDeliveries newest first, and the foreign key's child index.
CREATE INDEX deliveries_endpoint ON deliveries (tenant_id, endpoint_id, id);

CREATE TABLE delivery_attempts (
	delivery_id TEXT    NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
	tenant_id   TEXT    NOT NULL,
	at          INTEGER NOT NULL,
	status_code INTEGER NOT NULL, -- 0: no HTTP answer
	error       TEXT    NOT NULL, -- '' on success
	duration_ms INTEGER NOT NULL
) STRICT;

CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, at);
