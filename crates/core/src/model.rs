//! Records as the domain sees them.

use portcullis_protocol::{ClientId, GrantType, KeyId, RedirectUri, ScopeSet, SecretHash};
use serde::{Deserialize, Serialize};

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
    /// Access-token lifetime in seconds; `None` means the server default.
    pub token_lifetime: Option<i64>,
    /// PKCE on the authorization-code grant. Always true for public clients.
    pub require_pkce: bool,
    pub owner: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    pub fn allows_grant(&self, g: GrantType) -> bool {
        self.grant_types.contains(&g)
    }
}

/// A scope the server knows, with the text shown on the consent page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeDefinition {
    pub name: String,
    pub description: String,
    /// When set, the scope is only valid as `NAME__RESOURCEID`.
    pub requires_resource: bool,
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
