//! Which browser origins may call the token and revocation endpoints
//! (CORS): the origins of every client's registered redirect URIs, where its
//! pages run, plus the operator's configured list. CORS only lets a page
//! read a response; the endpoints still authenticate every request.

use std::collections::HashSet;
use std::sync::Arc;

use portcullis_protocol::OAuthError;

use crate::model::Client;
use crate::server::AuthServer;

/// The origins derived from the registered clients.
#[derive(Debug, Default)]
pub struct CorsOrigins {
    exact: HashSet<String>,
    /// `127.0.0.1` and/or `[::1]`: a client registered a loopback IP
    /// redirect URI, which matches on any port (RFC 8252 §7.3), so its pages
    /// may come from any port too.
    loopback_hosts: HashSet<&'static str>,
}

impl CorsOrigins {
    pub fn of<'a>(clients: impl IntoIterator<Item = &'a Client>) -> Self {
        let mut set = Self::default();
        for uri in clients.into_iter().flat_map(|c| &c.redirect_uris) {
            if let Some(host) = uri.loopback_ip_host() {
                set.loopback_hosts.insert(host);
            } else if let Some(origin) = uri.origin() {
                set.exact.insert(origin);
            }
        }
        set
    }

    pub fn allows(&self, origin: &str) -> bool {
        self.exact.contains(origin)
            || self
                .loopback_hosts
                .iter()
                .any(|host| is_loopback_origin(origin, host))
    }
}

/// `http://HOST` or `http://HOST:PORT` with a canonical port.
fn is_loopback_origin(origin: &str, host: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("http://")
        .and_then(|o| o.strip_prefix(host))
    else {
        return false;
    };
    match rest.strip_prefix(':') {
        None => rest.is_empty(),
        Some(port) => port
            .parse::<u16>()
            .is_ok_and(|n| n != 0 && n.to_string() == port),
    }
}

impl AuthServer {
    /// Whether a page at `origin` may read the token and revocation
    /// endpoints' responses. A store failure is a no: the browser then
    /// refuses, which is safe.
    pub async fn allows_cors_origin(&self, origin: &str) -> bool {
        if self
            .settings
            .cors_allowed_origins
            .iter()
            .any(|o| o == origin)
        {
            return true;
        }
        match self.cors_origins().await {
            Ok(set) => set.allows(origin),
            Err(e) => {
                tracing::warn!(error = %e.code, cause = e.cause(), "could not load CORS origins");
                false
            }
        }
    }

    async fn cors_origins(&self) -> Result<Arc<CorsOrigins>, OAuthError> {
        let store = self.store.clone();
        self.cors_origins
            .get_or_load(&(), move || async move {
                Ok(Arc::new(CorsOrigins::of(&store.list_clients().await?)))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_protocol::RedirectUri;

    fn client(uris: &[&str]) -> Client {
        Client {
            redirect_uris: uris
                .iter()
                .map(|u| RedirectUri::parse(u).unwrap())
                .collect(),
            ..Client::blank()
        }
    }

    #[test]
    fn origins_of_redirect_uris_with_any_port_on_loopback_ips() {
        let set = CorsOrigins::of(&[
            client(&["https://app.example/cb", "com.example.app:/cb"]),
            client(&["http://127.0.0.1/callback", "http://localhost:3000/cb"]),
        ]);
        for ok in [
            "https://app.example",
            "http://localhost:3000",
            "http://127.0.0.1",
            "http://127.0.0.1:5173",
        ] {
            assert!(set.allows(ok), "{ok}");
        }
        for bad in [
            "https://evil.example",
            "https://app.example:8443",
            "http://app.example",
            "http://localhost:3001",
            "http://[::1]:5173",
            "http://127.0.0.1:0",
            "http://127.0.0.1:5173/",
            "http://127.0.0.1.evil.example",
            "null",
        ] {
            assert!(!set.allows(bad), "{bad}");
        }
    }
}
