//! Consents (grants): a user's are listed by an admin, and revoked.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Page;
use super::actor::Caller;
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
    caller: Caller,
    q: Result<Query<ConsentQuery>, QueryRejection>,
) -> Result<Json<Page<ConsentView>>, Problem> {
    let Query(q) = q?;
    let mine = caller.user_id().cloned();
    let acting = caller.on(&state.server);
    let user = match (q.username, mine) {
        (Some(name), _) => acting.user_by_name(&name).await?.id,
        (None, Some(me)) => me,
        (None, None) => return Err(Problem::bad_request("name the user: ?username=")),
    };
    let all = acting.consents(&user).await?;
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
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Problem> {
    let Path(id) = id?;
    caller.on(&state.server).end_consent(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
