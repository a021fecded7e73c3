//! The one SQL implementation of the Portcullis store traits, for SQLite and
//! PostgreSQL. Every query is written once with `$n` placeholders and run on
//! either pool; the dialects differ only in the two migration folders.
//! (`sqlx::Any` is avoided for its type gaps, and compile-time `query!` for
//! binding a query to one database.)

/// Runs the same body on whichever pool this store has; the body is
/// compiled once per database, so each gets its own types.
macro_rules! on_pool {
    ($self:ident, $pool:ident => $body:expr) => {
        match &$self.pool {
            Pool::Sqlite($pool) => $body,
            Pool::Postgres($pool) => $body,
        }
    };
}

/// The statement inserting a client, bound; for a pool or a transaction.
macro_rules! insert_client {
    ($c:expr) => {{
        let c: &Client = $c;
        let (registration, last_used) = registration_columns(c);
        sqlx::query(
            "INSERT INTO clients (id, name, secret_hash, redirect_uris, grant_types, \
             scopes, token_lifetime, require_pkce, owner, created_at, updated_at, default_scopes, \
             resources, registration_token_hash, last_used_at, oidc) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(c.id.as_str())
        .bind(&c.name)
        .bind(c.secret_hash.map(|h| h.as_bytes().to_vec()))
        .bind(join(&c.redirect_uris))
        .bind(join(&c.grant_types))
        .bind(c.scopes.to_string())
        .bind(c.token_lifetime)
        .bind(c.require_pkce)
        .bind(c.owner.as_ref().map(UserId::as_str))
        .bind(c.created_at)
        .bind(c.updated_at)
        .bind(c.default_scopes.as_ref().map(ScopeSet::to_string))
        .bind(join(&c.resources))
        .bind(registration)
        .bind(last_used)
        .bind($crate::rows::to_json(&c.oidc))
    }};
}

mod api_keys;
mod grants;
mod registrations;
mod rows;
pub mod testing;
mod users;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use portcullis_core::model::{Client, Resource, ScopeDefinition, SigningKeyRecord};
use portcullis_core::store::{
    ClientStore, KeyStore, ResourceStore, RevocationStore, ScopeStore, Store, StoreError,
};
use portcullis_protocol::{ClientId, Jti, KeyId, ResourceUri, ScopeSet, SecretHash, UserId};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use rows::{ClientRow, KeyRow, ResourceRow, ScopeRow, join, registration_columns};

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://path` or `postgres://…`.
    pub url: String,
    pub max_connections: u32,
    /// How long a request waits for a connection before the store reports
    /// itself unavailable.
    pub acquire_timeout: Duration,
}

impl StoreOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(3),
        }
    }
}

enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

pub struct SqlStore {
    pool: Pool,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl SqlStore {
    /// Opens a pool. Connections are made lazily, so a server can start
    /// while the database is down and recover when it returns.
    pub async fn connect(opts: &StoreOptions) -> Result<Self, StoreError> {
        let pool = if opts.url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(&opts.url)
                .map_err(|e| StoreError::Other(format!("bad SQLite URL: {e}")))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(opts.max_connections)
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(connect)
                .await
                .map_err(map_err)?;
            Pool::Sqlite(pool)
        } else if opts.url.starts_with("postgres:") || opts.url.starts_with("postgresql:") {
            let connect = PgConnectOptions::from_str(&opts.url)
                .map_err(|e| StoreError::Other(format!("bad PostgreSQL URL: {e}")))?;
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections)
                .acquire_timeout(opts.acquire_timeout)
                .connect_lazy_with(connect);
            Pool::Postgres(pool)
        } else {
            return Err(StoreError::Other(
                "database URL must start with sqlite: or postgres:".into(),
            ));
        };
        Ok(Self { pool })
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let result = match &self.pool {
            Pool::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await,
            Pool::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await,
        };
        result.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(e) => map_err(e),
            other => StoreError::Other(other.to_string()),
        })
    }

    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }
}

/// A list parameter for SQLite, which has no arrays: the statement reads
/// it back with `json_each`.
pub(crate) fn json_array(items: &[&str]) -> String {
    serde_json::to_string(items).expect("a list of strings serializes")
}

