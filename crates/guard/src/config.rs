//! What a guard is configured with: the authorization server it trusts, the
//! audience it is, and — per API — where credentials may be read from.

use std::time::Duration;

use http::HeaderName;
use portcullis_protocol::{ClientId, Secret};

/// The `access_token` header (some clients cannot set `Authorization`).
pub const ACCESS_TOKEN: HeaderName = HeaderName::from_static("access_token");
/// The `x-access-token` header.
pub const X_ACCESS_TOKEN: HeaderName = HeaderName::from_static("x-access-token");
/// The `x-api-key` header.
pub const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// The name of the query and form parameter of RFC 6750 §2.2–2.3.
pub const ACCESS_TOKEN_PARAM: &str = "access_token";

/// How a guard finds and checks credentials. Build one with
/// [`GuardConfig::new`] and adjust the public fields; the defaults suit an API
/// next to a Portcullis server.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GuardConfig {
    /// The issuer URL, exactly as it appears in `iss`. Metadata is read from
    /// `{issuer}/.well-known/oauth-authorization-server`.
    pub issuer: String,
    /// This API's resource identifier (RFC 8707), e.g.
    /// `https://api.example/mcp`: a token is accepted only if its `aud` (a
    /// string or an array) contains it, so a token minted for another API
    /// cannot be replayed here. It is also the `resource` of the RFC 9728
    /// metadata, and, when it is an http(s) URL, where that metadata is
    /// served (see [`crate::protected_resource_metadata_path`]).
    pub audience: String,
    /// The `resource_name` of the RFC 9728 metadata: a name for people.
    pub resource_name: Option<String>,
    /// The scopes the RFC 9728 metadata advertises (`scopes_supported`), so
    /// that a client knows what to ask the authorization server for. Purely
    /// informative: what a request needs is checked by the API
    /// ([`crate::Principal::require_scope`]).
    pub scopes_supported: Vec<String>,
    /// Where credentials are read from, unless [`crate::Guard::with_policy`]
    /// says otherwise for a particular API.
    pub policy: Policy,
    /// The confidential client this API introspects API keys as. Needed only
    /// by policies that accept API keys.
    pub introspection_client: Option<ClientCredentials>,
    /// The `realm` of the `WWW-Authenticate` challenge; the audience if unset.
    pub realm: Option<String>,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
    /// At most one JWKS fetch per this interval, however many unknown `kid`s
    /// arrive: garbage tokens must not turn into load on the server.
    pub jwks_refetch_interval: Duration,
    /// A key set older than this is refetched when next used, so a key the
    /// server withdrew stops verifying without waiting for an unknown `kid`.
    pub jwks_max_age: Duration,
    /// How many verified access tokens to remember (by SHA-256, until they
    /// expire), so that a client presenting the same token again costs a
    /// hash lookup instead of a signature check — ECDSA verification is most
    /// of the cost of a request. The memory is forgotten whenever the key
    /// set changes. 0 verifies every time.
    pub token_cache_capacity: usize,
    /// How long an active API key is trusted without asking again. This is
    /// also how long a revoked key keeps working here.
    pub api_key_ttl: Duration,
    /// How long an unknown or revoked API key is refused without asking again.
    pub api_key_negative_ttl: Duration,
    /// Bound on cached API-key answers, so random keys cannot grow memory.
    pub api_key_cache_capacity: usize,
    /// Timeout of each call to the authorization server.
    pub http_timeout: Duration,
}

impl GuardConfig {
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            resource_name: None,
            scopes_supported: Vec::new(),
            policy: Policy::default(),
            introspection_client: None,
            realm: None,
            leeway: Duration::from_secs(30),
            jwks_refetch_interval: Duration::from_secs(30),
            jwks_max_age: Duration::from_secs(300),
            token_cache_capacity: 10_000,
            api_key_ttl: Duration::from_secs(10),
            api_key_negative_ttl: Duration::from_secs(5),
            api_key_cache_capacity: 10_000,
            http_timeout: Duration::from_secs(5),
        }
    }

    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The `resource_name` of the metadata document.
    pub fn with_resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// The scopes advertised as `scopes_supported` in the metadata document.
    pub fn with_scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    pub fn with_client_credentials(mut self, client_id: ClientId, client_secret: Secret) -> Self {
        self.introspection_client = Some(ClientCredentials {
            client_id,
            client_secret,
        });
        self
    }
}

