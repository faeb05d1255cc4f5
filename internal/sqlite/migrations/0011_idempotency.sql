-- 0011: Idempotency-Key entries (issue 19). One row per tenant and key
-- (tenant_id '' for the platform routes): the fingerprint of the first
-- request, the claim token of the request while it runs, then its answer.
-- No foreign key: an entry outlives nothing, it expires.

CREATE TABLE idempotency (
	tenant_id   TEXT NOT NULL,
	key         TEXT NOT NULL,
	fingerprint BLOB NOT NULL,
	claim       TEXT NOT NULL,
	done        INTEGER NOT NULL DEFAULT 0,
	status      INTEGER NOT NULL DEFAULT 0,
	headers     BLOB,
	body        BLOB,
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, key)
) WITHOUT ROWID;

-- For the cleaner.
CREATE INDEX idempotency_expires ON idempotency (expires_at);
