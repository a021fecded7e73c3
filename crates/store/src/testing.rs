//! Helpers for tests that run against PostgreSQL: each gets a database of
//! its own, so tests running in parallel never see each other's rows.

use portcullis_core::store::StoreError;
use sqlx::{Connection, Executor, PgConnection};

/// The environment variable naming the PostgreSQL server tests may use.
pub const POSTGRES_ENV: &str = "PORTCULLIS_TEST_POSTGRES";

/// The base URL from [`POSTGRES_ENV`], if set.
pub fn postgres_base_url() -> Option<String> {
    std::env::var(POSTGRES_ENV).ok().filter(|s| !s.is_empty())
}

/// Creates an empty database next to the one `base_url` names and returns
/// its URL.
pub async fn fresh_postgres_database(base_url: &str) -> Result<String, StoreError> {
    let name = format!("pct_{}", portcullis_protocol::secret::random_hex_id::<8>());
    let mut conn = PgConnection::connect(base_url)
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .map_err(|e| StoreError::Other(e.to_string()))?;
    let _ = conn.close().await;
    let mut url = url::Url::parse(base_url).map_err(|e| StoreError::Other(e.to_string()))?;
    url.set_path(&name);
    Ok(url.to_string())
}
