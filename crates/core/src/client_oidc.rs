//! A client's OpenID Connect settings: where logout may send the browser
//! back to (RP-Initiated Logout 1.0), where logout tokens go (Back-Channel
//! Logout 1.0), how its users are named (`sub`, OIDC Core §8) and how its
//! ID tokens are signed.

use portcullis_protocol::RedirectUri;
use serde::{Deserialize, Serialize};

use crate::model::SigningAlg;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientOidc {
    /// Exact-match targets of `post_logout_redirect_uri`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// Where logout tokens are POSTed; `https` (or loopback `http`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<url::Url>,
    /// The client wants `sid` in its logout tokens.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub backchannel_logout_session_required: bool,
    #[serde(default, skip_serializing_if = "SubjectType::is_public")]
    pub subject_type: SubjectType,
    /// `None`: RS256, which every relying party supports (OIDC Core §15.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<SigningAlg>,
}

/// How a client sees its users' `sub`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SubjectType {
    /// The user's id, the same at every client.
    #[default]
    Public,
    /// An identifier of the user for one sector (OIDC Core §8.1): clients
    /// of the same sector see the same `sub`, others cannot correlate it.
    Pairwise { sector_identifier: String },
}

impl SubjectType {
    pub fn is_public(&self) -> bool {
        matches!(self, Self::Public)
    }

    /// The `subject_type` metadata value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Pairwise { .. } => "pairwise",
        }
    }
}

/// The settings as the admin API, the CLI, the console and registration
/// (RFC 7591 with OpenID Connect Dynamic Client Registration 1.0 §2 and the
/// logout specifications' parameters) write them: plain strings, parsed by
/// [`OidcSettings::parse`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcSettings {
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
    /// `public` (the default) or `pairwise`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_type: Option<String>,
    /// The host a pairwise client's subjects are computed for; defaults to
    /// the host of its redirect URIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector_identifier: Option<String>,
    /// RS256 (the default), ES256 or EdDSA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<String>,
}

/// Most post-logout redirect URIs a client may register.
pub const MAX_POST_LOGOUT_URIS: usize = 20;

