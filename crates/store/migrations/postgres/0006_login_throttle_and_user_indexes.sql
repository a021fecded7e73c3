-- How many times a key has been blocked: each block lasts twice the one
-- before (up to a cap), and after a block expires one more attempt is
-- evaluated before the next block.
ALTER TABLE login_throttle ADD COLUMN blocks BIGINT NOT NULL DEFAULT 0;

-- A password change or a disabled account ends the user's sessions and
-- refresh-token families.
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
