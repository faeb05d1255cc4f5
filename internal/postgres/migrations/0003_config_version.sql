-- 0003: a version of each tenant's configuration (plan, settings, roles,
-- policies, webhook endpoints), which grows by one with every change of it.
-- A node may cache a tenant's configuration: every write transaction reads
-- the version with its quota counters and is redone on the configuration as
-- stored when the cached one is older, so no write is decided on a stale
-- plan, policy set or endpoint list. Adding a column with a constant
-- default rewrites nothing.

ALTER TABLE tenants ADD COLUMN config_version bigint NOT NULL DEFAULT 1;
