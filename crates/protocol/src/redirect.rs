//! Redirect URIs, parsed once at registration. Matching is exact, string for
//! string (RFC 9700 §4.1.3), so the type keeps the registered text verbatim.

use std::fmt;

use serde::{Deserialize, Serialize};
use url::{Host, Url};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RedirectUri(String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidRedirectUri {
    NotAbsolute(String),
    HasQuery(String),
    HasFragment(String),
    InsecureHttp(String),
    TooLong,
}

impl fmt::Display for InvalidRedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAbsolute(u) => write!(f, "redirect URI `{u}` is not an absolute URI"),
            Self::HasQuery(u) => write!(f, "redirect URI `{u}` must not carry a query string"),
            Self::HasFragment(u) => write!(f, "redirect URI `{u}` must not carry a fragment"),
            Self::InsecureHttp(u) => write!(
                f,
                "redirect URI `{u}` uses http on a non-loopback host; use https (http is allowed only for 127.0.0.1, [::1] and localhost)"
            ),
            Self::TooLong => write!(f, "redirect URI is longer than 2000 characters"),
        }
    }
}

impl std::error::Error for InvalidRedirectUri {}

impl RedirectUri {
    pub fn parse(s: &str) -> Result<Self, InvalidRedirectUri> {
        if s.len() > 2000 {
            return Err(InvalidRedirectUri::TooLong);
        }
        let shown = || s.escape_debug().to_string();
        // Kept verbatim, compared string for string and sent in `Location`
        // headers: visible ASCII only (IRIs must be sent percent-encoded).
        if !s.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(InvalidRedirectUri::NotAbsolute(shown()));
        }
        let url = Url::parse(s).map_err(|_| InvalidRedirectUri::NotAbsolute(shown()))?;
        if url.cannot_be_a_base() && !url.scheme().contains('.') {
            return Err(InvalidRedirectUri::NotAbsolute(shown()));
        }
        if s.contains('#') {
            return Err(InvalidRedirectUri::HasFragment(shown()));
        }
        if s.contains('?') {
            return Err(InvalidRedirectUri::HasQuery(shown()));
        }
        match url.scheme() {
            "https" => {}
            "http" => {
                let loopback = match url.host() {
                    Some(Host::Domain(d)) => d == "localhost",
                    Some(Host::Ipv4(ip)) => ip.is_loopback(),
                    Some(Host::Ipv6(ip)) => ip.is_loopback(),
                    None => false,
                };
                if !loopback {
                    return Err(InvalidRedirectUri::InsecureHttp(shown()));
                }
            }
            // Private-use schemes of native apps (RFC 8252 §7.1) are reverse
            // domain names; anything else (javascript:, data:, file:) is refused.
            other if other.contains('.') => {}
            _ => return Err(InvalidRedirectUri::NotAbsolute(shown())),
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RedirectUri {
    type Error = InvalidRedirectUri;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<RedirectUri> for String {
    fn from(r: RedirectUri) -> String {
        r.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_https_loopback_http_and_private_schemes() {
        for ok in [
            "https://app.example.com/cb",
            "http://127.0.0.1:9000/cb",
            "http://localhost/cb",
            "http://[::1]:8000/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert_eq!(RedirectUri::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn refuses_relative_query_fragment_and_plain_http() {
        assert!(matches!(
            RedirectUri::parse("/cb"),
            Err(InvalidRedirectUri::NotAbsolute(_))
        ));
        assert!(matches!(
            RedirectUri::parse("https://a.example/cb?x=1"),
            Err(InvalidRedirectUri::HasQuery(_))
        ));
        assert!(matches!(
            RedirectUri::parse("https://a.example/cb#f"),
            Err(InvalidRedirectUri::HasFragment(_))
        ));
        assert!(matches!(
            RedirectUri::parse("http://a.example/cb"),
            Err(InvalidRedirectUri::InsecureHttp(_))
        ));
        assert!(RedirectUri::parse("javascript:alert(1)").is_err());
        assert!(RedirectUri::parse("https://例え.jp/cb").is_err());
        assert!(RedirectUri::parse("https://a.example/c b").is_err());
        assert!(RedirectUri::parse("https://a.example/cb\n").is_err());
        assert!(RedirectUri::parse("https://a.example/cb?").is_err());
    }
}
