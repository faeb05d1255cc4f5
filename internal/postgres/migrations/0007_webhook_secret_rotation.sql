-- 0007: webhook signing secrets rotate. During a rotation's overlap the
-- previous secret signs beside the new one until previous_secret_until.
-- Both columns hold secrets sealed by the node (internal/secretbox); rows
-- stored in clear before are sealed when a node next starts.
--
-- It only adds columns with defaults: nodes of the previous release run
-- beside nodes of this one, but cannot open sealed secrets, so upgrade
-- every node before endpoints are created or rotated.

ALTER TABLE webhook_endpoints ADD COLUMN previous_secret text NOT NULL DEFAULT '';
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret_until timestamptz;
