-- 0005: the deliveries of an event. PurgeUser erases the error text of the
-- deliveries of a purged user's events, delivered ones included, which no
-- other index reaches without scanning every delivery of the database
-- (PostgreSQL has had this index from the start).
CREATE INDEX deliveries_event ON deliveries (event_id);
