//! Pending authorizations, consents, codes and refresh tokens. Every
//! single-use step is one conditional statement (`UPDATE … WHERE … IS NULL
//! RETURNING`, `DELETE … RETURNING`), so it holds across instances.

use async_trait::async_trait;
use portcullis_core::model::{
    AuthorizationCode, Consent, PendingAuthorization, Redemption, RefreshTokenRecord,
};
use portcullis_core::store::{AuthorizationStore, ConsentStore, RefreshTokenStore, StoreError};
use portcullis_protocol::{ClientId, Jti, SecretHash, UserId};

use crate::rows::{CodeRow, ConsentRow, PendingRow, RedemptionRow, RefreshRow};
use crate::rows::{join, login_json};
use crate::{Pool, SqlStore, map_err};

const CODE_COLUMNS: &str = "code_hash, client_id, user_id, consent_id, redirect_uri, scopes, \
     code_challenge, created_at, expires_at, resources, login";

#[async_trait]
impl AuthorizationStore for SqlStore {
    async fn insert_pending(&self, r: &PendingAuthorization) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO pending_authorizations (id, client_id, redirect_uri, response_type, \
             scopes, state, code_challenge, prompt, user_id, created_at, expires_at, resources, oidc) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(&r.id)
            .bind(r.client_id.as_str())
            .bind(r.redirect_uri.as_str())
            .bind(r.response_type.as_str())
            .bind(r.scopes.to_string())
            .bind(&r.state)
            .bind(&r.code_challenge)
            .bind(&r.prompt)
            .bind(r.user_id.as_ref().map(UserId::as_str))
            .bind(r.created_at)
            .bind(r.expires_at)
            .bind(join(&r.resources))
            .bind(serde_json::to_string(&r.oidc).expect("request parameters serialize"))
            .execute(p)
            .await
            .map(|_| ())
            .map_err(map_err))
    }

    async fn find_pending(&self, id: &str) -> Result<Option<PendingAuthorization>, StoreError> {
        const SQL: &str = "SELECT * FROM pending_authorizations WHERE id = $1";
        let row: Option<PendingRow> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(id)
            .fetch_optional(p)
            .await
            .map_err(map_err))?;
        row.map(PendingRow::into_pending).transpose()
    }

    async fn claim_pending(&self, id: &str, user: &UserId) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE pending_authorizations SET user_id = $2 \
             WHERE id = $1 AND (user_id IS NULL OR user_id = $2)";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(id)
            .bind(user.as_str())
            .execute(p)
            .await
            .map(|r| r.rows_affected() == 1)
            .map_err(map_err))
    }

    async fn take_pending(&self, id: &str) -> Result<Option<PendingAuthorization>, StoreError> {
        const SQL: &str = "DELETE FROM pending_authorizations WHERE id = $1 RETURNING *";
        let row: Option<PendingRow> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(id)
            .fetch_optional(p)
            .await
            .map_err(map_err))?;
        row.map(PendingRow::into_pending).transpose()
    }

    async fn take_claimed_pending(
        &self,
        id: &str,
        user: &UserId,
    ) -> Result<Option<PendingAuthorization>, StoreError> {
        const SQL: &str =
            "DELETE FROM pending_authorizations WHERE id = $1 AND user_id = $2 RETURNING *";
        let row: Option<PendingRow> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(id)
            .bind(user.as_str())
            .fetch_optional(p)
            .await
            .map_err(map_err))?;
        row.map(PendingRow::into_pending).transpose()
    }

    async fn insert_code(&self, c: &AuthorizationCode) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO authorization_codes (code_hash, client_id, user_id, consent_id, \
             redirect_uri, scopes, code_challenge, created_at, expires_at, resources, login) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(c.code_hash.as_bytes().to_vec())
            .bind(c.client_id.as_str())
            .bind(c.user_id.as_str())
            .bind(&c.consent_id)
            .bind(c.redirect_uri.as_str())
            .bind(c.scopes.to_string())
            .bind(&c.code_challenge)
            .bind(c.created_at)
            .bind(c.expires_at)
            .bind(join(&c.resources))
            .bind(login_json(c.login.as_ref()))
            .execute(p)
            .await
            .map(|_| ())
            .map_err(map_err))
    }

    async fn take_code(
        &self,
        code_hash: &SecretHash,
        r: &Redemption,
    ) -> Result<Option<AuthorizationCode>, StoreError> {
        let sql = format!(
            "UPDATE authorization_codes SET redeemed_at = $2, family_id = $3, access_jti = $4, \
             access_exp = $5 WHERE code_hash = $1 AND redeemed_at IS NULL RETURNING {CODE_COLUMNS}"
        );
        let row: Option<CodeRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(code_hash.as_bytes().to_vec())
            .bind(r.redeemed_at)
            .bind(&r.family_id)
            .bind(r.access_jti.as_str())
            .bind(r.access_exp)
            .fetch_optional(p)
            .await
            .map_err(map_err))?;
        row.map(CodeRow::into_code).transpose()
    }

    async fn find_redemption(
        &self,
        code_hash: &SecretHash,
    ) -> Result<Option<Redemption>, StoreError> {
        const SQL: &str = "SELECT redeemed_at, family_id, access_jti, access_exp \
             FROM authorization_codes WHERE code_hash = $1";
        let row: Option<RedemptionRow> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(code_hash.as_bytes().to_vec())
            .fetch_optional(p)
            .await
            .map_err(map_err))?;
        Ok(row.and_then(RedemptionRow::into_redemption))
    }
}

