-- 0012: the user an Idempotency-Key's answer is about, so that a purge
-- deletes the answers that hold the user's data with the user.

ALTER TABLE idempotency ADD COLUMN user_id text;

CREATE INDEX idempotency_user ON idempotency (tenant_id, user_id) WHERE user_id IS NOT NULL;
