//! OpenID Connect on the code flow: what an authorization request asks of
//! the login (`prompt`, `max_age`, hints), the ID token, subject
//! identifiers and the claims released by scope. The flow itself stays in
//! `authorize` and `grant`; they call in here.

pub mod claims;
pub mod id_token;
pub mod logout;
pub mod userinfo;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_protocol::{OAuthError, UserId};
use sha2::{Digest, Sha256};

use crate::model::{Client, Session};
use crate::server::AuthServer;

/// `prompt` (OIDC Core §3.1.2.1), parsed. `select_account` is treated as
/// `login`: there is one account per browser session, and choosing another
/// means logging in as it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

impl Prompt {
    pub fn parse(value: Option<&str>) -> Result<Self, OAuthError> {
        let mut p = Self::default();
        let Some(value) = value else {
            return Ok(p);
        };
        for word in value.split(' ').filter(|w| !w.is_empty()) {
            match word {
                "none" => p.none = true,
                "login" | "select_account" => p.login = true,
                "consent" => p.consent = true,
                other => {
                    return Err(OAuthError::invalid_request(format!(
                        "prompt value `{}` is unknown: use none, login, consent or select_account",
                        other.escape_default()
                    )));
                }
            }
        }
        if p.none && (p.login || p.consent) {
            return Err(OAuthError::invalid_request(
                "prompt=none cannot be combined with another prompt value",
            ));
        }
        Ok(p)
    }

    /// The canonical form kept with the request.
    pub fn to_value(self) -> Option<String> {
        let words: Vec<&str> = [
            (self.none, "none"),
            (self.login, "login"),
            (self.consent, "consent"),
        ]
        .into_iter()
        .filter_map(|(on, w)| on.then_some(w))
        .collect();
        (!words.is_empty()).then(|| words.join(" "))
    }
}

/// The `sid` of a browser session: derived from the hash of its cookie, so
/// it names the session without revealing anything that opens it.
pub fn sid_of(session: &Session) -> String {
    sid_of_hash_bytes(session.id_hash.as_bytes())
}

pub(crate) fn sid_of_hash_bytes(id_hash: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"portcullis sid\0");
    h.update(id_hash);
    URL_SAFE_NO_PAD.encode(&h.finalize()[..16])
}

/// Pairwise subjects (OIDC Core §8.1) are keyed by this server-wide salt,
/// made once and kept in the store.
pub(crate) const PAIRWISE_SALT: &str = "pairwise_subject_salt";

impl AuthServer {
    /// The `sub` `client` knows `user` by: the user's id, or for a pairwise
    /// client an alias no other sector can correlate.
    pub fn subject_for(&self, client: &Client, user: &UserId) -> String {
        match client.oidc.sector() {
            None => user.as_str().to_owned(),
            Some(sector) => {
                let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.pairwise_salt);
                let mut ctx = ring::hmac::Context::with_key(&key);
                ctx.update(sector.as_bytes());
                ctx.update(b"\0");
                ctx.update(user.as_str().as_bytes());
                URL_SAFE_NO_PAD.encode(ctx.sign().as_ref())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_values_combine_except_none() {
        assert_eq!(Prompt::parse(None).unwrap(), Prompt::default());
        let p = Prompt::parse(Some("login consent")).unwrap();
        assert!(p.login && p.consent && !p.none);
        assert_eq!(p.to_value().as_deref(), Some("login consent"));
        assert!(Prompt::parse(Some("select_account")).unwrap().login);
        let e = Prompt::parse(Some("none login")).unwrap_err();
        assert_eq!(e.code, portcullis_protocol::ErrorCode::InvalidRequest);
        let e = Prompt::parse(Some("sometimes")).unwrap_err();
        assert!(e.description.contains("sometimes"), "{}", e.description);
        assert_eq!(Prompt::parse(Some("")).unwrap().to_value(), None);
    }
}
