//! axum integration: `Principal` as an extractor, `GuardError` as a response.

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::request::Parts;

use crate::{Guard, GuardError, Principal};

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
