-- 0006: API keys with a lifecycle (expiry, revocation, rotation, coarse
-- last use, who made them, a short prefix of the token for recognition),
-- and a tenant-level audit trail of what admins do to keys and webhook
-- secrets. Existing keys keep working: they get no expiry and an empty
-- prefix.

ALTER TABLE api_keys ADD COLUMN prefix TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;   -- Unix ms; NULL: never
ALTER TABLE api_keys ADD COLUMN revoked_at INTEGER;   -- Unix ms; NULL: not revoked
ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER; -- Unix ms, to the minute
ALTER TABLE api_keys ADD COLUMN created_by TEXT NOT NULL DEFAULT ''; -- a key ID; '' from the command line

-- Lists of a tenant's keys, newest first; it also serves the foreign key.
CREATE INDEX api_keys_tenant_id ON api_keys (tenant_id, id);
DROP INDEX api_keys_tenant;

CREATE TABLE admin_audit (
	id           TEXT    NOT NULL PRIMARY KEY,
	tenant_id    TEXT    REFERENCES tenants (id), -- NULL for platform keys' actions
	action       TEXT    NOT NULL,                -- key.created, key.rotated, key.revoked, webhook_secret.rotated
	actor_key_id TEXT    NOT NULL,                -- '' from the command line
	request_id   TEXT    NOT NULL,
	at           INTEGER NOT NULL,
	target_id    TEXT    NOT NULL,
	details      TEXT    NOT NULL                 -- JSON object, never a secret
) STRICT;

CREATE INDEX admin_audit_tenant ON admin_audit (tenant_id, id);
