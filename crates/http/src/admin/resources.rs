//! Resource servers (RFC 8707): anyone may read them, admins define them.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_core::model::Resource;
use portcullis_core::resources::ResourceSpec;
use portcullis_protocol::{ResourceUri, ScopeSet};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::actor::Caller;
use super::problem::{Problem, ProblemBody};
use super::{Page, Paging};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceView {
    /// The API's identifier: the `resource` clients send and the tokens' `aud`.
    pub uri: String,
    pub name: String,
    /// The scopes this API understands, space-separated; empty: any.
    pub scope: String,
    /// Only clients allowed it by name may ask tokens for it.
    pub restricted: bool,
    pub created_at: i64,
}

impl From<&Resource> for ResourceView {
    fn from(r: &Resource) -> Self {
        Self {
            uri: r.uri.to_string(),
            name: r.name.clone(),
            scope: r.scopes.to_string(),
            restricted: r.restricted,
            created_at: r.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResource {
    /// An absolute `https` URI without fragment (`http` only on loopback).
    pub uri: String,
    pub name: String,
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub restricted: bool,
}

#[utoipa::path(get, path = "/admin/api/v1/resources", params(Paging),
    responses((status = 200, body = Page<ResourceView>), (status = 401, body = ProblemBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    paging: Result<Query<Paging>, QueryRejection>,
) -> Result<Json<Page<ResourceView>>, Problem> {
    let Query(paging) = paging?;
    let all = caller.on(&state.server).list_resources().await?;
    Ok(Json(
        paging.apply(all.iter().map(ResourceView::from).collect())?,
    ))
}

#[utoipa::path(post, path = "/admin/api/v1/resources", request_body = NewResource,
    responses((status = 201, body = ResourceView), (status = 403, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn define(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<NewResource>, JsonRejection>,
) -> Result<Response, Problem> {
    let Json(new) = body?;
    let scopes = ScopeSet::parse(&new.scope)
        .map_err(|e| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
    let r = caller
        .on(&state.server)
        .define_resource(ResourceSpec {
            uri: new.uri,
            name: new.name,
            scopes,
            restricted: new.restricted,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(ResourceView::from(&r))).into_response())
}

#[utoipa::path(delete, path = "/admin/api/v1/resources/{uri}", params(("uri" = String, Path, description = "percent-encoded")),
    responses((status = 204), (status = 404, body = ProblemBody)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    uri: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Problem> {
    let Path(uri) = uri?;
    let uri: ResourceUri = uri.parse().map_err(|_| Problem::not_found("resource"))?;
    caller.on(&state.server).delete_resource(&uri).await?;
    Ok(StatusCode::NO_CONTENT)
}
