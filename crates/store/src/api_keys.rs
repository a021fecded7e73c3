//! API secret keys.

use async_trait::async_trait;
use portcullis_core::model::ApiKeyRecord;
use portcullis_core::store::{ApiKeyStore, StoreError};

use crate::rows::ApiKeyRow;
use crate::{Pool, SqlStore, map_err};

#[async_trait]
impl ApiKeyStore for SqlStore {
    async fn insert_api_key(&self, k: &ApiKeyRecord) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO api_keys (id, name, owner_kind, owner_id, secret_hash, scopes, \
             created_at, expires_at, last_used_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(&k.id)
            .bind(&k.name)
            .bind(k.owner.kind())
            .bind(k.owner.id())
            .bind(k.secret_hash.as_bytes().to_vec())
            .bind(k.scopes.to_string())
            .bind(k.created_at)
            .bind(k.expires_at)
            .bind(k.last_used_at)
            .bind(k.revoked_at)
            .execute(p)
            .await
            .map(|_| ())
            .map_err(map_err))
    }

    async fn find_api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        const SQL: &str = "SELECT * FROM api_keys WHERE id = $1";
        let row: Option<ApiKeyRow> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(id)
            .fetch_optional(p)
            .await
            .map_err(map_err))?;
        row.map(ApiKeyRow::into_record).transpose()
    }

    async fn find_api_keys(&self, ids: &[String]) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let rows: Vec<ApiKeyRow> = match &self.pool {
            Pool::Sqlite(p) => {
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                sqlx::query_as(
                    "SELECT * FROM api_keys WHERE id IN (SELECT value FROM json_each($1))",
                )
                .bind(crate::json_array(&ids))
                .fetch_all(p)
                .await
            }
            Pool::Postgres(p) => {
                sqlx::query_as("SELECT * FROM api_keys WHERE id = ANY($1)")
                    .bind(ids)
                    .fetch_all(p)
                    .await
            }
        }
        .map_err(map_err)?;
        rows.into_iter().map(ApiKeyRow::into_record).collect()
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        const SQL: &str = "SELECT * FROM api_keys ORDER BY created_at, id";
        let rows: Vec<ApiKeyRow> =
            on_pool!(self, p => sqlx::query_as(SQL).fetch_all(p).await.map_err(map_err))?;
        rows.into_iter().map(ApiKeyRow::into_record).collect()
    }

    async fn revoke_api_key(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        const SQL: &str =
            "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(id)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected() == 1)
            .map_err(map_err))
    }

    async fn touch_api_key(&self, id: &str, at: i64) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE api_keys SET last_used_at = $2 \
             WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(id)
            .bind(at)
            .execute(p)
            .await
            .map(|_| ())
            .map_err(map_err))
    }
}
