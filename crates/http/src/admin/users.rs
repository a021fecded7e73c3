//! Users (admins only).

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_core::model::User;
use portcullis_core::profile::UserProfile;
use portcullis_protocol::UserId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::actor::Caller;
use super::problem::{Problem, ProblemBody};
use super::{Page, Paging};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub admin: bool,
    pub disabled: bool,
    /// The OpenID Connect standard claims (OIDC Core §5.1) released by the
    /// profile, email, phone and address scopes; absent ones left out.
    #[schema(value_type = Object)]
    pub profile: UserProfile,
    pub created_at: i64,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            username: u.username.clone(),
            admin: u.admin,
            disabled: u.disabled,
            profile: u.profile.clone(),
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

#[utoipa::path(get, path = "/admin/api/v1/users", params(Paging),
    responses((status = 200, body = Page<UserView>), (status = 403, body = ProblemBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    paging: Result<Query<Paging>, QueryRejection>,
) -> Result<Json<Page<UserView>>, Problem> {
    let Query(paging) = paging?;
    let all = caller.on(&state.server).list_users().await?;
    Ok(Json(
        paging.apply(all.iter().map(UserView::from).collect())?,
    ))
}

#[utoipa::path(post, path = "/admin/api/v1/users", request_body = NewUser,
    responses((status = 201, body = UserView), (status = 403, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<NewUser>, JsonRejection>,
) -> Result<Response, Problem> {
    let Json(new) = body?;
    let user = caller
        .on(&state.server)
        .create_user(&new.username, &new.password, new.admin)
        .await?;
    Ok((StatusCode::CREATED, Json(UserView::from(&user))).into_response())
}

#[utoipa::path(get, path = "/admin/api/v1/users/{id}", params(("id" = String, Path)),
    responses((status = 200, body = UserView), (status = 404, body = ProblemBody)))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<UserView>, Problem> {
    let Path(id) = id?;
    let user = caller.on(&state.server).user(&UserId::new(id)).await?;
    Ok(Json(UserView::from(&user)))
}

#[utoipa::path(patch, path = "/admin/api/v1/users/{id}", params(("id" = String, Path)), request_body = UserPatch,
    responses((status = 200, body = UserView), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    body: Result<Json<UserPatch>, JsonRejection>,
) -> Result<Json<UserView>, Problem> {
    let Path(id) = id?;
    let Json(patch) = body?;
    let id = UserId::new(id);
    let acting = caller.on(&state.server);
    if let Some(pw) = &patch.password {
        acting.set_password(&id, pw).await?;
    }
    if let Some(disabled) = patch.disabled {
        acting.set_user_disabled(&id, disabled).await?;
    }
    Ok(Json(UserView::from(&acting.user(&id).await?)))
}

#[utoipa::path(put, path = "/admin/api/v1/users/{id}/profile", params(("id" = String, Path)),
    request_body(content = Object, description = "The whole profile: name, given_name, family_name, middle_name, nickname, profile, picture, website, email, email_verified, gender, birthdate, zoneinfo, locale, phone_number, phone_number_verified, address {formatted, street_address, locality, region, postal_code, country}; what is left out is removed"),
    responses((status = 200, body = UserView), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn set_profile(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    body: Result<Json<UserProfile>, JsonRejection>,
) -> Result<Json<UserView>, Problem> {
    let Path(id) = id?;
    let Json(profile) = body?;
    let user = caller
        .on(&state.server)
        .set_user_profile(&UserId::new(id), profile)
        .await?;
    Ok(Json(UserView::from(&user)))
}
