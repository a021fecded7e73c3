-- Issuing a refresh token checks whether its family was revoked meanwhile
-- (a replay racing the issue). A family's live rows are many and its
-- revoked ones usually none: index only the revoked ones, so the check
-- costs one probe of a nearly empty index however long the family is.
CREATE INDEX refresh_tokens_revoked_family ON refresh_tokens (family_id) WHERE revoked_at IS NOT NULL;