/// Driver errors become store errors; their text is for the log only.
/// A database that cannot take writes: a full disk or a read-only file,
/// replica or transaction. Retrying elsewhere or later may work, so it is
/// "unavailable" (503), not an internal error.
fn cannot_write(db: &dyn sqlx::error::DatabaseError) -> bool {
    let Some(code) = db.code() else {
        return false;
    };
    // SQLite reports (extended) result codes as numbers: the primary code
    // is the low byte. SQLITE_READONLY 8, SQLITE_IOERR 10, SQLITE_FULL 13.
    if let Ok(n) = code.parse::<i64>() {
        return matches!(n & 0xff, 8 | 10 | 13);
    }
    // PostgreSQL: disk_full, insufficient resources, read-only transaction.
    code == "53100" || code == "53000" || code == "25006"
}

/// Logs a write failure once per burst: a full disk fails every request.
fn log_cannot_write(e: &sqlx::Error) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let last = LAST.load(Ordering::Relaxed);
    if now >= last + 10
        && LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tracing::error!(error = %e, "the database cannot take writes (disk full or read-only?); answering 503 until it can");
    }
}

pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if cannot_write(db.as_ref()) => {
            log_cannot_write(&e);
            StoreError::Unavailable("the database cannot take writes".into())
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_owned())
        }
        sqlx::Error::Database(db)
            // PostgreSQL: connection exceptions, shutdown, too many connections.
            if db
                .code()
                .is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "53300") =>
        {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Other(e.to_string()),
    }
}

#[async_trait]
impl ClientStore for SqlStore {
    async fn insert_client(&self, c: &Client) -> Result<(), StoreError> {
        on_pool!(self, p => insert_client!(c)
            .execute(p)
            .await
            .map(|_| ())
            .map_err(map_err))
    }

    async fn find_client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        const SQL: &str = "SELECT * FROM clients WHERE id = $1";
        let row: Option<ClientRow> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(id.as_str())
            .fetch_optional(p)
            .await
            .map_err(map_err))?;
        row.map(ClientRow::into_client).transpose()
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        const SQL: &str = "SELECT * FROM clients ORDER BY created_at, id";
        let rows: Vec<ClientRow> =
            on_pool!(self, p => sqlx::query_as(SQL).fetch_all(p).await.map_err(map_err))?;
        rows.into_iter().map(ClientRow::into_client).collect()
    }

    async fn update_client(&self, c: &Client) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE clients SET name = $2, redirect_uris = $3, grant_types = $4, \
             scopes = $5, token_lifetime = $6, require_pkce = $7, owner = $8, updated_at = $9, \
             default_scopes = $10, resources = $11, registration_token_hash = $12, oidc = $13 \
             WHERE id = $1";
        let (registration, _) = registration_columns(c);
        on_pool!(self, p => sqlx::query(SQL)
            .bind(c.id.as_str())
            .bind(&c.name)
            .bind(join(&c.redirect_uris))
            .bind(join(&c.grant_types))
            .bind(c.scopes.to_string())
            .bind(c.token_lifetime)
            .bind(c.require_pkce)
            .bind(c.owner.as_ref().map(UserId::as_str))
            .bind(c.updated_at)
            .bind(c.default_scopes.as_ref().map(ScopeSet::to_string))
            .bind(join(&c.resources))
            .bind(registration)
            .bind(crate::rows::to_json(&c.oidc))
            .execute(p)
            .await
            .map(|r| r.rows_affected() == 1)
            .map_err(map_err))
    }

    async fn set_client_secret(
        &self,
        id: &ClientId,
        hash: &SecretHash,
        now: i64,
    ) -> Result<bool, StoreError> {
        // Only a confidential client has a secret to replace.
        const SQL: &str = "UPDATE clients SET secret_hash = $2, updated_at = $3 \
             WHERE id = $1 AND secret_hash IS NOT NULL";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(id.as_str())
            .bind(hash.as_bytes().to_vec())
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected() == 1)
            .map_err(map_err))
    }

    async fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError> {
        const SQL: &str = "DELETE FROM clients WHERE id = $1";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(id.as_str())
            .execute(p)
            .await
            .map(|r| r.rows_affected() == 1)
            .map_err(map_err))
    }
}

