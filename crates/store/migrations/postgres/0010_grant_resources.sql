-- The RFC 8707 resources an authorization request named, carried to its
-- code and to the refresh tokens of the grant, space-separated.
ALTER TABLE pending_authorizations ADD COLUMN resources TEXT NOT NULL DEFAULT '';
ALTER TABLE authorization_codes ADD COLUMN resources TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN resources TEXT NOT NULL DEFAULT '';
