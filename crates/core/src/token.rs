//! Access-token issuing: RFC 9068 claims signed by the current key.

use portcullis_protocol::secret::random_id;
use portcullis_protocol::wire::TokenResponse;
use portcullis_protocol::{AccessTokenClaims, Jti, OAuthError, ScopeSet};

use crate::model::Client;
use crate::server::AuthServer;

pub struct IssuedAccessToken {
    pub token: String,
    pub claims: AccessTokenClaims,
    pub expires_in: i64,
}

impl IssuedAccessToken {
    pub fn into_response(self, refresh_token: Option<String>) -> TokenResponse {
        TokenResponse {
            access_token: self.token,
            token_type: "Bearer".into(),
            expires_in: self.expires_in,
            expires: self.claims.exp,
            scope: self.claims.scope,
            refresh_token,
        }
    }
}

impl AuthServer {
    /// Signs an access token for `subject`, issued to `client`, under the
    /// grant `gid` when it acts for a user.
    pub fn issue_access_token(
        &self,
        client: &Client,
        subject: &str,
        scope: ScopeSet,
        gid: Option<&str>,
    ) -> Result<IssuedAccessToken, OAuthError> {
        let (jti, exp) = self.next_access_token_id(client);
        self.sign_access_token(client, subject, scope, gid, jti, exp)
    }

    /// A fresh `jti` and the expiry a token issued now to `client` gets.
    pub(crate) fn next_access_token_id(&self, client: &Client) -> (Jti, i64) {
        (
            Jti::new(random_id::<16>()),
            self.clock.now() + self.token_lifetime(client),
        )
    }

    fn token_lifetime(&self, client: &Client) -> i64 {
        client
            .token_lifetime
            .unwrap_or(self.settings.default_token_lifetime)
    }

    pub(crate) fn sign_access_token(
        &self,
        client: &Client,
        subject: &str,
        scope: ScopeSet,
        gid: Option<&str>,
        jti: Jti,
        exp: i64,
    ) -> Result<IssuedAccessToken, OAuthError> {
        let lifetime = self.token_lifetime(client);
        let claims = AccessTokenClaims {
            iss: self.settings.issuer.clone(),
            sub: subject.to_owned(),
            aud: self.settings.audience.clone(),
            client_id: client.id.clone(),
            scope: scope.without(crate::scope_policy::OFFLINE_ACCESS),
            jti,
            iat: exp - lifetime,
            exp,
            gid: gid.map(str::to_owned),
        };
        let keys = self.keys.current();
        let key = keys
            .signing_key()
            .ok_or_else(|| OAuthError::server_error("no active signing key"))?;
        let token = key.sign(&claims)?;
        Ok(IssuedAccessToken {
            token,
            claims,
            expires_in: lifetime,
        })
    }
}
