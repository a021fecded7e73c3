-- The scopes a client gets when a request names none (RFC 6749 §3.3).
-- NULL keeps the earlier rule: every plain scope the client is allowed.
ALTER TABLE clients ADD COLUMN default_scopes TEXT;
-- Whether the metadata's scopes_supported names the scope. Existing scopes
-- stay listed.
ALTER TABLE scope_definitions ADD COLUMN listed BOOLEAN NOT NULL DEFAULT TRUE;
