-- 0016: a version of all API keys, which every change of a key but its
-- last use raises, in the transaction of the change. A node may then keep
-- the keys it has read: each request reads this one row (a read that began
-- after the request did) and uses a kept key only while the version is the
-- one it was read under, so a revocation, a rotation or an expiry set by
-- any node holds at the next request everywhere (directory.keyCache).
-- A trigger raises it, so that no path that changes a key can forget to;
-- the row's lock orders concurrent changes of keys, which are rare.

CREATE TABLE key_version (
	id      boolean NOT NULL PRIMARY KEY DEFAULT true CHECK (id),
	version bigint  NOT NULL
);

INSERT INTO key_version (id, version) VALUES (true, 1);

CREATE FUNCTION roster_keys_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE key_version SET version = version + 1;
	RETURN NULL;
END
$$;

CREATE TRIGGER api_keys_changed
AFTER UPDATE OF id, tenant_id, name, scopes, token_hash, prefix, created_at, expires_at, revoked_at, created_by OR DELETE OR TRUNCATE ON api_keys
FOR EACH STATEMENT EXECUTE FUNCTION roster_keys_changed();
