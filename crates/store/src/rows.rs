//! Rows as the database returns them, and their conversion to domain
//! records. A stored value that no longer parses is a store error, never a
//! panic.

use std::fmt::Display;
use std::str::FromStr;

use portcullis_core::model::{
    ApiKeyRecord, Authentication, AuthorizationCode, Client, ClientOrigin, Consent, GrantPolicy,
    Owner, PendingAuthorization, Redemption, RefreshTokenRecord, Resource, ResponseType,
    ScopeDefinition, Session, SigningAlg, SigningKeyRecord, User,
};
use portcullis_core::store::StoreError;
use portcullis_protocol::{ClientId, Jti, KeyId, RedirectUri, ScopeSet, SecretHash, UserId};

pub(crate) fn join<T: Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

fn split<T: FromStr>(s: &str, what: &str) -> Result<Vec<T>, StoreError>
where
    T::Err: Display,
{
    s.split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse()
                .map_err(|e| StoreError::Other(format!("stored {what} `{t}`: {e}")))
        })
        .collect()
}

/// The registration token hash and last use of a dynamically registered
/// client; `None`s for the others.
pub(crate) fn registration_columns(c: &Client) -> (Option<Vec<u8>>, Option<i64>) {
    match &c.origin {
        ClientOrigin::Dynamic {
            registration_token,
            last_used_at,
        } => (
            Some(registration_token.as_bytes().to_vec()),
            Some(*last_used_at),
        ),
        ClientOrigin::Registered | ClientOrigin::Document => (None, None),
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ClientRow {
    id: String,
    name: String,
    secret_hash: Option<Vec<u8>>,
    redirect_uris: String,
    grant_types: String,
    scopes: String,
    default_scopes: Option<String>,
    token_lifetime: Option<i64>,
    require_pkce: bool,
    owner: Option<String>,
    resources: String,
    registration_token_hash: Option<Vec<u8>>,
    last_used_at: Option<i64>,
    oidc: String,
    created_at: i64,
    updated_at: i64,
}

impl ClientRow {
    pub(crate) fn into_client(self) -> Result<Client, StoreError> {
        let secret_hash = match self.secret_hash {
            Some(b) => Some(SecretHash::from_slice(&b).ok_or_else(|| {
                StoreError::Other(format!("client {}: malformed secret hash", self.id))
            })?),
            None => None,
        };
        let redirect_uris = self
            .redirect_uris
            .split(' ')
            .filter(|t| !t.is_empty())
            .map(|u| {
                portcullis_protocol::RedirectUri::parse(u)
                    .map_err(|e| StoreError::Other(format!("client {}: {e}", self.id)))
            })
            .collect::<Result<_, _>>()?;
        let origin = match self.registration_token_hash {
            None => ClientOrigin::Registered,
            Some(b) => ClientOrigin::Dynamic {
                registration_token: SecretHash::from_slice(&b).ok_or_else(|| {
                    StoreError::Other(format!("client {}: malformed registration hash", self.id))
                })?,
                last_used_at: self.last_used_at.unwrap_or(self.created_at),
            },
        };
        Ok(Client {
            origin,
            grant_types: split(&self.grant_types, "grant type")?,
            scopes: ScopeSet::parse(&self.scopes)
                .map_err(|e| StoreError::Other(format!("client {}: {e}", self.id)))?,
            default_scopes: self
                .default_scopes
                .as_deref()
                .map(ScopeSet::parse)
                .transpose()
                .map_err(|e| StoreError::Other(format!("client {} defaults: {e}", self.id)))?,
            id: ClientId::new(self.id),
            name: self.name,
            secret_hash,
            redirect_uris,
            token_lifetime: self.token_lifetime,
            require_pkce: self.require_pkce,
            owner: self.owner.map(UserId::new),
            resources: split(&self.resources, "resource")?,
            oidc: json_column(&self.oidc, "client OIDC settings")?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ResourceRow {
    uri: String,
    name: String,
    scopes: String,
    restricted: bool,
    created_at: i64,
}

impl ResourceRow {
    pub(crate) fn into_resource(self) -> Result<Resource, StoreError> {
        Ok(Resource {
            uri: self
                .uri
                .parse()
                .map_err(|e| StoreError::Other(format!("resource: {e}")))?,
            scopes: scopes(&self.scopes)?,
            name: self.name,
            restricted: self.restricted,
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ScopeRow {
    name: String,
    description: String,
    requires_resource: bool,
    grant_policy: String,
    machine_grantable: bool,
    listed: bool,
    created_at: i64,
}

impl ScopeRow {
    pub(crate) fn into_definition(self) -> Result<ScopeDefinition, StoreError> {
        Ok(ScopeDefinition {
            grant_policy: GrantPolicy::parse(&self.grant_policy).ok_or_else(|| {
                StoreError::Other(format!(
                    "scope {}: grant policy {}",
                    self.name, self.grant_policy
                ))
            })?,
            name: self.name,
            description: self.description,
            requires_resource: self.requires_resource,
            machine_grantable: self.machine_grantable,
            listed: self.listed,
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct KeyRow {
    kid: String,
    alg: String,
    private_pkcs8: Vec<u8>,
    created_at: i64,
    active_at: i64,
    retired_at: Option<i64>,
}

impl KeyRow {
    pub(crate) fn into_record(self) -> Result<SigningKeyRecord, StoreError> {
        let alg = SigningAlg::parse(&self.alg).ok_or_else(|| {
            StoreError::Other(format!(
                "signing key {}: unknown alg {}",
                self.kid, self.alg
            ))
        })?;
        Ok(SigningKeyRecord {
            kid: KeyId::new(self.kid),
            alg,
            private_pkcs8: self.private_pkcs8,
            created_at: self.created_at,
            active_at: self.active_at,
            retired_at: self.retired_at,
        })
    }
}

fn hash(bytes: &[u8], what: &str) -> Result<SecretHash, StoreError> {
    SecretHash::from_slice(bytes).ok_or_else(|| StoreError::Other(format!("malformed {what} hash")))
}

fn scopes(s: &str) -> Result<ScopeSet, StoreError> {
    ScopeSet::parse(s).map_err(|e| StoreError::Other(format!("stored scopes: {e}")))
}

fn redirect(s: &str) -> Result<RedirectUri, StoreError> {
    RedirectUri::parse(s).map_err(|e| StoreError::Other(format!("stored redirect URI: {e}")))
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    username: String,
    password_hash: String,
    disabled: bool,
    admin: bool,
    profile: String,
    created_at: i64,
    updated_at: i64,
}

impl UserRow {
    pub(crate) fn into_user(self) -> Result<User, StoreError> {
        Ok(User {
            profile: json_column(&self.profile, "user profile")?,
            id: UserId::new(self.id),
            username: self.username,
            password_hash: self.password_hash,
            disabled: self.disabled,
            admin: self.admin,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    id_hash: Vec<u8>,
    user_id: String,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
}

impl SessionRow {
    pub(crate) fn into_session(self) -> Result<Session, StoreError> {
        Ok(Session {
            id_hash: hash(&self.id_hash, "session")?,
            user_id: UserId::new(self.user_id),
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
            expires_at: self.expires_at,
        })
    }
}

/// A JSON column read back: a value this code did not write is an error,
/// never a panic.
/// The JSON text of a value kept in a JSON column.
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("a JSON column's value serializes")
}

pub(crate) fn json_column<T: serde::de::DeserializeOwned>(
    s: &str,
    what: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Other(format!("stored {what}: {e}")))
}

fn login_column(s: Option<&str>) -> Result<Option<Authentication>, StoreError> {
    s.map(|s| json_column(s, "authentication")).transpose()
}

/// The column value of an optional authentication.
pub(crate) fn login_json(a: Option<&Authentication>) -> Option<String> {
    a.map(|a| serde_json::to_string(a).expect("authentication serializes"))
}

#[derive(sqlx::FromRow)]
pub(crate) struct PendingRow {
    id: String,
    client_id: String,
    redirect_uri: String,
    response_type: String,
    scopes: String,
    state: Option<String>,
    code_challenge: Option<String>,
    prompt: Option<String>,
    user_id: Option<String>,
    created_at: i64,
    expires_at: i64,
    resources: String,
    oidc: String,
}

impl PendingRow {
    pub(crate) fn into_pending(self) -> Result<PendingAuthorization, StoreError> {
        Ok(PendingAuthorization {
            response_type: ResponseType::parse(&self.response_type).ok_or_else(|| {
                StoreError::Other(format!("stored response type {}", self.response_type))
            })?,
            redirect_uri: redirect(&self.redirect_uri)?,
            scopes: scopes(&self.scopes)?,
            id: self.id,
            client_id: ClientId::new(self.client_id),
            state: self.state,
            code_challenge: self.code_challenge,
            prompt: self.prompt,
            user_id: self.user_id.map(UserId::new),
            resources: split(&self.resources, "resource")?,
            oidc: json_column(&self.oidc, "authorization request parameters")?,
            created_at: self.created_at,
            expires_at: self.expires_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ConsentRow {
    id: String,
    user_id: String,
    client_id: String,
    scopes: String,
    created_at: i64,
    updated_at: i64,
    revoked_at: Option<i64>,
}

impl ConsentRow {
    pub(crate) fn into_consent(self) -> Result<Consent, StoreError> {
        Ok(Consent {
            scopes: scopes(&self.scopes)?,
            id: self.id,
            user_id: UserId::new(self.user_id),
            client_id: ClientId::new(self.client_id),
            created_at: self.created_at,
            updated_at: self.updated_at,
            revoked_at: self.revoked_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CodeRow {
    code_hash: Vec<u8>,
    client_id: String,
    user_id: String,
    consent_id: String,
    redirect_uri: String,
    scopes: String,
    code_challenge: Option<String>,
    created_at: i64,
    expires_at: i64,
    resources: String,
    login: Option<String>,
}

impl CodeRow {
    pub(crate) fn into_code(self) -> Result<AuthorizationCode, StoreError> {
        Ok(AuthorizationCode {
            code_hash: hash(&self.code_hash, "code")?,
            redirect_uri: redirect(&self.redirect_uri)?,
            scopes: scopes(&self.scopes)?,
            client_id: ClientId::new(self.client_id),
            user_id: UserId::new(self.user_id),
            consent_id: self.consent_id,
            code_challenge: self.code_challenge,
            resources: split(&self.resources, "resource")?,
            login: login_column(self.login.as_deref())?,
            created_at: self.created_at,
            expires_at: self.expires_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RedemptionRow {
    redeemed_at: Option<i64>,
    family_id: Option<String>,
    access_jti: Option<String>,
    access_exp: Option<i64>,
}

impl RedemptionRow {
    pub(crate) fn into_redemption(self) -> Option<Redemption> {
        Some(Redemption {
            redeemed_at: self.redeemed_at?,
            family_id: self.family_id?,
            access_jti: Jti::new(self.access_jti?),
            access_exp: self.access_exp?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RefreshRow {
    token_hash: Vec<u8>,
    family_id: String,
    client_id: String,
    user_id: String,
    consent_id: String,
    scopes: String,
    access_jti: String,
    access_exp: i64,
    created_at: i64,
    expires_at: i64,
    resources: String,
    login: Option<String>,
}

impl RefreshRow {
    pub(crate) fn into_record(self) -> Result<RefreshTokenRecord, StoreError> {
        Ok(RefreshTokenRecord {
            token_hash: hash(&self.token_hash, "refresh token")?,
            scopes: scopes(&self.scopes)?,
            family_id: self.family_id,
            client_id: ClientId::new(self.client_id),
            user_id: UserId::new(self.user_id),
            consent_id: self.consent_id,
            access_jti: Jti::new(self.access_jti),
            access_exp: self.access_exp,
            resources: split(&self.resources, "resource")?,
            login: login_column(self.login.as_deref())?,
            created_at: self.created_at,
            expires_at: self.expires_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ApiKeyRow {
    id: String,
    name: String,
    owner_kind: String,
    owner_id: String,
    secret_hash: Vec<u8>,
    scopes: String,
    created_at: i64,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl ApiKeyRow {
    pub(crate) fn into_record(self) -> Result<ApiKeyRecord, StoreError> {
        Ok(ApiKeyRecord {
            owner: Owner::from_parts(&self.owner_kind, &self.owner_id).ok_or_else(|| {
                StoreError::Other(format!(
                    "API key {}: owner kind {}",
                    self.id, self.owner_kind
                ))
            })?,
            secret_hash: hash(&self.secret_hash, "API key")?,
            scopes: scopes(&self.scopes)?,
            id: self.id,
            name: self.name,
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            revoked_at: self.revoked_at,
        })
    }
}
