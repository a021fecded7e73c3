-- Clients that registered themselves (RFC 7591): the hash of the token
-- they manage their registration with (RFC 7592), and when they last got a
-- token, so registrations nobody uses expire.
ALTER TABLE clients ADD COLUMN registration_token_hash BLOB;
ALTER TABLE clients ADD COLUMN last_used_at BIGINT;
CREATE UNIQUE INDEX clients_registration_token ON clients (registration_token_hash);

-- Initial access tokens for the registration endpoint, by hash only.
CREATE TABLE registration_tokens (
    id         TEXT PRIMARY KEY,
    hash       BLOB NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);
