//! Access-token claims in the RFC 9068 profile.

use serde::{Deserialize, Serialize};

use crate::{ClientId, Jti, ScopeSet};

/// The JWT `typ` of an access token (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    /// The user's id, or the client's id for client credentials.
    pub sub: String,
    pub aud: Audience,
    pub client_id: ClientId,
    #[serde(default, skip_serializing_if = "ScopeSet::is_empty")]
    pub scope: ScopeSet,
    pub jti: Jti,
    pub iat: i64,
    pub exp: i64,
    /// The grant (the user's consent) a user token was issued under, so that
    /// revoking the consent deactivates the token. Absent for client tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
}

/// The JWT `typ` of an ID token: plain `JWT` (OIDC Core leaves it open;
/// a distinct one from access tokens keeps either from passing as the other).
pub const ID_TOKEN_TYP: &str = "JWT";

/// An ID token (OIDC Core §2). Claims about the user come from userinfo;
/// the token itself says who logged in, when, how, and for whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    /// The user's id, or its pairwise alias for this client's sector.
    pub sub: String,
    /// The client's id (one audience only, so `azp` equals it).
    pub aud: String,
    pub azp: ClientId,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// OIDC Core §3.1.3.6: half the access token's hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// The login session (Front/Back-Channel Logout 1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// `aud`: the configured audience, or the resources the token was asked
/// for (RFC 8707 §2.2); one is a string, several an array (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn of(mut values: Vec<String>) -> Self {
        if values.len() == 1 {
            Self::One(values.remove(0))
        } else {
            Self::Many(values)
        }
    }

    pub fn contains(&self, value: &str) -> bool {
        match self {
            Self::One(v) => v == value,
            Self::Many(vs) => vs.iter().any(|v| v == value),
        }
    }
}

impl From<String> for Audience {
    fn from(v: String) -> Self {
        Self::One(v)
    }
}
