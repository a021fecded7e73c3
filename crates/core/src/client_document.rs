//! Clients nobody registered, identified by a client ID metadata document
//! (draft-ietf-oauth-client-id-metadata-document, the MCP authorization
//! spec's preferred way): the `client_id` is an `https` URL, and the JSON
//! document there describes the client. Such a client is public (it has no
//! secret to keep), uses the code flow with PKCE, and may be granted what
//! any developer may give their own client: self-service scopes and open
//! resources. Its name is its own claim, so the consent page says so.

use std::sync::Arc;
use std::time::Duration;

use portcullis_protocol::{ClientId, GrantType, OAuthError, RedirectUri, ScopeSet};
use serde::Deserialize;
use url::Url;

use crate::client_oidc::ClientOidc;
use crate::model::{Client, ClientOrigin};
use crate::outbound::{AddressPolicy, Fetcher};
use crate::server::AuthServer;

/// Largest document accepted, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024;
/// How long a fetch may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Bounds on how long a fetched document is used, whatever its
/// `Cache-Control` says: short enough that a changed document takes
/// effect, long enough that a busy client costs one fetch per minutes.
pub const MIN_CACHE: Duration = Duration::from_secs(300);
pub const MAX_CACHE: Duration = Duration::from_secs(86_400);
/// How long a failed fetch is remembered, so a broken or hostile URL costs
/// one fetch per this interval however often it is presented.
pub const FAILURE_CACHE: Duration = Duration::from_secs(10);
/// Longest `client_id` URL accepted.
const MAX_URL_LEN: usize = 500;

/// What the operator decides about metadata documents.
#[derive(Debug, Clone, Default)]
pub struct DocumentSettings {
    /// Whether `https` client ids are fetched at all.
    pub enabled: bool,
    /// Development only: documents on 127.0.0.1 / ::1 / localhost, over
    /// `http` too.
    pub allow_loopback: bool,
    /// Hosts never fetched: `host.example` or `*.host.example`.
    pub deny_hosts: Vec<String>,
    /// When not empty, only these hosts are fetched (same patterns).
    pub allow_hosts: Vec<String>,
    /// PEM certificates trusted beside the system's roots for these
    /// fetches (a private CA; tests serving documents on loopback).
    pub extra_roots_pem: Vec<u8>,
}

fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .strip_suffix(suffix)
            .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1),
        None => pattern.eq_ignore_ascii_case(host),
    }
}

impl DocumentSettings {
    fn policy(&self) -> AddressPolicy {
        AddressPolicy {
            allow_loopback: self.allow_loopback,
        }
    }

    /// Whether `id` is a metadata-document client id at all (an `http(s)`
    /// URL): other ids are registered clients.
    pub fn names_document(id: &str) -> bool {
        id.starts_with("https://") || id.starts_with("http://")
    }

    /// The URL `id` names, if the draft's rules (§3) and the operator's
    /// lists allow fetching it.
    pub fn url(&self, id: &str) -> Result<Url, String> {
        if id.len() > MAX_URL_LEN {
            return Err(format!("it is longer than {MAX_URL_LEN} characters"));
        }
        let url = Url::parse(id).map_err(|e| format!("it is not a URL ({e})"))?;
        let policy = self.policy();
        match url.scheme() {
            "https" => {}
            "http" if policy.allows_http(&url) => {}
            _ => return Err("it must be an https URL".into()),
        }
        if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
            return Err("it must have no fragment, user name or password".into());
        }
        if url.path() == "/" {
            return Err("it must have a path, such as https://app.example/client.json".into());
        }
        // The URL crate resolves `.`/`..` segments, lower-cases the host and
        // drops default ports: an id it would rewrite is not in the one
        // form the document's `client_id` must repeat exactly.
        if url.as_str() != id {
            return Err(format!(
                "it is not in normal form (`{}`): no dot segments, a lower-case host, no default port",
                url.as_str()
            ));
        }
        let host = url.host_str().unwrap_or_default();
        if self.deny_hosts.iter().any(|p| host_matches(p, host)) {
            return Err(format!("documents from `{host}` are not accepted here"));
        }
        if !self.allow_hosts.is_empty() && !self.allow_hosts.iter().any(|p| host_matches(p, host)) {
            return Err(format!(
                "documents from `{host}` are not accepted here (only listed hosts are)"
            ));
        }
        Ok(url)
    }

    pub(crate) fn fetcher(&self) -> Option<Arc<Fetcher>> {
        self.enabled.then(|| {
            Arc::new(Fetcher::new(
                self.policy(),
                FETCH_TIMEOUT,
                MAX_DOCUMENT_BYTES,
                &self.extra_roots_pem,
            ))
        })
    }
}

