//! Signing keys (admins only): list states, rotate.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use portcullis_core::keyring::key_states;
use portcullis_core::model::SigningAlg;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::actor::Caller;
use super::problem::{Problem, ProblemBody};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct SigningKeyView {
    pub kid: String,
    pub alg: String,
    /// next, active, retired or expired
    pub state: String,
    pub created_at: i64,
    pub active_at: i64,
    pub retired_at: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// ES256, EdDSA or RS256; default the configured algorithm.
    pub alg: Option<String>,
    /// Seconds between publishing and signing; default 600.
    pub publish_delay: Option<i64>,
}

#[utoipa::path(get, path = "/admin/api/v1/signing-keys",
    responses((status = 200, body = Vec<SigningKeyView>), (status = 403, body = ProblemBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<SigningKeyView>>, Problem> {
    let now = state.server.now();
    let keys = caller.on(&state.server).signing_keys().await?;
    Ok(Json(
        key_states(&keys, now)
            .into_iter()
            .map(|(k, s)| SigningKeyView {
                kid: k.kid.to_string(),
                alg: k.alg.as_str().into(),
                state: serde_json::to_value(s)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                created_at: k.created_at,
                active_at: k.active_at,
                retired_at: k.retired_at,
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/admin/api/v1/signing-keys/rotate", request_body = Rotation,
    responses((status = 201, body = SigningKeyView), (status = 403, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<Rotation>, JsonRejection>,
) -> Result<(StatusCode, Json<SigningKeyView>), Problem> {
    let Json(r) = body?;
    let acting = caller.on(&state.server);
    let alg = r
        .alg
        .map(|a| {
            SigningAlg::parse(&a).ok_or_else(|| {
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("alg `{a}` is not ES256, EdDSA or RS256"),
                )
            })
        })
        .transpose()?;
    let delay = r.publish_delay.unwrap_or(600);
    if !(0..=30 * 86_400).contains(&delay) {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "publish_delay must be 0 to 2592000 seconds",
        ));
    }
    let key = acting.rotate_signing_key(alg, delay).await?;
    Ok((
        StatusCode::CREATED,
        Json(SigningKeyView {
            kid: key.kid.to_string(),
            alg: key.alg.as_str().into(),
            state: if delay == 0 { "active" } else { "next" }.into(),
            created_at: key.created_at,
            active_at: key.active_at,
            retired_at: None,
        }),
    ))
}
