-- A refresh-token family revoked by a replay, remembered apart from its
-- tokens. Whoever issues a token into a family checks here after inserting
-- it; the revoker writes this mark before sweeping the family's tokens, so
-- one of the two always sees the other's write. The mark exists even when
-- the family has no token yet: a code replayed while its first redemption
-- is still issuing.
CREATE TABLE revoked_refresh_families (
    family_id  TEXT PRIMARY KEY,
    revoked_at BIGINT NOT NULL
);
