-- Times are unix seconds. Lists (redirect URIs, grant types, scopes) are
-- space-separated: none of their items may contain a space.
CREATE TABLE clients (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    secret_hash    BLOB,
    redirect_uris  TEXT NOT NULL,
    grant_types    TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    token_lifetime INTEGER,
    require_pkce   BOOLEAN NOT NULL,
    owner          TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

CREATE TABLE scope_definitions (
    name              TEXT PRIMARY KEY,
    description       TEXT NOT NULL,
    requires_resource BOOLEAN NOT NULL,
    created_at        INTEGER NOT NULL
);

CREATE TABLE signing_keys (
    kid           TEXT PRIMARY KEY,
    alg           TEXT NOT NULL,
    private_pkcs8 BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    active_at     INTEGER NOT NULL,
    retired_at    INTEGER
);

CREATE TABLE revoked_access_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX revoked_access_tokens_expires_at ON revoked_access_tokens (expires_at);