#[async_trait]
impl ScopeStore for SqlStore {
    async fn upsert_scope(&self, d: &ScopeDefinition) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO scope_definitions \
             (name, description, requires_resource, grant_policy, machine_grantable, listed, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (name) DO UPDATE SET description = excluded.description, \
             requires_resource = excluded.requires_resource, grant_policy = excluded.grant_policy, \
             machine_grantable = excluded.machine_grantable, listed = excluded.listed";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(&d.name)
            .bind(&d.description)
            .bind(d.requires_resource)
            .bind(d.grant_policy.as_str())
            .bind(d.machine_grantable)
            .bind(d.listed)
            .bind(d.created_at)
            .execute(p)
            .await
            .map(|_| ())
            .map_err(map_err))
    }

    async fn list_scopes(&self) -> Result<Vec<ScopeDefinition>, StoreError> {
        const SQL: &str = "SELECT * FROM scope_definitions ORDER BY name";
        let rows: Vec<ScopeRow> =
            on_pool!(self, p => sqlx::query_as(SQL).fetch_all(p).await.map_err(map_err))?;
        rows.into_iter().map(ScopeRow::into_definition).collect()
    }
}

#[async_trait]
impl ResourceStore for SqlStore {
    async fn upsert_resource(&self, r: &Resource) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO resources (uri, name, scopes, restricted, created_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (uri) DO UPDATE SET name = excluded.name, scopes = excluded.scopes, \
             restricted = excluded.restricted";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(r.uri.as_str())
            .bind(&r.name)
            .bind(r.scopes.to_string())
            .bind(r.restricted)
            .bind(r.created_at)
            .execute(p)
            .await
            .map(|_| ())
            .map_err(map_err))
    }

    async fn list_resources(&self) -> Result<Vec<Resource>, StoreError> {
        const SQL: &str = "SELECT * FROM resources ORDER BY uri";
        let rows: Vec<ResourceRow> =
            on_pool!(self, p => sqlx::query_as(SQL).fetch_all(p).await.map_err(map_err))?;
        rows.into_iter().map(ResourceRow::into_resource).collect()
    }

    async fn delete_resource(&self, uri: &ResourceUri) -> Result<bool, StoreError> {
        const SQL: &str = "DELETE FROM resources WHERE uri = $1";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(uri.as_str())
            .execute(p)
            .await
            .map(|r| r.rows_affected() == 1)
            .map_err(map_err))
    }
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn insert_signing_key(&self, k: &SigningKeyRecord) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO signing_keys (kid, alg, private_pkcs8, created_at, active_at, retired_at) \
             VALUES ($1, $2, $3, $4, $5, $6)";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(k.kid.as_str())
            .bind(k.alg.as_str())
            .bind(&k.private_pkcs8)
            .bind(k.created_at)
            .bind(k.active_at)
            .bind(k.retired_at)
            .execute(p)
            .await
            .map(|_| ())
            .map_err(map_err))
    }

    async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        const SQL: &str = "SELECT * FROM signing_keys ORDER BY active_at, kid";
        let rows: Vec<KeyRow> =
            on_pool!(self, p => sqlx::query_as(SQL).fetch_all(p).await.map_err(map_err))?;
        rows.into_iter().map(KeyRow::into_record).collect()
    }

    async fn set_signing_key_private(
        &self,
        kid: &KeyId,
        private: &[u8],
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE signing_keys SET private_pkcs8 = $2 WHERE kid = $1";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(kid.as_str())
            .bind(private)
            .execute(p)
            .await
            .map(|r| r.rows_affected() == 1)
            .map_err(map_err))
    }

    async fn set_signing_key_privates(&self, keys: &[(KeyId, Vec<u8>)]) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE signing_keys SET private_pkcs8 = $2 WHERE kid = $1";
        on_pool!(self, p => {
            let mut tx = p.begin().await.map_err(map_err)?;
            for (kid, private) in keys {
                sqlx::query(SQL)
                    .bind(kid.as_str())
                    .bind(private.as_slice())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
            }
            tx.commit().await.map_err(map_err)
        })
    }

    async fn retire_signing_key(&self, kid: &KeyId, at: i64) -> Result<bool, StoreError> {
        const SQL: &str =
            "UPDATE signing_keys SET retired_at = $2 WHERE kid = $1 AND retired_at IS NULL";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(kid.as_str())
            .bind(at)
            .execute(p)
            .await
            .map(|r| r.rows_affected() == 1)
            .map_err(map_err))
    }

    async fn server_secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
        const INSERT: &str = "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
        const SELECT: &str = "SELECT value FROM server_secrets WHERE name = $1";
        // Read first: a server started on a read-only store (full disk) must
        // still come up with the secret it already has.
        on_pool!(self, p => {
            let existing: Option<Vec<u8>> = sqlx::query_scalar(SELECT)
                .bind(name)
                .fetch_optional(p)
                .await
                .map_err(map_err)?;
            if let Some(value) = existing {
                return Ok(value);
            }
            sqlx::query(INSERT)
                .bind(name)
                .bind(candidate)
                .execute(p)
                .await
                .map_err(map_err)?;
            sqlx::query_scalar(SELECT)
                .bind(name)
                .fetch_one(p)
                .await
                .map_err(map_err)
        })
    }
}

