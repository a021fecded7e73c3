//! Dynamic client registration (RFC 7591) and management (RFC 7592).
//!
//! A client registering itself is a [`Actor::Registrant`]: it gets what any
//! developer may give their own client (self-service scopes, open
//! resources), only the code flow with refresh tokens, and a registration
//! access token to read, change or delete its registration. Registrations
//! nobody uses expire. Under `registration = "token"` each registration
//! spends an initial access token an administrator minted; under `open`
//! anyone may register, a bounded number of times per address.

use std::time::Duration;

use portcullis_protocol::secret::random_hex_id;
use portcullis_protocol::{
    ClientId, ErrorCode, GrantType, OAuthError, RedirectUri, ScopeSet, Secret,
};
use serde::{Deserialize, Serialize};

use crate::client_oidc::{ClientOidc, OidcSettings};
use crate::model::{Client, ClientOrigin};
use crate::policy::{Action, Actor, decide};
use crate::server::AuthServer;
use crate::store::Attempt;

/// Who may register.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RegistrationMode {
    /// With an initial access token (RFC 7591 §3) only.
    #[default]
    Token,
    /// Anyone, rate-limited per address.
    Open,
    /// No registration endpoint.
    Off,
}

#[derive(Debug, Clone)]
pub struct RegistrationSettings {
    pub mode: RegistrationMode,
    /// A registration that obtained no token for this long is deleted.
    pub unused_expiry: Duration,
}

impl Default for RegistrationSettings {
    fn default() -> Self {
        Self {
            mode: RegistrationMode::Token,
            unused_expiry: Duration::from_secs(90 * 86_400),
        }
    }
}

/// Registrations one address may make under `open` before it is slowed
/// down (blocks of 30 s doubling to 15 min, like login failures).
pub const OPEN_REGISTRATIONS_PER_ADDRESS: i64 = 10;
/// Longest life of an initial access token, and its default.
pub const MAX_INITIAL_TOKEN_SECS: i64 = 30 * 86_400;
pub const DEFAULT_INITIAL_TOKEN_SECS: i64 = 86_400;
/// `last_used_at` is written at most this often per client.
const TOUCH_EVERY: i64 = 3600;
const MAX_REDIRECT_URIS: usize = 20;

/// The client metadata of RFC 7591 §2 that Portcullis registers; other
/// fields are accepted and not registered (§3.2.1 lets the server omit
/// them from its answer).
#[derive(Debug, Deserialize)]
pub struct ClientMetadata {
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub client_name: Option<String>,
    pub scope: Option<String>,
    /// RFC 7592 §2.2: an update names the client it updates.
    pub client_id: Option<String>,
    /// Fetching and checking a sector document is not built: refused.
    pub sector_identifier_uri: Option<String>,
    #[serde(flatten)]
    pub oidc: OidcSettings,
}

/// The answer of RFC 7591 §3.2.1 and RFC 7592 §3.
#[derive(Debug, Serialize)]
pub struct RegistrationView {
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub client_id_issued_at: i64,
    /// 0: it does not expire (RFC 7591 §3.2.1), when a secret is issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_access_token: Option<String>,
    pub registration_client_uri: String,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<&'static str>,
    pub response_types: [&'static str; 1],
    pub token_endpoint_auth_method: String,
    pub scope: String,
    #[serde(flatten)]
    pub oidc: OidcSettings,
}

fn bad_metadata(d: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClientMetadata, d)
}

fn bad_token() -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidToken,
        "the registration access token is missing, unknown or not for this client",
    )
}

/// What a client asked to be, checked: the fields that make a [`Client`].
struct Checked {
    name: String,
    redirect_uris: Vec<RedirectUri>,
    grant_types: Vec<GrantType>,
    auth_method: String,
    scopes: ScopeSet,
    oidc: ClientOidc,
}

