//! `/consent`: names the client and each permission it asks for.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::authorize::failure;
use super::{Csrf, checked_form, current_session, message, see_other};
use crate::AppState;

#[derive(Deserialize)]
pub struct ConsentQuery {
    request: String,
}

#[derive(Serialize)]
struct ScopeLine {
    scope: String,
    description: String,
    resource: Option<String>,
}

pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ConsentQuery>,
) -> Response {
    let user = match current_session(&state, &headers).await {
        Ok(Some((_, user))) => user,
        Ok(None) => {
            return see_other(&format!(
                "/login?request={}",
                form_urlencoded::byte_serialize(q.request.as_bytes()).collect::<String>()
            ));
        }
        Err(page) => return page,
    };
    let view = match state.server.consent_view(&q.request, &user).await {
        Ok(v) => v,
        Err(e) => return failure(e),
    };
    let scopes: Vec<ScopeLine> = view
        .scopes
        .into_iter()
        .map(|s| ScopeLine {
            scope: s.scope,
            description: s.description,
            resource: s.resource,
        })
        .collect();
    let csrf = Csrf::for_form(&state, &headers);
    let res = super::render(
        StatusCode::OK,
        "consent.html",
        context! {
            csrf => csrf.token,
            request => view.request,
            client_name => view.client_name,
            client_id => view.client_id.as_str(),
            redirect_host => view.redirect_host,
            unverified => view.unverified,
            scopes => scopes,
            resources => view
                .resources
                .into_iter()
                .map(|(name, uri)| context! { name, uri })
                .collect::<Vec<_>>(),
            username => user.username,
        },
    );
    csrf.attach(res)
}

pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let f = match checked_form(&state, &headers, &body) {
        Ok(f) => f,
        Err(refused) => return refused,
    };
    let Some(request) = f.get("request") else {
        return message(
            StatusCode::BAD_REQUEST,
            "Invalid form",
            "The form names no request.",
        );
    };
    let approve = match f.get("decision") {
        Some("approve") => true,
        Some("deny") => false,
        _ => {
            return message(
                StatusCode::BAD_REQUEST,
                "Invalid form",
                "Choose Allow or Deny.",
            );
        }
    };
    let (session, user) = match current_session(&state, &headers).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return see_other(&format!(
                "/login?request={}",
                form_urlencoded::byte_serialize(request.as_bytes()).collect::<String>()
            ));
        }
        Err(page) => return page,
    };
    match state.server.decide(request, &session, &user, approve).await {
        Ok(url) => see_other(&url),
        Err(e) => failure(e),
    }
}