#[async_trait]
impl RevocationStore for SqlStore {
    async fn revoke_access_token(&self, jti: &Jti, expires_at: i64) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) \
             ON CONFLICT (jti) DO NOTHING";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(jti.as_str())
            .bind(expires_at)
            .execute(p)
            .await
            .map(|_| ())
            .map_err(map_err))
    }

    async fn is_access_token_revoked(&self, jti: &Jti) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT 1 FROM revoked_access_tokens WHERE jti = $1";
        let row: Option<(i32,)> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(jti.as_str())
            .fetch_optional(p)
            .await
            .map_err(map_err))?;
        Ok(row.is_some())
    }

    async fn revoked_among(&self, jtis: &[Jti]) -> Result<Vec<Jti>, StoreError> {
        let ids: Vec<&str> = jtis.iter().map(Jti::as_str).collect();
        let rows: Vec<(String,)> = match &self.pool {
            Pool::Sqlite(p) => {
                sqlx::query_as(
                    "SELECT jti FROM revoked_access_tokens \
                     WHERE jti IN (SELECT value FROM json_each($1))",
                )
                .bind(json_array(&ids))
                .fetch_all(p)
                .await
            }
            Pool::Postgres(p) => {
                sqlx::query_as("SELECT jti FROM revoked_access_tokens WHERE jti = ANY($1)")
                    .bind(&ids)
                    .fetch_all(p)
                    .await
            }
        }
        .map_err(map_err)?;
        Ok(rows.into_iter().map(|(j,)| Jti::new(j)).collect())
    }

    async fn purge_expired(&self, now: i64) -> Result<u64, StoreError> {
        // Only rows that can no longer matter: a redeemed code is kept for a
        // day after expiry so a late replay still revokes what it issued.
        const SQL: [&str; 8] = [
            "DELETE FROM revoked_access_tokens WHERE expires_at <= $1",
            // A family mark only has to outlive an issue in flight.
            "DELETE FROM revoked_refresh_families WHERE revoked_at <= $1 - 86400",
            "DELETE FROM pending_authorizations WHERE expires_at <= $1",
            "DELETE FROM authorization_codes WHERE expires_at <= $1 - 86400",
            "DELETE FROM sessions WHERE expires_at <= $1",
            "DELETE FROM session_clients WHERE expires_at <= $1",
            "DELETE FROM refresh_tokens WHERE expires_at <= $1",
            "DELETE FROM login_throttle WHERE blocked_until <= $1 - 86400",
        ];
        let mut purged = 0;
        for sql in SQL {
            purged += on_pool!(self, p => sqlx::query(sql)
                .bind(now)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
                .map_err(map_err))?;
        }
        Ok(purged)
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query("SELECT 1")
            .execute(p)
            .await
            .map(|_| ())
            .map_err(map_err))
    }

    async fn probe_write(&self, now: i64) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO readiness_probe (id, checked_at) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(now)
            .execute(p)
            .await
            .map(|_| ())
            .map_err(map_err))
    }
}
