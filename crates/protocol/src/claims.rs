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
    pub aud: String,
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
