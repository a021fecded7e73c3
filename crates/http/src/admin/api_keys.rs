//! API keys: a developer manages their own, an admin anyone's.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_core::api_keys::ApiKeySpec;
use portcullis_core::model::{ApiKeyRecord, Owner};
use portcullis_core::policy::Actor;
use portcullis_protocol::{ClientId, ScopeSet, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::actor::Caller;
use super::problem::{Problem, ProblemBody};
use super::{Page, Paging};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    pub owner: OwnerRef,
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
            owner: OwnerRef::from(&k.owner),
            scope: k.scopes.to_string(),
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// Who a key acts for: a user (by user id) or a client (by client id).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerRef {
    pub kind: OwnerKind,
    pub id: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OwnerKind {
    User,
    Client,
}

impl From<&Owner> for OwnerRef {
    fn from(o: &Owner) -> Self {
        let kind = match o {
            Owner::User(_) => OwnerKind::User,
            Owner::Client(_) => OwnerKind::Client,
        };
        Self {
            kind,
            id: o.id().to_owned(),
        }
    }
}

impl From<OwnerRef> for Owner {
    fn from(o: OwnerRef) -> Self {
        match o.kind {
            OwnerKind::User => Owner::User(UserId::new(o.id)),
            OwnerKind::Client => Owner::Client(ClientId::new(o.id)),
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
    /// Default the caller. Another owner needs the admin role, except a
    /// client the caller registered.
    pub owner: Option<OwnerRef>,
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
    caller: Caller,
    paging: Result<Query<Paging>, QueryRejection>,
) -> Result<Json<Page<ApiKeyView>>, Problem> {
    let Query(paging) = paging?;
    let visible = caller.on(&state.server).list_api_keys().await?;
    Ok(Json(
        paging.apply(visible.iter().map(ApiKeyView::from).collect())?,
    ))
}

#[utoipa::path(post, path = "/admin/api/v1/api-keys", request_body = NewApiKey,
    responses((status = 201, body = CreatedKey), (status = 403, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<NewApiKey>, JsonRejection>,
) -> Result<Response, Problem> {
    let Json(new) = body?;
    let owner = match (new.owner, &caller.0) {
        (Some(o), _) => Owner::from(o),
        (None, Actor::User { id, .. }) => Owner::User(id.clone()),
        (None, Actor::Client(id)) => Owner::Client(id.clone()),
        (None, _) => return Err(Problem::unauthorized()),
    };
    let scopes = ScopeSet::parse(&new.scope)
        .map_err(|e| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
    let created = caller
        .on(&state.server)
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
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Problem> {
    let Path(id) = id?;
    caller.on(&state.server).revoke_api_key(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
