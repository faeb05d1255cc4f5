-- 0006: API keys with a lifecycle (expiry, revocation, rotation, coarse
-- last use, who made them, a short prefix of the token for recognition),
-- and a tenant-level audit trail of what admins do to keys and webhook
-- secrets. Existing keys keep working: they get no expiry and an empty
-- prefix.
--
-- It only adds columns with defaults, a table and an index: nodes of the
-- previous release, which read none of them, run beside nodes of this one,
-- but a key they cache stays usable there for up to a second after it is
-- revoked here.

ALTER TABLE api_keys ADD COLUMN prefix text NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
ALTER TABLE api_keys ADD COLUMN revoked_at timestamptz;
ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;
ALTER TABLE api_keys ADD COLUMN created_by text NOT NULL DEFAULT '';

CREATE INDEX api_keys_tenant_id ON api_keys (tenant_id, id);
DROP INDEX api_keys_tenant;

CREATE TABLE admin_audit (
	id           text COLLATE "C" NOT NULL PRIMARY KEY,
	tenant_id    text COLLATE "C" REFERENCES tenants (id), -- NULL for platform keys' actions
	action       text        NOT NULL,
	actor_key_id text        NOT NULL,
	request_id   text        NOT NULL,
	at           timestamptz NOT NULL,
	target_id    text        NOT NULL,
	details      text        NOT NULL -- JSON object, never a secret
);

CREATE INDEX admin_audit_tenant ON admin_audit (tenant_id, id);
