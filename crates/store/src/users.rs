//! Users, sessions and login throttling.

use async_trait::async_trait;
use portcullis_core::model::{Session, User};
use portcullis_core::store::{SessionStore, StoreError, ThrottleStore, UserStore};
use portcullis_protocol::{SecretHash, UserId};

use crate::rows::{SessionRow, UserRow};
use crate::{Pool, SqlStore, map_err};

#[async_trait]
impl UserStore for SqlStore {
    async fn insert_user(&self, u: &User) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO users (id, username, password_hash, disabled, admin, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(u.id.as_str())
            .bind(&u.username)
            .bind(&u.password_hash)
            .bind(u.disabled)
            .bind(u.admin)
            .bind(u.created_at)
            .bind(u.updated_at)
            .execute(p)
            .await
            .map(|_| ())
            .map_err(map_err))
    }

    async fn find_user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        const SQL: &str = "SELECT * FROM users WHERE id = $1";
        let row: Option<UserRow> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(id.as_str())
            .fetch_optional(p)
            .await
            .map_err(map_err))?;
        Ok(row.map(UserRow::into_user))
    }

    async fn find_user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        const SQL: &str = "SELECT * FROM users WHERE username = $1";
        let row: Option<UserRow> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(username)
            .fetch_optional(p)
            .await
            .map_err(map_err))?;
        Ok(row.map(UserRow::into_user))
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        const SQL: &str = "SELECT * FROM users ORDER BY username";
        let rows: Vec<UserRow> =
            on_pool!(self, p => sqlx::query_as(SQL).fetch_all(p).await.map_err(map_err))?;
        Ok(rows.into_iter().map(UserRow::into_user).collect())
    }

    async fn set_user_password(
        &self,
        id: &UserId,
        hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(id.as_str())
            .bind(hash)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected() == 1)
            .map_err(map_err))
    }

    async fn set_user_disabled(
        &self,
        id: &UserId,
        disabled: bool,
        now: i64,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE users SET disabled = $2, updated_at = $3 WHERE id = $1";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(id.as_str())
            .bind(disabled)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected() == 1)
            .map_err(map_err))
    }
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(s.id_hash.as_bytes().to_vec())
            .bind(s.user_id.as_str())
            .bind(s.created_at)
            .bind(s.last_seen_at)
            .bind(s.expires_at)
            .execute(p)
            .await
            .map(|_| ())
            .map_err(map_err))
    }

    async fn find_session(&self, id_hash: &SecretHash) -> Result<Option<Session>, StoreError> {
        const SQL: &str = "SELECT * FROM sessions WHERE id_hash = $1";
        let row: Option<SessionRow> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(id_hash.as_bytes().to_vec())
            .fetch_optional(p)
            .await
            .map_err(map_err))?;
        row.map(SessionRow::into_session).transpose()
    }

    async fn touch_session(&self, id_hash: &SecretHash, now: i64) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(id_hash.as_bytes().to_vec())
            .bind(now)
            .execute(p)
            .await
            .map(|_| ())
            .map_err(map_err))
    }

    async fn delete_session(&self, id_hash: &SecretHash) -> Result<(), StoreError> {
        const SQL: &str = "DELETE FROM sessions WHERE id_hash = $1";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(id_hash.as_bytes().to_vec())
            .execute(p)
            .await
            .map(|_| ())
            .map_err(map_err))
    }
}

#[async_trait]
impl ThrottleStore for SqlStore {
    async fn find_throttle(&self, key: &str) -> Result<Option<(i64, i64)>, StoreError> {
        const SQL: &str = "SELECT failures, blocked_until FROM login_throttle WHERE key = $1";
        on_pool!(self, p => sqlx::query_as(SQL)
            .bind(key)
            .fetch_optional(p)
            .await
            .map_err(map_err))
    }

    async fn record_failure(
        &self,
        key: &str,
        failures: i64,
        blocked_until: i64,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO login_throttle (key, failures, blocked_until) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, blocked_until = excluded.blocked_until";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(key)
            .bind(failures)
            .bind(blocked_until)
            .execute(p)
            .await
            .map(|_| ())
            .map_err(map_err))
    }

    async fn clear_throttle(&self, key: &str) -> Result<(), StoreError> {
        const SQL: &str = "DELETE FROM login_throttle WHERE key = $1";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(key)
            .execute(p)
            .await
            .map(|_| ())
            .map_err(map_err))
    }
}
