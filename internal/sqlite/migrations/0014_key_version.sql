-- 0014: a version of all API keys, which every change of a key but its
-- last use raises, in the transaction of the change. A node may then keep
-- the keys it has read: each request reads this one row (a read that began
-- after the request did) and uses a kept key only while the version is the
-- one it was read under, so a revocation, a rotation or an expiry set by
-- any process holds at the next request everywhere (directory.keyCache).
-- Triggers raise it, so that no path that changes a key can forget to.

CREATE TABLE key_version (
	id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
) STRICT;

INSERT INTO key_version (id, version) VALUES (1, 1);

CREATE TRIGGER api_keys_changed
AFTER UPDATE OF id, tenant_id, name, scopes, token_hash, prefix, created_at, expires_at, revoked_at, created_by ON api_keys
BEGIN
	UPDATE key_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER api_keys_deleted AFTER DELETE ON api_keys
BEGIN
	UPDATE key_version SET version = version + 1 WHERE id = 1;
END;
