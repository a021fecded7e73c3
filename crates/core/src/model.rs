//! Records as the domain sees them.

use portcullis_protocol::{
    ClientId, GrantType, Jti, KeyId, RedirectUri, ResourceUri, ScopeSet, SecretHash, UserId,
};
use serde::{Deserialize, Serialize};

use crate::client_oidc::ClientOidc;
use crate::profile::UserProfile;

/// A registered client. Confidential clients have a secret hash; public
/// clients (native and browser apps) have none and must use PKCE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: ClientId,
    pub name: String,
    pub secret_hash: Option<SecretHash>,
    pub redirect_uris: Vec<RedirectUri>,
    pub grant_types: Vec<GrantType>,
    pub scopes: ScopeSet,
    /// What a request without `scope` gets (RFC 6749 §3.3); `None` means
    /// every plain scope in `scopes`.
    pub default_scopes: Option<ScopeSet>,
    /// Access-token lifetime in seconds; `None` means the server default.
    pub token_lifetime: Option<i64>,
    /// PKCE on the authorization-code grant. Always true for public clients.
    pub require_pkce: bool,
    /// The developer who registered it; `None` for operator-made clients.
    pub owner: Option<UserId>,
    /// Restricted resources this client may ask tokens for (RFC 8707);
    /// open resources need no entry.
    pub resources: Vec<ResourceUri>,
    /// How the client came to be known, which decides who may change it
    /// and how far its self-description is trusted.
    pub origin: ClientOrigin,
    pub oidc: ClientOidc,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Where a client's registration comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientOrigin {
    /// Registered by the operator, an administrator or a developer.
    Registered,
    /// Registered itself at the registration endpoint (RFC 7591) and
    /// manages itself with its registration access token (RFC 7592).
    Dynamic {
        registration_token: SecretHash,
        /// Last time it obtained a token; unused registrations expire.
        last_used_at: i64,
    },
    /// Not stored: its id is the URL of a client ID metadata document,
    /// fetched and cached (draft-ietf-oauth-client-id-metadata-document).
    Document,
}

impl Client {
    /// Its name and redirect URIs are the client's own claim, checked by
    /// no operator: the consent page says so.
    pub fn is_self_asserted(&self) -> bool {
        !matches!(self.origin, ClientOrigin::Registered)
    }

    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    pub fn allows_grant(&self, g: GrantType) -> bool {
        self.grant_types.contains(&g)
    }
}

#[cfg(test)]
impl Client {
    /// A public client with nothing set, for unit tests to adjust.
    pub(crate) fn blank() -> Self {
        Self {
            id: ClientId::new("c"),
            name: "c".into(),
            secret_hash: None,
            redirect_uris: vec![],
            grant_types: vec![],
            scopes: ScopeSet::default(),
            default_scopes: None,
            token_lifetime: None,
            require_pkce: true,
            owner: None,
            resources: vec![],
            origin: ClientOrigin::Registered,
            oidc: Default::default(),
            created_at: 0,
            updated_at: 0,
        }
    }
}

/// Who may allow a scope on a client or an API key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GrantPolicy {
    /// Any developer, on their own clients and keys.
    SelfService,
    /// Only an administrator.
    #[default]
    Restricted,
}

impl GrantPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SelfService => "self-service",
            Self::Restricted => "restricted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "self-service" => Some(Self::SelfService),
            "restricted" => Some(Self::Restricted),
            _ => None,
        }
    }
}

/// Scopes of Portcullis itself (`portcullis:admin`) are never self-service,
/// whatever their definition says.
pub const RESERVED_SCOPE_PREFIX: &str = "portcullis:";

/// A scope the server knows, with the text shown on the consent page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeDefinition {
    pub name: String,
    pub description: String,
    /// When set, the scope is only valid as `NAME__RESOURCEID`.
    pub requires_resource: bool,
    pub grant_policy: GrantPolicy,
    /// A resource permission normally comes only from a user's consent;
    /// when set, clients (client_credentials) and API keys may hold it too,
    /// each grant still asked of the resource hook.
    pub machine_grantable: bool,
    /// Named in the metadata's `scopes_supported`. An unlisted scope works
    /// the same; it is just not advertised.
    pub listed: bool,
    pub created_at: i64,
}

impl ScopeDefinition {
    pub fn effective_policy(&self) -> GrantPolicy {
        if self.name.starts_with(RESERVED_SCOPE_PREFIX) {
            GrantPolicy::Restricted
        } else {
            self.grant_policy
        }
    }
}

/// An API that accepts Portcullis tokens (a resource server, RFC 8707): a
/// token asked for it carries its identifier as `aud`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub uri: ResourceUri,
    /// Shown on the consent page.
    pub name: String,
    /// The scopes this API understands; when set, a token for it holds no
    /// other scope. Empty: any scope.
    pub scopes: ScopeSet,
    /// Only clients allowed it by name may ask for it; otherwise every
    /// client may.
    pub restricted: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigningAlg {
    ES256,
    EdDSA,
    RS256,
}

