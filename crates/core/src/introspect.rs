//! Token introspection (RFC 7662).

use std::sync::Arc;

use portcullis_protocol::wire::IntrospectionResponse;
use portcullis_protocol::{AccessTokenClaims, OAuthError, SecretHash};

use crate::model::Client;
use crate::server::AuthServer;

/// `token_type_hint` (RFC 7662 §2.1): it only orders the lookups, and any
/// other value is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenTypeHint {
    AccessToken,
    RefreshToken,
    None,
}

impl TokenTypeHint {
    pub fn parse(hint: Option<&str>) -> Self {
        match hint {
            Some("access_token") => Self::AccessToken,
            Some("refresh_token") => Self::RefreshToken,
            _ => Self::None,
        }
    }
}

impl AuthServer {
    /// What `caller` may know of `token`. Anything that is not a live token
    /// of ours (expired, revoked, rotated, tampered, foreign, garbage, or
    /// issued to a client since deleted) is simply inactive. Access tokens
    /// and API keys are shown to any authenticated resource server; a
    /// refresh token only to the client it was issued to, as nobody else
    /// ever holds one legitimately.
    pub async fn introspect(
        &self,
        caller: &Client,
        token: &str,
        hint: TokenTypeHint,
    ) -> Result<IntrospectionResponse, OAuthError> {
        if token.starts_with(crate::api_keys::PREFIX) {
            return self.introspect_api_key(token).await;
        }
        if hint == TokenTypeHint::RefreshToken {
            if let Some(answer) = self.introspect_refresh_token(caller, token).await? {
                return Ok(answer);
            }
            return self.introspect_access_token(token).await;
        }
        let answer = self.introspect_access_token(token).await?;
        if answer.active {
            return Ok(answer);
        }
        Ok(self
            .introspect_refresh_token(caller, token)
            .await?
            .unwrap_or(answer))
    }

    /// The claims of `token` if it is one of our access tokens and still
    /// live: signed, unexpired, unrevoked, its client registered, and for a
    /// user token, its grant and its user still standing.
    pub(crate) async fn live_access_token(
        &self,
        token: &str,
    ) -> Result<Option<AccessTokenClaims>, OAuthError> {
        let Some(claims) = self.verify_access_token(token) else {
            return Ok(None);
        };
        if self.revoked.get(claims.jti.clone()).await?.is_some()
            || self.find_client(&claims.client_id).await?.is_none()
        {
            return Ok(None);
        }
        if let Some(gid) = &claims.gid
            && self
                .live_consent(gid, &portcullis_protocol::UserId::new(&claims.sub))
                .await
                .is_err()
        {
            return Ok(None);
        }
        Ok(Some(claims))
    }

    async fn introspect_access_token(
        &self,
        token: &str,
    ) -> Result<IntrospectionResponse, OAuthError> {
        let Some(claims) = self.live_access_token(token).await? else {
            return Ok(IntrospectionResponse::inactive());
        };
        Ok(IntrospectionResponse {
            active: true,
            scope: Some(claims.scope),
            client_id: Some(claims.client_id),
            token_type: Some("Bearer".into()),
            exp: Some(claims.exp),
            iat: Some(claims.iat),
            sub: Some(claims.sub),
            aud: Some(claims.aud),
            iss: Some(claims.iss),
            jti: Some(claims.jti.into_string()),
        })
    }

    /// `None` when `token` is no refresh token of ours at all, so the other
    /// kinds are tried; inactive when it is one but not live or not the
    /// caller's.
    async fn introspect_refresh_token(
        &self,
        caller: &Client,
        token: &str,
    ) -> Result<Option<IntrospectionResponse>, OAuthError> {
        // Refresh tokens are base64url: a JWT (dots) or junk never is one,
        // and is not worth a query.
        if token.is_empty()
            || token.len() > 128
            || !token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Ok(None);
        }
        let hash = portcullis_protocol::Secret::new(token).hash();
        let Some(record) = self.store.find_live_refresh_token(&hash).await? else {
            return Ok(None);
        };
        let inactive = Ok(Some(IntrospectionResponse::inactive()));
        if record.client_id != caller.id || record.expires_at <= self.now() {
            return inactive;
        }
        // A family is marked before it is swept (see `revoke_refresh_family`).
        // The caller is the token's client, so that client still exists.
        if self
            .store
            .is_refresh_family_revoked(&record.family_id)
            .await?
            || self
                .live_consent(&record.consent_id, &record.user_id)
                .await
                .is_err()
        {
            return inactive;
        }
        Ok(Some(IntrospectionResponse {
            active: true,
            scope: Some(record.scopes),
            client_id: Some(record.client_id),
            token_type: Some("refresh_token".into()),
            exp: Some(record.expires_at),
            iat: Some(record.created_at),
            sub: Some(record.user_id.as_str().to_owned()),
            aud: None,
            iss: Some(self.settings.issuer.clone()),
            jti: None,
        }))
    }

    /// Signature, issuer and expiry of one of our access tokens.
    ///
    /// A resource server that asks instead of verifying asks about the same
    /// token on every call, so tokens whose signature checked out are
    /// remembered (by SHA-256, never the token itself): the ECDSA check is
    /// most of the cost of an introspection. Expiry is checked every time,
    /// and revocation is checked by the caller every time.
    pub(crate) fn verify_access_token(&self, token: &str) -> Option<AccessTokenClaims> {
        let key = *SecretHash::of(token.as_bytes()).as_bytes();
        let claims = match self.verified.get(&key) {
            Some(hit) => hit,
            None => {
                let claims: Arc<AccessTokenClaims> = Arc::new(self.keys.current().verify(token)?);
                self.verified.insert(key, claims.clone());
                claims
            }
        };
        (claims.iss == self.settings.issuer && claims.exp > self.clock.now())
            .then(|| AccessTokenClaims::clone(&claims))
    }
}
