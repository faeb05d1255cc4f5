-- 0002: each tenant's count of active users, kept as a counter rather than
-- counted. Counting scanned the tenant's users on every write (X-Quota-
-- Active-Users) and every activation (the quota check): a million entries
-- of users_status for a tenant of a million users. The Service moves the
-- counter in the transaction of each write that makes a user active or
-- stops it being so; the store never counts. Writes that leave it alone,
-- nearly all of them, leave the tenant's row unlocked too.
--
-- Adding a column with a constant default rewrites nothing. Existing tenants
-- start from the real count, so a database migrated from 0001 stays right.
-- The UPDATE locks every tenant row until the migration commits. A node
-- still running the previous release does not move the counter, so its
-- creates, deactivations and restores after this migration leave the
-- counter off by as many: stop the old nodes before the first new one
-- starts, rather than upgrading them one at a time.

ALTER TABLE tenants ADD COLUMN active_users bigint NOT NULL DEFAULT 0;

UPDATE tenants SET active_users = (
	SELECT count(*) FROM users WHERE users.tenant_id = tenants.id AND users.status = 'active'
);
