//! axum integration: `Principal` as an extractor, `GuardError` as a
//! response, the RFC 9728 metadata document as a router.

use axum::Router;
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http::request::Parts;

use crate::{Guard, GuardError, Principal};

impl Guard {
    /// A router serving [`Guard::protected_resource_metadata`] at
    /// [`Guard::metadata_path`], e.g.
    /// `/.well-known/oauth-protected-resource/mcp` for the resource
    /// `https://api.example/mcp`. GET answers the JSON with
    /// `Access-Control-Allow-Origin: *` and a `Cache-Control` max-age of
    /// [`crate::METADATA_MAX_AGE`]; OPTIONS answers a CORS preflight. Merge it
    /// beside (not behind) the guard layer: clients fetch it before they have
    /// a token.
    pub fn metadata_router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let guard = self.clone();
        Router::new().route(
            self.metadata_path(),
            any(move |req: axum::extract::Request| {
                let guard = guard.clone();
                async move { guard.metadata_response::<axum::body::Body>(req.method()) }
            }),
        )
    }
}

/// Without the guard (a bare `GuardError` from a handler), the challenge
/// cannot name the RFC 9728 metadata; behind [`Guard::layer`] the layer adds
/// it.
impl IntoResponse for GuardError {
    fn into_response(self) -> Response {
        self.to_response()
    }
}

/// Behind [`Guard::layer`] this hands over the principal the layer found.
/// Without the layer, a [`Guard`] added as an extension
/// (`.layer(Extension(guard))`) authenticates here from the request head
/// (headers and query; form bodies need the layer).
impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = GuardError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(principal.clone());
        }
        match parts.extensions.get::<Guard>().cloned() {
            Some(guard) => guard.authenticate(parts).await,
            None => {
                tracing::error!(
                    "a handler takes a Principal, but no guard layer or Guard extension is installed"
                );
                Err(GuardError::Misconfigured)
            }
        }
    }
}
