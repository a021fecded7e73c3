use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The grant types a client may be registered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    ClientCredentials,
    RefreshToken,
    Implicit,
}

impl GrantType {
    pub const ALL: [GrantType; 4] = [
        Self::AuthorizationCode,
        Self::ClientCredentials,
        Self::RefreshToken,
        Self::Implicit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::ClientCredentials => "client_credentials",
            Self::RefreshToken => "refresh_token",
            Self::Implicit => "implicit",
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownGrantType(pub String);

impl fmt::Display for UnknownGrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown grant type `{}` (expected one of: authorization_code, client_credentials, refresh_token, implicit)",
            self.0
        )
    }
}

impl std::error::Error for UnknownGrantType {}

impl FromStr for GrantType {
    type Err = UnknownGrantType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| UnknownGrantType(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_unknown() {
        for g in GrantType::ALL {
            assert_eq!(g.as_str().parse::<GrantType>().unwrap(), g);
        }
        let err = "password".parse::<GrantType>().unwrap_err();
        assert!(err.to_string().contains("`password`"));
    }
}
