//! Client authentication (RFC 6749 §2.3). The HTTP layer extracts the
//! credentials from wherever the client put them; this decides.

use std::sync::Arc;

use portcullis_protocol::{ClientId, OAuthError, Secret};

use crate::model::Client;
use crate::server::AuthServer;

/// What a client presented: its id, and its secret unless it is public.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub client_id: ClientId,
    pub secret: Option<Secret>,
}

/// One answer for every failure, so a caller cannot tell an unknown client
/// from a wrong secret.
fn failed() -> OAuthError {
    OAuthError::invalid_client("client authentication failed")
}

impl AuthServer {
    /// Authenticates a confidential client by secret, or identifies a public
    /// client that presented no secret.
    pub async fn authenticate_client(
        &self,
        creds: &ClientCredentials,
    ) -> Result<Arc<Client>, OAuthError> {
        let client = self.find_client(&creds.client_id).await?;
        let Some(client) = client else {
            if let Some(secret) = &creds.secret {
                // Same work as for a known client.
                let _ = portcullis_protocol::SecretHash::of(b"").verify(secret.expose());
            }
            return Err(failed().with_cause(format_args!("unknown client {}", creds.client_id)));
        };
        let verdict = match (&client.secret_hash, &creds.secret) {
            (Some(hash), Some(secret)) if hash.verify(secret.expose()) => Ok(()),
            (None, None) => Ok(()),
            (Some(_), Some(_)) => {
                Err(failed().with_cause(format_args!("wrong secret for {}", client.id)))
            }
            (Some(_), None) => Err(failed().with_cause(format_args!(
                "confidential client {} sent no secret",
                client.id
            ))),
            (None, Some(_)) => {
                Err(failed().with_cause(format_args!("public client {} sent a secret", client.id)))
            }
        };
        verdict?;
        self.note_client_use(&client).await;
        Ok(client)
    }

    /// Like [`authenticate_client`](Self::authenticate_client), but only a
    /// confidential client passes: introspection and revocation need proof.
    pub async fn authenticate_confidential_client(
        &self,
        creds: &ClientCredentials,
    ) -> Result<Arc<Client>, OAuthError> {
        let client = self.authenticate_client(creds).await?;
        if client.is_public() {
            return Err(failed().with_cause(format_args!(
                "public client {} cannot call this endpoint",
                client.id
            )));
        }
        Ok(client)
    }
}
