-- 0010: the change feed (GET /v1/events). Event IDs are made before their
-- transaction, so they are not in commit order, nor is any value a
-- transaction writes: two transactions commit in either order. txid is the
-- writing transaction's ID; ListFeed returns only events whose txid is
-- below a horizon of its snapshot under which every transaction that may
-- write the outbox has ended (the snapshot's xmin, but for transactions of
-- other databases), in (txid, id) order: no event can commit later behind
-- them.
--
-- Events from before this migration take this migration's transaction ID,
-- below every later one.

ALTER TABLE outbox ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX outbox_feed ON outbox (tenant_id, txid, id);

-- The last position ExpireEvents removed, per tenant: a cursor below it may
-- have missed an event.
CREATE TABLE outbox_expired (
	tenant_id text COLLATE "C" NOT NULL PRIMARY KEY REFERENCES tenants (id),
	txid      xid8             NOT NULL,
	id        text COLLATE "C" NOT NULL
);
