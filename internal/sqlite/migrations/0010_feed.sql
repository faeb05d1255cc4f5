-- 0010: the change feed (GET /v1/events). Event IDs are made before their
-- transaction, so they are not in commit order; seq is. The one writer
-- assigns it inside the transaction, one more than the largest, so it grows
-- in commit order, the callers of a group-commit batch included (they run
-- one after another in the batch's transaction and commit together).
-- ExpireEvents never removes the event with the largest seq, so a seq is
-- never given twice.
--
-- Events from before this migration take their rowid, their insertion
-- order.

ALTER TABLE outbox ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE outbox SET seq = rowid;
CREATE UNIQUE INDEX outbox_seq ON outbox (seq);
CREATE INDEX outbox_feed ON outbox (tenant_id, seq);

-- The largest seq ExpireEvents removed, per tenant: a cursor below it may
-- have missed an event.
CREATE TABLE outbox_expired (
	tenant_id TEXT    NOT NULL PRIMARY KEY REFERENCES tenants (id),
	seq       INTEGER NOT NULL
) STRICT;