/// The fields read from a document; others are ignored (RFC 7591 §2).
#[derive(Deserialize)]
struct Document {
    client_id: String,
    client_name: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    token_endpoint_auth_method: Option<String>,
    scope: Option<String>,
    client_secret: Option<serde_json::Value>,
}

/// Most redirect URIs one document may list.
const MAX_REDIRECT_URIS: usize = 20;

/// The client `body` describes, with at most the `grantable` scopes.
/// `Err` says what is wrong with the document.
pub fn client_from_document(
    id: &str,
    body: &[u8],
    grantable: &ScopeSet,
    now: i64,
) -> Result<Client, String> {
    let doc: Document = serde_json::from_slice(body)
        .map_err(|e| format!("it is not a JSON client document ({e})"))?;
    if doc.client_id != id {
        return Err(format!(
            "its client_id `{}` is not the URL it was fetched from",
            doc.client_id.chars().take(100).collect::<String>()
        ));
    }
    if doc.client_secret.is_some() {
        return Err(
            "it contains a client_secret: a published document cannot hold a secret".into(),
        );
    }
    match doc.token_endpoint_auth_method.as_deref() {
        None | Some("none") => {}
        Some(other) => {
            return Err(format!(
                "token_endpoint_auth_method `{other}` is not supported for such clients; use `none`"
            ));
        }
    }
    let mut grant_types = vec![GrantType::AuthorizationCode];
    for g in doc.grant_types.iter().flatten() {
        match g.as_str() {
            "authorization_code" => {}
            "refresh_token" => grant_types.push(GrantType::RefreshToken),
            other => {
                return Err(format!(
                    "grant type `{other}` is not available to such clients (authorization_code and refresh_token are)"
                ));
            }
        }
    }
    if let Some(types) = &doc.response_types
        && types.iter().any(|t| t != "code")
    {
        return Err("only response type `code` is available to such clients".into());
    }
    if doc.redirect_uris.is_empty() || doc.redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(format!(
            "it must list 1 to {MAX_REDIRECT_URIS} redirect_uris"
        ));
    }
    let redirect_uris = doc
        .redirect_uris
        .iter()
        .map(|u| RedirectUri::parse(u).map_err(|e| format!("redirect URI: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let scopes = match &doc.scope {
        // A third party's document cannot know this server's scopes: what
        // it names beyond them is left out rather than refused.
        Some(s) => {
            let asked = ScopeSet::parse(s).map_err(|_| "its scope is malformed".to_string())?;
            asked
                .iter()
                .filter(|s| grantable.contains_str(s.split_resource().0))
                .cloned()
                .collect()
        }
        None => grantable.clone(),
    };
    let name = doc
        .client_name
        .map(|n| {
            n.trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(100)
                .collect::<String>()
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| {
            Url::parse(id)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default()
        });
    Ok(Client {
        id: ClientId::new(id),
        name,
        secret_hash: None,
        redirect_uris,
        grant_types,
        scopes,
        default_scopes: None,
        token_lifetime: None,
        require_pkce: true,
        owner: None,
        resources: Vec::new(),
        oidc: ClientOidc::default(),
        origin: ClientOrigin::Document,
        created_at: now,
        updated_at: now,
    })
}

/// A fetch's outcome, kept until `until` (server clock, seconds).
pub(crate) struct DocumentEntry {
    until: i64,
    client: Result<Arc<Client>, String>,
}

fn invalid(id: &str, why: &str) -> OAuthError {
    OAuthError::invalid_client(format!(
        "client_id is a client ID metadata document URL, but {why}"
    ))
    .with_cause(format_args!("metadata document {id}"))
}

impl AuthServer {
    /// The client a metadata-document URL describes, fetched or cached.
    /// `Ok(None)`: such ids are not accepted here at all.
    pub(crate) async fn document_client(
        &self,
        id: &ClientId,
    ) -> Result<Option<Arc<Client>>, OAuthError> {
        let Some(fetcher) = &self.fetcher else {
            return Ok(None);
        };
        let url = self
            .settings
            .client_documents
            .url(id.as_str())
            .map_err(|why| invalid(id.as_str(), &why))?;
        let now = self.now();
        if let Some(entry) = self.documents.get(id) {
            if entry.until > now {
                return Self::document_outcome(id, &entry);
            }
            self.documents.invalidate(id);
        }
        let grantable = self.registrant_scopes().await?;
        let fetcher = fetcher.clone();
        let key = id.as_str().to_owned();
        let entry = self
            .documents
            .get_or_load(id, move || async move {
                let (client, cache) = match fetcher.get_json(&url).await {
                    Ok(f) => {
                        let ttl = f.max_age.unwrap_or(MIN_CACHE).clamp(MIN_CACHE, MAX_CACHE);
                        match client_from_document(&key, &f.body, &grantable, now) {
                            Ok(c) => (Ok(Arc::new(c)), ttl),
                            Err(e) => (Err(e), FAILURE_CACHE),
                        }
                    }
                    Err(e) => (Err(e), FAILURE_CACHE),
                };
                if let Err(why) = &client {
                    tracing::info!(client_id = %key, reason = %why, "client metadata document refused");
                }
                Ok::<_, OAuthError>(Arc::new(DocumentEntry {
                    until: now + cache.as_secs() as i64,
                    client,
                }))
            })
            .await?;
        Self::document_outcome(id, &entry)
    }

    fn document_outcome(
        id: &ClientId,
        entry: &DocumentEntry,
    ) -> Result<Option<Arc<Client>>, OAuthError> {
        match &entry.client {
            Ok(c) => Ok(Some(c.clone())),
            Err(why) => Err(invalid(id.as_str(), why)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "https://app.example/oauth/client.json";

    fn doc(extra: serde_json::Value) -> Vec<u8> {
        let mut d = serde_json::json!({
            "client_id": ID,
            "client_name": "Example Agent",
            "redirect_uris": ["http://127.0.0.1/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none",
        });
        for (k, v) in extra.as_object().unwrap() {
            d[k] = v.clone();
        }
        serde_json::to_vec(&d).unwrap()
    }

    fn grantable() -> ScopeSet {
        ScopeSet::parse("mcp:tools files:read").unwrap()
    }

    #[test]
    fn a_valid_document_is_a_public_pkce_client() {
        let c = client_from_document(ID, &doc(serde_json::json!({})), &grantable(), 5).unwrap();
        assert_eq!(c.id.as_str(), ID);
        assert_eq!(c.name, "Example Agent");
        assert!(c.is_public() && c.require_pkce);
        assert!(c.allows_grant(GrantType::RefreshToken));
        assert_eq!(c.scopes, grantable());
        assert_eq!(c.origin, ClientOrigin::Document);
        let narrowed = client_from_document(
            ID,
            &doc(serde_json::json!({"scope": "mcp:tools admin:all"})),
            &grantable(),
            5,
        )
        .unwrap();
        assert_eq!(narrowed.scopes, ScopeSet::parse("mcp:tools").unwrap());
    }

    #[test]
    fn refuses_documents_that_do_not_describe_a_public_client_at_this_url() {
        for (extra, says) in [
            (
                serde_json::json!({"client_id": "https://other.example/c.json"}),
                "not the URL",
            ),
            (serde_json::json!({"client_secret": "s"}), "client_secret"),
            (
                serde_json::json!({"token_endpoint_auth_method": "client_secret_basic"}),
                "none",
            ),
            (
                serde_json::json!({"grant_types": ["client_credentials"]}),
                "client_credentials",
            ),
            (serde_json::json!({"response_types": ["token"]}), "code"),
            (serde_json::json!({"redirect_uris": []}), "redirect_uris"),
            (
                serde_json::json!({"redirect_uris": ["https://app.example/cb#x"]}),
                "redirect URI",
            ),
        ] {
            let e = client_from_document(ID, &doc(extra.clone()), &grantable(), 0).unwrap_err();
            assert!(e.contains(says), "{extra}: {e}");
        }
        assert!(
            client_from_document(ID, b"<html>", &grantable(), 0)
                .unwrap_err()
                .contains("JSON")
        );
    }

    #[test]
    fn client_id_urls_follow_the_draft_and_the_lists() {
        let s = DocumentSettings {
            enabled: true,
            deny_hosts: vec!["*.evil.example".into()],
            ..Default::default()
        };
        assert!(s.url(ID).is_ok());
        for (bad, says) in [
            ("http://app.example/c.json", "https"),
            ("https://app.example/", "path"),
            ("https://app.example/a/../c.json", "normal form"),
            ("https://APP.example/c.json", "normal form"),
            ("https://app.example:443/c.json", "normal form"),
            ("https://u:p@app.example/c.json", "user name"),
            ("https://app.example/c.json#f", "fragment"),
            ("https://x.evil.example/c.json", "not accepted"),
        ] {
            let e = s.url(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
        let only = DocumentSettings {
            enabled: true,
            allow_hosts: vec!["app.example".into()],
            ..Default::default()
        };
        assert!(only.url(ID).is_ok());
        assert!(only.url("https://else.example/c.json").is_err());
        let dev = DocumentSettings {
            enabled: true,
            allow_loopback: true,
            ..Default::default()
        };
        assert!(dev.url("http://127.0.0.1:4000/c.json").is_ok());
        assert!(dev.url("http://app.example/c.json").is_err());
    }
}
