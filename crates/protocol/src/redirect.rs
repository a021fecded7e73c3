//! Redirect URIs, parsed once at registration. Matching is exact, string for
//! string (RFC 9700 §4.1.3), so the type keeps the registered text verbatim;
//! the one exception is the port of a loopback IP literal (RFC 8252 §7.3),
//! decided here and nowhere else.

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

    /// Whether a request's `redirect_uri` matches this registered one: the
    /// same string, or, when this one is `http://127.0.0.1…` or
    /// `http://[::1]…`, the same string but for the port (RFC 8252 §7.3: a
    /// native app listens on whatever port the OS gives it). `localhost`
    /// stays exact (§8.3: the name may resolve elsewhere).
    pub fn matches(&self, requested: &str) -> bool {
        if self.0 == requested {
            return true;
        }
        let Some(host) = self.loopback_ip_prefix() else {
            return false;
        };
        let (Some(registered), Some(asked)) = (
            self.0.strip_prefix(host).and_then(without_port),
            requested.strip_prefix(host).and_then(without_port),
        ) else {
            return false;
        };
        // The rest (path, and the absent query) is compared exactly; the
        // request must itself be a valid redirect URI (no query, fragment,
        // or bytes that are not visible ASCII).
        registered == asked && RedirectUri::parse(requested).is_ok()
    }

    /// The registered URI a request names, as the request spelled it (so the
    /// redirect goes to the port it asked for).
    pub fn find_match<'a>(
        registered: impl IntoIterator<Item = &'a RedirectUri>,
        requested: &str,
    ) -> Option<RedirectUri> {
        registered
            .into_iter()
            .find(|r| r.matches(requested))
            .map(|_| RedirectUri(requested.to_owned()))
    }

    /// `http://127.0.0.1` or `http://[::1]` when this URI starts with it.
    fn loopback_ip_prefix(&self) -> Option<&'static str> {
        ["http://127.0.0.1", "http://[::1]"].into_iter().find(|p| {
            self.0
                .strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        })
    }

    /// The origin a browser sends from a page at this URI (scheme, host,
    /// port), for CORS; `None` for private-use schemes.
    pub fn origin(&self) -> Option<String> {
        let url = Url::parse(&self.0).ok()?;
        matches!(url.scheme(), "http" | "https").then(|| url.origin().ascii_serialization())
    }

    /// The loopback IP host (`127.0.0.1` or `[::1]`) when this is an http
    /// loopback-IP URI, whose port may vary.
    pub fn loopback_ip_host(&self) -> Option<&'static str> {
        self.loopback_ip_prefix()
            .map(|p| p.trim_start_matches("http://"))
    }
}

/// What follows the host once an optional `:port` is removed: `None` when
/// the port is not a canonical number in 1..=65535 (a port of `0`, `08080`
/// or `99999` names no listener an app could hold).
fn without_port(rest: &str) -> Option<&str> {
    let Some(after) = rest.strip_prefix(':') else {
        return (rest.is_empty() || rest.starts_with('/')).then_some(rest);
    };
    let end = after.find('/').unwrap_or(after.len());
    let (port, path) = after.split_at(end);
    let n: u16 = port.parse().ok()?;
    (n != 0 && n.to_string() == port).then_some(path)
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

    #[test]
    fn loopback_ip_literals_match_on_any_port_and_nothing_else_varies() {
        let r = |s: &str| RedirectUri::parse(s).unwrap();
        let v4 = r("http://127.0.0.1/callback");
        for ok in [
            "http://127.0.0.1/callback",
            "http://127.0.0.1:1/callback",
            "http://127.0.0.1:53682/callback",
            "http://127.0.0.1:65535/callback",
        ] {
            assert!(v4.matches(ok), "{ok}");
        }
        for bad in [
            "http://127.0.0.1:0/callback",
            "http://127.0.0.1:65536/callback",
            "http://127.0.0.1:08080/callback",
            "http://127.0.0.1:/callback",
            "http://127.0.0.1:80x/callback",
            "http://127.0.0.1:8080/callback/",
            "http://127.0.0.1:8080/Callback",
            "http://127.0.0.1:8080/callback?x=1",
            "http://127.0.0.1:8080/callback#f",
            "http://127.0.0.1:8080@evil.example/callback",
            "http://127.0.0.1.evil.example/callback",
            "http://127.0.0.2:8080/callback",
            "https://127.0.0.1:8080/callback",
            "http://localhost:8080/callback",
            "http://127.0.0.1:8080/callback\n",
        ] {
            assert!(!v4.matches(bad), "{bad}");
        }
        let v6 = r("http://[::1]:9000/cb");
        assert!(v6.matches("http://[::1]:41000/cb"));
        assert!(v6.matches("http://[::1]/cb"));
        assert!(!v6.matches("http://127.0.0.1:41000/cb"));
        // localhost is a name: exact match only (RFC 8252 §8.3).
        let named = r("http://localhost/cb");
        assert!(named.matches("http://localhost/cb"));
        assert!(!named.matches("http://localhost:8080/cb"));
        // Other URIs match string for string.
        let web = r("https://app.example/cb");
        assert!(!web.matches("https://app.example:443/cb"));
        assert_eq!(
            RedirectUri::find_match([&web, &v4], "http://127.0.0.1:5000/callback")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:5000/callback"
        );
        assert!(RedirectUri::find_match([&web], "http://127.0.0.1:5000/callback").is_none());
    }

    #[test]
    fn origins_of_web_redirect_uris() {
        let r = |s: &str| RedirectUri::parse(s).unwrap();
        assert_eq!(
            r("https://app.example/cb").origin().as_deref(),
            Some("https://app.example")
        );
        assert_eq!(
            r("http://127.0.0.1:9000/cb").origin().as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(r("com.example.app:/cb").origin(), None);
        assert_eq!(r("http://[::1]/cb").loopback_ip_host(), Some("[::1]"));
        assert_eq!(r("http://localhost/cb").loopback_ip_host(), None);
    }
}
