//! Scope definitions: anyone may read them, admins define them.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_core::model::{GrantPolicy, ScopeDefinition};
use portcullis_core::registry::ScopeSpec;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::actor::Caller;
use super::problem::{Problem, ProblemBody};
use super::{Page, Paging};
use crate::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScopeView {
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub requires_resource: bool,
    /// `self-service` (any developer may allow it on their own clients and
    /// keys) or `restricted` (only an administrator); default restricted.
    /// `portcullis:*` scopes are always restricted.
    #[serde(default)]
    #[schema(value_type = String)]
    pub grant_policy: GrantPolicy,
    /// A resource permission clients and API keys may hold without a
    /// user's consent (the resource hook is still asked).
    #[serde(default)]
    pub machine_grantable: bool,
    /// Named in the metadata's `scopes_supported` (default true). An
    /// unlisted scope works the same; it is only not advertised.
    #[serde(default = "listed_by_default")]
    #[schema(default = true)]
    pub listed: bool,
}

fn listed_by_default() -> bool {
    true
}

impl From<&ScopeDefinition> for ScopeView {
    fn from(d: &ScopeDefinition) -> Self {
        Self {
            name: d.name.clone(),
            description: d.description.clone(),
            requires_resource: d.requires_resource,
            grant_policy: d.effective_policy(),
            machine_grantable: d.machine_grantable,
            listed: d.listed,
        }
    }
}

#[utoipa::path(get, path = "/admin/api/v1/scopes", params(Paging),
    responses((status = 200, body = Page<ScopeView>), (status = 401, body = ProblemBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    paging: Result<Query<Paging>, QueryRejection>,
) -> Result<Json<Page<ScopeView>>, Problem> {
    let Query(paging) = paging?;
    let all = caller.on(&state.server).list_scopes().await?;
    Ok(Json(
        paging.apply(all.iter().map(ScopeView::from).collect())?,
    ))
}

#[utoipa::path(post, path = "/admin/api/v1/scopes", request_body = ScopeView,
    responses((status = 201, body = ScopeView), (status = 403, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn define(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<ScopeView>, JsonRejection>,
) -> Result<Response, Problem> {
    let Json(def) = body?;
    let d = caller
        .on(&state.server)
        .define_scope(ScopeSpec {
            name: def.name,
            description: def.description,
            requires_resource: def.requires_resource,
            grant_policy: def.grant_policy,
            machine_grantable: def.machine_grantable,
            listed: def.listed,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(ScopeView::from(&d))).into_response())
}
