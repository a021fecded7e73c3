//! Fetching documents that strangers point the server at (client ID
//! metadata documents). Such a URL is chosen by whoever sends the request,
//! so it must not reach what only the server can: its own loopback, the
//! private network, link-local addresses (where cloud metadata services
//! answer). Addresses are checked after DNS resolution, on the very
//! addresses connected to, so a name that resolves to 10.0.0.1 is refused
//! like the literal; no proxy from the environment, no redirects, bounded
//! size and time.

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::{Ipv4Net, Ipv6Net};
use url::{Host, Url};

/// Which addresses outbound fetches may connect to.
#[derive(Debug, Clone, Copy, Default)]
pub struct AddressPolicy {
    /// Development only: allow 127.0.0.0/8 and ::1 (and `http` there).
    pub allow_loopback: bool,
}

/// Why an address was refused, for the error the client sees.
fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    const RESERVED: [(&str, &str); 6] = [
        ("0.0.0.0/8", "a \"this network\" address"),
        ("100.64.0.0/10", "a carrier-grade NAT address"),
        ("192.0.0.0/24", "a protocol-assignment address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("240.0.0.0/4", "a reserved address"),
        ("192.88.99.0/24", "a relay address"),
    ];
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    if ip.is_private() {
        return Some("a private address");
    }
    if ip.is_link_local() {
        return Some("a link-local address (cloud metadata services live there)");
    }
    if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.is_documentation() {
        return Some("not a unicast public address");
    }
    RESERVED.iter().find_map(|(net, why)| {
        net.parse::<Ipv4Net>()
            .expect("a valid network")
            .contains(&ip)
            .then_some(*why)
    })
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    if ip.is_unspecified() || ip.is_multicast() {
        return Some("not a unicast public address");
    }
    const NETS: [(&str, &str); 5] = [
        ("fc00::/7", "a private address"),
        ("fe80::/10", "a link-local address"),
        ("64:ff9b::/96", "a NAT64 address"),
        ("2001:db8::/32", "a documentation address"),
        ("::/96", "an IPv4-compatible address"),
    ];
    NETS.iter().find_map(|(net, why)| {
        net.parse::<Ipv6Net>()
            .expect("a valid network")
            .contains(&ip)
            .then_some(*why)
    })
}

impl AddressPolicy {
    /// `Err` names what kind of address it is.
    pub fn check(&self, ip: IpAddr) -> Result<(), &'static str> {
        if self.allow_loopback && ip.is_loopback() {
            return Ok(());
        }
        let why = match ip {
            IpAddr::V4(v4) => forbidden_v4(v4),
            IpAddr::V6(v6) => forbidden_v6(v6),
        };
        why.map_or(Ok(()), Err)
    }

    /// Whether `url` may be fetched over plain http: only on loopback, and
    /// only where loopback is allowed at all.
    pub fn allows_http(&self, url: &Url) -> bool {
        self.allow_loopback
            && match url.host() {
                Some(Host::Ipv4(ip)) => ip.is_loopback(),
                Some(Host::Ipv6(ip)) => ip.is_loopback(),
                Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                None => false,
            }
    }
}

/// A refused address; found again in reqwest's error chain.
#[derive(Debug)]
struct Blocked(String);

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Blocked {}

/// Resolves names and keeps only the addresses the policy allows; a name
/// with none left fails before any connection is attempted.
struct CheckedResolver(AddressPolicy);

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match policy.check(a.ip()) {
                    Ok(()) => true,
                    Err(why) => {
                        refused.get_or_insert((a.ip(), why));
                        false
                    }
                })
                .collect();
            match (allowed.is_empty(), refused) {
                (true, Some((ip, why))) => Err(Box::new(Blocked(format!(
                    "`{host}` resolves to {ip}, {why}, which is never fetched"
                )))
                    as Box<dyn StdError + Send + Sync>),
                _ => Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs),
            }
        })
    }
}

/// A fetched document: its body and how long it may be cached by its
/// `Cache-Control` (unbounded here; the caller bounds it).
#[derive(Debug)]
pub struct Fetched {
    pub body: Vec<u8>,
    pub max_age: Option<Duration>,
}

/// GETs small JSON documents from public addresses.
pub struct Fetcher {
    http: reqwest::Client,
    policy: AddressPolicy,
    max_bytes: usize,
}

