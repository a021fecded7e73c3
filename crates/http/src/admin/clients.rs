//! Clients: register, read, change, rotate the secret, delete.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_core::client_oidc::{ClientOidc, OidcSettings};
use portcullis_core::model::Client;
use portcullis_core::registry::{ClientSpec, ClientUpdate};
use portcullis_protocol::{ClientId, GrantType, RedirectUri, ResourceUri, ScopeSet};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::actor::Caller;
use super::problem::{Problem, ProblemBody};
use super::{Page, Paging};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub public: bool,
    /// authorization_code, client_credentials, refresh_token, implicit
    pub grant_types: Vec<String>,
    /// Allowed scopes, space-separated.
    pub scope: String,
    /// What a token request without `scope` gets, space-separated; `null`
    /// means every allowed scope that is not a resource permission.
    pub default_scope: Option<String>,
    pub redirect_uris: Vec<String>,
    pub token_lifetime: Option<i64>,
    pub require_pkce: bool,
    pub owner: Option<String>,
    /// Restricted resources (RFC 8707) this client may ask tokens for.
    pub resources: Vec<String>,
    /// OpenID Connect: post_logout_redirect_uris, backchannel_logout_uri,
    /// backchannel_logout_session_required, subject_type (public or
    /// pairwise), sector_identifier, id_token_signed_response_alg.
    #[schema(value_type = Object)]
    pub oidc: OidcSettings,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        Self {
            client_id: c.id.to_string(),
            name: c.name.clone(),
            public: c.is_public(),
            grant_types: c.grant_types.iter().map(|g| g.to_string()).collect(),
            scope: c.scopes.to_string(),
            default_scope: c.default_scopes.as_ref().map(ToString::to_string),
            redirect_uris: c.redirect_uris.iter().map(|u| u.to_string()).collect(),
            token_lifetime: c.token_lifetime,
            require_pkce: c.require_pkce,
            owner: c.owner.as_ref().map(ToString::to_string),
            resources: c.resources.iter().map(ToString::to_string).collect(),
            oidc: OidcSettings::from(&c.oidc),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    pub name: String,
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub scope: String,
    /// Scopes granted when a request names none; left out, every allowed
    /// scope that is not a resource permission.
    pub default_scope: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub public: bool,
    pub token_lifetime: Option<i64>,
    /// Default true; only a confidential client may turn PKCE off.
    pub require_pkce: Option<bool>,
    /// Restricted resources it may ask tokens for.
    #[serde(default)]
    pub resources: Vec<String>,
    /// OpenID Connect settings; left out, none (public subjects, RS256).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub oidc: OidcSettings,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    pub name: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub scope: Option<String>,
    /// A string sets the default scopes; `null` goes back to every allowed
    /// scope that is not a resource permission; left out, unchanged.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub default_scope: Option<Option<String>>,
    pub redirect_uris: Option<Vec<String>>,
    pub token_lifetime: Option<i64>,
    pub require_pkce: Option<bool>,
    pub resources: Option<Vec<String>>,
    /// Replaces the OpenID Connect settings whole; left out, unchanged.
    #[schema(value_type = Option<Object>)]
    pub oidc: Option<OidcSettings>,
}

/// Tells `null` (`Some(None)`) from a missing field (`None`, by default).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// A client just created or re-keyed: the secret is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientWithSecret {
    pub client: ClientView,
    pub client_secret: Option<String>,
}

fn unprocessable(e: impl std::fmt::Display) -> Problem {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
}

fn grant_types(raw: &[String]) -> Result<Vec<GrantType>, Problem> {
    let mut out = Vec::new();
    for g in raw {
        let g: GrantType = g.parse().map_err(unprocessable)?;
        if !out.contains(&g) {
            out.push(g);
        }
    }
    Ok(out)
}

fn redirect_uris(raw: &[String]) -> Result<Vec<RedirectUri>, Problem> {
    raw.iter()
        .map(|u| RedirectUri::parse(u).map_err(unprocessable))
        .collect()
}

fn resources(raw: &[String]) -> Result<Vec<ResourceUri>, Problem> {
    let mut out: Vec<ResourceUri> = Vec::new();
    for r in raw {
        let r: ResourceUri = r.parse().map_err(unprocessable)?;
        if !out.contains(&r) {
            out.push(r);
        }
    }
    Ok(out)
}

