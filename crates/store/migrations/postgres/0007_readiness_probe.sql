-- One row /readyz rewrites, so a store that answers reads but cannot write
-- (a full disk, a read-only file or replica) is reported not ready.
CREATE TABLE readiness_probe (
    id         INTEGER PRIMARY KEY,
    checked_at BIGINT NOT NULL
);
