//! Dynamic client registration (RFC 7591): initial access tokens and the
//! clients that registered themselves.

use async_trait::async_trait;
use portcullis_core::model::Client;
use portcullis_core::store::{RegistrationStore, StoreError};
use portcullis_protocol::{ClientId, ScopeSet, SecretHash, UserId};

use crate::rows::{join, registration_columns};
use crate::{Pool, SqlStore, map_err};

#[async_trait]
impl RegistrationStore for SqlStore {
    async fn insert_registration_token(
        &self,
        hash: &SecretHash,
        created_at: i64,
        expires_at: Option<i64>,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO registration_tokens (id, hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)";
        let id = portcullis_protocol::secret::random_hex_id::<8>();
        on_pool!(self, p => sqlx::query(SQL)
            .bind(id)
            .bind(hash.as_bytes().as_slice())
            .bind(created_at)
            .bind(expires_at)
            .execute(p)
            .await
            .map(|_| ())
            .map_err(map_err))
    }

    async fn insert_registered_client(
        &self,
        client: &Client,
        initial: Option<&SecretHash>,
        now: i64,
    ) -> Result<bool, StoreError> {
        const SPEND: &str = "DELETE FROM registration_tokens WHERE hash = $1 \
             AND (expires_at IS NULL OR expires_at > $2)";
        on_pool!(self, p => {
            let mut tx = p.begin().await.map_err(map_err)?;
            if let Some(hash) = initial {
                let spent = sqlx::query(SPEND)
                    .bind(hash.as_bytes().as_slice())
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?
                    .rows_affected();
                if spent != 1 {
                    // Dropping the transaction rolls it back.
                    return Ok(false);
                }
            }
            insert_client!(client)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            tx.commit().await.map_err(map_err)?;
            Ok(true)
        })
    }

    async fn touch_client(&self, id: &ClientId, at: i64) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE clients SET last_used_at = $2 \
             WHERE id = $1 AND registration_token_hash IS NOT NULL \
             AND (last_used_at IS NULL OR last_used_at < $2)";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(id.as_str())
            .bind(at)
            .execute(p)
            .await
            .map(|_| ())
            .map_err(map_err))
    }

    async fn delete_unused_clients(&self, before: i64) -> Result<Vec<ClientId>, StoreError> {
        const SQL: &str = "DELETE FROM clients WHERE registration_token_hash IS NOT NULL \
             AND COALESCE(last_used_at, created_at) < $1 RETURNING id";
        let ids: Vec<(String,)> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(before)
            .fetch_all(p)
            .await
            .map_err(map_err))?;
        Ok(ids.into_iter().map(|(id,)| ClientId::new(id)).collect())
    }
}
