//! The client's address behind reverse proxies. `Forwarded` (RFC 7239) and
//! `X-Forwarded-For` are only believed when the TCP peer is a trusted proxy
//! (`trusted_proxies`); anyone else could write them to pick their own
//! throttle bucket or frame another address.

use std::net::IpAddr;

use ipnet::IpNet;

/// The address to throttle and log: the nearest hop, walking back from the
/// peer through trusted proxies, that is not itself a trusted proxy.
pub fn client_address(
    peer: IpAddr,
    forwarded: Option<&str>,
    x_forwarded_for: Option<&str>,
    trusted: &[IpNet],
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = match (forwarded, x_forwarded_for) {
        (Some(f), _) => forwarded_for(f),
        (None, Some(x)) => x.split(',').filter_map(|h| parse_ip(h.trim())).collect(),
        (None, None) => Vec::new(),
    };
    // Right to left: the rightmost entries were written by our own proxies.
    hops.into_iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

/// The `for=` values of every element of a `Forwarded` header.
fn forwarded_for(header: &str) -> Vec<IpAddr> {
    header
        .split(',')
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_ip(v.trim().trim_matches('"')))
                    .flatten()
            })
        })
        .collect()
}

/// `1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]`, `[2001:db8::1]:5678` or a
/// bare IPv6 address; anything else (obfuscated ids, `unknown`) is skipped.
fn parse_ip(raw: &str) -> Option<IpAddr> {
    if let Ok(ip) = raw.parse() {
        return Some(ip);
    }
    if let Some(rest) = raw.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    raw.rsplit_once(':')?.0.parse().ok()
}

/// Parses `trusted_proxies` entries: CIDRs, or single addresses.
pub fn parse_trusted(entries: &[String]) -> Result<Vec<IpNet>, String> {
    entries
        .iter()
        .map(|e| {
            e.parse::<IpNet>()
                .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("`{e}` is not an address or a CIDR like 10.0.0.0/8"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn headers_count_only_from_trusted_peers() {
        let trusted = parse_trusted(&["10.0.0.0/8".into(), "::1".into()]).unwrap();
        // An untrusted peer's headers are ignored.
        assert_eq!(
            client_address(ip("203.0.113.9"), None, Some("1.1.1.1"), &trusted),
            ip("203.0.113.9")
        );
        // Behind our proxy: the hop it saw.
        assert_eq!(
            client_address(ip("10.0.0.2"), None, Some("198.51.100.7"), &trusted),
            ip("198.51.100.7")
        );
        // A client-written entry on the left does not win over what our
        // proxies appended on the right.
        assert_eq!(
            client_address(
                ip("10.0.0.2"),
                None,
                Some("6.6.6.6, 198.51.100.7, 10.0.0.3"),
                &trusted
            ),
            ip("198.51.100.7")
        );
        // RFC 7239, with ports, quotes and IPv6.
        assert_eq!(
            client_address(
                ip("::1"),
                Some("for=6.6.6.6, for=\"[2001:db8::7]:4711\";proto=https"),
                Some("9.9.9.9"),
                &trusted
            ),
            ip("2001:db8::7")
        );
        // Garbage leaves the peer.
        assert_eq!(
            client_address(ip("10.0.0.2"), Some("for=unknown"), None, &trusted),
            ip("10.0.0.2")
        );
        assert!(parse_trusted(&["not a net".into()]).is_err());
    }
}
