-- OpenID Connect: the request's login parameters (nonce, max_age,
-- login_hint, id_token_hint's user) as JSON, and how the user logged in
-- (auth_time, session, methods, nonce) carried to the code and the refresh
-- tokens of a grant that includes `openid`.
ALTER TABLE pending_authorizations ADD COLUMN oidc TEXT NOT NULL DEFAULT '{}';
ALTER TABLE authorization_codes ADD COLUMN login TEXT;
ALTER TABLE refresh_tokens ADD COLUMN login TEXT;

-- Server-wide secrets made on first use, such as the salt of pairwise
-- subject identifiers (OIDC Core §8.1), which must never change.
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

-- A user's standard claims (OIDC Core §5.1) and a client's OpenID Connect
-- settings (logout URIs, subject type, ID token algorithm), as JSON: both
-- are read and written whole with their row.
ALTER TABLE users ADD COLUMN profile TEXT NOT NULL DEFAULT '{}';
ALTER TABLE clients ADD COLUMN oidc TEXT NOT NULL DEFAULT '{}';

-- The clients a login session signed in to with OpenID Connect, so that
-- ending the session can send each its back-channel logout token. `sid`
-- is the session's public name (derived from its hash), not the cookie.
CREATE TABLE session_clients (
    sid        TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (sid, client_id)
);
CREATE INDEX session_clients_expiry ON session_clients (expires_at);
