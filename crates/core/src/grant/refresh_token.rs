//! RFC 6749 §6 with rotation and reuse detection (RFC 9700 §4.14): every
//! use rotates the token; presenting a rotated one revokes its family, and
//! that revocation is committed even though the request fails.

use portcullis_protocol::wire::TokenResponse;
use portcullis_protocol::{GrantType, OAuthError, ScopeSet, Secret};

use crate::model::Client;
use crate::server::AuthServer;

#[derive(Debug, Clone)]
pub struct Request {
    pub refresh_token: Secret,
    pub scope: Option<ScopeSet>,
    /// RFC 8707: narrows the new access token's audience within the grant's.
    pub resources: Vec<String>,
}

impl AuthServer {
    pub(crate) async fn refresh_token(
        &self,
        client: &Client,
        req: Request,
    ) -> Result<TokenResponse, OAuthError> {
        if !client.allows_grant(GrantType::RefreshToken) {
            return Err(OAuthError::unauthorized_client(
                "this client may not use the refresh_token grant",
            ));
        }
        let now = self.now();
        let hash = req.refresh_token.hash();
        let Some(found) = self.store.find_refresh_token(&hash).await? else {
            return Err(OAuthError::invalid_grant("unknown refresh token"));
        };
        if found.client_id != client.id {
            // Someone else's token: treat it as leaked.
            let jtis = self
                .store
                .revoke_refresh_family(&found.family_id, now)
                .await?;
            self.revoke_jtis(jtis).await?;
            return Err(OAuthError::invalid_grant(
                "refresh token was issued to another client",
            ));
        }
        // Checked before the token is consumed, so a bad request does not
        // cost the client its grant.
        let scopes = match req.scope {
            // `offline_access` asks for what a refresh already gives.
            Some(narrower)
                if narrower
                    .clone()
                    .without(crate::scope_policy::OFFLINE_ACCESS)
                    .is_subset(&found.scopes) =>
            {
                narrower
            }
            Some(_) => {
                return Err(OAuthError::invalid_scope(
                    "a refresh may narrow the scope, never widen it",
                ));
            }
            None => found.scopes.clone(),
        };
        let access_resources = crate::resources::narrow(&req.resources, &found.resources)?;
        let Some(old) = self.store.take_refresh_token(&hash, now).await? else {
            // Already rotated or revoked: a replay. Each statement commits on
            // its own, so this revocation stands whatever the request's fate.
            let jtis = self
                .store
                .revoke_refresh_family(&found.family_id, now)
                .await?;
            self.revoke_jtis(jtis).await?;
            tracing::warn!(client_id = %client.id, "refresh token reused; its family is revoked");
            return Err(OAuthError::invalid_grant(
                "refresh token was already used; every token of this grant is revoked",
            ));
        };
        if old.expires_at <= now {
            return Err(OAuthError::invalid_grant("refresh token has expired"));
        }
        let consent = self.live_consent(&old.consent_id, &old.user_id).await?;
        let (jti, exp) = self.next_access_token_id(client);
        // The new refresh token keeps the grant's scope; only the access
        // token is narrowed.
        let response = self
            .issue_user_tokens(
                client,
                &old.user_id,
                &consent,
                super::UserGrant {
                    access_scopes: scopes,
                    refresh_scopes: old.scopes,
                    access_resources,
                    refresh_resources: old.resources,
                    login: old.login,
                },
                old.family_id,
                jti,
                exp,
            )
            .await?;
        Ok(response)
    }
}