impl OidcSettings {
    /// The settings, parsed. The result still needs
    /// [`ClientOidc::validated`] against the client's redirect URIs.
    pub fn parse(self) -> Result<ClientOidc, ClientOidcError> {
        let err = |m: String| ClientOidcError(m);
        if self.post_logout_redirect_uris.len() > MAX_POST_LOGOUT_URIS {
            return Err(err(format!(
                "register at most {MAX_POST_LOGOUT_URIS} post_logout_redirect_uris"
            )));
        }
        let post_logout_redirect_uris = self
            .post_logout_redirect_uris
            .iter()
            .enumerate()
            .map(|(i, u)| {
                RedirectUri::parse(u)
                    .map_err(|e| err(format!("post_logout_redirect_uris[{i}]: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let backchannel_logout_uri = self
            .backchannel_logout_uri
            .filter(|u| !u.is_empty())
            .map(|u| {
                url::Url::parse(&u)
                    .map_err(|_| err("backchannel_logout_uri is not an absolute URI".into()))
            })
            .transpose()?;
        let subject_type = match self.subject_type.as_deref() {
            None | Some("" | "public") => {
                if self.sector_identifier.is_some() {
                    return Err(err("sector_identifier is for pairwise clients".into()));
                }
                SubjectType::Public
            }
            Some("pairwise") => SubjectType::Pairwise {
                sector_identifier: self.sector_identifier.unwrap_or_default(),
            },
            Some(_) => return Err(err("subject_type must be public or pairwise".into())),
        };
        let id_token_signed_response_alg = self
            .id_token_signed_response_alg
            .as_deref()
            .filter(|a| !a.is_empty())
            .map(|a| {
                SigningAlg::parse(a).ok_or_else(|| {
                    err("id_token_signed_response_alg must be RS256, ES256 or EdDSA".into())
                })
            })
            .transpose()?;
        Ok(ClientOidc {
            post_logout_redirect_uris,
            backchannel_logout_uri,
            backchannel_logout_session_required: self.backchannel_logout_session_required,
            subject_type,
            id_token_signed_response_alg,
        })
    }
}

impl From<&ClientOidc> for OidcSettings {
    fn from(o: &ClientOidc) -> Self {
        Self {
            post_logout_redirect_uris: o
                .post_logout_redirect_uris
                .iter()
                .map(ToString::to_string)
                .collect(),
            backchannel_logout_uri: o.backchannel_logout_uri.as_ref().map(ToString::to_string),
            backchannel_logout_session_required: o.backchannel_logout_session_required,
            subject_type: Some(o.subject_type.as_str().to_owned()),
            sector_identifier: o.sector().map(str::to_owned),
            id_token_signed_response_alg: Some(
                o.id_token_signed_response_alg
                    .unwrap_or(crate::keyring::ID_TOKEN_DEFAULT_ALG)
                    .as_str()
                    .to_owned(),
            ),
        }
    }
}

/// Why OIDC client settings were refused, as `invalid_client_metadata`
/// (or the CLI's and admin API's error) says it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ClientOidcError(pub String);

impl ClientOidc {
    /// Checks what the redirect URIs' own parsing does not: the logout URI
    /// is absolute `https` (or `http` on loopback, as development needs)
    /// without fragment, and a pairwise sector is a host name. The sector
    /// defaults to the host of the client's redirect URIs when they all
    /// share one (OIDC Core §8.1), else it must be given.
    pub fn validated(mut self, redirect_uris: &[RedirectUri]) -> Result<Self, ClientOidcError> {
        if let Some(u) = &self.backchannel_logout_uri {
            let loopback = matches!(u.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
            if !(u.scheme() == "https" || (u.scheme() == "http" && loopback)) {
                return Err(ClientOidcError(
                    "backchannel_logout_uri must be https (http only on loopback)".into(),
                ));
            }
            if u.fragment().is_some() {
                return Err(ClientOidcError(
                    "backchannel_logout_uri must not have a fragment".into(),
                ));
            }
        } else if self.backchannel_logout_session_required {
            return Err(ClientOidcError(
                "backchannel_logout_session_required needs a backchannel_logout_uri".into(),
            ));
        }
        if let SubjectType::Pairwise { sector_identifier } = &mut self.subject_type {
            if sector_identifier.is_empty() {
                let mut hosts: Vec<String> = redirect_uris
                    .iter()
                    .filter_map(|r| {
                        url::Url::parse(r.as_str())
                            .ok()
                            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
                    })
                    .collect();
                hosts.sort_unstable();
                hosts.dedup();
                match hosts.as_slice() {
                    [one] => sector_identifier.clone_from(one),
                    _ => {
                        return Err(ClientOidcError(
                            "a pairwise client whose redirect URIs are on several hosts (or none) \
                             needs a sector identifier"
                                .into(),
                        ));
                    }
                }
            }
            let s = sector_identifier.to_ascii_lowercase();
            let host_like = !s.is_empty()
                && s.len() <= 253
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
            if !host_like {
                return Err(ClientOidcError(
                    "the sector identifier must be a host name such as example.com".into(),
                ));
            }
            *sector_identifier = s;
        }
        Ok(self)
    }

    /// The sector of a pairwise client.
    pub fn sector(&self) -> Option<&str> {
        match &self.subject_type {
            SubjectType::Pairwise { sector_identifier } => Some(sector_identifier),
            SubjectType::Public => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uris(u: &[&str]) -> Vec<RedirectUri> {
        u.iter().map(|u| RedirectUri::parse(u).unwrap()).collect()
    }

    #[test]
    fn the_sector_defaults_to_the_one_redirect_host() {
        let o = ClientOidc {
            subject_type: SubjectType::Pairwise {
                sector_identifier: String::new(),
            },
            ..Default::default()
        };
        let v = o
            .clone()
            .validated(&uris(&[
                "https://App.Example/cb",
                "https://app.example/other",
            ]))
            .unwrap();
        assert_eq!(v.sector(), Some("app.example"));
        assert!(
            o.validated(&uris(&["https://a.example/cb", "https://b.example/cb"]))
                .is_err()
        );
    }

    #[test]
    fn logout_uris_must_be_secure() {
        let with = |u: &str| ClientOidc {
            backchannel_logout_uri: Some(u.parse().unwrap()),
            ..Default::default()
        };
        assert!(with("https://rp.example/logout").validated(&[]).is_ok());
        assert!(with("http://127.0.0.1:8080/logout").validated(&[]).is_ok());
        assert!(with("http://rp.example/logout").validated(&[]).is_err());
        assert!(with("https://rp.example/logout#x").validated(&[]).is_err());
        let session_only = ClientOidc {
            backchannel_logout_session_required: true,
            ..Default::default()
        };
        assert!(session_only.validated(&[]).is_err());
    }
}
