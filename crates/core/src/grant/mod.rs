//! The token endpoint (RFC 6749 §3.2): one module per grant type. The HTTP
//! layer parses each grant's own parameters into [`TokenRequest`].

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use portcullis_protocol::secret::random_id;
use portcullis_protocol::wire::TokenResponse;
use portcullis_protocol::{GrantType, Jti, OAuthError, ScopeSet, Secret, UserId};

use crate::client_auth::ClientCredentials;
use crate::model::{Client, Consent, RefreshTokenRecord};
use crate::server::AuthServer;

/// Refresh tokens live 30 days unless rotated or revoked first.
pub const REFRESH_TOKEN_LIFETIME: i64 = 30 * 24 * 3600;

/// A token request, by grant type, with the parameters that grant reads.
#[derive(Debug, Clone)]
pub enum TokenRequest {
    ClientCredentials(client_credentials::Request),
    AuthorizationCode(authorization_code::Request),
    RefreshToken(refresh_token::Request),
}

/// What a user grant gives now (the access token) and keeps (the refresh
/// token): a token request may narrow the first, never the second.
pub(crate) struct UserGrant {
    pub access_scopes: ScopeSet,
    pub refresh_scopes: ScopeSet,
    pub access_resources: Vec<portcullis_protocol::ResourceUri>,
    pub refresh_resources: Vec<portcullis_protocol::ResourceUri>,
    /// The login behind a grant that includes `openid`: an ID token comes
    /// with the access token while the access token holds `openid`.
    pub login: Option<crate::model::Authentication>,
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
            TokenRequest::AuthorizationCode(r) => self.authorization_code(&client, r).await,
            TokenRequest::RefreshToken(r) => self.refresh_token(&client, r).await,
        }
    }

    /// The consent a user token rests on, if it still stands and its user
    /// may still act.
    pub(crate) async fn live_consent(
        &self,
        consent_id: &str,
        user: &UserId,
    ) -> Result<Consent, OAuthError> {
        let consent = self.store.find_consent(consent_id).await?;
        let consent = consent
            .filter(|c| c.revoked_at.is_none() && &c.user_id == user)
            .ok_or_else(|| OAuthError::invalid_grant("the user's consent has been revoked"))?;
        let user = self.store.find_user(user).await?;
        if user.is_none_or(|u| u.disabled) {
            return Err(OAuthError::invalid_grant("the user is disabled"));
        }
        Ok(consent)
    }

    /// An access token, and a refresh token of `family` when the client may
    /// refresh.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn issue_user_tokens(
        &self,
        client: &Client,
        user: &UserId,
        consent: &Consent,
        grant: UserGrant,
        family_id: String,
        jti: Jti,
        exp: i64,
    ) -> Result<TokenResponse, OAuthError> {
        let UserGrant {
            access_scopes,
            refresh_scopes,
            access_resources,
            refresh_resources,
            login,
        } = grant;
        let openid = access_scopes.contains_str(crate::scope_policy::OPENID);
        let access = self.sign_access_token(
            client,
            crate::token::TokenFor {
                subject: user.as_str(),
                scope: access_scopes,
                gid: Some(&consent.id),
                resources: &access_resources,
            },
            jti.clone(),
            exp,
        )?;
        let id_token = match &login {
            Some(login) if openid => {
                Some(self.issue_id_token(client, user, login, &access.token, access.expires_in)?)
            }
            _ => None,
        };
        let with_id_token = |mut r: TokenResponse| {
            r.id_token = id_token.clone();
            r
        };
        if !client.allows_grant(GrantType::RefreshToken) {
            return Ok(with_id_token(access.into_response(None)));
        }
        let refresh = Secret::new(random_id::<32>());
        let now = self.now();
        self.store
            .insert_refresh_token(&RefreshTokenRecord {
                token_hash: refresh.hash(),
                family_id: family_id.clone(),
                client_id: client.id.clone(),
                user_id: user.clone(),
                consent_id: consent.id.clone(),
                scopes: refresh_scopes,
                access_jti: jti.clone(),
                access_exp: exp,
                resources: refresh_resources,
                // OIDC Core §12.2: a refreshed ID token keeps auth_time and
                // carries no nonce.
                login: login.map(|l| crate::model::Authentication { nonce: None, ..l }),
                created_at: now,
                expires_at: now + REFRESH_TOKEN_LIFETIME,
            })
            .await?;
        // A replay of the code or of the previous refresh token may have
        // revoked the family while these were being issued: then they are
        // revoked too, and never handed out.
        if self.store.is_refresh_family_revoked(&family_id).await? {
            let mut jtis = self.store.revoke_refresh_family(&family_id, now).await?;
            jtis.push((jti, exp));
            self.revoke_jtis(jtis).await?;
            return Err(OAuthError::invalid_grant(
                "this grant was revoked while the tokens were issued",
            ));
        }
        Ok(with_id_token(
            access.into_response(Some(refresh.expose().to_owned())),
        ))
    }

    /// Remembers access tokens as revoked until they expire.
    pub(crate) async fn revoke_jtis(&self, jtis: Vec<(Jti, i64)>) -> Result<(), OAuthError> {
        let now = self.now();
        for (jti, exp) in jtis.into_iter().filter(|(_, exp)| *exp > now) {
            self.store.revoke_access_token(&jti, exp).await?;
        }
        Ok(())
    }
}
