//! RFC 7807 problem details, the admin API's one error shape.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::registry::RegistryError;
use portcullis_protocol::{ErrorCode, OAuthError};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemBody {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
}

#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    detail: String,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
        }
    }
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authenticate with an API key carrying the portcullis:admin scope, or a console session",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = ProblemBody {
            type_: "about:blank".into(),
            title: self.status.canonical_reason().unwrap_or("Error").into(),
            status: self.status.as_u16(),
            detail: self.detail,
        };
        let mut res = (self.status, Json(body)).into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"portcullis-admin\""),
            );
        }
        res
    }
}

impl From<RegistryError> for Problem {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::Invalid(m) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, m),
            RegistryError::NotFound(what) => Self::not_found(&what),
            RegistryError::Unauthenticated => Self::unauthorized(),
            RegistryError::Forbidden(m) => Self::forbidden(m),
            RegistryError::Store(s) => OAuthError::from(s).into(),
            RegistryError::OAuth(e) => e.into(),
            RegistryError::Start(e) => {
                tracing::error!(error = %e, "admin request failed");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        }
    }
}

impl From<OAuthError> for Problem {
    fn from(e: OAuthError) -> Self {
        tracing::error!(error = %e.code, cause = e.cause(), "admin request failed");
        match e.code {
            ErrorCode::TemporarilyUnavailable => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "the store is unavailable")
            }
            ErrorCode::ServerError => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
            _ => Self::bad_request(e.description.to_string()),
        }
    }
}

impl From<portcullis_core::StoreError> for Problem {
    fn from(e: portcullis_core::StoreError) -> Self {
        OAuthError::from(e).into()
    }
}

impl From<JsonRejection> for Problem {
    fn from(e: JsonRejection) -> Self {
        // 400 for syntax, 422 for a well-formed body of the wrong shape,
        // 415 for another content type, 413 for an oversized body.
        Self::new(e.status(), e.body_text())
    }
}

impl From<PathRejection> for Problem {
    fn from(e: PathRejection) -> Self {
        Self::bad_request(e.body_text())
    }
}

impl From<QueryRejection> for Problem {
    fn from(e: QueryRejection) -> Self {
        Self::bad_request(e.body_text())
    }
}
