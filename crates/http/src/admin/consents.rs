//! Consents (grants): a user's are listed by an admin, and revoked.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Page;
use super::actor::Actor;
use super::problem::{Problem, ProblemBody};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentView {
    pub id: String,
    pub user_id: String,
    pub client_id: String,
    pub scope: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsentQuery {
    /// The username whose consents to list (admins); default the caller.
    pub username: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[utoipa::path(get, path = "/admin/api/v1/consents", params(ConsentQuery),
    responses((status = 200, body = Page<ConsentView>), (status = 404, body = ProblemBody)))]
pub async fn list(
    State(state): State<AppState>,
    actor: Actor,
    q: Result<Query<ConsentQuery>, QueryRejection>,
) -> Result<Json<Page<ConsentView>>, Problem> {
    let Query(q) = q?;
    let user = match q.username {
        Some(name) if name != actor.user.username => {
            actor.require_admin()?;
            state
                .server
                .store()
                .find_user_by_username(&name)
                .await?
                .ok_or_else(|| Problem::not_found("user"))?
        }
        _ => actor.user.clone(),
    };
    let all = state.server.store().list_consents(&user.id).await?;
    let views = all
        .into_iter()
        .map(|c| ConsentView {
            id: c.id,
            user_id: c.user_id.to_string(),
            client_id: c.client_id.to_string(),
            scope: c.scopes.to_string(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        })
        .collect();
    let paging = super::Paging {
        limit: q.limit,
        offset: q.offset,
    };
    Ok(Json(paging.apply(views)?))
}

#[utoipa::path(delete, path = "/admin/api/v1/consents/{id}", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ProblemBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    actor: Actor,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Problem> {
    let Path(id) = id?;
    let consent = state
        .server
        .store()
        .find_consent(&id)
        .await?
        .filter(|c| c.revoked_at.is_none() && (actor.is_admin() || c.user_id == actor.user.id))
        .ok_or_else(|| Problem::not_found("consent"))?;
    let owner = state
        .server
        .store()
        .find_user(&consent.user_id)
        .await?
        .ok_or_else(|| Problem::not_found("consent"))?;
    state.server.revoke_consent(&owner, &consent.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
