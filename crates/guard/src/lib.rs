//! `portcullis-guard`: what an API behind Portcullis uses to decide who is
//! calling.
//!
//! JWT access tokens are verified locally against the server's published
//! keys, so the authorization server is off the request path; opaque API
//! keys are checked by introspection with a short cache. Where credentials
//! are read from is a [`Policy`] chosen per API. Failures are RFC 6750
//! responses ([`GuardError`]).
//!
//! ```no_run
//! use portcullis_guard::{Guard, GuardConfig, Policy};
//! # async fn run(parts: http::request::Parts) -> Result<(), Box<dyn std::error::Error>> {
//! let guard = Guard::new(GuardConfig::new("https://auth.example", "https://api.example"))?;
//! let principal = guard.authenticate(&parts).await?;
//! principal.require_scope("orders:read")?;
//! # Ok(()) }
//! ```
//!
//! With tower, [`Guard::layer`] rejects unauthenticated requests and puts the
//! [`Principal`] into the request extensions; with the `axum` feature,
//! `Principal` is also an extractor and `GuardError` a response.

mod cache;
mod config;
mod discovery;
mod error;
mod extract;
mod introspect;
mod jwt;
mod layer;
mod metadata;
mod principal;

#[cfg(feature = "axum")]
mod axum;

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, Request, Uri};
use http_body_util::{BodyExt, Limited};

pub use config::{
    ACCESS_TOKEN, ACCESS_TOKEN_PARAM, ClientCredentials, GuardConfig, Policy, X_ACCESS_TOKEN,
    X_API_KEY,
};
pub use error::GuardError;
pub use layer::{GuardLayer, GuardService};
pub use metadata::{
    METADATA_MAX_AGE, PROTECTED_RESOURCE_WELL_KNOWN, ProtectedResourceMetadata,
    protected_resource_metadata_path, protected_resource_metadata_url,
};
pub use principal::{Principal, PrincipalKind, Principals};

use discovery::Discovery;
use extract::Presented;
use introspect::ApiKeys;
use jwt::Keys;

/// Checks credentials for one API. Cheap to clone; clones share the key and
/// API-key caches, and so do guards made with [`Guard::with_policy`].
#[derive(Clone)]
pub struct Guard {
    shared: Arc<Shared>,
    policy: Arc<PolicyState>,
}

struct Shared {
    http: reqwest::Client,
    discovery: Discovery,
    keys: Keys,
    api_keys: ApiKeys,
    realm: Arc<str>,
    /// RFC 9728: what the metadata document says, and where it is.
    issuer: String,
    resource: String,
    resource_name: Option<String>,
    scopes_supported: Vec<String>,
    metadata_path: String,
    metadata_url: Option<String>,
}

struct PolicyState {
    policy: Policy,
    /// Where the policy looks, precomputed for the 401 of a bare request.
    hint: Arc<str>,
}

/// A configuration the guard cannot work with.
#[derive(Debug, thiserror::Error)]
#[error("invalid guard configuration: {0}")]
pub struct ConfigError(String);

