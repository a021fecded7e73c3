//! RFC 9728 OAuth 2.0 Protected Resource Metadata: the document that tells a
//! client which authorization server issues tokens for this API, and where
//! that document lives.
//!
//! A client that gets a 401 reads `resource_metadata` from the
//! `WWW-Authenticate` challenge, fetches this document, and from its
//! `authorization_servers` finds the server to get a token from — the MCP
//! authorization flow starts exactly so.

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header};
use serde::{Deserialize, Serialize};

/// The well-known URI suffix of RFC 9728 §3.
pub const PROTECTED_RESOURCE_WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// How long clients and caches may keep the metadata document (seconds).
pub const METADATA_MAX_AGE: u32 = 3600;

/// The RFC 9728 §2 metadata of one protected resource, as
/// [`crate::Guard::protected_resource_metadata`] builds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProtectedResourceMetadata {
    /// The resource identifier: the guard's audience.
    pub resource: String,
    /// The issuers whose tokens this resource accepts: the guard's issuer.
    pub authorization_servers: Vec<String>,
    /// The scopes this resource advertises; omitted when none are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// The RFC 6750 methods the policy reads a token from: `header`, `body`,
    /// `query`. Always present: an empty list says that no RFC 6750 method
    /// is accepted (e.g. an API-key-only policy).
    pub bearer_methods_supported: Vec<String>,
    /// A human-readable name for the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
}

/// The path the metadata of `resource` is served at (RFC 9728 §3.1): the
/// well-known suffix, followed by the resource identifier's path unless
/// that is empty or `/`. `https://api.example/mcp` →
/// `/.well-known/oauth-protected-resource/mcp`; `https://api.example` →
/// `/.well-known/oauth-protected-resource`. The query of the identifier, if
/// any, is not part of the path.
///
/// For mounting the document in a framework other than axum; with axum,
/// [`crate::Guard::metadata_router`] does it.
pub fn protected_resource_metadata_path(resource: &str) -> String {
    let path = url::Url::parse(resource)
        .map(|u| u.path().to_owned())
        .unwrap_or_default();
    match path.as_str() {
        "" | "/" => PROTECTED_RESOURCE_WELL_KNOWN.to_owned(),
        p if p.starts_with('/') => format!("{PROTECTED_RESOURCE_WELL_KNOWN}{p}"),
        // An opaque identifier (`urn:...`) has no path to append.
        _ => PROTECTED_RESOURCE_WELL_KNOWN.to_owned(),
    }
}

/// The absolute URL of the metadata of `resource`: its scheme and
/// authority, then [`protected_resource_metadata_path`]. `None` unless the
/// identifier is an http(s) URL, since only those have a well-known
/// location to fetch.
pub fn protected_resource_metadata_url(resource: &str) -> Option<String> {
    let url = url::Url::parse(resource).ok()?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return None;
    }
    Some(format!(
        "{}{}",
        url.origin().ascii_serialization(),
        protected_resource_metadata_path(resource)
    ))
}

/// The response to a request for the metadata document: GET (and HEAD) get
/// the JSON, readable cross-origin and cacheable for [`METADATA_MAX_AGE`];
/// OPTIONS gets a CORS preflight answer; anything else 405.
pub(crate) fn response<B: From<Bytes>>(method: &Method, json: Bytes) -> Response<B> {
    let get = method == Method::GET || method == Method::HEAD;
    let (status, body) = match method {
        _ if get => (StatusCode::OK, json),
        &Method::OPTIONS => (StatusCode::NO_CONTENT, Bytes::new()),
        _ => (StatusCode::METHOD_NOT_ALLOWED, Bytes::new()),
    };
    let mut res = Response::new(B::from(body));
    *res.status_mut() = status;
    let headers = res.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    let allow = HeaderValue::from_static("GET, HEAD, OPTIONS");
    match status {
        StatusCode::OK => {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::try_from(format!("public, max-age={METADATA_MAX_AGE}"))
                    .unwrap_or(HeaderValue::from_static("no-cache")),
            );
        }
        StatusCode::NO_CONTENT => {
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, allow);
            // The document is public and fetched without credentials, so
            // any request header (e.g. `MCP-Protocol-Version`) may come along.
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("*"),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("86400"),
            );
        }
        _ => {
            headers.insert(header::ALLOW, allow);
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_follows_rfc_9728_section_3_1() {
        let p = protected_resource_metadata_path;
        assert_eq!(
            p("https://api.example/mcp"),
            "/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            p("https://api.example/a/b/"),
            "/.well-known/oauth-protected-resource/a/b/"
        );
        assert_eq!(
            p("https://api.example"),
            "/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            p("https://api.example/"),
            "/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            p("https://api.example/mcp?x=1"),
            "/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            p("urn:example:api"),
            "/.well-known/oauth-protected-resource"
        );
        assert_eq!(p("not a url"), "/.well-known/oauth-protected-resource");
    }

    #[test]
    fn url_keeps_scheme_host_and_port() {
        let u = protected_resource_metadata_url;
        assert_eq!(
            u("https://api.example/mcp").as_deref(),
            Some("https://api.example/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(
            u("http://127.0.0.1:8080/mcp").as_deref(),
            Some("http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp")
        );
        // The default port is not spelled out.
        assert_eq!(
            u("https://API.example:443").as_deref(),
            Some("https://api.example/.well-known/oauth-protected-resource")
        );
        assert_eq!(u("api://orders"), None);
        assert_eq!(u("urn:example:api"), None);
    }

    #[test]
    fn optional_members_are_omitted() {
        let m = ProtectedResourceMetadata {
            resource: "https://api.example".into(),
            authorization_servers: vec!["https://auth.example".into()],
            scopes_supported: vec![],
            bearer_methods_supported: vec![],
            resource_name: None,
        };
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            serde_json::json!({
                "resource": "https://api.example",
                "authorization_servers": ["https://auth.example"],
                "bearer_methods_supported": [],
            })
        );
    }
}