fn oidc(raw: OidcSettings) -> Result<ClientOidc, Problem> {
    raw.parse().map_err(unprocessable)
}

fn scopes(raw: &str) -> Result<ScopeSet, Problem> {
    ScopeSet::parse(raw).map_err(unprocessable)
}

#[utoipa::path(get, path = "/admin/api/v1/clients", params(Paging),
    responses((status = 200, body = Page<ClientView>), (status = 401, body = ProblemBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    paging: Result<Query<Paging>, QueryRejection>,
) -> Result<Json<Page<ClientView>>, Problem> {
    let Query(paging) = paging?;
    let visible = caller.on(&state.server).list_clients().await?;
    Ok(Json(
        paging.apply(visible.iter().map(ClientView::from).collect())?,
    ))
}

#[utoipa::path(post, path = "/admin/api/v1/clients", request_body = NewClient,
    responses((status = 201, body = ClientWithSecret), (status = 422, body = ProblemBody), (status = 401, body = ProblemBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<NewClient>, JsonRejection>,
) -> Result<Response, Problem> {
    let Json(new) = body?;
    let owner = caller.user_id().cloned();
    let created = caller
        .on(&state.server)
        .register_client(ClientSpec {
            name: new.name,
            grant_types: grant_types(&new.grant_types)?,
            scopes: scopes(&new.scope)?,
            default_scopes: new.default_scope.as_deref().map(scopes).transpose()?,
            redirect_uris: redirect_uris(&new.redirect_uris)?,
            public: new.public,
            token_lifetime: new.token_lifetime,
            require_pkce: new.require_pkce.unwrap_or(true),
            owner,
            resources: resources(&new.resources)?,
            oidc: oidc(new.oidc)?,
        })
        .await?;
    let body = ClientWithSecret {
        client: ClientView::from(&created.client),
        client_secret: created.secret.map(|s| s.expose().to_owned()),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[utoipa::path(get, path = "/admin/api/v1/clients/{id}", params(("id" = String, Path)),
    responses((status = 200, body = ClientView), (status = 404, body = ProblemBody)))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<ClientView>, Problem> {
    let Path(id) = id?;
    let client = caller.on(&state.server).client(&ClientId::new(id)).await?;
    Ok(Json(ClientView::from(&client)))
}

#[utoipa::path(patch, path = "/admin/api/v1/clients/{id}", params(("id" = String, Path)), request_body = ClientPatch,
    responses((status = 200, body = ClientView), (status = 404, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    body: Result<Json<ClientPatch>, JsonRejection>,
) -> Result<Json<ClientView>, Problem> {
    let Path(id) = id?;
    let Json(patch) = body?;
    let update = ClientUpdate {
        name: patch.name,
        grant_types: patch.grant_types.as_deref().map(grant_types).transpose()?,
        scopes: patch.scope.as_deref().map(scopes).transpose()?,
        default_scopes: patch
            .default_scope
            .map(|d| d.as_deref().map(scopes).transpose())
            .transpose()?,
        redirect_uris: patch
            .redirect_uris
            .as_deref()
            .map(redirect_uris)
            .transpose()?,
        token_lifetime: patch.token_lifetime.map(Some),
        require_pkce: patch.require_pkce,
        resources: patch.resources.as_deref().map(resources).transpose()?,
        oidc: patch.oidc.map(oidc).transpose()?,
    };
    let updated = caller
        .on(&state.server)
        .update_client(&ClientId::new(id), update)
        .await?;
    Ok(Json(ClientView::from(&updated)))
}

#[utoipa::path(delete, path = "/admin/api/v1/clients/{id}", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ProblemBody)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Problem> {
    let Path(id) = id?;
    caller
        .on(&state.server)
        .delete_client(&ClientId::new(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/admin/api/v1/clients/{id}/rotate-secret", params(("id" = String, Path)),
    responses((status = 200, body = ClientWithSecret), (status = 404, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<ClientWithSecret>, Problem> {
    let Path(id) = id?;
    let id = ClientId::new(id);
    let acting = caller.on(&state.server);
    let secret = acting.rotate_client_secret(&id).await?;
    let client = acting.client(&id).await?;
    Ok(Json(ClientWithSecret {
        client: ClientView::from(&client),
        client_secret: Some(secret.expose().to_owned()),
    }))
}
