//! `POST /oauth/introspect` (RFC 7662). The caller authenticates as a
//! confidential client.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use portcullis_core::introspect::TokenTypeHint;

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
    let token = params.required("token")?;
    let caller = state
        .server
        .authenticate_confidential_client(&creds)
        .await?;
    // `token_type_hint` only orders the lookups (§2.1); every kind is tried.
    let hint = TokenTypeHint::parse(params.get("token_type_hint"));
    let answer = state.server.introspect(&caller, token, hint).await?;
    Ok(no_store(Json(answer).into_response()))
}
