-- 0009: users provisioned by SCIM (internal/scim). external_id is the
-- identity provider's identifier, unique per tenant as sent; scim_user_name
-- is the SCIM userName as sent. scim_user_key is the lower case of the
-- userName a SCIM client sees (directory.User.SCIMName: scim_user_name,
-- else username, else email, else id), so that every user, provisioned by
-- SCIM or not, is found by userName and no two share one. The indexes are
-- the lookups SCIM clients match users by (userName eq, externalId eq;
-- emails.value eq is users_email_key).
-- scim_attributes is a JSON object as the identity provider sent it.

ALTER TABLE users ADD COLUMN external_id text COLLATE "C";
ALTER TABLE users ADD COLUMN scim_user_name text;
ALTER TABLE users ADD COLUMN scim_user_key text COLLATE "C";
ALTER TABLE users ADD COLUMN scim_attributes text; -- JSON object; NULL for a nil map
CREATE UNIQUE INDEX users_external_id ON users (tenant_id, external_id) WHERE external_id IS NOT NULL;
UPDATE users SET scim_user_key = COALESCE(username, email_key, id);
CREATE UNIQUE INDEX users_scim_user_key ON users (tenant_id, scim_user_key);
