-- APIs that accept Portcullis tokens (RFC 8707 resource indicators).
CREATE TABLE resources (
    uri        TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    scopes     TEXT NOT NULL DEFAULT '',
    restricted BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
-- The restricted resources each client may ask tokens for, space-separated.
ALTER TABLE clients ADD COLUMN resources TEXT NOT NULL DEFAULT '';
