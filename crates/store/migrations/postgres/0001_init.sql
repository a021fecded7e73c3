-- Times are unix seconds. Lists (redirect URIs, grant types, scopes) are
-- space-separated: none of their items may contain a space.
CREATE TABLE clients (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    secret_hash    BYTEA,
    redirect_uris  TEXT NOT NULL,
    grant_types    TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    token_lifetime BIGINT,
    require_pkce   BOOLEAN NOT NULL,
    owner          TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE TABLE scope_definitions (
    name              TEXT PRIMARY KEY,
    description       TEXT NOT NULL,
    requires_resource BOOLEAN NOT NULL,
    created_at        BIGINT NOT NULL
);

CREATE TABLE signing_keys (
    kid           TEXT PRIMARY KEY,
    alg           TEXT NOT NULL,
    private_pkcs8 BYTEA NOT NULL,
    created_at    BIGINT NOT NULL,
    active_at     BIGINT NOT NULL,
    retired_at    BIGINT
);

CREATE TABLE revoked_access_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_access_tokens_expires_at ON revoked_access_tokens (expires_at);