fn check(m: ClientMetadata, grantable: &ScopeSet) -> Result<Checked, OAuthError> {
    let auth_method = m
        .token_endpoint_auth_method
        .unwrap_or_else(|| "client_secret_basic".into());
    if !matches!(
        auth_method.as_str(),
        "none" | "client_secret_basic" | "client_secret_post"
    ) {
        return Err(bad_metadata(
            "token_endpoint_auth_method must be none, client_secret_basic or client_secret_post",
        ));
    }
    let mut grant_types = vec![GrantType::AuthorizationCode];
    for g in m.grant_types.iter().flatten() {
        match g.as_str() {
            "authorization_code" => {}
            "refresh_token" if !grant_types.contains(&GrantType::RefreshToken) => {
                grant_types.push(GrantType::RefreshToken)
            }
            "refresh_token" => {}
            _ => {
                return Err(bad_metadata(
                    "a registered client may use only the authorization_code and refresh_token grant types",
                ));
            }
        }
    }
    if let Some(g) = &m.grant_types
        && !g.iter().any(|g| g == "authorization_code")
    {
        return Err(bad_metadata(
            "grant_types must include authorization_code: it is the only flow registered clients use",
        ));
    }
    if m.response_types.iter().flatten().any(|t| t != "code") {
        return Err(bad_metadata("response_types may only be [\"code\"]"));
    }
    if m.redirect_uris.is_empty() || m.redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(OAuthError::new(
            ErrorCode::InvalidRedirectUri,
            format!("register 1 to {MAX_REDIRECT_URIS} redirect_uris"),
        ));
    }
    let redirect_uris = m
        .redirect_uris
        .iter()
        .enumerate()
        .map(|(i, u)| {
            RedirectUri::parse(u).map_err(|e| {
                OAuthError::new(
                    ErrorCode::InvalidRedirectUri,
                    format!("redirect_uris[{i}]: {e}"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // RFC 7591 §2: the server may register fewer scopes than asked; what is
    // registered is in the answer.
    let scopes = match &m.scope {
        Some(s) => ScopeSet::parse(s)
            .map_err(|_| bad_metadata("scope is malformed"))?
            .iter()
            .filter(|s| {
                grantable.contains_str(s.split_resource().0)
                    || crate::scope_policy::is_oidc(s.as_str())
            })
            .cloned()
            .collect(),
        None => grantable.clone(),
    };
    if m.sector_identifier_uri.is_some() {
        return Err(bad_metadata(
            "sector_identifier_uri is not supported: a pairwise client's sector is the host of its redirect_uris",
        ));
    }
    let oidc = m
        .oidc
        .clone()
        .parse()
        .and_then(|o| o.validated(&redirect_uris))
        .map_err(|e| bad_metadata(e.0))?;
    let name = m
        .client_name
        .map(|n| {
            n.trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(100)
                .collect::<String>()
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "Self-registered client".into());
    Ok(Checked {
        name,
        redirect_uris,
        grant_types,
        auth_method,
        scopes,
        oidc,
    })
}

/// Who is registering, as the endpoint saw it.
pub struct Registrant<'a> {
    /// The `Authorization: Bearer` value, if any.
    pub initial_token: Option<&'a str>,
    /// The client's address, for the rate limit of `open`.
    pub address: &'a str,
}

impl AuthServer {
    pub fn registration_mode(&self) -> RegistrationMode {
        self.settings.registration.mode
    }

    fn registration_uri(&self, id: &ClientId) -> String {
        format!(
            "{}/oauth/register/{}",
            self.settings.issuer,
            form_urlencoded::byte_serialize(id.as_str().as_bytes()).collect::<String>()
        )
    }

    fn registration_view(
        &self,
        c: &Client,
        auth_method: String,
        secret: Option<&Secret>,
        token: Option<&Secret>,
    ) -> RegistrationView {
        RegistrationView {
            client_id: c.id.as_str().to_owned(),
            client_secret: secret.map(|s| s.expose().to_owned()),
            client_id_issued_at: c.created_at,
            client_secret_expires_at: (!c.is_public()).then_some(0),
            registration_access_token: token.map(|t| t.expose().to_owned()),
            registration_client_uri: self.registration_uri(&c.id),
            client_name: c.name.clone(),
            redirect_uris: c.redirect_uris.iter().map(ToString::to_string).collect(),
            grant_types: c.grant_types.iter().map(|g| g.as_str()).collect(),
            response_types: ["code"],
            token_endpoint_auth_method: auth_method,
            scope: c.scopes.to_string(),
            oidc: OidcSettings {
                id_token_signed_response_alg: Some(self.id_token_alg(c).as_str().to_owned()),
                ..OidcSettings::from(&c.oidc)
            },
        }
    }

    /// Mints an initial access token; the caller shows it once.
    pub(crate) async fn create_registration_token(
        &self,
        expires_in: Option<i64>,
    ) -> Result<(Secret, i64), OAuthError> {
        let secs = expires_in.unwrap_or(DEFAULT_INITIAL_TOKEN_SECS);
        if !(60..=MAX_INITIAL_TOKEN_SECS).contains(&secs) {
            return Err(OAuthError::invalid_request(format!(
                "expires_in must be between 60 and {MAX_INITIAL_TOKEN_SECS} seconds"
            )));
        }
        let token = Secret::generate();
        let now = self.now();
        self.store
            .insert_registration_token(&token.hash(), now, Some(now + secs))
            .await?;
        Ok((token, now + secs))
    }

    /// RFC 7591 §3: registers the client `metadata` describes.
    pub async fn register_dynamic_client(
        &self,
        who: Registrant<'_>,
        metadata: ClientMetadata,
    ) -> Result<RegistrationView, OAuthError> {
        decide(&Actor::Registrant, Action::RegisterClient)
            .map_err(|d| OAuthError::access_denied(d.to_string()))?;
        let initial = match (self.settings.registration.mode, who.initial_token) {
            (RegistrationMode::Off, _) => {
                return Err(OAuthError::access_denied(
                    "registration is off on this server",
                ));
            }
            (RegistrationMode::Token, None) => {
                return Err(OAuthError::new(
                    ErrorCode::InvalidToken,
                    "registration needs an initial access token (Authorization: Bearer)",
                ));
            }
            (_, Some(t)) => Some(Secret::new(t).hash()),
            (RegistrationMode::Open, None) => None,
        };
        let checked = check(metadata, &self.registrant_scopes().await?)?;
        if initial.is_none() {
            let key = format!("register:{}", who.address);
            if let Attempt::Blocked { until } = self
                .store
                .take_attempt(&key, OPEN_REGISTRATIONS_PER_ADDRESS, self.now())
                .await?
            {
                return Err(OAuthError::new(
                    ErrorCode::SlowDown,
                    format!(
                        "too many registrations from this address; try again in {} seconds",
                        (until - self.now()).max(1)
                    ),
                ));
            }
        }
        let now = self.now();
        let secret = (checked.auth_method != "none").then(Secret::generate);
        let token = Secret::generate();
        let client = Client {
            id: ClientId::new(random_hex_id::<16>()),
            name: checked.name,
            secret_hash: secret.as_ref().map(Secret::hash),
            redirect_uris: checked.redirect_uris,
            grant_types: checked.grant_types,
            scopes: checked.scopes,
            default_scopes: None,
            token_lifetime: None,
            require_pkce: true,
            owner: None,
            resources: Vec::new(),
            oidc: checked.oidc,
            origin: ClientOrigin::Dynamic {
                registration_token: token.hash(),
                last_used_at: now,
            },
            created_at: now,
            updated_at: now,
        };
        if !self
            .store
            .insert_registered_client(&client, initial.as_ref(), now)
            .await?
        {
            return Err(OAuthError::new(
                ErrorCode::InvalidToken,
                "the initial access token is unknown, already used or expired",
            ));
        }
        self.forget_client(&client.id);
        tracing::info!(client_id = %client.id, "client registered itself");
        Ok(self.registration_view(&client, checked.auth_method, secret.as_ref(), Some(&token)))
    }

    /// The dynamically registered client `id`, if `token` is its
    /// registration access token (compared in constant time).
    async fn registered(&self, id: &str, token: Option<&str>) -> Result<Client, OAuthError> {
        let token = token.ok_or_else(bad_token)?;
        // Not through the cache: a deleted or changed registration must be
        // seen at once by its manager.
        let client = self
            .store
            .find_client(&ClientId::new(id))
            .await?
            .ok_or_else(bad_token)?;
        match &client.origin {
            ClientOrigin::Dynamic {
                registration_token, ..
            } if registration_token.verify(token) => Ok(client),
            _ => Err(bad_token()),
        }
    }

    fn auth_method_of(c: &Client) -> String {
        if c.is_public() {
            "none"
        } else {
            "client_secret_basic"
        }
        .into()
    }

    /// RFC 7592 §2.1.
    pub async fn read_registration(
        &self,
        id: &str,
        token: Option<&str>,
    ) -> Result<RegistrationView, OAuthError> {
        let c = self.registered(id, token).await?;
        Ok(self.registration_view(&c, Self::auth_method_of(&c), None, None))
    }

    /// RFC 7592 §2.2: replaces the registered metadata. The client stays
    /// public or confidential as registered: a secret cannot appear or
    /// vanish by an update.
    pub async fn update_registration(
        &self,
        id: &str,
        token: Option<&str>,
        metadata: ClientMetadata,
    ) -> Result<RegistrationView, OAuthError> {
        let mut c = self.registered(id, token).await?;
        if metadata.client_id.as_deref() != Some(id) {
            return Err(bad_metadata(
                "client_id must be sent and be this client's id",
            ));
        }
        let checked = check(metadata, &self.registrant_scopes().await?)?;
        if (checked.auth_method == "none") != c.is_public() {
            return Err(bad_metadata(
                "token_endpoint_auth_method cannot change between none and a client secret; register a new client",
            ));
        }
        c.name = checked.name;
        c.redirect_uris = checked.redirect_uris;
        c.grant_types = checked.grant_types;
        c.scopes = checked.scopes;
        c.oidc = checked.oidc;
        c.updated_at = self.now();
        if !self.store.update_client(&c).await? {
            return Err(bad_token());
        }
        self.forget_client(&c.id);
        Ok(self.registration_view(&c, checked.auth_method, None, None))
    }

    /// RFC 7592 §2.3.
    pub async fn delete_registration(
        &self,
        id: &str,
        token: Option<&str>,
    ) -> Result<(), OAuthError> {
        let c = self.registered(id, token).await?;
        self.store.delete_client(&c.id).await?;
        self.forget_client(&c.id);
        tracing::info!(client_id = %c.id, "client deleted its registration");
        Ok(())
    }

    /// Records that a dynamically registered client got a token, at most
    /// once an hour, so that only unused registrations expire.
    pub(crate) async fn note_client_use(&self, c: &Client) {
        if let ClientOrigin::Dynamic { last_used_at, .. } = c.origin {
            let now = self.now();
            if now - last_used_at >= TOUCH_EVERY {
                match self.store.touch_client(&c.id, now).await {
                    Ok(()) => self.forget_client(&c.id),
                    Err(e) => {
                        tracing::warn!(client_id = %c.id, error = %e, "could not record client use")
                    }
                }
            }
        }
    }

    /// Deletes registrations unused for `unused_expiry`; how many.
    pub async fn sweep_unused_registrations(&self) -> Result<usize, OAuthError> {
        let before = self.now() - self.settings.registration.unused_expiry.as_secs() as i64;
        let gone = self.store.delete_unused_clients(before).await?;
        for id in &gone {
            self.forget_client(id);
            tracing::info!(client_id = %id, "deleted an unused self-registered client");
        }
        Ok(gone.len())
    }
}