/// Client credentials for the introspection endpoint. The secret's `Debug`
/// is redacted.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub client_id: ClientId,
    pub client_secret: Secret,
}

/// Where one API accepts credentials from.
///
/// RFC 6750 §2 allows one method per request, so a request that carries
/// different values in two enabled places is refused rather than guessed at;
/// places that are not enabled are not looked at at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub(crate) bearer: bool,
    pub(crate) token_headers: Vec<HeaderName>,
    pub(crate) query_param: Option<String>,
    pub(crate) form_param: Option<String>,
    pub(crate) api_key: Option<ApiKeyRule>,
    pub(crate) max_form_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiKeyRule {
    pub(crate) header: HeaderName,
    /// `true`: the key is required beside an access token. `false`: the key
    /// alone is a credential.
    pub(crate) with_token: bool,
}

impl Default for Policy {
    /// `Authorization: Bearer` only: the one method every client supports and
    /// the one least likely to end up in a log.
    fn default() -> Self {
        Self::bearer()
    }
}

impl Policy {
    /// `Authorization: Bearer <token>` only.
    pub fn bearer() -> Self {
        Self {
            bearer: true,
            token_headers: Vec::new(),
            query_param: None,
            form_param: None,
            api_key: None,
            max_form_bytes: 64 * 1024,
        }
    }

    /// An access token in the header `name` only (e.g. [`X_ACCESS_TOKEN`]).
    pub fn token_header(name: HeaderName) -> Self {
        Self::bearer().with_bearer(false).with_token_header(name)
    }

    /// An API key in the header `name` alone (server-to-server), checked by
    /// introspection. Access tokens are not accepted.
    pub fn api_key(name: HeaderName) -> Self {
        Self {
            api_key: Some(ApiKeyRule {
                header: name,
                with_token: false,
            }),
            ..Self::bearer().with_bearer(false)
        }
    }

    /// An access token in `token_header` *and* a valid API key in
    /// `api_key_header`; either alone is refused.
    pub fn token_and_api_key(token_header: HeaderName, api_key_header: HeaderName) -> Self {
        Self {
            api_key: Some(ApiKeyRule {
                header: api_key_header,
                with_token: true,
            }),
            ..Self::token_header(token_header)
        }
    }

    /// Whether `Authorization: Bearer` is read.
    pub fn with_bearer(mut self, on: bool) -> Self {
        self.bearer = on;
        self
    }

    /// Also read an access token from the header `name`.
    pub fn with_token_header(mut self, name: HeaderName) -> Self {
        if !self.token_headers.contains(&name) {
            self.token_headers.push(name);
        }
        self
    }

    /// Also read an access token from the query parameter `name` (RFC 6750
    /// §2.3). Query strings end up in access logs; prefer headers.
    pub fn with_query_param(mut self, name: impl Into<String>) -> Self {
        self.query_param = Some(name.into());
        self
    }

    /// Also read an access token from the `application/x-www-form-urlencoded`
    /// body parameter `name` (RFC 6750 §2.2). Only [`crate::Guard::authenticate_request`]
    /// and the layer see bodies; they buffer at most [`Policy::with_max_form_bytes`]
    /// and hand the body on unchanged.
    pub fn with_form_param(mut self, name: impl Into<String>) -> Self {
        self.form_param = Some(name.into());
        self
    }

    /// Also accept an API key alone in the header `name`, as an alternative
    /// to an access token.
    pub fn with_api_key(mut self, name: HeaderName) -> Self {
        self.api_key = Some(ApiKeyRule {
            header: name,
            with_token: false,
        });
        self
    }

    /// The largest form body buffered to look for the token (default 64 KiB);
    /// a larger one is refused with 413.
    pub fn with_max_form_bytes(mut self, limit: usize) -> Self {
        self.max_form_bytes = limit;
        self
    }

