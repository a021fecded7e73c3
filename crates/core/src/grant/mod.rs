//! The token endpoint (RFC 6749 §3.2): one module per grant type. The HTTP
//! layer parses each grant's own parameters into [`TokenRequest`].

pub mod client_credentials;

use portcullis_protocol::OAuthError;
use portcullis_protocol::wire::TokenResponse;

use crate::client_auth::ClientCredentials;
use crate::server::AuthServer;

/// A token request, by grant type, with the parameters that grant reads.
#[derive(Debug, Clone)]
pub enum TokenRequest {
    ClientCredentials(client_credentials::Request),
}

impl AuthServer {
    pub async fn token(
        &self,
        creds: &ClientCredentials,
        request: TokenRequest,
    ) -> Result<TokenResponse, OAuthError> {
        let client = self.authenticate_client(creds).await?;
        match request {
            TokenRequest::ClientCredentials(r) => self.client_credentials(&client, r).await,
        }
    }
}
