//! `POST /oauth/token` (RFC 6749 §3.2). Each grant reads its own parameters;
//! anything else is ignored, as §3.2 requires of unrecognized parameters.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use portcullis_core::grant::{TokenRequest, authorization_code, client_credentials, refresh_token};
use portcullis_protocol::error::{describe_malformed, is_description_char};
use portcullis_protocol::{OAuthError, Secret};

use super::no_store;
use crate::AppState;
use crate::client_auth;
use crate::error::ApiError;
use crate::params::Params;

pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    mut params: Params,
) -> Result<Response, ApiError> {
    let creds = client_auth::extract(&headers, &mut params)?;
    tracing::Span::current().record("client_id", creds.client_id.as_str());
    let request = match params.required("grant_type")? {
        "client_credentials" => TokenRequest::ClientCredentials(client_credentials::Request {
            scope: params.scope()?,
            resources: params.resources().to_vec(),
        }),
        "authorization_code" => TokenRequest::AuthorizationCode(authorization_code::Request {
            code: Secret::new(params.required("code")?),
            redirect_uri: params.get("redirect_uri").map(str::to_owned),
            code_verifier: params.get("code_verifier").map(str::to_owned),
            resources: params.resources().to_vec(),
        }),
        "refresh_token" => TokenRequest::RefreshToken(refresh_token::Request {
            refresh_token: Secret::new(params.required("refresh_token")?),
            scope: params.scope()?,
            resources: params.resources().to_vec(),
        }),
        other => return Err(unsupported(other).into()),
    };
    let response = state.server.token(&creds, request).await?;
    Ok(no_store(Json(response).into_response()))
}

/// Describes the grant type without repeating it (RFC 6749 §5.2 limits
/// what a description may contain, and input may contain anything).
fn unsupported(grant_type: &str) -> OAuthError {
    OAuthError::unsupported_grant_type(if grant_type.chars().all(is_description_char) {
        "unknown grant_type: use authorization_code, client_credentials or refresh_token".to_owned()
    } else {
        describe_malformed("grant_type", grant_type)
    })
}
