//! API keys: a developer manages their own, an admin anyone's.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_core::api_keys::ApiKeySpec;
use portcullis_core::model::ApiKeyRecord;
use portcullis_protocol::ScopeSet;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::actor::Actor;
use super::problem::{Problem, ProblemBody};
use super::{Page, Paging};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    /// `user` or `client`.
    pub owner_kind: String,
    pub owner: String,
    pub scope: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl From<&ApiKeyRecord> for ApiKeyView {
    fn from(k: &ApiKeyRecord) -> Self {
        Self {
            id: k.id.clone(),
            name: k.name.clone(),
            owner_kind: k.owner_kind.as_str().into(),
            owner: k.owner_id.clone(),
            scope: k.scopes.to_string(),
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    pub name: String,
    #[serde(default)]
    pub scope: String,
    pub expires_in_days: Option<i64>,
    /// Admins only: a username or client id; default the caller.
    pub owner: Option<String>,
}

/// The key, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    pub key: String,
    pub api_key: ApiKeyView,
}

#[utoipa::path(get, path = "/admin/api/v1/api-keys", params(Paging),
    responses((status = 200, body = Page<ApiKeyView>), (status = 401, body = ProblemBody)))]
pub async fn list(
    State(state): State<AppState>,
    actor: Actor,
    paging: Result<Query<Paging>, QueryRejection>,
) -> Result<Json<Page<ApiKeyView>>, Problem> {
    let Query(paging) = paging?;
    let all = state.server.store().list_api_keys().await?;
    let mine = all
        .iter()
        .filter(|k| actor.owns(Some(&k.owner_id)))
        .map(ApiKeyView::from)
        .collect();
    Ok(Json(paging.apply(mine)?))
}

#[utoipa::path(post, path = "/admin/api/v1/api-keys", request_body = NewApiKey,
    responses((status = 201, body = CreatedKey), (status = 403, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn create(
    State(state): State<AppState>,
    actor: Actor,
    body: Result<Json<NewApiKey>, JsonRejection>,
) -> Result<Response, Problem> {
    let Json(new) = body?;
    let owner = match new.owner {
        Some(o) if o != actor.user.username => {
            actor.require_admin()?;
            o
        }
        _ => actor.user.username.clone(),
    };
    let scopes = ScopeSet::parse(&new.scope)
        .map_err(|e| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
    let created = state
        .server
        .create_api_key(ApiKeySpec {
            owner,
            name: new.name,
            scopes,
            expires_in_days: new.expires_in_days,
        })
        .await?;
    let body = CreatedKey {
        key: created.key.expose().to_owned(),
        api_key: ApiKeyView::from(&created.record),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[utoipa::path(delete, path = "/admin/api/v1/api-keys/{id}", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ProblemBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    actor: Actor,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Problem> {
    let Path(id) = id?;
    let key = state
        .server
        .store()
        .find_api_key(&id)
        .await?
        .filter(|k| actor.owns(Some(&k.owner_id)))
        .ok_or_else(|| Problem::not_found("API key"))?;
    state.server.revoke_api_key(&key.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
