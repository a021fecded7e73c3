//! `POST /oauth/revoke` (RFC 7009). A confidential client authenticates; a
//! public one names itself with `client_id` alone (§2.1) and, like any
//! caller, can only revoke its own tokens.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

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
    let client = state.server.authenticate_client(&creds).await?;
    state.server.revoke(&client, token).await?;
    Ok(no_store(StatusCode::OK.into_response()))
}
