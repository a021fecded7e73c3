//! Logout: RP-Initiated Logout 1.0 (the browser comes to the end-session
//! endpoint) and Back-Channel Logout 1.0 (each client the session signed
//! in to gets a signed logout token, server to server).
//!
//! A logout request is checked before anything happens: a
//! `post_logout_redirect_uri` must be registered by the client the
//! `id_token_hint` (or `client_id`) names, exactly, so the endpoint is
//! never an open redirect. Without a hint that names the signed-in user,
//! the user is asked first: a link alone must not sign anyone out.

use std::sync::Arc;
use std::time::Duration;

use portcullis_protocol::secret::random_hex_id;
use portcullis_protocol::{ClientId, OAuthError, SecretHash, UserId};
use serde::Serialize;
use url::Url;

use crate::model::{Client, Session, User};
use crate::outbound::{AddressPolicy, Fetcher};
use crate::server::{AuthServer, Settings};

/// The logout token's `typ` (Back-Channel Logout 1.0 §2.4).
pub const LOGOUT_TOKEN_TYP: &str = "logout+jwt";
const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// A logout token is good for this long after it is made.
const LOGOUT_TOKEN_LIFETIME: i64 = 120;
/// Attempts per client, and the wait before each retry.
const RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(2), Duration::from_secs(10)];
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) fn sender(settings: &Settings) -> Arc<Fetcher> {
    Arc::new(Fetcher::new(
        AddressPolicy {
            allow_loopback: settings.backchannel_logout_allow_loopback,
        },
        SEND_TIMEOUT,
        4096,
        &settings.client_documents.extra_roots_pem,
    ))
}

/// The parameters of RP-Initiated Logout 1.0 §2 that Portcullis reads
/// (`ui_locales` and `logout_hint` are accepted and not used).
#[derive(Debug, Clone, Default)]
pub struct LogoutRequest {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

/// What the end-session endpoint does with a checked request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutPlan {
    /// Ask the user; the confirmation posts the same request back.
    Confirm {
        /// The application asking, when known.
        client_name: Option<String>,
    },
    /// Sign out now (when there is a session) and send the browser on.
    Proceed,
}

/// A checked logout request: where the browser goes afterwards.
#[derive(Debug, Clone)]
pub struct CheckedLogout {
    pub plan: LogoutPlan,
    /// The registered `post_logout_redirect_uri` with `state`, if asked.
    pub redirect: Option<String>,
}

#[derive(Serialize)]
struct LogoutClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
    sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
    events: serde_json::Value,
}

/// The `sid` of the session whose cookie hashes to `id_hash`.
pub fn sid_of_hash(id_hash: &SecretHash) -> String {
    super::sid_of_hash_bytes(id_hash.as_bytes())
}