    /// The RFC 6750 methods this policy accepts an access token by, as the
    /// `bearer_methods_supported` of RFC 9728: `header` for
    /// `Authorization: Bearer`, `body` and `query` for the `access_token`
    /// form and query parameters. Other places the policy may read (custom
    /// headers, parameters of other names, API keys) are no RFC 6750
    /// method and are not listed.
    pub fn bearer_methods_supported(&self) -> Vec<&'static str> {
        let mut methods = Vec::new();
        if self.bearer {
            methods.push("header");
        }
        if self.form_param.as_deref() == Some(ACCESS_TOKEN_PARAM) {
            methods.push("body");
        }
        if self.query_param.as_deref() == Some(ACCESS_TOKEN_PARAM) {
            methods.push("query");
        }
        methods
    }

    /// Where this policy looks, for the 401 sent when nothing was found.
    pub(crate) fn describe(&self) -> String {
        let mut places = Vec::new();
        if self.bearer {
            places.push("the Authorization header (Bearer)".to_owned());
        }
        for h in &self.token_headers {
            places.push(format!("the `{h}` header"));
        }
        if let Some(q) = &self.query_param {
            places.push(format!("the `{q}` query parameter"));
        }
        if let Some(f) = &self.form_param {
            places.push(format!("the `{f}` form parameter"));
        }
        let tokens = match places.len() {
            0 => None,
            1 => Some(places.remove(0)),
            _ => {
                let last = places.pop().unwrap_or_default();
                Some(format!("{} or {last}", places.join(", ")))
            }
        };
        match (&self.api_key, tokens) {
            (None, Some(t)) => format!("send an access token in {t}"),
            (Some(k), Some(t)) if k.with_token => format!(
                "send an access token in {t} and an API key in the `{}` header",
                k.header
            ),
            (Some(k), Some(t)) => format!(
                "send an access token in {t} or an API key in the `{}` header",
                k.header
            ),
            (Some(k), None) => format!("send an API key in the `{}` header", k.header),
            (None, None) => "this API accepts no credential".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_where_it_looks() {
        assert_eq!(
            Policy::bearer().describe(),
            "send an access token in the Authorization header (Bearer)"
        );
        let flexible = Policy::bearer()
            .with_token_header(ACCESS_TOKEN)
            .with_query_param(ACCESS_TOKEN_PARAM);
        assert_eq!(
            flexible.describe(),
            "send an access token in the Authorization header (Bearer), the `access_token` header or the `access_token` query parameter"
        );
        assert_eq!(
            Policy::token_and_api_key(X_ACCESS_TOKEN, X_API_KEY).describe(),
            "send an access token in the `x-access-token` header and an API key in the `x-api-key` header"
        );
        assert_eq!(
            Policy::api_key(X_API_KEY).describe(),
            "send an API key in the `x-api-key` header"
        );
    }

    #[test]
    fn bearer_methods_are_what_the_policy_reads() {
        assert_eq!(Policy::bearer().bearer_methods_supported(), ["header"]);
        let all = Policy::bearer()
            .with_form_param(ACCESS_TOKEN_PARAM)
            .with_query_param(ACCESS_TOKEN_PARAM)
            .with_token_header(X_ACCESS_TOKEN);
        assert_eq!(all.bearer_methods_supported(), ["header", "body", "query"]);
        // Not RFC 6750 methods: a custom header, a parameter of another name,
        // an API key.
        let custom = Policy::token_header(X_ACCESS_TOKEN).with_query_param("token");
        assert!(custom.bearer_methods_supported().is_empty());
        assert!(
            Policy::api_key(X_API_KEY)
                .bearer_methods_supported()
                .is_empty()
        );
    }

    #[test]
    fn config_debug_redacts_the_secret() {
        let c = GuardConfig::new("http://as", "api")
            .with_client_credentials(ClientId::new("rs"), Secret::new("hunter2"));
        let shown = format!("{c:?}");
        assert!(shown.contains("rs"));
        assert!(!shown.contains("hunter2"));
    }
}
