//! Resource indicators (RFC 8707): the identifier of an API a token is for,
//! which becomes the token's `aud`. Compared string for string, like
//! redirect URIs, so the type keeps the text as registered.

use std::fmt;

use serde::{Deserialize, Serialize};
use url::{Host, Url};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ResourceUri(String);

/// Why a resource identifier was refused; never repeats the input, which
/// may end up in an `error_description`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidResource {
    NotAbsolute,
    HasFragment,
    InsecureHttp,
    TooLong,
}

impl fmt::Display for InvalidResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAbsolute => "a resource must be an absolute URI (RFC 8707 §2)",
            Self::HasFragment => "a resource must not carry a fragment (RFC 8707 §2)",
            Self::InsecureHttp => {
                "a resource must use https (http only on 127.0.0.1, [::1] or localhost)"
            }
            Self::TooLong => "a resource is longer than 2000 characters",
        })
    }
}

impl std::error::Error for InvalidResource {}

impl ResourceUri {
    /// `allow_http`: any `http` host is accepted (an operator's explicit
    /// choice, `insecure_http_issuer`); otherwise only loopback hosts.
    pub fn parse(s: &str, allow_http: bool) -> Result<Self, InvalidResource> {
        if s.len() > 2000 {
            return Err(InvalidResource::TooLong);
        }
        if !s.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(InvalidResource::NotAbsolute);
        }
        let url = Url::parse(s).map_err(|_| InvalidResource::NotAbsolute)?;
        if url.cannot_be_a_base() || url.host().is_none() {
            return Err(InvalidResource::NotAbsolute);
        }
        if s.contains('#') {
            return Err(InvalidResource::HasFragment);
        }
        match url.scheme() {
            "https" => {}
            "http" if allow_http || is_loopback(&url) => {}
            "http" => return Err(InvalidResource::InsecureHttp),
            _ => return Err(InvalidResource::NotAbsolute),
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d == "localhost",
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

impl TryFrom<String> for ResourceUri {
    type Error = InvalidResource;
    /// Stored values were checked when registered; reading them back only
    /// re-checks the shape, not the http policy of the day.
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s, true)
    }
}

impl std::str::FromStr for ResourceUri {
    type Err = InvalidResource;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s, true)
    }
}

impl From<ResourceUri> for String {
    fn from(r: ResourceUri) -> Self {
        r.0
    }
}

impl fmt::Display for ResourceUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_https_without_fragment() {
        for ok in [
            "https://api.example",
            "https://api.example/mcp",
            "https://api.example/v1?tenant=a",
            "http://127.0.0.1:8080/mcp",
            "http://[::1]/mcp",
            "http://localhost:3000",
        ] {
            assert!(ResourceUri::parse(ok, false).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("/mcp", InvalidResource::NotAbsolute),
            ("api.example", InvalidResource::NotAbsolute),
            ("urn:example:api", InvalidResource::NotAbsolute),
            ("https://api.example/#frag", InvalidResource::HasFragment),
            ("http://api.example/mcp", InvalidResource::InsecureHttp),
            ("ftp://api.example/", InvalidResource::NotAbsolute),
            ("https://api.example/\u{0}", InvalidResource::NotAbsolute),
        ] {
            assert_eq!(ResourceUri::parse(bad, false), Err(why), "{bad:?}");
        }
        assert!(ResourceUri::parse("http://api.example/mcp", true).is_ok());
    }
}