impl Fetcher {
    /// `extra_roots_pem`: certificates trusted beside the system's roots;
    /// the caller has checked they parse ([`parse_roots`]).
    pub fn new(
        policy: AddressPolicy,
        timeout: Duration,
        max_bytes: usize,
        extra_roots_pem: &[u8],
    ) -> Self {
        let mut builder = reqwest::Client::builder();
        for cert in parse_roots(extra_roots_pem).unwrap_or_default() {
            builder = builder.add_root_certificate(cert);
        }
        let http = builder
            .dns_resolver(Arc::new(CheckedResolver(policy)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTP client with rustls");
        Self {
            http,
            policy,
            max_bytes,
        }
    }

    pub fn policy(&self) -> AddressPolicy {
        self.policy
    }

    /// The document at `url`; `Err` is a sentence for the client.
    pub async fn get_json(&self, url: &Url) -> Result<Fetched, String> {
        // An address literal never reaches the resolver: check it here.
        let literal = match url.host() {
            Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = literal
            && let Err(why) = self.policy.check(ip)
        {
            return Err(format!("{ip} is {why}, which is never fetched"));
        }
        let mut response = self
            .http
            .get(url.clone())
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(format!("it answered {status}: redirects are not followed"));
        }
        if status != reqwest::StatusCode::OK {
            return Err(format!("it answered {status}, not 200"));
        }
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes as u64)
        {
            return Err(format!("it is larger than {} bytes", self.max_bytes));
        }
        let max_age = max_age(response.headers());
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(format!("it is larger than {} bytes", self.max_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched { body, max_age })
    }
}

impl Fetcher {
    /// POSTs `form` to `url` (no redirects followed, the address policy
    /// applied as for GETs); the answer's status, or a sentence saying why
    /// there was none.
    pub async fn post_form(&self, url: &Url, form: &[(&str, &str)]) -> Result<u16, String> {
        let literal = match url.host() {
            Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = literal
            && let Err(why) = self.policy.check(ip)
        {
            return Err(format!("{ip} is {why}, which is never contacted"));
        }
        self.http
            .post(url.clone())
            .form(form)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .map_err(|e| describe(&e))
    }
}

/// The certificates of a PEM bundle; `Err` when it holds none or is
/// malformed.
pub fn parse_roots(pem: &[u8]) -> Result<Vec<reqwest::Certificate>, String> {
    if pem.is_empty() {
        return Ok(Vec::new());
    }
    let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no certificate in it".into());
    }
    Ok(certs)
}

/// A reqwest failure as a sentence, naming a refused address when that is
/// the cause.
fn describe(e: &reqwest::Error) -> String {
    let mut source: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(b) = s.downcast_ref::<Blocked>() {
            return b.0.clone();
        }
        source = s.source();
    }
    if e.is_timeout() {
        "it did not answer in time".into()
    } else if e.is_connect() {
        "it could not be reached".into()
    } else {
        "it could not be fetched".into()
    }
}

/// `max-age` of `Cache-Control`, or zero for `no-store`/`no-cache`.
/// `Expires` is not read: documents meant to be cached say `max-age`.
fn max_age(headers: &http::HeaderMap) -> Option<Duration> {
    let mut age = None;
    for value in headers.get_all(http::header::CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',').map(str::trim) {
            let lower = directive.to_ascii_lowercase();
            if lower == "no-store" || lower == "no-cache" {
                return Some(Duration::ZERO);
            }
            if let Some(n) = lower.strip_prefix("max-age=") {
                age = n.trim_matches('"').parse().ok().map(Duration::from_secs);
            }
        }
    }
    age
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_only_the_server_can_reach() {
        let strict = AddressPolicy::default();
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
        ] {
            assert!(strict.check(ip.parse().unwrap()).is_err(), "{ip}");
        }
        for ip in ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"] {
            assert!(strict.check(ip.parse().unwrap()).is_ok(), "{ip}");
        }
        let dev = AddressPolicy {
            allow_loopback: true,
        };
        assert!(dev.check("127.0.0.1".parse().unwrap()).is_ok());
        assert!(dev.check("::1".parse().unwrap()).is_ok());
        assert!(dev.check("10.0.0.1".parse().unwrap()).is_err());
        assert!(dev.check("169.254.169.254".parse().unwrap()).is_err());
    }

    #[test]
    fn http_only_on_loopback_in_development() {
        let dev = AddressPolicy {
            allow_loopback: true,
        };
        let strict = AddressPolicy::default();
        let local = Url::parse("http://127.0.0.1:8000/c.json").unwrap();
        assert!(dev.allows_http(&local));
        assert!(!strict.allows_http(&local));
        assert!(!dev.allows_http(&Url::parse("http://app.example/c.json").unwrap()));
    }

    #[test]
    fn reads_max_age() {
        let mut h = http::HeaderMap::new();
        assert_eq!(max_age(&h), None);
        h.insert(
            http::header::CACHE_CONTROL,
            "public, max-age=600".parse().unwrap(),
        );
        assert_eq!(max_age(&h), Some(Duration::from_secs(600)));
        h.insert(http::header::CACHE_CONTROL, "no-store".parse().unwrap());
        assert_eq!(max_age(&h), Some(Duration::ZERO));
    }
}
