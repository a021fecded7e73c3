//! Access-token issuing: RFC 9068 claims signed by the current key.

use portcullis_protocol::secret::random_id;
use portcullis_protocol::wire::TokenResponse;
use portcullis_protocol::{AccessTokenClaims, Audience, Jti, OAuthError, ResourceUri, ScopeSet};

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
            id_token: None,
        }
    }
}

/// What an access token says, apart from who issued it and when.
pub struct TokenFor<'a> {
    /// The user's id, or the client's for client credentials.
    pub subject: &'a str,
    pub scope: ScopeSet,
    /// The grant (consent) a user token is issued under.
    pub gid: Option<&'a str>,
    /// RFC 8707 resources: the token's `aud`; empty, the configured audience.
    pub resources: &'a [ResourceUri],
}

impl AuthServer {
    /// Signs an access token issued to `client`.
    pub fn issue_access_token(
        &self,
        client: &Client,
        what: TokenFor<'_>,
    ) -> Result<IssuedAccessToken, OAuthError> {
        let (jti, exp) = self.next_access_token_id(client);
        self.sign_access_token(client, what, jti, exp)
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
        what: TokenFor<'_>,
        jti: Jti,
        exp: i64,
    ) -> Result<IssuedAccessToken, OAuthError> {
        let TokenFor {
            subject,
            scope,
            gid,
            resources,
        } = what;
        let lifetime = self.token_lifetime(client);
        let claims = AccessTokenClaims {
            iss: self.settings.issuer.clone(),
            sub: subject.to_owned(),
            // RFC 8707 §2.2: a token asked for APIs is for those APIs only.
            aud: if resources.is_empty() {
                Audience::One(self.settings.audience.clone())
            } else {
                Audience::of(resources.iter().map(|r| r.as_str().to_owned()).collect())
            },
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
