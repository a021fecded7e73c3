//! The one place an OAuth error becomes an HTTP response (RFC 6749 §5.2).

use std::any::Any;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_protocol::{ErrorCode, OAuthError};

/// An [`OAuthError`] on its way out.
#[derive(Debug)]
pub struct ApiError(pub OAuthError);

impl From<OAuthError> for ApiError {
    fn from(e: OAuthError) -> Self {
        Self(e)
    }
}

pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
        ErrorCode::SlowDown => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = status_of(e.code);
        match (status.is_server_error(), e.cause()) {
            (true, cause) => tracing::error!(error = %e.code, cause, "request failed"),
            (false, Some(cause)) => tracing::debug!(error = %e.code, cause, "request refused"),
            (false, None) => {
                tracing::debug!(error = %e.code, description = %e.description, "request refused")
            }
        }
        let mut res = (status, Json(e.body())).into_response();
        let headers = res.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if e.code == ErrorCode::InvalidClient {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"portcullis\", charset=\"UTF-8\""),
            );
        }
        if e.code == ErrorCode::InvalidToken {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        if e.code == ErrorCode::InsufficientScope {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"insufficient_scope\", scope=\"openid\""),
            );
        }
        if e.code == ErrorCode::TemporarilyUnavailable {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if e.code == ErrorCode::SlowDown {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        }
        res
    }
}

/// A panic is a bug; the client still gets an RFC 6749 body, not a dropped
/// connection.
pub fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    ApiError(OAuthError::server_error("handler panicked")).into_response()
}
