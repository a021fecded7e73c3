//! Initial access tokens for dynamic client registration (admins only).

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use portcullis_core::registration::MAX_INITIAL_TOKEN_SECS;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::actor::Caller;
use super::problem::{Problem, ProblemBody};
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRegistrationToken {
    /// Seconds until it expires: 60 to 2592000, default 86400.
    pub expires_in: Option<i64>,
}

/// The token is shown here once; only its hash is kept.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedRegistrationToken {
    /// Send as `Authorization: Bearer` to `POST /oauth/register`; one use.
    pub token: String,
    pub expires_at: i64,
}

#[utoipa::path(post, path = "/admin/api/v1/registration-tokens", request_body = NewRegistrationToken,
    responses((status = 201, body = CreatedRegistrationToken), (status = 403, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<NewRegistrationToken>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedRegistrationToken>), Problem> {
    let Json(r) = body?;
    if let Some(s) = r.expires_in
        && !(60..=MAX_INITIAL_TOKEN_SECS).contains(&s)
    {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("expires_in must be 60 to {MAX_INITIAL_TOKEN_SECS} seconds"),
        ));
    }
    let (token, expires_at) = caller
        .on(&state.server)
        .create_registration_token(r.expires_in)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedRegistrationToken {
            token: token.expose().to_owned(),
            expires_at,
        }),
    ))
}
