//! Token revocation (RFC 7009).

use portcullis_protocol::OAuthError;

use crate::model::Client;
use crate::server::AuthServer;

impl AuthServer {
    /// Revokes `token` if it is a live access token issued to `client`.
    ///
    /// RFC 7009 §2.2: an invalid or unknown token is not an error. A token
    /// of another client is left alone, silently, so revocation cannot be
    /// used to probe which tokens exist.
    pub async fn revoke(&self, client: &Client, token: &str) -> Result<(), OAuthError> {
        let Some(claims) = self.verify_access_token(token) else {
            // Perhaps a refresh token: revoking it ends its whole family and
            // the access tokens issued with it (§2.1).
            let hash = portcullis_protocol::Secret::new(token).hash();
            let now = self.now();
            if let Some(family) = self.store.find_live_family(&hash, &client.id).await? {
                let jtis = self.store.revoke_refresh_family(&family, now).await?;
                self.revoke_jtis(jtis).await?;
            }
            return Ok(());
        };
        if claims.client_id != client.id {
            tracing::info!(
                client_id = %client.id,
                owner = %claims.client_id,
                "ignored revocation of another client's token"
            );
            return Ok(());
        }
        self.store
            .revoke_access_token(&claims.jti, claims.exp)
            .await?;
        Ok(())
    }
}
