//! Token introspection (RFC 7662).

use std::sync::Arc;

use portcullis_protocol::wire::IntrospectionResponse;
use portcullis_protocol::{AccessTokenClaims, OAuthError, SecretHash};

use crate::server::AuthServer;

impl AuthServer {
    /// What a resource server may know of `token`. Anything that is not a
    /// live token of ours (expired, revoked, tampered, foreign, garbage, or
    /// issued to a client since deleted) is simply inactive.
    pub async fn introspect(&self, token: &str) -> Result<IntrospectionResponse, OAuthError> {
        if token.starts_with(crate::api_keys::PREFIX) {
            return self.introspect_api_key(token).await;
        }
        let Some(claims) = self.verify_access_token(token) else {
            return Ok(IntrospectionResponse::inactive());
        };
        if self.revoked.get(claims.jti.clone()).await?.is_some()
            || self.find_client(&claims.client_id).await?.is_none()
        {
            return Ok(IntrospectionResponse::inactive());
        }
        // A user token lives only as long as its grant and its user.
        if let Some(gid) = &claims.gid
            && self
                .live_consent(gid, &portcullis_protocol::UserId::new(&claims.sub))
                .await
                .is_err()
        {
            return Ok(IntrospectionResponse::inactive());
        }
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
