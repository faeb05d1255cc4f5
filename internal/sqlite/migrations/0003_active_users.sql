-- 0003: each tenant's count of active users, kept as a counter rather than
-- counted. Counting scanned the tenant's users on every write (X-Quota-
-- Active-Users) and every activation (the quota check): a million entries
-- of users_status for a tenant of a million users. The Service moves the
-- counter in the transaction of each write that makes a user active or
-- stops it being so; the store never counts.
--
-- Existing tenants start from the real count, so a database migrated from
-- 0002 stays right.

ALTER TABLE tenants ADD COLUMN active_users INTEGER NOT NULL DEFAULT 0;

UPDATE tenants SET active_users = (
	SELECT count(*) FROM users WHERE users.tenant_id = tenants.id AND users.status = 'active'
);
