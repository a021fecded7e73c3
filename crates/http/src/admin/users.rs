//! Users (admins only).

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_core::model::User;
use portcullis_protocol::UserId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::actor::Actor;
use super::problem::{Problem, ProblemBody};
use super::{Page, Paging};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub admin: bool,
    pub disabled: bool,
    pub created_at: i64,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            username: u.username.clone(),
            admin: u.admin,
            disabled: u.disabled,
            created_at: u.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub admin: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub disabled: Option<bool>,
    pub password: Option<String>,
}

async fn find(state: &AppState, id: &str) -> Result<User, Problem> {
    state
        .server
        .store()
        .find_user(&UserId::new(id))
        .await?
        .ok_or_else(|| Problem::not_found("user"))
}

#[utoipa::path(get, path = "/admin/api/v1/users", params(Paging),
    responses((status = 200, body = Page<UserView>), (status = 403, body = ProblemBody)))]
pub async fn list(
    State(state): State<AppState>,
    actor: Actor,
    paging: Result<Query<Paging>, QueryRejection>,
) -> Result<Json<Page<UserView>>, Problem> {
    actor.require_admin()?;
    let Query(paging) = paging?;
    let all = state.server.store().list_users().await?;
    Ok(Json(
        paging.apply(all.iter().map(UserView::from).collect())?,
    ))
}

#[utoipa::path(post, path = "/admin/api/v1/users", request_body = NewUser,
    responses((status = 201, body = UserView), (status = 403, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn create(
    State(state): State<AppState>,
    actor: Actor,
    body: Result<Json<NewUser>, JsonRejection>,
) -> Result<Response, Problem> {
    actor.require_admin()?;
    let Json(new) = body?;
    let user = state
        .server
        .create_user(&new.username, &new.password, new.admin)
        .await?;
    Ok((StatusCode::CREATED, Json(UserView::from(&user))).into_response())
}

#[utoipa::path(get, path = "/admin/api/v1/users/{id}", params(("id" = String, Path)),
    responses((status = 200, body = UserView), (status = 404, body = ProblemBody)))]
pub async fn show(
    State(state): State<AppState>,
    actor: Actor,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<UserView>, Problem> {
    let Path(id) = id?;
    if !actor.is_admin() && id != actor.user.id.as_str() {
        return Err(Problem::not_found("user"));
    }
    Ok(Json(UserView::from(&find(&state, &id).await?)))
}

#[utoipa::path(patch, path = "/admin/api/v1/users/{id}", params(("id" = String, Path)), request_body = UserPatch,
    responses((status = 200, body = UserView), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn update(
    State(state): State<AppState>,
    actor: Actor,
    id: Result<Path<String>, PathRejection>,
    body: Result<Json<UserPatch>, JsonRejection>,
) -> Result<Json<UserView>, Problem> {
    actor.require_admin()?;
    let Path(id) = id?;
    let Json(patch) = body?;
    let user = find(&state, &id).await?;
    if let Some(pw) = &patch.password {
        state.server.set_password(&user.username, pw).await?;
    }
    if let Some(disabled) = patch.disabled {
        state
            .server
            .set_user_disabled(&user.username, disabled)
            .await?;
    }
    Ok(Json(UserView::from(&find(&state, &id).await?)))
}
