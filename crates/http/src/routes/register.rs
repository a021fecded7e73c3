//! `POST /oauth/register` (RFC 7591) and `/oauth/register/{client_id}`
//! (RFC 7592): JSON in, JSON out; the bearer token is the initial access
//! token at the first, the registration access token at the second.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::registration::{ClientMetadata, Registrant};
use portcullis_protocol::{ErrorCode, OAuthError};

use super::no_store;
use crate::AppState;
use crate::error::ApiError;
use crate::pages::ClientAddr;

/// The `Authorization: Bearer` token, if any (RFC 6750 §2.1).
fn bearer(headers: &HeaderMap) -> Result<Option<&str>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| OAuthError::invalid_request("the Authorization header is malformed"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(OAuthError::new(
            ErrorCode::InvalidToken,
            "send the token as Authorization: Bearer TOKEN",
        )),
    }
}

/// The body as client metadata: a JSON object (RFC 7591 §3.1).
fn metadata(headers: &HeaderMap, body: &Bytes) -> Result<ClientMetadata, OAuthError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if !json {
        return Err(OAuthError::new(
            ErrorCode::InvalidClientMetadata,
            "send the client metadata as Content-Type: application/json",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        OAuthError::new(
            ErrorCode::InvalidClientMetadata,
            if e.is_data() {
                "a client metadata field has the wrong type"
            } else {
                "the body is not a JSON object"
            },
        )
    })
}

pub async fn register(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let initial_token = bearer(&headers)?;
    let metadata = metadata(&headers, &body)?;
    let view = state
        .server
        .register_dynamic_client(
            Registrant {
                initial_token,
                address: &address,
            },
            metadata,
        )
        .await?;
    Ok(no_store((StatusCode::CREATED, Json(view)).into_response()))
}

pub async fn read(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let view = state
        .server
        .read_registration(&id, bearer(&headers)?)
        .await?;
    Ok(no_store(Json(view).into_response()))
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let token = bearer(&headers)?;
    let metadata = metadata(&headers, &body)?;
    let view = state
        .server
        .update_registration(&id, token, metadata)
        .await?;
    Ok(no_store(Json(view).into_response()))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    state
        .server
        .delete_registration(&id, bearer(&headers)?)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