impl AuthServer {
    /// Checks a logout request against the session it arrived with.
    pub async fn check_logout(
        &self,
        req: &LogoutRequest,
        session: Option<(&Session, &User)>,
    ) -> Result<CheckedLogout, OAuthError> {
        let hint = match req.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
            Some(h) => Some(self.decode_id_token_hint(h)?),
            None => None,
        };
        let named = req.client_id.as_deref().filter(|c| !c.is_empty());
        if let (Some(h), Some(c)) = (&hint, named)
            && h.aud != c
        {
            return Err(OAuthError::invalid_request(
                "client_id is not the client the id_token_hint was issued to",
            ));
        }
        let client_id = hint.as_ref().map(|h| h.aud.as_str()).or(named);
        let client = match client_id {
            Some(id) => Some(self.find_client(&ClientId::new(id)).await?.ok_or_else(|| {
                OAuthError::invalid_request("the client of this logout request is not registered")
            })?),
            None => None,
        };
        let redirect = match req
            .post_logout_redirect_uri
            .as_deref()
            .filter(|u| !u.is_empty())
        {
            None => None,
            Some(uri) => Some(post_logout_redirect(
                client.as_deref(),
                uri,
                req.state.as_deref(),
            )?),
        };
        let hint_is_this_user = match (&hint, &client, session) {
            (Some(h), Some(c), Some((_, user))) => h.sub == self.subject_for(c, &user.id),
            _ => false,
        };
        let plan = if session.is_none() || hint_is_this_user {
            LogoutPlan::Proceed
        } else {
            LogoutPlan::Confirm {
                client_name: client.as_ref().map(|c| c.name.clone()),
            }
        };
        Ok(CheckedLogout { plan, redirect })
    }

    /// Notes that `session` signed `user` in to `client`, for logout.
    pub(crate) async fn note_session_client(
        &self,
        session: &Session,
        client: &ClientId,
        user: &UserId,
    ) -> Result<(), crate::store::StoreError> {
        self.store
            .record_session_client(
                &sid_of_hash(&session.id_hash),
                client,
                user,
                session.expires_at,
            )
            .await
    }

    /// Ends the session whose cookie hashes to `id_hash` and tells every
    /// client it signed in to, in the background (with retries).
    pub async fn end_session_by_hash(
        &self,
        id_hash: &SecretHash,
    ) -> Result<(), crate::store::StoreError> {
        self.store.delete_session(id_hash).await?;
        let sid = sid_of_hash(id_hash);
        let signed_in = self.store.take_session_clients(&sid).await?;
        for (client_id, user) in signed_in {
            let client = match self.find_client(&client_id).await {
                Ok(Some(c)) => c,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(client_id = %client_id, error = %e, "back-channel logout skipped");
                    continue;
                }
            };
            let Some(uri) = client.oidc.backchannel_logout_uri.clone() else {
                continue;
            };
            let token = match self.logout_token(&client, &user, &sid) {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!(client_id = %client_id, error = %e.description, "no logout token");
                    continue;
                }
            };
            let sender = self.logout_sender.clone();
            tokio::spawn(deliver(sender, client_id, uri, token));
        }
        Ok(())
    }

    /// A logout token (Back-Channel Logout 1.0 §2.4) for `client`, signed
    /// as its ID tokens are.
    pub fn logout_token(
        &self,
        client: &Client,
        user: &UserId,
        sid: &str,
    ) -> Result<String, OAuthError> {
        let alg = self.id_token_alg(client);
        let keys = self.keys.current();
        let key = keys
            .signer_for(alg)
            .ok_or_else(|| OAuthError::server_error(format!("no {} signing key", alg.as_str())))?;
        let now = self.now();
        let claims = LogoutClaims {
            iss: &self.settings.issuer,
            aud: client.id.as_str(),
            iat: now,
            exp: now + LOGOUT_TOKEN_LIFETIME,
            jti: random_hex_id::<16>(),
            sub: self.subject_for(client, user),
            sid: Some(sid),
            events: serde_json::json!({ LOGOUT_EVENT: {} }),
        };
        key.sign_typed(LOGOUT_TOKEN_TYP, &claims)
    }
}

/// The registered post-logout URI `uri` of `client`, with `state`.
fn post_logout_redirect(
    client: Option<&Client>,
    uri: &str,
    state: Option<&str>,
) -> Result<String, OAuthError> {
    let Some(client) = client else {
        return Err(OAuthError::invalid_request(
            "post_logout_redirect_uri needs an id_token_hint or client_id naming its client",
        ));
    };
    if !client
        .oidc
        .post_logout_redirect_uris
        .iter()
        .any(|r| r.as_str() == uri)
    {
        return Err(OAuthError::invalid_request(
            "post_logout_redirect_uri is not registered for this client",
        ));
    }
    let mut url = Url::parse(uri)
        .map_err(|_| OAuthError::invalid_request("post_logout_redirect_uri is malformed"))?;
    if let Some(s) = state.filter(|s| !s.is_empty()) {
        url.query_pairs_mut().append_pair("state", s);
    }
    Ok(url.into())
}

/// POSTs `token` to `uri`, retrying on failure; logs the outcome without
/// the token.
async fn deliver(sender: Arc<Fetcher>, client: ClientId, uri: Url, token: String) {
    let mut delays = RETRY_DELAYS.iter();
    loop {
        let outcome = sender.post_form(&uri, &[("logout_token", &token)]).await;
        match outcome {
            Ok(200 | 204) => {
                tracing::info!(client_id = %client, "back-channel logout delivered");
                return;
            }
            Ok(status) => {
                tracing::info!(client_id = %client, status, "back-channel logout refused")
            }
            Err(why) => {
                tracing::info!(client_id = %client, reason = %why, "back-channel logout failed")
            }
        }
        match delays.next() {
            Some(d) => tokio::time::sleep(*d).await,
            None => {
                tracing::warn!(client_id = %client, "back-channel logout gave up after retries");
                return;
            }
        }
    }
}
