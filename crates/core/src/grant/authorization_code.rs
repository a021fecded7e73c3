//! RFC 6749 §4.1.3 with PKCE (RFC 7636) and the code rules of RFC 9700
//! §4.2: single use, 60 s, bound to client, redirect URI, PKCE challenge
//! and user. A replayed code revokes what its first redemption produced.

use portcullis_protocol::secret::random_id;
use portcullis_protocol::wire::TokenResponse;
use portcullis_protocol::{GrantType, OAuthError, Secret};

use crate::model::{Client, Redemption};
use crate::pkce;
use crate::server::AuthServer;

#[derive(Debug, Clone)]
pub struct Request {
    pub code: Secret,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    /// RFC 8707 `resource` parameters: a subset of those authorized.
    pub resources: Vec<String>,
}

impl AuthServer {
    pub(crate) async fn authorization_code(
        &self,
        client: &Client,
        req: Request,
    ) -> Result<TokenResponse, OAuthError> {
        if !client.allows_grant(GrantType::AuthorizationCode) {
            return Err(OAuthError::unauthorized_client(
                "this client may not use the authorization_code grant",
            ));
        }
        let now = self.now();
        let hash = req.code.hash();
        let (access_jti, access_exp) = self.next_access_token_id(client);
        let redemption = Redemption {
            family_id: random_id::<16>(),
            access_jti,
            access_exp,
            redeemed_at: now,
        };
        // Consumed before it is checked: a code that fails a check is burnt,
        // so a stolen code cannot be retried against its PKCE verifier.
        let Some(code) = self.store.take_code(&hash, &redemption).await? else {
            if let Some(first) = self.store.find_redemption(&hash).await? {
                let mut jtis = self
                    .store
                    .revoke_refresh_family(&first.family_id, now)
                    .await?;
                jtis.push((first.access_jti, first.access_exp));
                self.revoke_jtis(jtis).await?;
                tracing::warn!(client_id = %client.id, "authorization code replayed; its tokens are revoked");
                return Err(OAuthError::invalid_grant(
                    "authorization code was already used",
                ));
            }
            return Err(OAuthError::invalid_grant("unknown authorization code"));
        };
        let invalid = |d: &'static str| Err(OAuthError::invalid_grant(d));
        if code.client_id != client.id {
            return invalid("authorization code was issued to another client");
        }
        if code.expires_at <= now {
            return invalid("authorization code has expired");
        }
        match req.redirect_uri.as_deref() {
            // The very string used at authorize (RFC 6749 §4.1.3), port
            // included: a loopback redirect is not re-matched here.
            Some(given) if given != code.redirect_uri.as_str() => {
                return invalid("redirect_uri does not match the authorization request");
            }
            Some(_) => {}
            // RFC 6749 §4.1.3 requires it when the request carried one; a
            // client with a single registered URI may leave it out, as the
            // code can only have been issued to that URI, unless the request
            // chose a loopback port, which only the client can repeat.
            None if client.redirect_uris.len() != 1 => {
                return invalid("redirect_uri is required: this client has several");
            }
            None if client.redirect_uris[0] != code.redirect_uri => {
                return invalid("redirect_uri is required: the authorization request chose a port");
            }
            None => {}
        }
        match (&code.code_challenge, req.code_verifier.as_deref()) {
            (Some(challenge), Some(verifier)) if pkce::verify(verifier, challenge) => {}
            (Some(_), Some(_)) => {
                return invalid("code_verifier does not match the code_challenge");
            }
            (Some(_), None) => return invalid("code_verifier is required"),
            // RFC 9700 §2.1.1: a verifier without a challenge is a downgrade.
            (None, Some(_)) => return invalid("code_verifier sent but no code_challenge was"),
            (None, None) if client.require_pkce => {
                return invalid("PKCE is required for this client");
            }
            (None, None) => {}
        }
        let access_resources = crate::resources::narrow(&req.resources, &code.resources)?;
        let consent = self.live_consent(&code.consent_id, &code.user_id).await?;
        self.issue_user_tokens(
            client,
            &code.user_id,
            &consent,
            super::UserGrant {
                access_scopes: code.scopes.clone(),
                refresh_scopes: code.scopes,
                access_resources,
                refresh_resources: code.resources,
                login: code.login,
            },
            redemption.family_id,
            redemption.access_jti,
            redemption.access_exp,
        )
        .await
    }
}
