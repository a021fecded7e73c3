//! `POST /oauth/token` (RFC 6749 §3.2). Each grant reads its own parameters;
//! anything else is ignored, as §3.2 requires of unrecognized parameters.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use portcullis_core::grant::{TokenRequest, authorization_code, client_credentials, refresh_token};
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
        }),
        "authorization_code" => TokenRequest::AuthorizationCode(authorization_code::Request {
            code: Secret::new(params.required("code")?),
            redirect_uri: params.get("redirect_uri").map(str::to_owned),
            code_verifier: params.get("code_verifier").map(str::to_owned),
        }),
        "refresh_token" => TokenRequest::RefreshToken(refresh_token::Request {
            refresh_token: Secret::new(params.required("refresh_token")?),
            scope: params.scope()?,
        }),
        other => {
            return Err(OAuthError::unsupported_grant_type(format!(
                "grant type `{}` is not supported",
                other.chars().take(40).collect::<String>().escape_debug()
            ))
            .into());
        }
    };
    let response = state.server.token(&creds, request).await?;
    Ok(no_store(Json(response).into_response()))
}