impl Guard {
    /// Build a guard. Nothing is fetched yet: metadata and keys are read on
    /// first use (or by [`Guard::warm_up`]), so an API can start while the
    /// authorization server is still coming up.
    pub fn new(config: GuardConfig) -> Result<Self, ConfigError> {
        let issuer = url::Url::parse(&config.issuer)
            .map_err(|e| ConfigError(format!("issuer `{}`: {e}", config.issuer)))?;
        if !matches!(issuer.scheme(), "https" | "http") {
            return Err(ConfigError(format!(
                "issuer `{}` is not an http(s) URL",
                config.issuer
            )));
        }
        if config.audience.is_empty() {
            return Err(ConfigError("the audience is empty".into()));
        }
        if let Ok(resource) = url::Url::parse(&config.audience)
            && matches!(resource.scheme(), "https" | "http")
            && resource.fragment().is_some()
        {
            return Err(ConfigError(format!(
                "resource identifier `{}` has a fragment (RFC 8707 section 2)",
                config.audience
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(config.http_timeout)
            .build()
            .map_err(|e| ConfigError(format!("HTTP client: {e}")))?;
        let realm = config
            .realm
            .clone()
            .unwrap_or_else(|| config.audience.clone());
        let shared = Shared {
            http,
            discovery: Discovery::new(&config.issuer),
            keys: Keys::new(&config),
            api_keys: ApiKeys::new(&config),
            realm: realm.into(),
            metadata_path: protected_resource_metadata_path(&config.audience),
            metadata_url: protected_resource_metadata_url(&config.audience),
            issuer: config.issuer,
            resource: config.audience,
            resource_name: config.resource_name,
            scopes_supported: config.scopes_supported,
        };
        Ok(Self {
            shared: Arc::new(shared),
            policy: Arc::new(PolicyState::new(config.policy)),
        })
    }

    /// The same guard (same server, same caches) for an API that reads
    /// credentials differently.
    pub fn with_policy(&self, policy: Policy) -> Self {
        Self {
            shared: self.shared.clone(),
            policy: Arc::new(PolicyState::new(policy)),
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy.policy
    }

    /// A tower layer enforcing this guard's policy. Its refusals, and the
    /// 401 and 403 Bearer challenges of the API behind it (e.g. a handler's
    /// [`Principal::require_scope`]), name this resource's RFC 9728 metadata.
    pub fn layer(&self) -> GuardLayer {
        GuardLayer::new(self.clone())
    }

    /// This API's resource identifier: the audience it was configured with.
    pub fn resource(&self) -> &str {
        &self.shared.resource
    }

    /// The RFC 9728 metadata of this resource: its identifier, the issuer as
    /// its one authorization server, the advertised scopes, the RFC 6750
    /// methods this guard's policy reads and the resource's name.
    pub fn protected_resource_metadata(&self) -> ProtectedResourceMetadata {
        let s = &self.shared;
        ProtectedResourceMetadata {
            resource: s.resource.clone(),
            authorization_servers: vec![s.issuer.clone()],
            scopes_supported: s.scopes_supported.clone(),
            bearer_methods_supported: self
                .policy()
                .bearer_methods_supported()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            resource_name: s.resource_name.clone(),
        }
    }

    /// The path to serve [`Guard::protected_resource_metadata`] at (RFC
    /// 9728 §3.1), e.g. `/.well-known/oauth-protected-resource/mcp` for the
    /// resource `https://api.example/mcp`.
    pub fn metadata_path(&self) -> &str {
        &self.shared.metadata_path
    }

    /// The absolute URL of the metadata document, which every challenge
    /// names as `resource_metadata`; `None` if the resource identifier is not
    /// an http(s) URL.
    pub fn resource_metadata_url(&self) -> Option<&str> {
        self.shared.metadata_url.as_deref()
    }

    /// The answer to a request at [`Guard::metadata_path`], for frameworks
    /// other than axum (there, [`Guard::metadata_router`] serves it): the
    /// JSON document to GET, readable from any origin and cacheable; a CORS
    /// preflight answer to OPTIONS; 405 to anything else.
    pub fn metadata_response<B: From<Bytes>>(&self, method: &http::Method) -> http::Response<B> {
        let json = serde_json::to_vec(&self.protected_resource_metadata()).unwrap_or_default();
        metadata::response(method, Bytes::from(json))
    }

    /// `error` as this guard answers it: [`GuardError::to_response`] with the
    /// challenge naming the metadata document (`resource_metadata`).
    pub fn error_response<B: From<Bytes>>(&self, error: &GuardError) -> http::Response<B> {
        error.to_response_with_metadata(self.resource_metadata_url())
    }

    /// Fetch metadata and keys now, to fail fast at startup and spare the
    /// first request the wait.
    pub async fn warm_up(&self) -> Result<(), GuardError> {
        let s = &self.shared;
        s.keys.warm_up(&s.http, &s.discovery).await
    }

    /// Authenticate a request from its head: headers and query string.
    /// Form bodies are not seen here; use [`Guard::authenticate_request`]
    /// (as the layer does) for policies that read them.
    pub async fn authenticate(&self, parts: &Parts) -> Result<Principal, GuardError> {
        self.authenticate_headers(&parts.headers, &parts.uri).await
    }

    /// [`Guard::authenticate`] for frameworks that do not hand out `Parts`.
    pub async fn authenticate_headers(
        &self,
        headers: &HeaderMap,
        uri: &Uri,
    ) -> Result<Principal, GuardError> {
        let presented = self.find(headers, uri, None)?;
        self.check(presented).await
    }

    /// Authenticate a whole request, reading an `application/x-www-form-urlencoded`
    /// body if the policy accepts the token there. The body is buffered (up
    /// to the policy's limit) and put back, so the handler still gets it;
    /// the request is returned either way.
    pub async fn authenticate_request<B>(
        &self,
        req: Request<B>,
    ) -> (Request<B>, Result<Principal, GuardError>)
    where
        B: http_body::Body + From<Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if !extract::wants_form(self.policy(), req.headers()) {
            let result = self.authenticate_headers(req.headers(), req.uri()).await;
            return (req, result);
        }
        let (parts, body) = req.into_parts();
        let bytes = match self.read_form(&parts, body).await {
            Ok(bytes) => bytes,
            Err(e) => return (Request::from_parts(parts, B::from(Bytes::new())), Err(e)),
        };
        let result = match self.find(&parts.headers, &parts.uri, Some(&bytes)) {
            Ok(presented) => self.check(presented).await,
            Err(e) => Err(e),
        };
        (Request::from_parts(parts, B::from(bytes)), result)
    }

    /// Verify a JWT access token, wherever it came from.
    pub async fn verify_access_token(&self, token: &str) -> Result<Principal, GuardError> {
        let s = &self.shared;
        s.keys.verify(token, &s.http, &s.discovery).await
    }

    /// Check an API key by introspection (cached).
    pub async fn verify_api_key(&self, key: &str) -> Result<Principal, GuardError> {
        let s = &self.shared;
        let info = s.api_keys.check(key, &s.http, &s.discovery).await?;
        Ok(info.into_principal())
    }

    fn find(
        &self,
        headers: &HeaderMap,
        uri: &Uri,
        form: Option<&[u8]>,
    ) -> Result<Presented, GuardError> {
        extract::find(
            &self.policy.policy,
            &self.shared.realm,
            &self.policy.hint,
            headers,
            uri,
            form,
        )
    }

    async fn check(&self, presented: Presented) -> Result<Principal, GuardError> {
        match presented {
            Presented::Token(token) => self.verify_access_token(&token).await,
            Presented::ApiKey(key) => self.verify_api_key(&key).await,
            Presented::TokenAndApiKey { token, api_key } => {
                // The local check first: a bad token costs no round trip.
                let mut principal = self.verify_access_token(&token).await?;
                let s = &self.shared;
                let key = s.api_keys.check(&api_key, &s.http, &s.discovery).await?;
                principal.api_key_owner = Some(key.owner);
                Ok(principal)
            }
        }
    }

    async fn read_form<B>(&self, parts: &Parts, body: B) -> Result<Bytes, GuardError>
    where
        B: http_body::Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let limit = self.policy().max_form_bytes;
        let declared = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(GuardError::BodyTooLarge);
        }
        match Limited::new(body, limit).collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(GuardError::BodyTooLarge),
            Err(_) => Err(GuardError::invalid_request(
                "the request body could not be read",
            )),
        }
    }
}

/// Unix seconds now; 0 for a clock before 1970, which fails every check.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl PolicyState {
    fn new(policy: Policy) -> Self {
        let hint = policy.describe().into();
        Self { policy, hint }
    }
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("resource", &self.shared.resource)
            .field("realm", &self.shared.realm)
            .field("policy", &self.policy.policy)
            .finish_non_exhaustive()
    }
}
