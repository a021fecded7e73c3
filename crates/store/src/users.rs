//! Users, sessions and login throttling.

use async_trait::async_trait;
use portcullis_core::model::{Session, User};
use portcullis_core::profile::UserProfile;
use portcullis_core::store::{
    Attempt, BLOCK_SECS_SQL, SessionStore, StoreError, ThrottleStore, UserStore,
};
use portcullis_protocol::{ClientId, SecretHash, UserId};

use crate::rows::{SessionRow, UserRow};
use crate::{Pool, SqlStore, map_err};

#[async_trait]
impl UserStore for SqlStore {
    async fn insert_user(&self, u: &User) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO users (id, username, password_hash, disabled, admin, created_at, updated_at, profile) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(u.id.as_str())
            .bind(&u.username)
            .bind(&u.password_hash)
            .bind(u.disabled)
            .bind(u.admin)
            .bind(u.created_at)
            .bind(u.updated_at)
            .bind(crate::rows::to_json(&u.profile))
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
        row.map(UserRow::into_user).transpose()
    }

    async fn find_user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        const SQL: &str = "SELECT * FROM users WHERE username = $1";
        let row: Option<UserRow> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(username)
            .fetch_optional(p)
            .await
            .map_err(map_err))?;
        row.map(UserRow::into_user).transpose()
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        const SQL: &str = "SELECT * FROM users ORDER BY username";
        let rows: Vec<UserRow> =
            on_pool!(self, p => sqlx::query_as(SQL).fetch_all(p).await.map_err(map_err))?;
        rows.into_iter().map(UserRow::into_user).collect()
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

    async fn set_user_profile(
        &self,
        id: &UserId,
        profile: &UserProfile,
        now: i64,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE users SET profile = $2, updated_at = $3 WHERE id = $1";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(id.as_str())
            .bind(crate::rows::to_json(profile))
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

    async fn delete_sessions_of(&self, user: &UserId) -> Result<u64, StoreError> {
        const SQL: &str = "DELETE FROM sessions WHERE user_id = $1";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(user.as_str())
            .execute(p)
            .await
            .map(|r| r.rows_affected())
            .map_err(map_err))
    }

    async fn record_session_client(
        &self,
        sid: &str,
        client: &ClientId,
        user: &UserId,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO session_clients (sid, client_id, user_id, expires_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (sid, client_id) DO NOTHING";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(sid)
            .bind(client.as_str())
            .bind(user.as_str())
            .bind(expires_at)
            .execute(p)
            .await
            .map(|_| ())
            .map_err(map_err))
    }

    async fn take_session_clients(&self, sid: &str) -> Result<Vec<(ClientId, UserId)>, StoreError> {
        const SQL: &str = "DELETE FROM session_clients WHERE sid = $1 RETURNING client_id, user_id";
        let rows: Vec<(String, String)> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(sid)
            .fetch_all(p)
            .await
            .map_err(map_err))?;
        Ok(rows
            .into_iter()
            .map(|(c, u)| (ClientId::new(c), UserId::new(u)))
            .collect())
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
    async fn take_attempt(&self, key: &str, free: i64, now: i64) -> Result<Attempt, StoreError> {
        // One statement: while blocked nothing changes; otherwise count the
        // attempt, and the one past the budget starts the next block (and
        // leaves one attempt for when it expires). RHS values are the old
        // row's in both SQLite and PostgreSQL.
        let sql = format!(
            "INSERT INTO login_throttle (key, failures, blocked_until, blocks) VALUES ($1, 1, 0, 0) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN login_throttle.failures + 1 > $2 THEN $2 - 1 \
                               ELSE login_throttle.failures + 1 END, \
               blocked_until = CASE WHEN login_throttle.failures + 1 > $2 THEN $3 + {BLOCK_SECS_SQL} \
                                    ELSE login_throttle.blocked_until END, \
               blocks = CASE WHEN login_throttle.failures + 1 > $2 THEN login_throttle.blocks + 1 \
                             ELSE login_throttle.blocks END \
             WHERE login_throttle.blocked_until <= $3 \
             RETURNING blocked_until"
        );
        let row: Option<(i64,)> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(key)
            .bind(free)
            .bind(now)
            .fetch_optional(p)
            .await
            .map_err(map_err))?;
        match row {
            Some((until,)) if until > now => Ok(Attempt::Blocked { until }),
            Some(_) => Ok(Attempt::Allowed),
            // Blocked already: the conditional update left the row alone.
            None => {
                const SQL: &str = "SELECT blocked_until FROM login_throttle WHERE key = $1";
                let until: Option<(i64,)> = on_pool!(self, p => sqlx::query_as(SQL)
                    .bind(key)
                    .fetch_optional(p)
                    .await
                    .map_err(map_err))?;
                Ok(Attempt::Blocked {
                    until: until.map_or(now + 1, |(u,)| u),
                })
            }
        }
    }

    async fn refund_attempt(&self, key: &str) -> Result<(), StoreError> {
        const SQL: &str =
            "UPDATE login_throttle SET failures = failures - 1 WHERE key = $1 AND failures > 0";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(key)
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
