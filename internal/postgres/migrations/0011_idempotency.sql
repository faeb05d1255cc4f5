-- 0011: Idempotency-Key entries (issue 19). One row per tenant and key
-- (tenant_id '' for the platform routes): the fingerprint of the first
-- request, the claim token of the request while it runs, then its answer.
-- No foreign key: an entry outlives nothing, it expires.

CREATE TABLE idempotency (
	tenant_id   text NOT NULL,
	key         text NOT NULL,
	fingerprint bytea NOT NULL,
	claim       text NOT NULL,
	done        boolean NOT NULL DEFAULT false,
	status      integer NOT NULL DEFAULT 0,
	headers     bytea,
	body        bytea,
	created_at  timestamptz NOT NULL,
	expires_at  timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, key)
);

-- For the cleaner.
CREATE INDEX idempotency_expires ON idempotency (expires_at);