#[async_trait]
impl ConsentStore for SqlStore {
    async fn upsert_consent(&self, c: &Consent) -> Result<Consent, StoreError> {
        // A revoked consent is replaced under a new id, so tokens of the
        // revoked grant never come back to life.
        const SQL: &str = "INSERT INTO consents (id, user_id, client_id, scopes, created_at, updated_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL) \
             ON CONFLICT (user_id, client_id) DO UPDATE SET \
               id = CASE WHEN consents.revoked_at IS NULL THEN consents.id ELSE excluded.id END, \
               created_at = CASE WHEN consents.revoked_at IS NULL THEN consents.created_at ELSE excluded.created_at END, \
               scopes = excluded.scopes, updated_at = excluded.updated_at, revoked_at = NULL \
             RETURNING *";
        let row: ConsentRow = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(&c.id)
            .bind(c.user_id.as_str())
            .bind(c.client_id.as_str())
            .bind(c.scopes.to_string())
            .bind(c.created_at)
            .bind(c.updated_at)
            .fetch_one(p)
            .await
            .map_err(map_err))?;
        row.into_consent()
    }

    async fn find_consent(&self, id: &str) -> Result<Option<Consent>, StoreError> {
        const SQL: &str = "SELECT * FROM consents WHERE id = $1";
        let row: Option<ConsentRow> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(id)
            .fetch_optional(p)
            .await
            .map_err(map_err))?;
        row.map(ConsentRow::into_consent).transpose()
    }

    async fn find_active_consent(
        &self,
        user: &UserId,
        client: &ClientId,
    ) -> Result<Option<Consent>, StoreError> {
        const SQL: &str =
            "SELECT * FROM consents WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL";
        let row: Option<ConsentRow> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(user.as_str())
            .bind(client.as_str())
            .fetch_optional(p)
            .await
            .map_err(map_err))?;
        row.map(ConsentRow::into_consent).transpose()
    }

    async fn list_consents(&self, user: &UserId) -> Result<Vec<Consent>, StoreError> {
        const SQL: &str = "SELECT * FROM consents WHERE user_id = $1 AND revoked_at IS NULL \
             ORDER BY updated_at DESC, id";
        let rows: Vec<ConsentRow> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(user.as_str())
            .fetch_all(p)
            .await
            .map_err(map_err))?;
        rows.into_iter().map(ConsentRow::into_consent).collect()
    }

    async fn revoke_consent(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        const SQL: &str =
            "UPDATE consents SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(id)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected() == 1)
            .map_err(map_err))
    }
}

impl SqlStore {
    /// Revokes every live refresh token whose `column` is `value`, returning
    /// the access tokens issued beside them.
    async fn revoke_refresh_where(
        &self,
        column: &'static str,
        value: &str,
        now: i64,
    ) -> Result<Vec<(Jti, i64)>, StoreError> {
        let sql = format!(
            "UPDATE refresh_tokens SET revoked_at = $2 \
             WHERE {column} = $1 AND revoked_at IS NULL RETURNING access_jti, access_exp"
        );
        let rows: Vec<(String, i64)> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(value)
            .bind(now)
            .fetch_all(p)
            .await
            .map_err(map_err))?;
        Ok(rows.into_iter().map(|(j, e)| (Jti::new(j), e)).collect())
    }
}