impl SigningAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
            Self::RS256 => "RS256",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ES256" => Some(Self::ES256),
            "EdDSA" => Some(Self::EdDSA),
            "RS256" => Some(Self::RS256),
            _ => None,
        }
    }
}

/// A signing key as stored. The private key is PKCS#8 DER.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: KeyId,
    pub alg: SigningAlg,
    pub private_pkcs8: Vec<u8>,
    pub created_at: i64,
    /// Published from creation; used for signing from this time on.
    pub active_at: i64,
    /// When set, no longer signs; stays published until every token it
    /// signed has expired.
    pub retired_at: Option<i64>,
}

impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("created_at", &self.created_at)
            .field("active_at", &self.active_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

/// An end user who logs in to approve clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub disabled: bool,
    pub admin: bool,
    pub profile: UserProfile,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A grant: the user's consent to a client for some scopes. Tokens point at
/// it, so revoking it revokes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub id: String,
    pub user_id: UserId,
    pub client_id: ClientId,
    pub scopes: ScopeSet,
    pub created_at: i64,
    pub updated_at: i64,
    pub revoked_at: Option<i64>,
}

/// An authorization request waiting for the user to log in or consent,
/// held server-side and referred to by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAuthorization {
    pub id: String,
    pub client_id: ClientId,
    pub redirect_uri: RedirectUri,
    pub response_type: ResponseType,
    pub scopes: ScopeSet,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Option<String>,
    /// Set once a logged-in user has taken the request up.
    pub user_id: Option<UserId>,
    /// RFC 8707 resources the request named, checked.
    pub resources: Vec<ResourceUri>,
    /// OpenID Connect parameters of the request.
    pub oidc: OidcRequest,
    pub created_at: i64,
    pub expires_at: i64,
}

/// What an authorization request asked of the login (OIDC Core §3.1.2.1),
/// kept with it until the user has logged in and decided.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OidcRequest {
    /// Echoed in the ID token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// A login older than this many seconds must be repeated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<i64>,
    /// Prefills the login form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_hint: Option<String>,
    /// The `sub` of a verified `id_token_hint`: only that user may
    /// continue without logging in again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint_subject: Option<String>,
}

/// How and when the user logged in, carried from the decision to the code
/// and to every refresh token of the grant, so that each ID token of the
/// grant tells the same (OIDC Core §12.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authentication {
    pub auth_time: i64,
    /// The login session, as logout names it.
    pub sid: String,
    /// OIDC Core §2 / RFC 8176: `pwd`.
    pub amr: Vec<String>,
    /// Only the first ID token (the code's) carries the request's nonce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    Code,
    Token,
}

impl ResponseType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::Token => "token",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "code" => Some(Self::Code),
            "token" => Some(Self::Token),
            _ => None,
        }
    }
}

/// An issued authorization code, keyed by its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    pub code_hash: SecretHash,
    pub client_id: ClientId,
    pub user_id: UserId,
    pub consent_id: String,
    pub redirect_uri: RedirectUri,
    pub scopes: ScopeSet,
    pub code_challenge: Option<String>,
    /// The resources consented to; the token request may narrow them.
    pub resources: Vec<ResourceUri>,
    /// Set when the grant includes `openid`: the ID token's facts.
    pub login: Option<Authentication>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// What a code's redemption produced, recorded atomically with the
/// redemption so that a replay can revoke it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redemption {
    pub family_id: String,
    pub access_jti: Jti,
    pub access_exp: i64,
    pub redeemed_at: i64,
}

/// A refresh token, keyed by its hash. Tokens of one family descend from
/// one code redemption; each use rotates to a new member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    pub token_hash: SecretHash,
    pub family_id: String,
    pub client_id: ClientId,
    pub user_id: UserId,
    pub consent_id: String,
    pub scopes: ScopeSet,
    /// The access token issued beside it, revoked with the family.
    pub access_jti: Jti,
    pub access_exp: i64,
    /// The grant's resources: a refresh may narrow them, never widen.
    pub resources: Vec<ResourceUri>,
    /// Set when the grant includes `openid` (never with a nonce).
    pub login: Option<Authentication>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A browser session of a logged-in user, keyed by the hash of its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id_hash: SecretHash,
    pub user_id: UserId,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

/// Who an API key acts for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Owner {
    User(UserId),
    Client(ClientId),
}

impl Owner {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::User(_) => "user",
            Self::Client(_) => "client",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Self::User(u) => u.as_str(),
            Self::Client(c) => c.as_str(),
        }
    }

    /// From the stored pair; `None` for an unknown kind.
    pub fn from_parts(kind: &str, id: &str) -> Option<Self> {
        match kind {
            "user" => Some(Self::User(UserId::new(id))),
            "client" => Some(Self::Client(ClientId::new(id))),
            _ => None,
        }
    }
}

/// An API secret key as stored: never the secret, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: String,
    pub name: String,
    pub owner: Owner,
    pub secret_hash: SecretHash,
    pub scopes: ScopeSet,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}
