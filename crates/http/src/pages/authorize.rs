//! `GET|POST /oauth/authorize` and the resumption of a pending request
//! after login (`GET /oauth/authorize/continue?request=…`).

use axum::body::Bytes;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portcullis_core::authorize::{AuthorizeError, AuthorizeParams, Next};
use serde::Deserialize;

use super::{current_session, message, see_other, unavailable};
use crate::AppState;
use crate::params::form_pairs;

fn params_of(raw: &[u8]) -> Option<AuthorizeParams> {
    let pairs = form_pairs(raw).ok()?;
    let mut p = AuthorizeParams::default();
    for (name, value) in pairs {
        if name == crate::params::RESOURCE {
            if !value.is_empty() {
                p.resources.push(value);
            }
            continue;
        }
        let slot = match name.as_str() {
            "client_id" => &mut p.client_id,
            "redirect_uri" => &mut p.redirect_uri,
            "response_type" => &mut p.response_type,
            "scope" => &mut p.scope,
            "state" => &mut p.state,
            "code_challenge" => &mut p.code_challenge,
            "code_challenge_method" => &mut p.code_challenge_method,
            "prompt" => &mut p.prompt,
            "nonce" => &mut p.nonce,
            "max_age" => &mut p.max_age,
            "login_hint" => &mut p.login_hint,
            "id_token_hint" => &mut p.id_token_hint,
            "display" => &mut p.display,
            "request" => &mut p.request,
            "request_uri" => &mut p.request_uri,
            // Accepted and not acted on: the pages are in one language and
            // password login is the one authentication method.
            _ => continue,
        };
        if value.is_empty() {
            continue;
        }
        if slot.is_some() {
            p.repeated.get_or_insert(name);
        } else {
            *slot = Some(value);
        }
    }
    Some(p)
}

pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    start(state, headers, query.unwrap_or_default().as_bytes()).await
}

pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    start(state, headers, &body).await
}

async fn start(state: AppState, headers: HeaderMap, raw: &[u8]) -> Response {
    let Some(params) = params_of(raw) else {
        return message(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "The request is not valid UTF-8.",
        );
    };
    match state.server.begin_authorization(params).await {
        Ok(pending) => proceed(&state, &headers, &pending.id).await,
        Err(e) => failure(e),
    }
}

#[derive(Deserialize)]
pub struct RequestRef {
    request: String,
}

pub async fn resume(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RequestRef>,
) -> Response {
    proceed(&state, &headers, &q.request).await
}

/// Takes the pending request one step further for whoever is logged in.
pub async fn proceed(state: &AppState, headers: &HeaderMap, request: &str) -> Response {
    let session = match current_session(state, headers).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let session = session.as_ref().map(|(s, u)| (s, u));
    match state.server.continue_authorization(request, session).await {
        Ok(next) => follow(next),
        Err(e) => failure(e),
    }
}

pub fn follow(next: Next) -> Response {
    match next {
        Next::Login { request } => see_other(&format!("/login?request={request}")),
        Next::Consent { request } => see_other(&format!("/consent?request={request}")),
        Next::Redirect(url) => see_other(&url),
    }
}

pub fn failure(e: AuthorizeError) -> Response {
    match e {
        AuthorizeError::Page(text) => message(
            StatusCode::BAD_REQUEST,
            "This request cannot continue",
            &text,
        ),
        AuthorizeError::Redirect(url) => see_other(&url),
        AuthorizeError::Internal(e) => unavailable(e),
    }
}
