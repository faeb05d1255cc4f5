-- 0004: each tenant's write count of a billing period is split over
-- shards, rows the writes of the tenant pick at random. Every write
-- increments its period's count in its own transaction, which holds the
-- row's lock until it commits: with one row, a tenant's writes committed
-- one after the other, each waiting for the WAL flush of the one before,
-- and PostgreSQL could not group their commits. With writeShards rows,
-- concurrent writes rarely meet. The count is the sum of the shards.
--
-- Existing counts become shard 0. Changing the primary key rewrites only
-- the index of this small table. A node of an earlier release cannot count
-- writes once this has run (its upsert names the old key): stop the old
-- nodes before the first new one starts, rather than upgrading them one at
-- a time.

ALTER TABLE usage ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE usage DROP CONSTRAINT usage_pkey;
ALTER TABLE usage ADD PRIMARY KEY (tenant_id, period_start, shard);