#[async_trait]
impl RefreshTokenStore for SqlStore {
    async fn insert_refresh_token(&self, t: &RefreshTokenRecord) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, consent_id, \
             scopes, access_jti, access_exp, created_at, expires_at, resources, login) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(t.token_hash.as_bytes().to_vec())
            .bind(&t.family_id)
            .bind(t.client_id.as_str())
            .bind(t.user_id.as_str())
            .bind(&t.consent_id)
            .bind(t.scopes.to_string())
            .bind(t.access_jti.as_str())
            .bind(t.access_exp)
            .bind(t.created_at)
            .bind(t.expires_at)
            .bind(join(&t.resources))
            .bind(login_json(t.login.as_ref()))
            .execute(p)
            .await
            .map(|_| ())
            .map_err(map_err))
    }

    async fn take_refresh_token(
        &self,
        hash: &SecretHash,
        now: i64,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        const SQL: &str = "UPDATE refresh_tokens SET rotated_at = $2 \
             WHERE token_hash = $1 AND rotated_at IS NULL AND revoked_at IS NULL RETURNING *";
        let row: Option<RefreshRow> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(hash.as_bytes().to_vec())
            .bind(now)
            .fetch_optional(p)
            .await
            .map_err(map_err))?;
        row.map(RefreshRow::into_record).transpose()
    }

    async fn find_live_refresh_token(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        const SQL: &str = "SELECT * FROM refresh_tokens \
             WHERE token_hash = $1 AND rotated_at IS NULL AND revoked_at IS NULL";
        let row: Option<RefreshRow> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(hash.as_bytes().to_vec())
            .fetch_optional(p)
            .await
            .map_err(map_err))?;
        row.map(RefreshRow::into_record).transpose()
    }

    async fn find_refresh_token(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        const SQL: &str = "SELECT * FROM refresh_tokens WHERE token_hash = $1";
        let row: Option<RefreshRow> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(hash.as_bytes().to_vec())
            .fetch_optional(p)
            .await
            .map_err(map_err))?;
        row.map(RefreshRow::into_record).transpose()
    }

    async fn revoke_refresh_family(
        &self,
        family_id: &str,
        now: i64,
    ) -> Result<Vec<(Jti, i64)>, StoreError> {
        // The mark first, committed on its own, then the sweep: a token
        // inserted concurrently is either swept or its issuer sees the mark.
        const MARK: &str = "INSERT INTO revoked_refresh_families (family_id, revoked_at) \
             VALUES ($1, $2) ON CONFLICT (family_id) DO NOTHING";
        on_pool!(self, p => sqlx::query(MARK)
            .bind(family_id)
            .bind(now)
            .execute(p)
            .await
            .map(|_| ())
            .map_err(map_err))?;
        self.revoke_refresh_where("family_id", family_id, now).await
    }

    async fn revoke_refresh_by_consent(
        &self,
        consent_id: &str,
        now: i64,
    ) -> Result<Vec<(Jti, i64)>, StoreError> {
        self.revoke_refresh_where("consent_id", consent_id, now)
            .await
    }

    async fn revoke_refresh_by_user(
        &self,
        user: &UserId,
        now: i64,
    ) -> Result<Vec<(Jti, i64)>, StoreError> {
        self.revoke_refresh_where("user_id", user.as_str(), now)
            .await
    }

    async fn is_refresh_family_revoked(&self, family_id: &str) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT 1 FROM revoked_refresh_families WHERE family_id = $1";
        let row: Option<(i32,)> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(family_id)
            .fetch_optional(p)
            .await
            .map_err(map_err))?;
        Ok(row.is_some())
    }

    async fn find_live_family(
        &self,
        hash: &SecretHash,
        client: &ClientId,
    ) -> Result<Option<String>, StoreError> {
        const SQL: &str = "SELECT family_id FROM refresh_tokens \
             WHERE token_hash = $1 AND client_id = $2 AND revoked_at IS NULL";
        on_pool!(self, p => sqlx::query_as::<_, (String,)>(SQL)
            .bind(hash.as_bytes().to_vec())
            .bind(client.as_str())
            .fetch_optional(p)
            .await
            .map(|r| r.map(|(f,)| f))
            .map_err(map_err))
    }
}
