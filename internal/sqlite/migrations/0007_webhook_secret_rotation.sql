-- 0007: webhook signing secrets rotate. During a rotation's overlap the
-- previous secret signs beside the new one until previous_secret_until.
-- Both columns hold secrets sealed by the node (internal/secretbox); rows
-- stored in clear before are sealed when a node next starts.

ALTER TABLE webhook_endpoints ADD COLUMN previous_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret_until INTEGER; -- Unix ms; NULL: no previous secret
