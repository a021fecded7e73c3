//! Scope definitions: anyone may read them, admins define them.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_core::model::ScopeDefinition;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::actor::Actor;
use super::problem::{Problem, ProblemBody};
use super::{Page, Paging};
use crate::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScopeView {
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub requires_resource: bool,
}

impl From<&ScopeDefinition> for ScopeView {
    fn from(d: &ScopeDefinition) -> Self {
        Self {
            name: d.name.clone(),
            description: d.description.clone(),
            requires_resource: d.requires_resource,
        }
    }
}

#[utoipa::path(get, path = "/admin/api/v1/scopes", params(Paging),
    responses((status = 200, body = Page<ScopeView>), (status = 401, body = ProblemBody)))]
pub async fn list(
    State(state): State<AppState>,
    _actor: Actor,
    paging: Result<Query<Paging>, QueryRejection>,
) -> Result<Json<Page<ScopeView>>, Problem> {
    let Query(paging) = paging?;
    let all = state.server.store().list_scopes().await?;
    Ok(Json(
        paging.apply(all.iter().map(ScopeView::from).collect())?,
    ))
}

#[utoipa::path(post, path = "/admin/api/v1/scopes", request_body = ScopeView,
    responses((status = 201, body = ScopeView), (status = 403, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn define(
    State(state): State<AppState>,
    actor: Actor,
    body: Result<Json<ScopeView>, JsonRejection>,
) -> Result<Response, Problem> {
    actor.require_admin()?;
    let Json(def) = body?;
    let d = state
        .server
        .define_scope(&def.name, &def.description, def.requires_resource)
        .await?;
    Ok((StatusCode::CREATED, Json(ScopeView::from(&d))).into_response())
}
