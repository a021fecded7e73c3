//! `GET|POST /oauth/userinfo` (OIDC Core §5.3): the access token as a
//! bearer header, or for POST in the form body (RFC 6750 §2.1–2.2), never
//! both.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use portcullis_protocol::{ErrorCode, OAuthError};

use super::no_store;
use crate::AppState;
use crate::error::ApiError;
use crate::params::form_pairs;

fn bearer(headers: &HeaderMap) -> Result<Option<String>, OAuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(OAuthError::invalid_request("Authorization is repeated"));
    }
    let value = value
        .to_str()
        .map_err(|_| OAuthError::invalid_request("Authorization is not ASCII"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() => {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(OAuthError::new(
            ErrorCode::InvalidToken,
            "send the access token as `Authorization: Bearer TOKEN`",
        )),
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

fn token_of(headers: &HeaderMap, body: Option<&[u8]>) -> Result<String, OAuthError> {
    let from_header = bearer(headers)?;
    let mut from_body = None;
    if let Some(body) = body.filter(|b| !b.is_empty() && is_form(headers)) {
        for (name, value) in form_pairs(body)? {
            if name == "access_token" {
                if from_body.is_some() {
                    return Err(OAuthError::invalid_request("access_token is repeated"));
                }
                from_body = Some(value);
            }
        }
    }
    match (from_header, from_body) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "send the access token once: in the Authorization header or in the body",
        )),
        (Some(t), None) | (None, Some(t)) => Ok(t),
        (None, None) => Err(OAuthError::new(
            ErrorCode::InvalidToken,
            "no access token: send `Authorization: Bearer TOKEN`",
        )),
    }
}

async fn answer(state: &AppState, token: Result<String, OAuthError>) -> Result<Response, ApiError> {
    let claims = state.server.userinfo(&token?).await?;
    Ok(no_store(Json(claims).into_response()))
}

pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    answer(&state, token_of(&headers, None)).await
}

pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    answer(&state, token_of(&headers, Some(&body))).await
}
